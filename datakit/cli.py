"""The ``datakit`` command line.

Exit codes (ruff's contract): 0 no error-severity diagnostics, 1 at least one
error, 2 usage error, unreadable path or internal error. Bad input never
produces a traceback; set ``DATAKIT_DEBUG=1`` to see one for internal errors.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from datakit import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # usage errors → exit 2, one line, no traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"datakit: error: {message}\n")


def _codes(value: str) -> tuple[str, ...]:
    """Comma-separated rule selectors; one that selects no rule is a usage error (a typo
    in --select would otherwise silently turn every check off)."""
    from datakit.rules import registry

    codes = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = registry.unknown_selectors(codes)
    if unknown:
        raise argparse.ArgumentTypeError(registry.describe_unknown_selectors(unknown))
    return codes


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _add_lint(sub) -> None:
    from datakit.render import FORMATS as OUTPUT_FORMATS

    p = sub.add_parser("lint", help="check JSONL files against a format and a provider target",
                       description="Report every problem a provider's upload check would reject, "
                                   "each on its own line, with a rule code.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="files, directories (every *.jsonl below) or globs; .zip for DashScope "
                        "images; - for standard input")
    p.add_argument("--format", default=None, metavar="ID|auto",
                   help="format of the files (default: auto, detected per file)")
    p.add_argument("--target", default=None, metavar="PROVIDER[:MODEL]",
                   help="check a provider's limits too, e.g. openai:gpt-4o-mini-2024-07-18 or mistral")
    p.add_argument("--validation", default=None, metavar="FILE",
                   help="a validation file to check beside the training file(s): caps and leakage")
    p.add_argument("--output-format", default="concise", choices=OUTPUT_FORMATS)
    p.add_argument("--output-file", default=None, metavar="F", help="write the report here")
    p.add_argument("--select", type=_codes, default=None, metavar="CODES",
                   help="comma-separated codes, prefixes or names to report (default: all)")
    p.add_argument("--ignore", type=_codes, default=None, metavar="CODES",
                   help="comma-separated codes, prefixes or names to leave out")
    p.add_argument("--max-per-rule", type=_positive_int, default=None, metavar="N",
                   help="show at most N diagnostics per rule (the summary still counts all)")
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when errors are found")
    p.add_argument("--statistics", action="store_true", help="print counts per rule instead")
    p.add_argument("--config", default=None, metavar="PYPROJECT",
                   help="read [tool.datakit] from this file (default: nearest pyproject.toml)")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="processes to use (default: all cores; env DATAKIT_WORKERS)")
    p.add_argument("--no-color", action="store_true", help="never use ANSI colours")
    p.add_argument("--no-progress", action="store_true",
                   help="never draw a progress bar (drawn on stderr only when it is a terminal)")
    p.set_defaults(handler=_cmd_lint)


def _load_config(path: str | None):
    from datakit import config as config_mod
    from datakit import targets

    cfg = config_mod.load(path)
    targets.configure(cfg.targets, cfg.path)
    return cfg


def _write_output(text: str | Iterable[str], output_file: str | None) -> None:
    """Write ``text`` (or its pieces, in order) to ``output_file`` atomically, or to
    standard output; ends with a newline. Spooled standard input is named ``-``."""
    pieces = [text] if isinstance(text, str) else text
    last = ""

    def chunks() -> Iterator[str]:
        nonlocal last
        batch: list[str] = []
        size = 0
        for piece in pieces:
            if not piece:
                continue
            batch.append(piece)
            size += len(piece)
            last = piece
            if size >= 1 << 16:
                yield shown_as_stdin("".join(batch))
                batch, size = [], 0
        if batch:
            yield shown_as_stdin("".join(batch))

    if output_file and output_file != "-":
        from datakit.io.atomic import atomic_write

        with atomic_write(output_file) as fh:
            for chunk in chunks():
                fh.write(chunk.encode("utf-8"))
            if not last.endswith("\n"):
                fh.write(b"\n")
    else:
        for chunk in chunks():
            sys.stdout.write(chunk)
        if not last.endswith("\n"):
            sys.stdout.write("\n")


STDIN = "-"
_spools: list[str] = []  # spooled standard input, named "-" again in error messages too


@contextlib.contextmanager
def stdin_spooled(paths: Sequence[str]):
    """``-`` among ``paths`` reads standard input: it is copied to a private temporary
    file (so that workers can read it in parallel), named by its compression, and
    removed afterwards. Yields the paths with ``-`` replaced by that file, which
    :func:`shown_as_stdin` names ``-`` again in output and errors."""
    import shutil
    import tempfile

    if STDIN not in paths:
        yield list(paths)
        return
    if list(paths).count(STDIN) > 1:
        raise _Usage("- (standard input) can be given once")
    if sys.stdin is None or sys.stdin.isatty():
        raise _Usage("- reads standard input, which is a terminal or closed: pipe the data "
                     "in, e.g. zcat train.jsonl.gz | datakit lint -")
    src = sys.stdin.buffer
    head = src.read(4)
    name = ("stdin.jsonl.gz" if head[:2] == b"\x1f\x8b" else
            "stdin.jsonl.zst" if head == b"\x28\xb5\x2f\xfd" else "stdin.jsonl")
    from datakit.io.atomic import temp_name

    folder = temp_name(tempfile.gettempdir(), "datakit-stdin-")  # named first: see temp_name
    try:
        os.mkdir(folder, 0o700)
        spool = os.path.join(folder, name)
        _spools.append(spool)
        with open(spool, "wb") as fh:
            fh.write(head)
            shutil.copyfileobj(src, fh, 1 << 20)
        yield [spool if p == STDIN else p for p in paths]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def shown_as_stdin(text: str) -> str:
    """Output text with the spooled standard input named ``-`` again (the spool stays
    registered after its removal: an error naming it is printed after the run ends)."""
    for path in _spools:
        text = text.replace(path, STDIN)
    return text


def _cmd_lint(args) -> int:
    from datakit import formats
    from datakit.linter.run import LintOptions, lint_paths
    from datakit.render import render_iter
    from datakit.targets import resolve

    cfg = _load_config(args.config)
    fmt = args.format or cfg.format or "auto"
    if fmt != "auto" and fmt not in formats.FORMATS:
        raise _Usage(f"unknown format {fmt!r}; choose auto or one of: {', '.join(sorted(formats.FORMATS))}")
    target = args.target or cfg.target
    if target:
        resolve(target)  # fail early with the list of targets
    opts = LintOptions(
        format=fmt,
        target=target,
        select=args.select if args.select is not None else cfg.select,
        ignore=args.ignore if args.ignore is not None else cfg.ignore,
        max_per_rule=args.max_per_rule or cfg.max_per_rule,
        workers=args.workers,
        keep_source=args.output_format == "full",
        validation=args.validation,
        per_file=cfg.per_file,
        config=cfg,
        progress=False if args.no_progress else None,
    )
    with stdin_spooled(args.paths) as paths:
        report = lint_paths(paths, opts)
        to_terminal = args.output_file in (None, "-") and sys.stdout.isatty()
        color = to_terminal and not args.no_color and "NO_COLOR" not in os.environ
        _write_output(render_iter(report, args.output_format, color=color,
                                  statistics=args.statistics), args.output_file)
    if args.exit_zero:
        return EXIT_OK
    return EXIT_OK if report.ok else EXIT_FINDINGS


def _add_rules(sub) -> None:
    p = sub.add_parser("rules", help="list every rule")
    p.add_argument("--output-format", choices=("text", "json"), default="text")
    p.set_defaults(handler=_cmd_rules)
    p = sub.add_parser("rule", help="explain one rule")
    p.add_argument("code", metavar="CODE", help="a rule code (J005) or name (invalid-json)")
    p.set_defaults(handler=_cmd_rule)


def _cmd_rules(args) -> int:
    from datakit.rules import RULES

    rules = sorted(RULES.values(), key=lambda r: r.code)
    if args.output_format == "json":
        import json

        print(json.dumps([{"code": r.code, "name": r.name, "severity": r.severity.value,
                           "formats": r.formats, "fixable": r.fixable, "summary": r.summary,
                           "url": r.url} for r in rules], ensure_ascii=False, indent=2))
        return EXIT_OK
    from datakit.rules.registry import FAMILIES

    family = None
    for r in rules:
        if r.family != family:
            family = r.family
            print(f"\n{family}  {FAMILIES[family]}")
        fix = " [fix]" if r.fixable else ""
        fmts = "all formats" if r.formats == "*" else ", ".join(r.formats)
        print(f"  {r.code}  {r.name:<34} {r.severity.value:<7} {fmts}{fix}")
    return EXIT_OK


def _cmd_rule(args) -> int:
    from datakit.rules import get

    try:
        r = get(args.code)
    except KeyError:
        raise _Usage(f"no rule {args.code!r}; `datakit rules` lists them") from None
    fmts = "all formats" if r.formats == "*" else ", ".join(r.formats)
    print(f"# {r.name} ({r.code})\n")
    print(f"Severity: {r.severity.value}. Applies to: {fmts}.")
    if r.fix:
        print(f"Fix available: {r.fix} (`datakit fix`).")
    if r.source:
        print(f"Source: {r.source}.")
    print()
    print(r.doc)
    return EXIT_OK


def _add_targets(sub) -> None:
    p = sub.add_parser("targets", help="list provider targets and their limits")
    p.add_argument("--output-format", choices=("text", "json"), default="text")
    p.add_argument("--config", default=None, metavar="PYPROJECT")
    p.set_defaults(handler=_cmd_targets)


def _cmd_targets(args) -> int:
    from datakit.targets import DEFAULT_MODEL, table

    _load_config(args.config)
    ts = sorted(table().values(), key=lambda t: (t.provider, t.model))
    if args.output_format == "json":
        import json

        print(json.dumps([t.to_dict() for t in ts], ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{'target':<44} {'max tokens':>10}  {'overflow':<8} {'tokenizer':<22} formats")
    for t in ts:
        default = " (default)" if DEFAULT_MODEL.get(t.provider) == t.model else ""
        mt = f"{t.max_tokens:,}" if t.max_tokens else "-"
        print(f"{t.id + default:<44} {mt:>10}  {t.overflow:<8} {t.tokenizer:<22} {', '.join(t.formats)}")
    return EXIT_OK


def _add_formats(sub) -> None:
    p = sub.add_parser("formats", help="list the dataset formats, their schemas and sources")
    p.add_argument("--output-format", choices=("text", "json"), default="text")
    p.set_defaults(handler=_cmd_formats)


def _cmd_formats(args) -> int:
    from datakit import formats
    from datakit.conversion.mapping import FORMAT_IDS
    from datakit.rules import RULES

    where = formats.schemas_dir()
    rows = []
    for f in sorted(formats.FORMATS.values(), key=lambda f: f.id):
        rows.append({"id": f.id, "title": f.title, "container": f.container,
                     "schema": str(where.joinpath(f"{f.id}.schema.json")), "source": f.source,
                     "convert": f.id in FORMAT_IDS,
                     "rules": sum(1 for r in RULES.values() if f.id in (r.formats or ()))})
    if args.output_format == "json":
        import json

        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{'format':<20} {'file':<6} {'convert':<8} {'own rules':>9}  title (source)")
    for r in rows:
        print(f"{r['id']:<20} {r['container']:<6} {'yes' if r['convert'] else 'no':<8} "
              f"{r['rules']:>9}  {r['title']} ({r['source']})")
    print(f"\nUse: lint --format ID, convert --from ID --to ID. JSON Schemas: {where}")
    return EXIT_OK


class _Usage(Exception):
    pass


PLUGINS = ("datakit.cli_stats", "datakit.cli_convert", "datakit.cli_split", "datakit.cli_chunk",
           "datakit.cli_fix")
# command -> the plugin module that defines it; lets `build_parser` import only what the
# command being run needs (each plugin pulls in its own machinery at parser-build time).
PLUGIN_COMMANDS = {
    "stats": "datakit.cli_stats",
    "convert": "datakit.cli_convert",
    "split": "datakit.cli_split",
    "check-split": "datakit.cli_split",
    "chunk": "datakit.cli_chunk",
    "verify": "datakit.cli_chunk",
    "fix": "datakit.cli_fix",
}
BUILTIN_COMMANDS = {"lint": "_add_lint", "rules": "_add_rules", "targets": "_add_targets",
                    "formats": "_add_formats"}


def _command_of(argv: Sequence[str] | None) -> str | None:
    """The subcommand named on the command line, when the global options allow knowing it."""
    for arg in (sys.argv[1:] if argv is None else argv):
        if arg.startswith("-"):
            return None  # --help/--version (or a mistake): build the whole parser
        return arg
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``command``, only that subcommand is defined (faster
    start-up), otherwise all of them (for ``--help`` and usage errors)."""
    import importlib
    import importlib.util

    parser = _Parser(prog="datakit", description="Lint, convert, split and chunk LLM fine-tuning "
                                                 "datasets for every major provider.")
    parser.add_argument("--version", action="version", version=f"datakit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    if command in ("rule",):
        command = "rules"
    if command in BUILTIN_COMMANDS:
        globals()[BUILTIN_COMMANDS[command]](sub)
        return parser
    if command in PLUGIN_COMMANDS:
        importlib.import_module(PLUGIN_COMMANDS[command]).add_parsers(sub)
        return parser
    _add_lint(sub)
    _add_rules(sub)
    _add_targets(sub)
    _add_formats(sub)
    for name in PLUGINS:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).add_parsers(sub)
    return parser


def _is_decompression_error(e: BaseException) -> bool:
    """gzip's EOFError (a truncated stream), or an error of zlib or zstandard."""
    mod = type(e).__module__
    return isinstance(e, EOFError) or mod == "zlib" or mod.startswith("zstandard")


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so that every ``finally`` runs:
    temporary outputs, staging directories and worker pools are cleaned up."""


_sigterm_handler: Any = None  # the handler main() installed, while it is installed


def _sigterm_default_in_child() -> None:
    """After a fork: a worker gets SIGTERM's default back. Its pool stops it with
    SIGTERM, and a Python-level handler only runs between bytecodes: a worker blocked
    in a C-level lock would never run it, and the pool's join would wait forever."""
    import signal

    if _sigterm_handler is not None and signal.getsignal(signal.SIGTERM) is _sigterm_handler:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _on_sigterm_unwind() -> Callable[[], object]:
    """Turn SIGTERM (``kill``, a CI timeout, a container stop) into :class:`Terminated`.

    Python's default for SIGTERM ends the process at once, leaving ``.part`` files and
    staging directories behind. Forked worker processes get the default back at once
    (:func:`_sigterm_default_in_child`). Returns the function that puts the previous
    handler back."""
    import signal

    global _sigterm_handler

    def handler(signum: int, frame: object) -> None:
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use): leave it alone
        return lambda: None
    if not getattr(_on_sigterm_unwind, "hooked", False):
        os.register_at_fork(after_in_child=_sigterm_default_in_child)
        _on_sigterm_unwind.hooked = True  # type: ignore[attr-defined]
    _sigterm_handler = handler

    def restore() -> None:
        global _sigterm_handler
        _sigterm_handler = None
        signal.signal(signal.SIGTERM, previous)

    return restore


def main(argv: Sequence[str] | None = None) -> int:
    from datakit.errors import UsageError
    from datakit.io.atomic import OutputExists

    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    import gc

    # Everything imported so far lives as long as the process: keep the collector from
    # traversing it again on every full collection (parsing allocates millions of
    # short-lived objects), and keep forked workers' copies of it untouched.
    gc.freeze()
    restore = _on_sigterm_unwind()
    try:
        return int(args.handler(args) or 0)
    except (UsageError, _Usage, OutputExists, ValueError, KeyError) as e:
        if isinstance(e, ValueError) and not type(e).__module__.startswith("datakit."):
            return _internal_error(e)  # datakit's own ValueErrors (config, split, chunk, …)
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"datakit: error: {shown_as_stdin(str(msg))}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `datakit rules | head`: the reader left; not an error
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as e:
        where = f"{e.filename}: " if e.filename else ""
        print(f"datakit: error: {shown_as_stdin(where + str(e.strerror or e))}", file=sys.stderr)
        return EXIT_USAGE
    except Terminated:
        print("datakit: terminated; nothing was left half-written", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("datakit: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - internal error: exit 2, short message
        return _internal_error(e)
    finally:
        restore()


def _internal_error(e: Exception) -> int:
    """Exit 2 with one line: a damaged compressed input, or else an internal error (with
    the traceback only under DATAKIT_DEBUG=1)."""
    if _is_decompression_error(e):
        print(f"datakit: error: a compressed input is truncated or corrupt "
              f"({shown_as_stdin(str(e))}); test it "
              "with gzip -t / zstd -t, or decompress it to find the damage", file=sys.stderr)
        return EXIT_USAGE
    if os.environ.get("DATAKIT_DEBUG"):
        traceback.print_exception(e)
    print(f"datakit: internal error: {type(e).__name__}: {e} "
          "(set DATAKIT_DEBUG=1 for a traceback, and please report it)", file=sys.stderr)
    return EXIT_USAGE

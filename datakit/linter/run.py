"""Drive the kernel over files: sniff the format, shard, run, aggregate.

The local engine splits an uncompressed file into line-aligned byte ranges and
lints them in a process pool (one kernel per process: parsing and tokenizing
are CPU-bound and threads do not scale, see PERF.md). Diagnostics come back
with shard-local line numbers and are shifted here, in order.
"""

from __future__ import annotations

import glob
import io
import os
import sys
import threading
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from datakit import formats as formats_mod
from datakit.diagnostics import Diagnostic, Severity
from datakit.errors import UsageError
from datakit.io import reader
from datakit.linter.kernel import (
    BOM,
    BatchResult,
    Digests,
    KernelConfig,
    array_element,
    lint_lines,
    sniff_family,
)
from datakit.report import FileResult, Report
from datakit.rules import registry
from datakit.rules.registry import Finding

SNIFF_LINES = 64
PARALLEL_MIN_BYTES = 8 << 20
SHARD_BYTES = 8 << 20
BATCH_BYTES = 4 << 20
COLLAPSE = {"J003", "L002"}  # rules reported once per file with a count, not on every line
_FOLDED = "folded_lines"  # Diagnostic.extra key: later lines of a COLLAPSE code not kept




@dataclass(slots=True)
class LintOptions:
    format: str = "auto"
    target: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    max_per_rule: int | None = None
    workers: int | None = None
    keep_source: bool = False
    validation: str | None = None  # a validation file linted beside the training file(s)
    per_file: list = field(default_factory=list)  # [(glob, {"format", "target"})]
    # the loaded [tool.datakit] config; its for_file() resolves per-file settings (globs
    # relative to the config file's directory). Without it, ``per_file`` is resolved the
    # same way, relative to the current directory.
    config: Any = None
    # a progress bar on stderr: None = when stderr is a terminal (the CLI), False = never
    progress: bool | None = False


class _Bar(threading.local):
    """Lint's progress bar: bytes of the inputs linted so far (total known when every
    input is a plain file). A no-op unless enabled, so the hot path pays nothing.
    Per thread: lint runs in the calling thread, and threads may lint at once."""

    def __init__(self) -> None:
        self.bar: Any = None

    def start(self, files: list[str], enabled: bool | None, label: str = "lint") -> None:
        if enabled is None:
            enabled = sys.stderr is not None and sys.stderr.isatty()
        if not enabled:
            return
        from datakit.chunking import Progress

        plain = all(not reader.is_compressed(f) and not f.endswith(".zip") for f in files)
        total = sum(os.path.getsize(f) for f in files if os.path.isfile(f)) if plain else None
        self.bar = Progress(f"{label:<5}", total, True)

    def tick(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


_bar = _Bar()


def default_workers() -> int:
    env = os.environ.get("DATAKIT_WORKERS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    return max(1, min(os.cpu_count() or 1, 8))


# --------------------------------------------------------------------------- inputs

def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files as given; directories → every ``*.jsonl`` below; globs expanded."""
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            found = []
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(".jsonl"))
            out.extend(found)
        elif os.path.exists(p) or p == "-":
            out.append(p)
        elif any(ch in p for ch in "*?["):
            matches = sorted(glob.glob(p, recursive=True))
            if not matches:
                raise UsageError(f"{p}: no file matches this pattern")
            out.extend(matches)
        else:
            raise UsageError(f"{p}: no such file or directory")
    return out


@dataclass(slots=True)
class Sniff:
    family: str | None = None
    format: str | None = None
    not_jsonl: bool = False
    document: str | None = None  # what a not-JSONL file holds ("a JSON array"…)
    findings: list[tuple[int, Finding]] = field(default_factory=list)


def sniff(head_lines: list[bytes], fmt: str, chat_default: str) -> Sniff:
    """Decide the file's format from its first lines (or take the given one)."""
    s = Sniff()
    first = next((ln for ln in head_lines if ln.strip()), b"")
    what = reader.document_kind(first)
    if what is not None:
        s.not_jsonl, s.document = True, what
        s.findings.append((1, Finding("J009", _not_jsonl_message(what, None), column=1)))
    families: Counter = Counter()
    sample_for: dict[str, dict] = {}
    for ln in head_lines:
        try:
            obj = orjson.loads(ln.lstrip(BOM))
        except orjson.JSONDecodeError:
            element = array_element(ln.lstrip(BOM)) if s.not_jsonl else None
            if element is None:
                continue
            obj = element[1]
        fam = sniff_family(obj)
        if fam is not None:
            families[fam] += 1
            if fam == formats_mod.CHAT and formats_mod.has_image_parts(obj):
                sample_for[fam] = obj
            sample_for.setdefault(fam, obj)
    if fmt != "auto":
        s.format = fmt
        s.family = formats_mod.get(fmt).family
        return s
    if families:
        s.family = families.most_common(1)[0][0]
        s.format = formats_mod.resolve(s.family, sample_for.get(s.family), chat_default)
    elif not s.not_jsonl and any(ln.strip() for ln in head_lines):
        s.findings.append((1, Finding(
            "J013", "cannot recognise the format from the first lines (no `messages`, "
                    "`conversations`, `instruction`…); pass --format ID")))
    return s


def _not_jsonl_message(what: str, unchecked: int | None, lines: int = 0) -> str:
    """J009's message; once the file is read, it says what could not be checked."""
    convert = ("convert it with `datakit convert FILE --to FORMAT -o OUT.jsonl` and lint "
               "the output")
    if unchecked is None:
        return f"the file looks like {what}, not JSON Lines (one object per line); {convert}"
    if unchecked == 0:
        checked = "every element alone on its line was still checked as an example"
    else:
        checked = (f"{unchecked:,} of {lines:,} lines hold pieces of a JSON value spread over "
                   "several lines, which cannot be checked one line at a time, so the examples "
                   "on them were not checked")
    return f"the file looks like {what}, not JSON Lines (one object per line); {checked}; {convert}"


def _later_sample(lines: Iterator[bytes]) -> list[bytes]:
    """Past an unrecognised head: the first line whose format is recognisable and the
    lines after it (up to SNIFF_LINES), so a file is not left unchecked because its first
    lines were junk."""
    sample: list[bytes] = []
    for ln in lines:
        if not sample:
            try:
                obj = orjson.loads(ln.lstrip(BOM))
            except orjson.JSONDecodeError:
                continue
            if sniff_family(obj) is None:
                continue
        sample.append(ln)
        if len(sample) >= SNIFF_LINES:
            break
    return sample


def _head(path: str) -> list[bytes]:
    out = []
    with reader.open_binary(path) as fh:
        for ln in fh:
            out.append(ln)
            if len(out) >= SNIFF_LINES:
                break
    return out


# --------------------------------------------------------------------------- engine

def _lint_shard(args: tuple[reader.Shard, KernelConfig, int]) -> BatchResult:
    shard, cfg, size = args
    lines = list(reader.iter_shard_lines(shard))
    return lint_lines(lines, cfg, at_file_start=shard.start == 0, at_file_end=shard.end >= size)


def _selector(select: tuple[str, ...], ignore: tuple[str, ...]):
    """``code -> whether --select/--ignore keep it``, answered once per code; None when
    they keep everything."""
    if not select and not ignore:
        return None
    cache: dict[str, bool] = {}

    def keeps(code: str) -> bool:
        keep = cache.get(code)
        if keep is None:
            keep = cache[code] = ((not select or registry.matches(code, select))
                                  and not (ignore and registry.matches(code, ignore)))
        return keep

    return keeps


class _Selection(threading.local):
    """``--select``/``--ignore`` and ``--max-per-rule`` applied as diagnostics arrive from
    the kernel, so that a rule firing on every line of a large file is not held in memory
    when the report cannot show it. Off (keeps all) unless set. Per thread, like
    :class:`_Bar`."""

    def __init__(self) -> None:
        self.keeps: Any = None  # see _selector
        self.cap: int | None = None  # --max-per-rule: more of one code per file is not shown

    def set(self, select: tuple[str, ...], ignore: tuple[str, ...],
            cap: int | None = None) -> None:
        self.keeps, self.cap = _selector(tuple(select), tuple(ignore)), cap


_selection = _Selection()


def _merge(total: BatchResult, part: BatchResult, line_off: int, ex_off: int) -> None:
    kept = total.diagnostics
    folded = total.folded
    keeps, cap = _selection.keeps, _selection.cap
    for d in part.diagnostics:
        if keeps is not None and not keeps(d.code):
            continue
        if d.line is not None:
            d.line += line_off
        if d.example is not None:
            d.example += ex_off
        if d.code in COLLAPSE:
            # the report shows these once per file with a count: keep the first only
            # (a CRLF file would otherwise hold a diagnostic object for every line)
            first = folded.get(d.code)
            if first is not None:
                first.extra[_FOLDED] = first.extra.get(_FOLDED, 0) + 1
                continue
            folded[d.code] = d
        elif cap is not None and d.line is not None:
            # --max-per-rule: the report shows at most ``cap`` of a code, in line order, so
            # a later one of this file (after the ties on the cap's line) is only counted
            seen = total.kept_codes.get(d.code)
            if seen is None:
                seen = total.kept_codes[d.code] = [0, 0]
            if seen[0] >= cap and d.line != seen[1]:
                total.capped[(d.code, d.severity)] += 1
                continue
            seen[0] += 1
            seen[1] = d.line
        kept.append(d)
    total.capped.update(part.capped)
    total.digests.add(part.digests, line_off, ex_off)
    total.stats.extend(part.stats)
    total.lines += part.lines
    total.examples += part.examples
    total.bytes += part.bytes
    total.unchecked += part.unchecked
    total.ends_with_newline = part.ends_with_newline


def _pool(workers: int):
    import multiprocessing  # only when sharding (~12 ms of start-up otherwise)

    method = "fork" if sys.platform.startswith("linux") else None
    return multiprocessing.get_context(method).Pool(workers)


def run_kernel_on_file(path: str, cfg: KernelConfig, workers: int) -> BatchResult:
    total = BatchResult()
    size = os.path.getsize(path) if not reader.is_compressed(path) else -1
    if workers > 1 and size >= PARALLEL_MIN_BYTES:
        parts = reader.shards(path, SHARD_BYTES)
        with _pool(min(workers, len(parts))) as pool:
            for s, part in zip(parts, pool.imap(_lint_shard, [(s, cfg, size) for s in parts])):
                _merge(total, part, total.lines, total.examples)
                _bar.tick(s.end - s.start)
        return total
    return run_kernel_on_batches(_file_batches(path), cfg)


def _file_batches(path: str) -> Iterator[list[bytes]]:
    """Batches of about BATCH_BYTES of raw lines; ``readlines(hint)`` splits them in C."""
    with reader.open_binary(path) as fh:
        while batch := fh.readlines(BATCH_BYTES):
            yield batch


def run_kernel_on_lines(lines: Iterator[bytes], cfg: KernelConfig) -> BatchResult:
    return run_kernel_on_batches(reader.iter_batches(iter(lines), BATCH_BYTES), cfg)


def run_kernel_on_batches(batches: Iterator[list[bytes]], cfg: KernelConfig) -> BatchResult:
    total = BatchResult()
    current = next(batches, None)
    first = True
    while current is not None:
        nxt = next(batches, None)
        part = lint_lines(current, cfg, at_file_start=first, at_file_end=nxt is None)
        _merge(total, part, total.lines, total.examples)
        if _bar.bar is not None:
            _bar.tick(sum(map(len, current)))
        current, first = nxt, False
    return total


# --------------------------------------------------------------------------- one file

def _file_settings(path: str, opts: LintOptions) -> tuple[str, str | None]:
    from datakit.config import Config

    fmt, target = opts.format, opts.target
    config = opts.config if opts.config is not None else Config(per_file=list(opts.per_file))
    settings = config.for_file(path)
    # flags given explicitly win; per-file config fills what was left at its default
    if fmt == "auto" and settings.get("format"):
        fmt = settings["format"]
    if target is None and settings.get("target"):
        target = settings["target"]
    return fmt, target


def _chat_default(target: str | None) -> str:
    if not target:
        return "openai"
    from datakit.targets import default_format

    return default_format(target)


def lint_file(path: str, opts: LintOptions) -> tuple[FileResult, list[Diagnostic], BatchResult]:
    fmt, target = _file_settings(path, opts)
    if fmt != "auto":
        formats_mod.get(fmt)  # raises KeyError with the list of formats
    if path.endswith(".zip"):
        return _lint_zip(path, fmt, target, opts)
    head = _head(path)
    return _lint_stream(path, head, lambda: None, fmt, target, opts)


def _lint_stream(path, head, _unused, fmt, target, opts, lines_factory=None, images=None,
                 default_chat=None):
    chat_default = default_chat or _chat_default(target)
    s = sniff(head, fmt, chat_default)
    scanned_all = len(head) < SNIFF_LINES
    if s.format is None and fmt == "auto" and not s.not_jsonl and not scanned_all:
        later = _later_sample(_lines_after(path, lines_factory, len(head)))
        scanned_all = not later
        if later:
            s = sniff(head + later, fmt, chat_default)
    if scanned_all:
        s.findings = [(ln, f._replace(message=_UNKNOWN_IN_WHOLE_FILE) if f.code == "J013" else f)
                      for ln, f in s.findings]
    cfg = KernelConfig(path=path, format=s.format, family=s.family, not_jsonl=s.not_jsonl,
                       images=images, target=target if s.format else None,
                       keep_source=opts.keep_source)
    workers = opts.workers or default_workers()
    if lines_factory is not None:
        res = run_kernel_on_lines(lines_factory(), cfg)
    else:
        res = run_kernel_on_file(path, cfg, workers)
    extra: list[Diagnostic] = []
    for line, f in s.findings:
        if f.code == "J009":
            f = f._replace(message=_not_jsonl_message(s.document or "a JSON document",
                                                      res.unchecked, res.lines))
        extra.append(registry.diagnostic(f, path=path, line=line, example=None))
    if res.examples == 0 and not s.not_jsonl:
        extra.append(registry.diagnostic(
            Finding("J010", "the file has no examples" + (" (it is empty)" if res.bytes == 0 else "")),
            path=path, line=None, example=None))
    if res.lines and not res.ends_with_newline:
        extra.append(registry.diagnostic(
            Finding("J011", "no newline at the end of the file; add one so files concatenate safely"),
            path=path, line=res.lines, example=None))
    fr = FileResult(path=path, format=s.format, examples=res.examples, lines=res.lines,
                    bytes=res.bytes, target=target)
    if target and s.format:
        from datakit.targets import file_checks

        extra.extend(file_checks(path, res, target, s.format))
    return fr, res.diagnostics + extra, res


_UNKNOWN_IN_WHOLE_FILE = (
    "cannot recognise the format of any line of the file (no `messages`, `conversations`, "
    "`instruction`…), so no example was checked against a format; pass --format ID")


_UNREADABLE = "unreadable"  # Diagnostic.extra key of an input that could not be read


def _unreadable_input(path: str, why: str) -> tuple[FileResult, list[Diagnostic], BatchResult]:
    """The result of an input that cannot be read: one J005 on the file, which
    ``--select`` / ``--ignore`` / ``--max-per-rule`` never hide (nothing was checked)."""
    d = registry.diagnostic(Finding("J005", why), path=path, line=None, example=None)
    d.extra[_UNREADABLE] = True
    return FileResult(path=path, format=None), [d], BatchResult()


def _lines_after(path: str, lines_factory, skip: int) -> Iterator[bytes]:
    import itertools

    if lines_factory is not None:
        yield from itertools.islice(lines_factory(), skip, None)
        return
    with reader.open_binary(path) as fh:
        yield from itertools.islice(fh, skip, None)


def _lint_zip(path: str, fmt: str, target: str | None, opts: LintOptions):
    from datakit.io.safezip import UnsafeZip, open_safe

    try:
        zf, names = open_safe(path)
    except (UnsafeZip, zipfile.BadZipFile, OSError) as e:
        return _unreadable_input(path, f"cannot read the zip archive: {e}")
    with zf:
        members = [n for n in names if n.endswith(".jsonl")]
        if not members:
            d = registry.diagnostic(Finding("J010", "the zip archive holds no .jsonl file"),
                                    path=path, line=None, example=None)
            return FileResult(path=path, format=None), [d], BatchResult()
        results = []
        for member in members:
            base = os.path.dirname(member)
            images = frozenset(
                n[len(base) + 1:] if base else n for n in names
                if not n.endswith("/") and os.path.dirname(n) == base and not n.endswith(".jsonl"))
            data = zf.read(member)
            head = io.BytesIO(data).readlines()[:SNIFF_LINES]
            results.append(_lint_stream(
                f"{path}!{member}", head, None, fmt, target, opts,
                lines_factory=lambda d=data: iter(io.BytesIO(d)), images=images,
                default_chat="dashscope-sft-image"))
    fr = results[0][0] if len(results) == 1 else FileResult(path=path, format=results[0][0].format)
    if len(results) > 1:
        for r in results[1:]:
            fr.examples += r[0].examples
    diags = [d for r in results for d in r[1]]
    return fr, diags, results[0][2]


# --------------------------------------------------------------------------- report

def _collapse(diags: list[Diagnostic]) -> list[Diagnostic]:
    first: dict[tuple[str, str], Diagnostic] = {}
    counts: Counter = Counter()
    out = []
    for d in diags:
        if d.code in COLLAPSE:
            key = (d.path, d.code)
            counts[key] += 1 + d.extra.pop(_FOLDED, 0)  # lines the engine already folded
            if key not in first:
                first[key] = d
                out.append(d)
        else:
            out.append(d)
    for key, d in first.items():
        n = counts[key]
        if n > 1:
            d.message = f"{d.message} ({n} lines in this file, first shown)"
    return out


def build_report(per_file: list[tuple[FileResult, list[Diagnostic]]], opts: LintOptions,
                 capped: list[Counter] | None = None) -> Report:
    """The report of every file's diagnostics: select/ignore, counts, --max-per-rule.
    ``capped`` (per file, as ``per_file``): (code, severity) -> diagnostics the engine
    counted without keeping them (beyond --max-per-rule), counted here as hidden."""
    report = Report()
    per_rule: Counter = Counter()
    keeps = _selector(tuple(opts.select), tuple(opts.ignore))
    for i, (fr, diags) in enumerate(per_file):
        diags = _collapse(diags)
        diags.sort(key=lambda d: (d.line or 0, d.column or 0, d.code))
        for d in diags:
            unreadable = d.extra.get(_UNREADABLE, False)  # never filtered: nothing was checked
            if keeps is not None and not unreadable and not keeps(d.code):
                continue
            report.counts[d.code] += 1
            if d.severity is Severity.ERROR:
                fr.errors += 1
            elif d.severity is Severity.WARNING:
                fr.warnings += 1
            else:
                fr.infos += 1
            per_rule[d.code] += 1
            if (opts.max_per_rule is not None and per_rule[d.code] > opts.max_per_rule
                    and not unreadable):
                report.hidden[d.code] += 1
                continue
            report.diagnostics.append(d)
        # after the file's own: they come later in line order than every kept one
        for (code, sev), n in (capped[i] if capped else Counter()).items():
            report.counts[code] += n
            report.hidden[code] += n
            per_rule[code] += n
            if sev is Severity.ERROR:
                fr.errors += n
            elif sev is Severity.WARNING:
                fr.warnings += n
            else:
                fr.infos += n
        report.files.append(fr)
    return report


def lint_paths(paths: Iterable[str], opts: LintOptions) -> Report:

    files = expand_paths(paths)
    if not files:
        raise UsageError("no .jsonl files found")
    if opts.validation:
        if not os.path.isfile(opts.validation):
            raise UsageError(f"{opts.validation}: no such validation file")
        files.append(opts.validation)
    _bar.start(files, opts.progress)
    _selection.set(opts.select, opts.ignore, opts.max_per_rule)
    try:
        return _lint_paths(files, opts)
    finally:
        _bar.close()
        _selection.set((), ())


def _lint_paths(files: list[str], opts: LintOptions) -> Report:
    from datakit.linter.dataset import duplicate_checks, validation_checks

    done: list[tuple[FileResult, list[Diagnostic], BatchResult]] = []
    corrupt: list[reader.CorruptInput] = []
    for path in files:
        if not os.path.isfile(path):
            raise UsageError(f"{path}: not a readable file")
        try:
            fr, diags, res = lint_file(path, opts)
        except PermissionError as e:
            raise UsageError(f"{path}: cannot read ({e.strerror})") from None
        except reader.CorruptInput as e:
            # a damaged .gz / .zst among several inputs: report it, lint the others
            corrupt.append(e)
            fr, diags, res = _unreadable_input(
                path, f"cannot read this file, so none of it was checked: {e.strerror}")
        diags.extend(duplicate_checks(fr.path, res))
        if not opts.validation:
            res.digests = Digests()  # only the validation checks need them again
        done.append((fr, diags, res))
    if corrupt and len(corrupt) == len(files):
        raise corrupt[0]  # nothing could be read: one error, as for a single input
    if opts.target and not opts.validation:
        from datakit.targets import resolve

        t = resolve(opts.target)
        if t.requires_validation:
            done[0][1].append(registry.diagnostic(Finding(
                "D007", f"{t.id} requires a validation file; pass --validation FILE "
                        f"(create one with `datakit split --target {t.provider}`)"),
                path=done[0][0].path, line=None, example=None))
    if opts.validation:
        val = done[-1]
        val[0].extra["role"] = "validation"
        # the minimum number of examples is a training-set rule, not a validation one
        val[1][:] = [d for d in val[1] if d.code != "D003"]
        unreadable = {e.filename for e in corrupt}
        train = [(fr, res) for fr, _, res in done[:-1] if fr.path not in unreadable]
        if val[0].path not in unreadable:
            val[1].extend(validation_checks(train, (val[0], val[2]), opts.target))
            # group-key leakage (D101): near-copies that D006's exact match misses
            from datakit.splitting import group_leaks

            exact = {d.line for d in val[1] if d.code == "D006"}
            for fr, _ in train:
                val[1].extend(d for d in group_leaks(fr.path, opts.validation)
                              if d.line not in exact and "exact copy" not in d.message)
    return build_report([(fr, diags) for fr, diags, _ in done], opts,
                        [res.capped for _, _, res in done])


__all__ = [
    "LintOptions",
    "UsageError",
    "build_report",
    "lint_file",
    "lint_paths",
    "replace",
    "run_kernel_on_lines",
    "sniff",
]

"""``datakit fix``: apply the declared, safe remediations and say what is left.

    >>> result = datakit.fix("train.jsonl", target="mistral", output="train.fixed.jsonl")
    >>> result.fixed          # Counter({'T001': 12, 'T009': 3, 'J003': 1})
    >>> result.remaining      # the lint diagnostics of the output: what no fix can repair

How it works, per batch of raw lines:

1. *Framing* (J002 BOM, J003 CRLF, J004 blank line, J011 final newline) is fixed on
   the bytes; the line is never re-serialised for it.
2. The batch is linted with the usual kernel. Lines with a diagnostic whose code
   has a fixer (and is selected) are parsed and handed to the fixers of
   :mod:`datakit.fixers`, guided by the diagnostics' JSON pointers. A changed
   line is serialised again keeping key order, non-ASCII text and the line's
   spacing style, then linted again; rounds repeat until nothing fixable is
   left, so running ``fix`` on its own output changes nothing.
3. Exact duplicates (D004) are dropped, keeping the first.

Lines no fix touched are written byte for byte. The output is then linted in
full (with the target's limits) and that report is what remains.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from datakit import sources
from datakit.errors import UsageError
from datakit.fixers import AMBIGUOUS, FIXERS, FixContext
from datakit.fixers.result import Change, FixResult
from datakit.fixers.tools import add_to_catalog
from datakit.linter.kernel import BOM, KernelConfig, lint_lines
from datakit.report import Report
from datakit.rules import registry
from datakit.rules.fixes import FIXES, ON_REQUEST

# Fixed on raw lines by this module; every other entry of FIXES has a fixer in datakit.fixers.
LINE_FIXES = ("J002", "J003", "J004", "J011", "D004")
MAX_ROUNDS = 8
BATCH_BYTES = 4 << 20
TOOL_FORMATS = ("openai", "openai-preference", "mistral")
# Formats that take tools but whose lint reports OpenAI's legacy function calling only as
# schema errors (no T018): the fixer looks for it itself, since tools/tool_calls/tool
# messages are what these formats accept (Mistral's API takes the OpenAI tool format).
LEGACY_REWRITE_FORMATS = ("mistral",)
# Non-structural fixers run together; structural ones (at most one per round) after them.
_ORDER = ("T009", "T011", "T012", "T001", "T008", "R010", "T015", "T018", "R003", "R004")
_SPACED = re.compile(rb'^\s*\{\s*"(?:[^"\\]|\\.)*"\s*:(\s)')


# --------------------------------------------------------------------------- options

@dataclass(slots=True)
class FixOptions:
    format: str = "auto"
    target: str | None = None
    only: tuple[str, ...] | None = None  # ruff-style selectors; None: every fix
    merge_consecutive: bool = False
    trim_trailing: bool = False
    dedupe: bool = True
    keep_text: bool = False  # keep the before/after bytes of changed lines (diffs)
    enabled: frozenset[str] = field(default_factory=frozenset)

    def resolve(self) -> FixOptions:
        """Check the selectors and work out which fixes are on."""
        requested = {"merge_consecutive": self.merge_consecutive,
                     "trim_trailing": self.trim_trailing}
        if self.only is not None:
            for sel in self.only:
                if not any(registry.matches(code, (sel,)) for code in registry.RULES):
                    raise UsageError(f"--only {sel!r} matches no rule; `datakit rules` lists them")
            for sel in self.only:
                code = sel.strip().upper()
                if code in ON_REQUEST and not requested[ON_REQUEST[code]]:
                    flag = "--" + ON_REQUEST[code].replace("_", "-")
                    raise UsageError(f"{code} changes what is trained, so it is fixed only on "
                                     f"request: add {flag}")
        on = set()
        for code in FIXES:
            if self.only is not None and not registry.matches(code, self.only):
                continue
            if code in ON_REQUEST and not requested[ON_REQUEST[code]]:
                continue
            if code == "D004" and not self.dedupe:
                continue
            on.add(code)
        if self.only is not None and not on:
            fixable = ", ".join(sorted(FIXES))
            raise UsageError(f"--only {','.join(self.only)} selects no fixable rule; "
                             f"fixable codes: {fixable}")
        self.enabled = frozenset(on)
        return self


# --------------------------------------------------------------------------- the line kernel

def _dump(obj: Any, spaced: bool) -> bytes | None:
    seps = (", ", ": ") if spaced else (",", ":")
    try:
        return json.dumps(obj, ensure_ascii=False, separators=seps).encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError, RecursionError):
        return None  # lone surrogates and the like: leave the line as it was


def _digest(body: bytes) -> bytes:
    return hashlib.blake2b(body.strip(), digest_size=12).digest()


@dataclass(slots=True)
class _Entry:
    line: int
    raw: bytes
    prefix: bytes  # a BOM that stays (J002 not selected)
    body: bytes
    ending: bytes
    fixes: list[tuple[str, str]]
    obj: Any = None
    frozen: bool = False  # a fix could not be serialised: keep the line as it was


class LineFixer:
    """Fix raw lines batch by batch; keeps the state that spans batches."""

    def __init__(self, fmt: str | None, opts: FixOptions, *, path: str = "<lines>",
                 catalog: dict[str, Any] | None = None, first_line: int = 1,
                 dedupe: bool | None = None):
        self.fmt = fmt
        self.opts = opts
        self.on = opts.enabled
        self.ctx = FixContext(fmt or "", catalog or {})
        self.example_codes = [c for c in _ORDER if c in self.on and c in FIXERS]
        self.cfg = None
        if fmt is not None and self.example_codes:
            from datakit import formats

            self.cfg = KernelConfig(path=path, format=fmt, family=formats.get(fmt).family,
                                    check_duplicates=False)
        self.dedupe = ("D004" in self.on and fmt is not None) if dedupe is None else dedupe
        self.seen: set[bytes] = set()
        self.line = first_line - 1
        self.out_line = 0
        self.fixed: Counter = Counter()
        self.changes: list[Change] = []

    # -- framing ------------------------------------------------------------------------
    def _frame(self, raw: bytes) -> _Entry | None:
        self.line += 1
        fixes: list[tuple[str, str]] = []
        if raw.endswith(b"\r\n"):
            body, ending = raw[:-2], b"\r\n"
        elif raw.endswith(b"\n"):
            body, ending = raw[:-1], b"\n"
        else:
            body, ending = raw, b""  # only the last line of a file can lack its newline
        prefix = b""
        if body.startswith(BOM):
            body = body[3:]
            if "J002" in self.on:
                fixes.append(("J002", ""))
            else:
                prefix = BOM
        if ending == b"\r\n" and "J003" in self.on:
            ending = b"\n"
            fixes.append(("J003", ""))
        if not ending and "J011" in self.on:
            ending = b"\n"
            fixes.append(("J011", ""))
        if not body.strip() and "J004" in self.on:
            self._record(self.line, None, [("J004", "")], raw, None)
            return None
        return _Entry(self.line, raw, prefix, body, ending, fixes)

    # -- examples -----------------------------------------------------------------------
    def _wanted(self, bodies: list[bytes]) -> list[dict[str, list[str]]]:
        """Per body: fixable code -> pointers, from one kernel run over the batch."""
        out: list[dict[str, list[str]]] = [{} for _ in bodies]
        res = lint_lines([b + b"\n" for b in bodies], self.cfg, at_file_start=False,
                         at_file_end=False)
        for d in res.diagnostics:
            if d.code in self.example_codes and d.line is not None and 1 <= d.line <= len(bodies):
                out[d.line - 1].setdefault(d.code, []).append(d.pointer)
        if self.fmt in LEGACY_REWRITE_FORMATS and "T018" in self.example_codes:
            for body, want in zip(bodies, out, strict=True):
                ptrs = _legacy_pointers(body)
                if ptrs:
                    want["T018"] = ptrs
        return out

    def _apply(self, obj: dict, wanted: dict[str, list[str]]) -> list[tuple[str, str]]:
        applied: list[tuple[str, str]] = []
        for code in self.example_codes:
            fx = FIXERS[code]
            if code in wanted and not fx.structural:
                applied += [(code, p) for p in fx.fn(obj, wanted[code], self.ctx)]
        if applied:
            return applied
        for code in self.example_codes:  # pointers go stale after one of these: one per round
            fx = FIXERS[code]
            if code in wanted and fx.structural:
                done = fx.fn(obj, wanted[code], self.ctx)
                if done:
                    return [(code, p) for p in done]
        return applied

    def _fix_examples(self, entries: list[_Entry]) -> None:
        if self.cfg is None or not entries:
            return
        todo = list(range(len(entries)))
        wanted = self._wanted([e.body for e in entries])
        for _ in range(MAX_ROUNDS):
            pending = [i for i, w in zip(todo, wanted, strict=True) if w and not entries[i].frozen]
            if not pending:
                return
            by_index = dict(zip(todo, wanted, strict=True))
            relint = []
            for i in pending:
                e = entries[i]
                if e.obj is None:
                    try:
                        e.obj = json.loads(e.body)
                    except (ValueError, RecursionError):
                        e.frozen = True
                        continue
                if not isinstance(e.obj, dict):
                    e.frozen = True
                    continue
                before = e.body
                applied = self._apply(e.obj, by_index[i])
                if not applied:
                    continue
                spaced = _SPACED.match(e.raw.removeprefix(BOM)) is not None
                new = _dump(e.obj, spaced)
                if new is None:
                    e.frozen = True
                    e.body = e.raw.removeprefix(BOM).rstrip(b"\r\n")
                    e.fixes = [f for f in e.fixes if f[0] in LINE_FIXES]
                    continue
                e.fixes += applied
                if new != before:
                    e.body = new
                    relint.append(i)
            if not relint:
                return
            todo = relint
            wanted = self._wanted([entries[i].body for i in relint])

    # -- output -------------------------------------------------------------------------
    def _record(self, line: int, out_line: int | None, fixes: list[tuple[str, str]],
                before: bytes, after: bytes | None) -> None:
        for code, _ in fixes:
            self.fixed[code] += 1
        keep = self.opts.keep_text
        self.changes.append(Change(line, out_line, fixes, before if keep else None,
                                   after if keep else None))

    def _is_object(self, body: bytes) -> bool:
        try:
            return isinstance(orjson.loads(body), dict)
        except orjson.JSONDecodeError:
            return False

    def feed(self, raw_lines: list[bytes]) -> list[bytes | None]:
        """Fixed lines, one per input line (None where a line was removed)."""
        slots: list[_Entry | None] = [self._frame(raw) for raw in raw_lines]
        self._fix_examples([e for e in slots if e is not None])
        out: list[bytes | None] = []
        for e in slots:
            if e is None:
                out.append(None)
                continue
            if self.dedupe and e.body.strip():
                digest = _digest(e.body)
                if digest in self.seen and self._is_object(e.body):
                    self._record(e.line, None, e.fixes + [("D004", "")], e.raw, None)
                    out.append(None)
                    continue
                self.seen.add(digest)
            self.out_line += 1
            new = e.prefix + e.body + e.ending
            if e.fixes:
                self._record(e.line, self.out_line, e.fixes, e.raw, new)
            out.append(new)
        self.changes.sort(key=lambda c: c.line)  # blank lines were recorded while framing
        return out


def _legacy_pointers(body: bytes) -> list[str]:
    """Where one line uses legacy function calling (as the openai format's T018 points)."""
    if b'"function' not in body:
        return []  # neither "functions", "function_call" nor the role "function"
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(obj, dict):
        return []
    ptrs = ["/functions"] if "functions" in obj else []
    msgs = obj.get("messages")
    for i, m in enumerate(msgs if isinstance(msgs, list) else []):
        if isinstance(m, dict):
            if m.get("role") == "function":
                ptrs.append(f"/messages/{i}/role")
            if "function_call" in m:
                ptrs.append(f"/messages/{i}/function_call")
    return ptrs


# --------------------------------------------------------------------------- T015 catalog

def build_catalog(lines: Iterable[bytes]) -> dict[str, Any]:
    """Tool definitions across the whole input: name -> the one definition, or AMBIGUOUS."""
    catalog: dict[str, Any] = {}
    for raw in lines:
        if b'"tools"' not in raw and b'"functions"' not in raw:
            continue
        try:
            obj = orjson.loads(raw.removeprefix(BOM))
        except orjson.JSONDecodeError:
            continue  # the linter reports the line; it defines nothing we can copy
        add_to_catalog(catalog, obj)
    return catalog


def _needs_catalog(fmt: str | None, opts: FixOptions) -> bool:
    return fmt in TOOL_FORMATS and "T015" in opts.enabled


# --------------------------------------------------------------------------- files

def _format_of(head: list[bytes], opts: FixOptions) -> str | None:
    from datakit.linter.run import _chat_default, sniff

    if opts.format != "auto":
        from datakit import formats

        if opts.format not in formats.FORMATS:
            raise UsageError(f"unknown format {opts.format!r}; choose auto or one of: "
                             f"{', '.join(sorted(formats.FORMATS))}")
    return sniff(head, opts.format, _chat_default(opts.target)).format


@contextlib.contextmanager
def _writer(path: str, overwrite: bool) -> Iterator[Any]:
    from datakit.io.atomic import atomic_write

    with atomic_write(path, overwrite=overwrite) as fh:
        if path.endswith(".gz"):
            with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
                yield gz
        elif path.endswith((".zst", ".zstd")):
            import zstandard

            with zstandard.ZstdCompressor().stream_writer(fh, closefd=False) as zw:
                yield zw
        else:
            yield fh


def _annotate(report: Report, changes: list[Change]) -> Report:
    """Give each remaining diagnostic the input line it came from (``extra["input_line"]``)."""
    import bisect

    removed = [c.line for c in changes if c.out_line is None]
    # output lines written before each removed input line
    before = [line - 1 - k for k, line in enumerate(removed)]
    for d in report.diagnostics:
        if d.line is not None:
            d.extra["input_line"] = d.line + bisect.bisect_left(before, d.line)
    return report


def _lint_output(path: str, fmt: str | None, opts: FixOptions, label: str,
                 changes: list[Change]) -> Report:
    from datakit.linter.run import LintOptions, lint_paths

    report = lint_paths([path], LintOptions(format=fmt or opts.format, target=opts.target))
    for f in report.files:
        f.path = label
    for d in report.diagnostics:
        d.path = label
    return _annotate(report, changes)


def fix_file(path: str, output: str | None, opts: FixOptions, *, in_place: bool = False,
             force: bool = False, dry_run: bool = False, backup_suffix: str = ".bak") -> FixResult:
    """Fix one JSONL file (plain, .gz or .zst) into ``output``; ``dry_run`` writes nothing,
    ``in_place`` replaces ``path`` and keeps the original as ``path + backup_suffix``."""
    from datakit.io import reader
    from datakit.linter.run import SNIFF_LINES

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such file")
    if path.endswith(".zip"):
        raise UsageError(f"{path}: fix works on .jsonl files; extract the archive, fix the "
                         ".jsonl and zip it again with its images")
    if in_place and output is not None and os.path.abspath(output) != os.path.abspath(path):
        raise UsageError("give either -o OUT or --in-place, not both")
    if in_place:
        output = path
    elif output is not None and os.path.abspath(output) == os.path.abspath(path):
        raise UsageError(f"{output} is the input; use --in-place to replace it (a backup is kept)")
    if output is None and not dry_run:
        raise UsageError("say where to write: -o OUT, --in-place or --dry-run")
    backup = path + backup_suffix if in_place else None
    if backup and os.path.exists(backup) and not force and not dry_run:
        raise UsageError(f"{backup} exists; move it away or pass --force to overwrite it")
    if output is not None and not in_place and not dry_run and os.path.exists(output) and not force:
        raise UsageError(f"{output} exists; pass --force to overwrite it")

    opts.resolve()
    head = []
    with reader.open_binary(path) as fh:
        for ln in fh:
            head.append(ln)
            if len(head) >= SNIFF_LINES:
                break
    fmt = _format_of(head, opts)
    catalog = build_catalog(reader.iter_lines(path)) if _needs_catalog(fmt, opts) else {}
    fixer = LineFixer(fmt, opts, path=path, catalog=catalog)

    if dry_run:
        fd, dest = tempfile.mkstemp(prefix="datakit-fix-", suffix=".jsonl")
        os.close(fd)
    else:
        dest = output  # type: ignore[assignment]
    lines_in = 0
    try:
        with _writer(dest, overwrite=True) as out:
            for batch in reader.iter_batches(reader.iter_lines(path), BATCH_BYTES):
                for raw, new in zip(batch, fixer.feed(batch), strict=True):
                    lines_in += 1
                    if new is not None:
                        out.write(new)
            if in_place and fixer.changes and backup:
                shutil.copy2(path, backup)  # before the atomic rename replaces the original
        label = path if dry_run else dest
        report = _lint_output(dest, fmt, opts, label, fixer.changes)
        if dry_run:  # there is no output file to point into: speak in input lines
            for d in report.diagnostics:
                if d.line is not None:
                    d.extra["output_line"] = d.line
                    d.line = d.extra["input_line"]
    finally:
        if dry_run:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(dest)
    return FixResult(source=path, output=None if dry_run else dest, format=fmt,
                     target=opts.target, fixed=fixer.fixed, changes=fixer.changes, report=report,
                     lines_in=lines_in, lines_out=fixer.out_line, dry_run=dry_run,
                     backup=backup if (in_place and fixer.changes and not dry_run) else None)


# --------------------------------------------------------------------------- in memory

def _lint_lines_report(lines: list[bytes], fmt: str | None, opts: FixOptions, label: str,
                       changes: list[Change]) -> Report:
    from datakit.api import lint_records
    from datakit.linter.run import LintOptions

    report = lint_records(lines, LintOptions(format=fmt or opts.format, target=opts.target), label)
    return _annotate(report, changes)


def _fix_memory_lines(lines: list[bytes], opts: FixOptions, label: str
                      ) -> tuple[LineFixer, list[bytes | None], str | None]:
    fmt = _format_of(lines[:64], opts)
    catalog = build_catalog(lines) if _needs_catalog(fmt, opts) else {}
    fixer = LineFixer(fmt, opts, path=label, catalog=catalog)
    out: list[bytes | None] = []
    for start in range(0, len(lines), 2000):
        out += fixer.feed(lines[start:start + 2000])
    return fixer, out, fmt


def fix_records(records: list[Any], opts: FixOptions, label: str
                ) -> tuple[FixResult, list[int], list[Any]]:
    """Fix in-memory rows; returns the result, the kept row positions and their records
    (the original object where nothing changed)."""
    opts.resolve()
    lines = list(sources.to_lines(records))
    fixer, out, fmt = _fix_memory_lines(lines, opts, label)
    changed = {c.line for c in fixer.changes}
    kept, new_records, out_lines = [], [], []
    for i, (rec, new) in enumerate(zip(records, out, strict=True)):
        if new is None:
            continue
        kept.append(i)
        out_lines.append(new)
        new_records.append(json.loads(new) if (i + 1) in changed else rec)
    report = _lint_lines_report(out_lines, fmt, opts, label, fixer.changes)
    result = FixResult(source=label, output=None, format=fmt, target=opts.target,
                       fixed=fixer.fixed, changes=fixer.changes, report=report,
                       lines_in=len(lines), lines_out=len(out_lines))
    return result, kept, new_records


# --------------------------------------------------------------------------- the API

def fix(
    source: Any,
    target: str | None = None,
    format: str = "auto",
    only: Iterable[str] | str | None = None,
    output: str | os.PathLike | None = None,
    merge_consecutive: bool = False,
    trim_trailing: bool = False,
    dedupe: bool = True,
    *,
    in_place: bool = False,
    force: bool = False,
    num_proc: int | None = None,
    batch_size: int = 1000,
    keep_text: bool = False,
) -> FixResult:
    """Apply every declared, safe fix (see ``datakit rules``, ``[fix]``) to ``source``.

    ``source`` is a path (written to ``output``, or ``in_place`` with a ``.bak``
    backup; with neither, nothing is written and the result says what would
    change), a list of dicts (→ list, in ``result.data``), a ``pandas.DataFrame``
    (→ DataFrame) or a ``datasets.Dataset`` (→ Dataset, fixed with
    ``map(batched=True, num_proc=num_proc)``). ``only`` limits the fixes to some
    codes, prefixes or rule names. Merging consecutive same-role turns (R003) and
    trimming trailing turns (R004) change the training signal and run only when
    asked. ``result.remaining`` is the lint of the output: what the fixes left.
    """
    if isinstance(only, str):
        only = [s for s in only.split(",")]
    opts = FixOptions(format=format, target=target,
                      only=None if only is None else tuple(s.strip() for s in only if s.strip()),
                      merge_consecutive=merge_consecutive, trim_trailing=trim_trailing,
                      dedupe=dedupe, keep_text=keep_text)
    if target:
        from datakit.targets import resolve

        resolve(target)
    kind = sources.kind(source)
    if kind == "path":
        return fix_file(os.fspath(source), None if output is None else os.fspath(output), opts,
                        in_place=in_place, force=force, dry_run=output is None and not in_place)
    if kind == "paths":
        raise UsageError("fix takes one file at a time")
    if output is not None or in_place:
        raise UsageError("output= and in_place= are for files; in-memory data comes back in "
                         "result.data")
    if kind == "pandas":
        from datakit.fixers.frames import fix_pandas

        return fix_pandas(source, opts)
    if kind == "datasets":
        from datakit.fixers.frames import fix_dataset

        return fix_dataset(source, opts, num_proc, batch_size)
    records = list(sources.iter_records(source))
    result, _, new_records = fix_records(records, opts, "<records>")
    result.data = new_records
    return result


__all__ = [
    "AMBIGUOUS",
    "LINE_FIXES",
    "Change",
    "FixOptions",
    "FixResult",
    "LineFixer",
    "fix",
    "fix_file",
    "fix_records",
]

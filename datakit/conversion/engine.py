"""Convert examples: one object, one batch of raw lines, one batch of records.

This is the hot path and the unit of parallelism: a worker process gets a
batch of raw JSONL lines and returns the output lines, the reject records and
the diagnostics, with line numbers relative to the batch. Nothing here touches
files, so the same code serves the CLI, ``datakit.convert`` and
``Dataset.map(convert_batch)``.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from datakit.conversion import mapping as M
from datakit.conversion import pointers as P
from datakit.conversion.fast import FAST
from datakit.conversion.jsontext import loads as exact_loads
from datakit.rules.conversion import kind
from datakit.rules.registry import Finding

if TYPE_CHECKING:
    from datakit.conversion.adapt import Media, Options

# The model path (readers, adapt, writers) is imported on first use: a run whose
# examples all take the direct path never pays for it, and nor does a parent
# process that only hands batches to workers.

BOM = b"\xef\xbb\xbf"
_NEWLINE = orjson.OPT_APPEND_NEWLINE
POLICIES = ("error", "warn", "drop")


@dataclass(slots=True)
class Settings:
    """Everything a worker needs; small and picklable."""

    target: str
    source: str = "auto"
    on_loss: str = "error"
    merge_consecutive: bool = False
    trim_trailing: bool = False
    bot_name: str | None = None
    user_name: str | None = None

    def options(self, media: Media | None = None,
                images_out: dict[str, bytes] | None = None) -> Options:
        from datakit.conversion.adapt import Options

        return Options(self.target, self.merge_consecutive, self.trim_trailing, self.bot_name,
                       self.user_name, media, images_out)


@dataclass(slots=True)
class Outcome:
    status: str  # "written" or "rejected"
    obj: dict | None
    findings: list[Finding]
    source: str | None

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


_OPTIONS: dict[tuple, Options] = {}


def _options(settings: Settings) -> Options:
    """Options without media are the same for every example: build them once."""
    key = (settings.target, settings.merge_consecutive, settings.trim_trailing,
           settings.bot_name, settings.user_name)
    opts = _OPTIONS.get(key)
    if opts is None:
        opts = _OPTIONS[key] = settings.options()
    return opts


def source_format(obj: Any, source: str) -> str | None:
    if source != "auto":
        return source
    from datakit import formats as formats_mod  # only for --from auto: a costly import

    fam = formats_mod.detect_family(obj)
    if fam is None:
        return None
    return "openai" if fam == formats_mod.CHAT else fam


def convert_object(obj: Any, settings: Settings, media: Media | None = None,
                   images_out: dict[str, bytes] | None = None, fast: bool = True) -> Outcome:
    """Convert one parsed example; never raises for bad data."""
    src = source_format(obj, settings.source)
    if src is None:
        return Outcome("rejected", None, [Finding(
            "C021", "cannot tell the source format from the keys of this example; pass "
                    "--from FORMAT")], None)
    if fast and media is None and images_out is None and not (settings.merge_consecutive
                                                     or settings.trim_trailing):
        fast = FAST.get((src, settings.target))
        if fast is not None:
            done = fast(obj)
            if done is not None:  # exactly what the model gives, without building it
                return Outcome("written", done[0], done[1], src)
    from datakit.conversion.adapt import adapt
    from datakit.conversion.pointers import clamp
    from datakit.conversion.readers import ReadError, read
    from datakit.conversion.writers import write

    try:
        conv = read(obj, src)
    except ReadError as e:
        return Outcome("rejected", None, [Finding(
            "C020", f"not a valid {src} example: {e}", e.pointer)], src)
    findings = adapt(conv, settings.options(media, images_out) if media is not None or
                     images_out is not None else _options(settings))
    for n, f in enumerate(findings):  # a field the source does not spell: its nearest object
        if f.pointer:
            ptr = clamp(obj, f.pointer)
            if ptr != f.pointer:
                findings[n] = f._replace(pointer=ptr)
    kinds = {kind(f.code) for f in findings}
    if "fatal" in kinds or ("loss" in kinds and settings.on_loss != "warn"):
        return Outcome("rejected", None, findings, src)
    return Outcome("written", write(conv, settings.target), findings, src)


def dumps(obj: Any) -> bytes:
    """One JSONL line, UTF-8 without escaping (CJK stays one character, not six bytes)."""
    try:
        return orjson.dumps(obj, option=_NEWLINE)
    except (TypeError, orjson.JSONEncodeError):  # e.g. integers beyond 64 bits
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass") + b"\n"


@dataclass(slots=True)
class Tally:
    """Counts of one run; adds up across batches and files."""

    read: int = 0
    written: int = 0
    changed: int = 0  # written examples with at least one C05x change
    lossy: int = 0  # written examples with a loss (--on-loss warn)
    rejected: Counter = field(default_factory=Counter)  # by first blocking code
    losses: Counter = field(default_factory=Counter)  # every loss code, written or not
    changes: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)
    rejected_examples: int = 0

    def add(self, other: Tally) -> None:
        self.read += other.read
        self.written += other.written
        self.changed += other.changed
        self.lossy += other.lossy
        self.rejected_examples += other.rejected_examples
        self.rejected.update(other.rejected)
        self.losses.update(other.losses)
        self.changes.update(other.changes)
        self.sources.update(other.sources)

    def count(self, out: Outcome) -> None:
        self.read += 1
        if out.source:
            self.sources[out.source] += 1
        changed = lossy = False
        blocking = None
        for f in out.findings:
            k = kind(f.code)
            if k == "change":
                self.changes[f.code] += 1
                changed = True
            else:
                if k == "loss":
                    self.losses[f.code] += 1
                    lossy = True
                if blocking is None or (k == "fatal" and kind(blocking) != "fatal"):
                    blocking = f.code
        if out.status == "written":
            self.written += 1
            self.changed += changed
            self.lossy += lossy
        else:
            self.rejected_examples += 1
            self.rejected[blocking or "C020"] += 1


def tally_outcomes(outcomes: list[str]) -> Tally:
    """Count a run from the JSON outcomes that ``convert_batch(outcome_column=...)`` kept."""
    tally = Tally()
    for text in outcomes:
        o = json.loads(text)
        tally.count(Outcome(o["status"], None, [Finding(c, m) for c, m in o["findings"]],
                            o["source"]))
    return tally


@dataclass(slots=True)
class BatchOut:
    out: list[bytes] = field(default_factory=list)
    rejects: list[bytes] = field(default_factory=list)
    # (line relative to the batch, example index relative to the batch, Finding)
    diags: list[tuple[int, int, Finding]] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    lines: int = 0
    bytes: int = 0  # input bytes
    part: str | None = None  # a worker's output lines, spooled to this file instead of ``out``


def reject_record(path: str, line: int | None, findings: list[Finding], example: Any) -> bytes:
    from datakit.rules import registry

    reasons = [{"code": f.code, "name": registry.RULES[f.code].name, "message": f.message,
                "pointer": f.pointer} for f in findings if kind(f.code) != "change"]
    return dumps({"file": path, "line": line, "reasons": reasons, "example": example})


# Parsed ShareGPT `tools` texts per target, kept across batches of one process (corpora
# repeat a few tool sets); bounded, and only used where lines are serialised at once.
_TOOLS_CACHE: dict[str, dict] = {}


def convert_lines(lines: list[bytes], settings: Settings, path: str = "<lines>",
                  first_line: int = 1, media: Media | None = None,
                  images_out: dict[str, bytes] | None = None) -> BatchOut:
    """Convert raw JSONL lines. Line numbers in the result are absolute (``first_line``
    is the number of ``lines[0]``); a worker that does not know it passes 1 and the
    caller shifts them."""
    res = BatchOut(lines=len(lines), bytes=sum(map(len, lines)))
    decode_error = orjson.JSONDecodeError
    tally = res.tally
    example = -1
    # The direct path (see datakit.conversion.fast) when the source is known: most lines
    # of a corpus take it, so its bookkeeping is done here rather than via an Outcome.
    fast = None
    if (settings.source != "auto" and media is None and images_out is None
            and not (settings.merge_consecutive or settings.trim_trailing)):
        fast = FAST.get((settings.source, settings.target))
        if fast is not None:  # lines are serialised at once: parsed tool lists may be shared
            cache = _TOOLS_CACHE.setdefault(settings.target, {})
            if len(cache) > 1024:
                cache.clear()
            fast = functools.partial(fast, cache=cache)
    src_name = settings.source
    out_lines = res.out
    orjson_dumps = orjson.dumps
    n_fast = 0  # examples written by the direct path (counted once, at the end)
    for i, raw in enumerate(lines):
        try:
            # JSON allows the trailing newline; BOM and blank lines fail here. Integers
            # beyond 64 bits stay exact (orjson alone would make floats of them).
            obj = exact_loads(raw)
        except decode_error:
            body = raw.rstrip(b"\r\n")
            if body.startswith(BOM):
                body = body[3:]
            if not body.strip():
                continue  # blank lines hold no example (datakit lint reports them)
            try:
                obj = exact_loads(body)
            except decode_error as e:
                example += 1
                line_no = first_line + i
                f = Finding("C020", f"the line is not valid JSON ({e}); `datakit lint` explains it")
                out = Outcome("rejected", None, [f], None)
                tally.count(out)
                res.diags.append((line_no, example, f))
                res.rejects.append(reject_record(path, line_no, [f],
                                                 body.decode("utf-8", "replace")))
                continue
        example += 1
        if fast is not None:
            done = fast(obj)
            if done is not None:
                n_fast += 1
                if done[1]:  # only C05x changes come this way
                    tally.changed += 1
                    for f in done[1]:
                        tally.changes[f.code] += 1
                try:
                    out_lines.append(orjson_dumps(done[0], option=_NEWLINE))
                except (TypeError, orjson.JSONEncodeError):
                    out_lines.append(dumps(done[0]))
                continue
        line_no = first_line + i
        out = convert_object(obj, settings, media, images_out, fast=fast is None)
        tally.count(out)
        for f in out.findings:
            if kind(f.code) != "change":
                res.diags.append((line_no, example, f))
        if out.status == "written":
            res.out.append(dumps(out.obj))
        else:
            res.rejects.append(reject_record(path, line_no, out.findings, obj))
    if n_fast:
        tally.read += n_fast
        tally.written += n_fast
        tally.sources[src_name] += n_fast
    return res


# --------------------------------------------------------------------------- records

# Top-level keys each target writes (Dataset.map needs the same columns in every batch).
TARGET_COLUMNS: dict[str, tuple[str, ...]] = {
    "openai": ("messages", "tools", "parallel_tool_calls"),
    "mistral": ("messages", "tools"),
    "siliconflow": ("messages",),
    "dashscope-sft": ("messages",),
    "dashscope-sft-image": ("messages",),
    "dashscope-dpo": ("messages", "chosen", "rejected"),
    "openai-preference": ("input", "preferred_output", "non_preferred_output"),
    "minimax": ("messages", "prompt", "role_meta"),
    "minimax-pro": ("bot_setting", "messages"),
    "sharegpt": ("conversations", "system", "tools"),
    "alpaca": ("instruction", "input", "output", "system", "history"),
}

# Keys a source format reads (everything else is an extra column that is carried).
SOURCE_COLUMNS = {fmt: M.TOP_KEYS.get(fmt, M.TOP_KEYS["chat"]) for fmt in M.FORMAT_IDS}


class ConversionError(ValueError):
    """``on_loss="error"`` and at least one example could not be converted without loss."""

    def __init__(self, message: str, summary: Any = None) -> None:
        super().__init__(message)
        self.summary = summary


# Keys that make an example one format (a format's keys count as read, not as extra
# columns, only when a batch has these).
_FORMAT_KEYS: dict[str, tuple[str, ...]] = {
    "openai": ("messages",), "openai-preference": ("input", "preferred_output"),
    "dashscope-dpo": ("messages", "chosen", "rejected"), "minimax": ("messages",),
    "minimax-pro": ("messages", "bot_setting"), "sharegpt": ("conversations",),
    "alpaca": ("instruction", "output"),
}


def _auto_known(in_cols: list[str]) -> set[str]:
    """Columns read by a format the batch's columns can be (``--from auto``); the rest
    are carried. Without any such column, every format's keys."""
    cols = set(in_cols)
    fmts = [f for f, need in _FORMAT_KEYS.items() if cols.issuperset(need)]
    if not fmts:
        return set().union(*SOURCE_COLUMNS.values())
    return set().union(*(SOURCE_COLUMNS[f] for f in fmts))


def _uncarried(res: Outcome, keys: list[str], on_loss: str) -> Outcome:
    """A converted row has keys outside the batch's fixed columns: report them (C005), and
    apply the policy, rather than leave them out silently."""
    f = Finding("C005", f"key(s) {sorted(keys)} cannot be carried: convert_batch's columns are "
                        "the target's and the input's extra columns; pass from_=FORMAT so these "
                        "are recognised as extra columns", "/" + P.escape(min(keys)))
    findings = [*res.findings, f]
    if on_loss != "warn":
        return Outcome("rejected", None, findings, res.source)
    return Outcome("written", res.obj, findings, res.source)


def _rows(batch: Any) -> list[dict]:
    if hasattr(batch, "keys"):  # columns: a dict, or datasets' LazyBatch in Dataset.map
        cols = list(batch.keys())
        n = len(batch[cols[0]]) if cols else 0
        return [{c: batch[c][i] for c in cols} for i in range(n)]
    return list(batch)


def convert_batch(batch: Any, to: str, from_: str = "auto", on_loss: str = "drop", *,
                  merge_consecutive: bool = False, trim_trailing: bool = False,
                  bot_name: str | None = None, user_name: str | None = None,
                  status_column: str | None = None,
                  outcome_column: str | None = None) -> dict[str, list]:
    """Convert a batch of examples, given as columns (``{"messages": [...], ...}``, what
    ``datasets.Dataset.map(batched=True)`` passes) or as a list of dicts, into columns
    of the target format.

    Rejected examples are left out, unless ``status_column`` is given: then every row
    is kept and that column holds ``""`` for a converted row or the JSON list of its
    reasons (the target columns are None). With ``on_loss="error"`` the first rejected
    example raises :class:`ConversionError`. Columns the source format does not know
    are carried through unchanged. ``outcome_column`` (with ``status_column``) also
    keeps, for every row, the JSON of its status, source format and every finding
    (changes and losses too), from which :func:`tally_outcomes` counts the run.
    """
    from datakit.sources import strip_nulls

    if on_loss not in POLICIES:
        raise ValueError(f"on_loss must be one of {', '.join(POLICIES)}, got {on_loss!r}")
    settings = Settings(to, from_, on_loss, merge_consecutive, trim_trailing, bot_name, user_name)
    rows = _rows(batch)
    if hasattr(batch, "keys"):
        in_cols = list(batch.keys())
    else:  # a list of dicts: every key any row has
        in_cols = list({k: None for r in rows if isinstance(r, dict) for k in r})
    known = set(SOURCE_COLUMNS.get(from_, ())) if from_ != "auto" else _auto_known(in_cols)
    carried = [c for c in in_cols if c not in known and c != status_column]
    columns = list(TARGET_COLUMNS[to]) + [c for c in carried if c not in TARGET_COLUMNS[to]]
    out: dict[str, list] = {c: [] for c in columns}
    if status_column:
        out[status_column] = []
    if outcome_column:
        out[outcome_column] = []
    kept = set(columns)
    for row in rows:
        obj = strip_nulls(row)
        res = convert_object(obj, settings)
        if res.status == "written" and not res.obj.keys() <= kept:
            res = _uncarried(res, [k for k in res.obj if k not in kept], on_loss)
        if outcome_column:
            out[outcome_column].append(json.dumps(
                {"status": res.status, "source": res.source,
                 "findings": [[f.code, f.message] for f in res.findings]}, ensure_ascii=False))
        if res.status != "written":
            if on_loss == "error":
                first = next(f for f in res.findings if kind(f.code) != "change")
                raise ConversionError(f"{first.code}: {first.message}")
            if not status_column:
                continue
            for c in columns:
                out[c].append(None)
            out[status_column].append(json.dumps(
                [{"code": f.code, "message": f.message} for f in res.findings
                 if kind(f.code) != "change"], ensure_ascii=False))
            continue
        for c in columns:
            out[c].append(res.obj.get(c))
        if status_column:
            out[status_column].append("")
    return out


__all__ = [
    "POLICIES",
    "TARGET_COLUMNS",
    "BatchOut",
    "ConversionError",
    "Outcome",
    "Settings",
    "Tally",
    "convert_batch",
    "convert_lines",
    "convert_object",
    "dumps",
]

"""The lint kernel: a pure function over a batch of raw lines.

Engines (in-process, a local process pool, Hugging Face ``datasets``, Ray) all
call :func:`lint_lines`. It never raises on input: every problem becomes a
diagnostic on the line where it happens. Line and example numbers in the
result are local to the batch (1-based lines, 0-based examples); the engine
adds the batch's offsets.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from datakit import formats as formats_mod
from datakit.diagnostics import Diagnostic
from datakit.formats import CheckContext
from datakit.rules import registry
from datakit.rules import schema as schema_rules
from datakit.rules.registry import Finding

BOM = b"\xef\xbb\xbf"
# The tokens of a JSON text that can hold a value orjson refuses where Python's json does
# not: strings (lone surrogate escapes), numbers (beyond a double's range) and the NaN /
# Infinity literals. Strings are matched whole, so text inside them is never mistaken
# for a bare token.
_VALUE_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|-?Infinity|NaN|-?\d[\d.eE+-]*')
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(slots=True)
class KernelConfig:
    """Everything the kernel needs; small and picklable, sent once per batch."""

    path: str
    format: str | None  # resolved format id, or None when the file's format is unknown
    family: str | None = None  # expected detection family of every line
    not_jsonl: bool = False  # file is a JSON array / pretty-printed document (J009 reported once)
    images: frozenset[str] | None = None
    target: str | None = None  # target spec, resolved lazily in each worker
    check_duplicates: bool = True
    keep_source: bool = False  # attach the raw line text to diagnostics (full renderer)


DIGEST_BYTES = 16  # every digest function below gives 128 bits
# Below this many digests a dict finds the repeated ones; above it numpy sorts them
# (importing numpy costs ~0.1 s and ~10 MB, more than a small file's whole lint).
SORT_MIN_DIGESTS = 50_000


def _index_array(n: int) -> array:
    """An array for up to ``n`` 1-based line or 0-based example numbers: 4 bytes each
    while they fit (any real batch), 8 otherwise."""
    return array("I" if n < 1 << 32 and array("I").itemsize == 4 else "Q")


@dataclass(slots=True)
class Digests:
    """What duplicate detection keeps of each checked example: its content digest, line
    and example number, as flat arrays (24 bytes an example; a tuple of Python objects
    cost ~180). Each block is one batch's arrays with the offsets that turn its local
    numbers into the file's, so merging the batches of workers copies nothing; a block
    pickles as a few byte strings.

    Iterating gives ``(line, example, digest)`` in the order the examples were added
    (file order), as the list of tuples this replaces did."""

    # (line offset, example offset, lines, examples, concatenated digests)
    blocks: list[tuple[int, int, array, array, bytes]] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(b[2]) for b in self.blocks)

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        for line_off, ex_off, lines, examples, blob in self.blocks:
            for i, (line, example) in enumerate(zip(lines, examples)):
                at = i * DIGEST_BYTES
                yield line + line_off, example + ex_off, blob[at:at + DIGEST_BYTES]

    def add(self, other: Digests, line_off: int = 0, ex_off: int = 0) -> None:
        """Append ``other``'s entries, their numbers shifted by the offsets."""
        for lo, eo, lines, examples, blob in other.blocks:
            self.blocks.append((lo + line_off, eo + ex_off, lines, examples, blob))

    def repeated(self) -> Digests:
        """The entries whose digest occurs more than once, in order. Whatever compares
        digests first-come-first-served (``dict.setdefault``) finds the same duplicates,
        and the same first occurrences, in these as in all entries."""
        return self._kept(self._repeated_mask())

    def matching(self, other: Digests) -> Digests:
        """The entries whose digest is also one of ``other``'s, in order."""
        if not len(self) or not len(other):
            return Digests()
        if len(self) + len(other) < SORT_MIN_DIGESTS:
            wanted = {dg for _, _, dg in other}
            return self._kept([dg in wanted for _, _, dg in self])
        import numpy as np

        # 64-bit prefixes pick the candidates cheaply; the whole 128-bit digests decide
        # among them, so a prefix collision changes nothing.
        mine, theirs = self._prefixes(), other._prefixes()
        candidates = np.flatnonzero(np.isin(mine, theirs))
        wanted = set(other._digests_at(np.flatnonzero(np.isin(theirs, mine[candidates]))))
        keep = np.zeros(len(mine), dtype=bool)
        keep[candidates] = [dg in wanted for dg in self._digests_at(candidates)]
        return self._kept(keep)

    # ------------------------------------------------------------------ internals

    def _repeated_mask(self):
        if len(self) < SORT_MIN_DIGESTS:
            counts = Counter(dg for _, _, dg in self)
            return [counts[dg] > 1 for _, _, dg in self]
        import numpy as np

        prefixes = self._prefixes()
        ordered = np.sort(prefixes)
        shared = ordered[1:][ordered[1:] == ordered[:-1]]
        del ordered
        candidates = np.flatnonzero(np.isin(prefixes, shared))
        full = self._digests_at(candidates)  # equal prefixes: compare the whole digests
        counts = Counter(full)
        keep = np.zeros(len(prefixes), dtype=bool)
        keep[candidates] = [counts[dg] > 1 for dg in full]
        return keep

    def _prefixes(self):
        """The first 8 bytes of every digest, as one numpy uint64 array."""
        import numpy as np

        parts = [np.frombuffer(blob, dtype=np.uint64)[::DIGEST_BYTES // 8]
                 for *_, blob in self.blocks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)

    def _digests_at(self, indices) -> list[bytes]:
        """The digests at the ascending entry ``indices``, in one pass over the blocks."""
        out = []
        wanted = iter(indices.tolist())
        i = next(wanted, None)
        start = 0
        for *_, lines, _examples, blob in self.blocks:
            end = start + len(lines)
            while i is not None and i < end:
                at = (i - start) * DIGEST_BYTES
                out.append(blob[at:at + DIGEST_BYTES])
                i = next(wanted, None)
            start = end
        return out

    def _kept(self, keep) -> Digests:
        """A one-block Digests of the entries where ``keep`` (a list or numpy array of
        booleans, one per entry) is true."""
        kept_lines: list[int] = []
        kept_examples: list[int] = []
        blob = bytearray()
        start = 0
        for line_off, ex_off, lines, examples, block_blob in self.blocks:
            part = keep[start:start + len(lines)]
            chosen = (part.nonzero()[0].tolist() if hasattr(part, "nonzero")
                      else [j for j, k in enumerate(part) if k])
            for j in chosen:
                kept_lines.append(lines[j] + line_off)
                kept_examples.append(examples[j] + ex_off)
                blob += block_blob[j * DIGEST_BYTES:(j + 1) * DIGEST_BYTES]
            start += len(lines)
        if not kept_lines:
            return Digests()
        top = max(max(kept_lines), max(kept_examples)) + 1
        out_lines, out_examples = _index_array(top), _index_array(top)
        out_lines.extend(kept_lines)
        out_examples.extend(kept_examples)
        return Digests([(0, 0, out_lines, out_examples, bytes(blob))])


@dataclass(slots=True)
class BatchResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    lines: int = 0
    examples: int = 0
    bytes: int = 0
    ends_with_newline: bool = True
    digests: Digests = field(default_factory=Digests)  # duplicate detection, see Digests
    # run.py's engine keeps one diagnostic per file of the codes the report shows once
    # with a count (J003 on every CRLF line): code -> that diagnostic
    folded: dict[str, Diagnostic] = field(default_factory=dict)
    stats: list[Any] = field(default_factory=list)  # per-example target data (length checks)
    unchecked: int = 0  # lines of a not-JSONL file that are pieces of a multi-line value
    # run.py's engine under --max-per-rule: (code, severity) -> diagnostics not kept (the
    # report could never show them; they are still counted), and per code the number
    # kept and the line of the last one kept
    capped: Counter = field(default_factory=Counter)
    kept_codes: dict[str, list[int]] = field(default_factory=dict)


def _column_of_byte(body: bytes, byte_index: int) -> int:
    return len(body[:byte_index].decode("utf-8", errors="replace")) + 1


def _lone_surrogate(token: str) -> tuple[int, str] | None:
    """Offset and text of the first ``\\uD800``-``\\uDFFF`` escape in a string token that
    is not half of a high+low pair."""
    pending: tuple[int, str] | None = None  # a high surrogate waiting for its low half
    for m in _ESCAPE.finditer(token):
        hexa = m.group(1)
        unit = int(hexa, 16) if hexa else -1
        if pending is not None:
            if 0xDC00 <= unit <= 0xDFFF and m.start() == pending[0] + 6:
                pending = None
                continue
            return pending
        if 0xD800 <= unit <= 0xDBFF:
            pending = (m.start(), m.group(0))
        elif 0xDC00 <= unit <= 0xDFFF:
            return m.start(), m.group(0)
    return pending


def _refused_value(text: str) -> Finding | None:
    """The first value of an otherwise well-formed line that strict parsers refuse: a
    NaN/Infinity literal, a number beyond a 64-bit float's range, or a lone surrogate."""
    for m in _VALUE_TOKEN.finditer(text):
        token = m.group(0)
        col = m.start() + 1
        if token[0] == '"':
            lone = _lone_surrogate(token)
            if lone is not None:
                col += lone[0]
                return Finding("J005", f"the string escape {lone[1]} at column {col} is a lone "
                                       "UTF-16 surrogate, not a character (strict parsers refuse "
                                       "it and the text cannot be written as UTF-8; it is often "
                                       "an emoji cut in half); delete it, or complete the pair "
                                       "(a high \\ud800-\\udbff followed by a low "
                                       "\\udc00-\\udfff escape)", column=col)
            continue
        if token in ("NaN", "Infinity", "-Infinity"):
            return Finding("J006", f"{token} is not valid JSON at column {col}; "
                                   "use null or a finite number", column=col)
        try:
            value = float(token)
        except ValueError:
            continue
        if value in (math.inf, -math.inf):
            digits = len(token.lstrip("-"))
            if token.lstrip("-").isdigit():
                return Finding("J006", f"an integer of {digits} digits at column {col} is too "
                                       "large for a JSON number (beyond about 1.8e308 it "
                                       "parses as infinity, or not at all); write it as a "
                                       "string, or use null", column=col)
            shown = token if len(token) <= 24 else token[:20] + "…"
            return Finding("J006", f"the number {shown} at column {col} overflows to "
                                   "infinity (the largest JSON number is about 1.8e308); "
                                   "use a finite number, null, or a string", column=col)
    return None


def explain_parse_error(body: bytes) -> Finding:
    """orjson said no: find out exactly why, with a 1-based character column."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        col = _column_of_byte(body, e.start)
        bad = body[e.start:e.start + 4].hex(" ")
        return Finding("J001", f"invalid UTF-8 byte sequence ({bad}) at column {col}; "
                               "re-encode the file as UTF-8", column=col)
    m = _CONTROL.search(body)
    try:
        # parse_int=float: Python refuses int() of over 4300 digits (ValueError); a float
        # has no such limit, and only the syntax matters here, not the value
        json.loads(text, parse_int=float)
    except RecursionError:
        return Finding("J008", "nesting is too deep to parse (over 1024 levels)", column=1)
    except json.JSONDecodeError as e:
        if m is not None and _column_of_byte(body, m.start()) <= e.colno:
            col = _column_of_byte(body, m.start())
            return Finding("J014", f"control character 0x{body[m.start()]:02x} at column {col}; "
                                   "is this a binary or compressed file?", column=col)
        hint = ""
        if e.pos >= len(text.rstrip()):
            hint = ("; the line ends before the JSON value does (a truncated line, or an "
                    "object pretty-printed over several lines)")
        elif e.msg.startswith("Extra data"):
            hint = "; there is more than one JSON value on this line (one example per line)"
        elif e.msg.startswith("Expecting property name enclosed"):
            hint = "; keys must be double-quoted strings (is this a Python dict repr?)"
        elif e.msg.startswith("Unterminated string") or e.msg.startswith("Expecting"):
            hint = "; the line may be truncated or an object may be pretty-printed over several lines"
        return Finding("J005", f"invalid JSON: {e.msg} at column {e.colno}{hint}", column=e.colno)
    except ValueError:
        pass  # any other refusal of the stdlib: the token scan below says which value
    # Python's json accepted what orjson refused: NaN/Infinity, a number out of range,
    # a lone surrogate, or depth past orjson's limit.
    refused = _refused_value(text)
    if refused is not None:
        return refused
    return Finding("J008", "nesting is too deep to parse (over 1024 levels)", column=1)


def explain_parse_error_safely(body: bytes) -> Finding:
    """:func:`explain_parse_error`, which must never end the run: whatever it fails on
    still leaves a diagnostic on the line."""
    try:
        return explain_parse_error(body)
    except Exception as exc:  # noqa: BLE001 - one bad line must not stop the file
        return Finding("J005", f"invalid JSON ({type(exc).__name__}: {exc}); check this line "
                               "with a strict JSON parser", column=1)


def array_element(body: bytes) -> tuple[bytes, Any] | None:
    """A line of a JSON array file that holds one whole element (``{...},``, ``[{...},``,
    ``{...}]``): the element's bytes and value, when it is an object; else None."""
    text = body.strip()
    if text.startswith(b"["):
        text = text[1:].lstrip()
    text = text.rstrip(b",").rstrip()
    if text.endswith(b"]") and not text.endswith(b"}]"):
        return None
    if text.endswith(b"]"):
        text = text[:-1].rstrip().rstrip(b",").rstrip()
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return (text, value) if isinstance(value, dict) else None


def _is_framing(body: bytes) -> bool:
    """A line of only brackets and commas: the frame of a JSON array, not content."""
    return not body.translate(None, b"[], \t\r\n")


# Keys that only one family uses, but whose detection needs all of them: a line with
# some of them is an example of that family with a key missing (a schema error), not
# an example of another format (J012).
_FAMILY_ONLY_KEYS = {"dashscope-dpo": ("chosen", "rejected")}


def _partial_of(obj: dict, family: str) -> bool:
    return any(key in obj for key in _FAMILY_ONLY_KEYS.get(family, ()))


def sniff_family(obj: Any) -> str | None:
    """The family a line votes for when a file's format is detected: its detected family,
    or the family whose own keys it carries when some are missing."""
    fam = formats_mod.detect_family(obj)
    if isinstance(obj, dict):
        for family in _FAMILY_ONLY_KEYS:
            if fam != family and _partial_of(obj, family):
                return family
    return fam


def _digest_function():
    """A 128-bit content digest for duplicate detection. xxh3 hashes at memory speed
    (0.03 s per 100 MB against 0.3 s for blake2b); sha256 (hardware-accelerated on
    most CPUs) is the fallback. Every engine of one run uses the same function."""
    try:
        from xxhash import xxh3_128_digest
    except ImportError:  # pragma: no cover - xxhash ships with `datasets`
        return lambda body: hashlib.sha256(body.strip()).digest()[:16]

    def digest(body: bytes) -> bytes:
        # strip() copies the line: only pay for it when there is whitespace to strip
        if body[:1].isspace() or body[-1:].isspace():
            body = body.strip()
        return xxh3_128_digest(body)

    return digest


digest = _digest_function()


def _target_runtime(spec: str | None):
    if not spec:
        return None
    from datakit.targets import runtime_for

    return runtime_for(spec)


_CONTEXT_CACHE: dict[tuple, Any] = {}


def lint_lines(
    lines: list[bytes],
    cfg: KernelConfig,
    *,
    at_file_start: bool = True,
    at_file_end: bool = True,
) -> BatchResult:
    """Lint one batch of raw lines (each with its newline, except perhaps the last)."""
    res = BatchResult()
    diags = res.diagnostics
    path = cfg.path
    fmt_id = cfg.format
    fmt = formats_mod.get(fmt_id) if fmt_id else None
    ctx = CheckContext(images=cfg.images)
    detect = formats_mod.detect_family
    expected_family = cfg.family
    fast_valid = schema_rules.fast_validator(fmt_id).is_valid if fmt_id else None
    target = _target_runtime(cfg.target)
    loads = orjson.loads
    make = registry.diagnostic
    check = fmt.check if fmt is not None else None
    check_duplicates = cfg.check_duplicates
    not_jsonl = cfg.not_jsonl
    # duplicate detection: flat arrays, not a tuple of Python objects per example
    digest_lines, digest_examples = _index_array(len(lines) + 1), _index_array(len(lines) + 1)
    digest_blob = bytearray()
    example = -1
    nbytes = 0

    def emit(f: Finding, line_no: int, ex: int | None, raw: bytes | None = None) -> None:
        d = make(f, path=path, line=line_no, example=ex)
        if cfg.keep_source and raw is not None:
            d.extra["source"] = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        diags.append(d)

    for i, raw in enumerate(lines):
        line_no = i + 1
        nbytes += len(raw)
        # --- framing -------------------------------------------------------
        if raw.endswith(b"\n"):
            if raw.endswith(b"\r\n"):
                body = raw[:-2]
                emit(Finding("J003", "line ends with CRLF; use LF line endings"), line_no, None)
            else:
                body = raw[:-1]
        else:
            body = raw
            if at_file_end and i == len(lines) - 1:
                res.ends_with_newline = False
        if body.startswith(BOM):
            where = "at the start of the file" if (at_file_start and i == 0) else "at the start of the line"
            emit(Finding("J002", f"UTF-8 byte-order mark {where}; save as UTF-8 without BOM",
                         column=1), line_no, None)
            body = body[3:]
        if not body or body.isspace():  # isspace: no copy of the line, unlike strip()
            emit(Finding("J004", "blank line; every line must hold one example, delete it"),
                 line_no, None)
            continue
        example += 1
        # --- parse ---------------------------------------------------------
        try:
            obj = loads(body)
        except orjson.JSONDecodeError:
            if not not_jsonl:
                emit(explain_parse_error_safely(body), line_no, example, raw)
                continue
            # J009 reports the framing once; an element alone on its line is still checked
            element = array_element(body)
            # not an element alone on its line: a piece of an example, or the array's
            # frame, which the branch below counts as such
            body, obj = element if element is not None else (body, None)
        if not isinstance(obj, dict):
            if not_jsonl:
                if not _is_framing(body):
                    res.unchecked += 1
                example -= 1
            else:
                kind = type(obj).__name__.replace("dict", "object").replace("list", "array")
                kind = {"str": "string", "int": "number", "float": "number", "bool": "boolean",
                        "NoneType": "null"}.get(kind, kind)
                emit(Finding("J007", f"line is a JSON {kind}, not an object; each line must be "
                                     "one example object", column=1), line_no, example, raw)
            continue
        if check is None:
            continue
        if check_duplicates:
            digest_lines.append(line_no)
            digest_examples.append(example)
            digest_blob += digest(body)
        # --- format --------------------------------------------------------
        if expected_family is not None:
            fam = detect(obj)
            if (fam is not None and fam != expected_family
                    and not _partial_of(obj, expected_family)):
                emit(Finding("J012", f"this line looks like {fam} but the file is {fmt_id}; "
                                     f"convert it with `datakit convert --to {fmt_id}`"),
                     line_no, example, raw)
                continue
        schema_ok = fast_valid(obj)
        findings: list[Finding] = [] if schema_ok else schema_rules.explain_failure(obj, fmt_id)
        try:
            findings.extend(check(obj, ctx))
        except Exception as exc:  # noqa: BLE001 - a check must never kill the run
            if schema_ok:
                findings.append(Finding("X001", f"internal error in {fmt_id} checks: "
                                                f"{type(exc).__name__}: {exc}"))
        if target is not None:
            try:
                findings.extend(target.check_example(obj, body, fmt_id, res.stats, line_no,
                                                     example, schema_ok, findings))
            except Exception as exc:  # noqa: BLE001
                findings.append(Finding("X001", f"internal error in target checks: "
                                                f"{type(exc).__name__}: {exc}"))
        for f in findings:
            emit(f, line_no, example, raw)
    res.lines = len(lines)
    res.examples = example + 1
    res.bytes = nbytes
    if digest_lines:
        res.digests.blocks.append((0, 0, digest_lines, digest_examples, bytes(digest_blob)))
    return res

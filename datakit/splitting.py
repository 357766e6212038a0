"""``datakit split``: deterministic, leakage-free train/validation splits within caps.

Each example is assigned by a **seeded hash of its group key**, never by shuffling:

* the same input and seed give the same split, and reordering lines changes nothing;
* with ``val_ratio`` an example goes to validation when ``hash(seed, key) < ratio``,
  a fact about the example alone, so appending examples never moves old ones;
* the default group key is the normalised system prompt plus the first user turn,
  so near-copies of one conversation (and exact duplicates) share a side.

``val_count`` / ``val_bytes`` and ``stratify_by`` take the groups with the smallest
hashes instead (exact sizes and proportions); they stay order-independent, but an
appended group with a small hash can displace the boundary group.

Provider caps (``target``) are applied after assignment, by moving whole groups
with the largest hashes back to training (or, for a minimum, the smallest into
validation), and the result reports every cap against the size achieved.
Where a cap binds, appended examples can change which boundary groups it moves
(only among the groups that the ratio alone puts in validation).

Two passes over a file: pass 1 computes keys and sizes (in worker processes over
line-aligned byte ranges for an uncompressed file over 32 MB), pass 2 copies
each raw line, byte for byte, to its side. Memory does not depend on the size of the
lines: between the passes datakit keeps 12 bytes per line (20 with
``stratify_by``) in NumPy arrays, about 100 MB of peak RSS for a 1 GB file of
770,000 lines, and never a Python object per line. Outputs are written
atomically; the input is never touched.

A group spread over several strata belongs to the stratum with the smallest
hash of its value, so the choice does not depend on line order.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import unicodedata
from array import array
from dataclasses import dataclass, field
from typing import Any

import orjson

from datakit import sources
from datakit.diagnostics import Diagnostic
from datakit.io import reader
from datakit.io.atomic import atomic_write

DEFAULT_RATIO = 0.1
MISSING = "<missing>"


class SplitError(ValueError):
    """The split cannot be made as asked (bad options, unreadable input)."""


# --------------------------------------------------------------------------- keys

def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace collapsed: near-copies get the same key."""
    if not unicodedata.is_normalized("NFKC", text):  # a fast check; most text already is
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().split())  # str.split(): any Unicode whitespace run


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content
                        if isinstance(p, dict) and isinstance(p.get("text"), str))
    return "" if content is None else json.dumps(content, sort_keys=True, ensure_ascii=False)


def _chat_key(msgs: Any) -> tuple[str, str] | None:
    if not isinstance(msgs, list):
        return None
    system, user = "", None
    for m in msgs:
        if not isinstance(m, dict):
            continue
        role = m.get("role")
        if role == "system" and not system:
            system = _text(m.get("content"))
        elif role == "user" and user is None:
            user = _text(m.get("content"))
            break
    return (system, user) if user is not None else None


def default_key_parts(obj: Any) -> tuple[str, str] | None:
    """(system prompt, first user turn) of an example in any supported format."""
    if not isinstance(obj, dict):
        return None
    if "messages" in obj and isinstance(obj["messages"], list):
        msgs = obj["messages"]
        if msgs and isinstance(msgs[0], dict) and "sender_type" in msgs[0]:  # MiniMax
            system = obj.get("prompt") if isinstance(obj.get("prompt"), str) else " ".join(
                _text(b.get("content")) for b in obj.get("bot_setting") or [] if isinstance(b, dict))
            user = next((_text(m.get("text")) for m in msgs
                         if isinstance(m, dict) and m.get("sender_type") == "USER"), None)
            return (system, user) if user is not None else None
        return _chat_key(msgs)
    if isinstance(obj.get("input"), dict):  # OpenAI preference
        return _chat_key(obj["input"].get("messages"))
    if isinstance(obj.get("conversations"), list):  # ShareGPT
        system = obj.get("system") if isinstance(obj.get("system"), str) else ""
        for t in obj["conversations"]:
            if isinstance(t, dict) and t.get("from") == "system" and not system:
                system = _text(t.get("value"))
            elif isinstance(t, dict) and t.get("from") in ("human", "user"):
                return system, _text(t.get("value"))
        return None
    if "instruction" in obj:  # Alpaca
        system = obj.get("system") if isinstance(obj.get("system"), str) else ""
        return system, f"{_text(obj.get('instruction'))}\n{_text(obj.get('input'))}"
    if isinstance(obj.get("prompt"), str) and "completion" in obj:  # legacy prompt/completion
        return "", obj["prompt"]
    return None


def field_path(obj: Any, path: str) -> Any:
    """``a.b.0.c`` (or the JSON pointer ``/a/b/0/c``) into ``obj``; raises KeyError
    when a part is missing."""
    cur = obj
    parts = ([p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]
             if path.startswith("/") else path.split("."))
    for part in parts:
        if isinstance(cur, list) and part.lstrip("-").isdigit():
            cur = cur[int(part)]
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise KeyError(part)
    return cur


def _canonical(value: Any) -> str:
    if isinstance(value, str):
        return normalise(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def group_key(obj: Any, raw: bytes, group_by: str | None = None) -> tuple[str, bool]:
    """The group key of one example, and whether ``group_by`` was missing."""
    if group_by:
        try:
            return "f:" + _canonical(field_path(obj, group_by)), False
        except (KeyError, IndexError, TypeError):
            missing = True
    else:
        missing = False
    parts = default_key_parts(obj)
    if parts is not None:
        return "d:" + normalise(parts[0]) + "\x1f" + normalise(parts[1]), missing
    # nothing recognisable: the example is its own group (duplicates still coincide)
    body = json.dumps(obj, sort_keys=True, ensure_ascii=False) if obj is not None else \
        raw.strip().decode("utf-8", "replace")
    return "r:" + body, missing


def key_hash(seed: int | str, key: str) -> int:
    """64-bit seeded hash of a group key (blake2b: stable across runs and machines)."""
    h = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8,
                        key=str(seed).encode()[:64])
    return int.from_bytes(h.digest(), "big")


# --------------------------------------------------------------------------- results

@dataclass
class Cap:
    name: str
    limit: str
    achieved: str
    ok: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "limit": self.limit, "achieved": self.achieved, "ok": self.ok}


@dataclass
class SplitResult:
    """What ``split`` did: sizes of each side, caps met, and what it had to adjust."""

    source: str
    train_path: str | None
    val_path: str | None
    seed: int | str
    group_by: str | None
    examples: int = 0
    groups: int = 0
    train_examples: int = 0
    val_examples: int = 0
    train_bytes: int = 0
    val_bytes: int = 0
    blank_lines: int = 0
    invalid_lines: int = 0
    moved_by_caps: int = 0
    caps: list[Cap] = field(default_factory=list)
    findings: list[Diagnostic] = field(default_factory=list)
    strata: dict[str, tuple[int, int]] = field(default_factory=dict)  # stratum -> (train, val)
    train: Any = None  # in-memory sources: the rows of each side (DataFrame / Dataset / list)
    val: Any = None
    val_lines: list[int] = field(default_factory=list, repr=False)  # 1-based source lines

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.caps) and not any(
            d.severity.value == "error" for d in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "train": self.train_path, "validation": self.val_path,
            "seed": self.seed, "group_by": self.group_by, "examples": self.examples,
            "groups": self.groups, "train_examples": self.train_examples,
            "val_examples": self.val_examples, "train_bytes": self.train_bytes,
            "val_bytes": self.val_bytes, "blank_lines": self.blank_lines,
            "invalid_lines": self.invalid_lines, "moved_by_caps": self.moved_by_caps,
            "caps": [c.to_dict() for c in self.caps],
            "strata": {k: {"train": t, "validation": v} for k, (t, v) in self.strata.items()},
            "findings": [d.to_dict() for d in self.findings], "ok": self.ok,
        }

    def __str__(self) -> str:
        share = self.val_examples / self.examples if self.examples else 0.0
        out = [f"datakit split {self.source}: {self.examples:,} examples in {self.groups:,} groups",
               f"  train       {self.train_examples:>9,} examples {self.train_bytes:>14,} bytes"
               + (f"  -> {self.train_path}" if self.train_path else ""),
               f"  validation  {self.val_examples:>9,} examples {self.val_bytes:>14,} bytes"
               f"  ({share:.1%})" + (f"  -> {self.val_path}" if self.val_path else "")]
        for c in self.caps:
            out.append(f"  cap {c.name}: {c.limit}; achieved {c.achieved} "
                       f"[{'ok' if c.ok else 'NOT MET'}]")
        if self.moved_by_caps:
            out.append(f"  {self.moved_by_caps:,} example(s) moved between sides to meet the caps")
        for name, (t, v) in sorted(self.strata.items()):
            tot = t + v
            out.append(f"  stratum {name!r}: {t:,} train / {v:,} validation "
                       f"({v / tot if tot else 0:.1%})")
        if self.blank_lines:
            out.append(f"  {self.blank_lines:,} blank line(s) skipped")
        if self.invalid_lines:
            out.append(f"  {self.invalid_lines:,} line(s) are not valid JSON; each is its own "
                       "group (run datakit lint)")
        for d in self.findings:
            out.append(f"  {d.code} [{d.severity.value}] {d.message}")
        return "\n".join(out)

    def __repr__(self) -> str:
        return (f"<SplitResult {self.train_examples:,} train / {self.val_examples:,} validation, "
                f"{len(self.caps)} cap(s) {'met' if self.ok else 'NOT met'}>")

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(a)}</td><td>{b:,}</td><td>{c:,}</td></tr>"
                       for a, b, c in (("train", self.train_examples, self.train_bytes),
                                       ("validation", self.val_examples, self.val_bytes)))
        caps = "".join(f"<tr><td>{html.escape(c.name)}</td><td>{html.escape(c.limit)}</td>"
                       f"<td>{html.escape(c.achieved)}</td><td>{'✔' if c.ok else '✘'}</td></tr>"
                       for c in self.caps)
        out = (f"<div><b>datakit split</b> — {self.examples:,} examples, {self.groups:,} groups"
               "</div><table><tr><th>side</th><th>examples</th><th>bytes</th></tr>"
               f"{rows}</table>")
        if caps:
            out += ("<table><tr><th>cap</th><th>limit</th><th>achieved</th><th>ok</th></tr>"
                    f"{caps}</table>")
        return out


# --------------------------------------------------------------------------- pass 1

_BLANK = 0  # size recorded for a blank line (a real line is at least one byte)


@dataclass
class _Scan:
    """Pass 1, compact: per line a 64-bit group hash and a size (0 = blank line), and
    with ``stratify_by`` a 64-bit stratum hash; no Python object per line."""

    hashes: array = field(default_factory=lambda: array("Q"))
    sizes: array = field(default_factory=lambda: array("I"))
    strata: array = field(default_factory=lambda: array("Q"))
    labels: dict[int, str] = field(default_factory=dict)  # stratum hash -> its value
    blank: int = 0
    invalid: int = 0
    missing_group: int = 0
    missing_stratum: int = 0


def _stratum_hash(label: str) -> int:
    return int.from_bytes(hashlib.blake2b(label.encode("utf-8", "surrogatepass"),
                                          digest_size=8).digest(), "big")


def _scan(lines, seed, group_by, stratify_by, bar) -> _Scan:
    sc = _Scan()
    hashes, sizes, strata, labels = sc.hashes, sc.sizes, sc.strata, sc.labels
    for raw in lines:
        n = len(raw)
        bar.update(n)
        body = raw.strip()
        if body.startswith(b"\xef\xbb\xbf"):
            body = body[3:]
        if not body:
            hashes.append(0)
            sizes.append(_BLANK)
            if stratify_by:
                strata.append(0)
            sc.blank += 1
            continue
        if n > 0xFFFFFFFF:
            raise SplitError(f"line {len(sizes) + 1} is over 4 GB")
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            obj = None
            sc.invalid += 1
        key, missing = group_key(obj, body, group_by)
        sc.missing_group += missing
        hashes.append(key_hash(seed, key))
        sizes.append(n)
        if stratify_by:
            try:
                label = _canonical(field_path(obj, stratify_by))
            except (KeyError, IndexError, TypeError):
                label = MISSING
                sc.missing_stratum += 1
            sh = _stratum_hash(label)
            labels.setdefault(sh, label)
            strata.append(sh)
    return sc


PARALLEL_MIN_BYTES = 32 << 20
SHARD_BYTES = 16 << 20


def _workers() -> int:
    from datakit.linter.run import default_workers

    return default_workers()


class _NoBar:
    def update(self, n: int) -> None:
        pass


def _scan_shard(args) -> tuple:
    shard, seed, group_by, stratify_by = args
    sc = _scan(reader.iter_shard_lines(shard), seed, group_by, stratify_by, _NoBar())
    return (shard.end - shard.start, sc.hashes.tobytes(), sc.sizes.tobytes(),
            sc.strata.tobytes(), sc.labels, sc.blank, sc.invalid, sc.missing_group,
            sc.missing_stratum)


def _scan_parallel(path: str, workers: int, seed, group_by, stratify_by, bar) -> _Scan:
    """Pass 1 over line-aligned byte ranges in ``workers`` processes, merged in order."""
    import multiprocessing
    import sys

    method = "fork" if sys.platform.startswith("linux") else None
    sc = _Scan()
    jobs = [(sh, seed, group_by, stratify_by) for sh in reader.shards(path, SHARD_BYTES)]
    with multiprocessing.get_context(method).Pool(workers) as pool:
        for (nbytes, hashes, sizes, strata, labels, blank, invalid, mg,
             ms) in pool.imap(_scan_shard, jobs):
            sc.hashes.frombytes(hashes)
            sc.sizes.frombytes(sizes)
            sc.strata.frombytes(strata)
            sc.labels.update(labels)
            sc.blank += blank
            sc.invalid += invalid
            sc.missing_group += mg
            sc.missing_stratum += ms
            bar.update(nbytes)
    return sc


@dataclass
class _Groups:
    """Per group (sorted by hash): examples, bytes, stratum; ``val`` is the assignment."""

    h: Any
    examples: Any
    bytes: Any
    stratum: Any
    val: Any
    inverse: Any  # group index of each non-blank line
    nonblank: Any  # mask over lines

    def sides(self) -> tuple[int, int, int, int]:
        ve = int(self.examples[self.val].sum())
        vb = int(self.bytes[self.val].sum())
        return int(self.examples.sum()) - ve, ve, int(self.bytes.sum()) - vb, vb


def _groups(sc: _Scan, stratified: bool) -> _Groups:
    import numpy as np

    h = np.frombuffer(sc.hashes, dtype=np.uint64) if len(sc.hashes) else np.zeros(0, np.uint64)
    sz = np.frombuffer(sc.sizes, dtype=np.uint32) if len(sc.sizes) else np.zeros(0, np.uint32)
    nonblank = sz != _BLANK
    gh, inverse, counts = np.unique(h[nonblank], return_inverse=True, return_counts=True)
    gbytes = np.bincount(inverse, weights=sz[nonblank], minlength=len(gh)).astype(np.int64)
    stratum = np.zeros(len(gh), np.uint64)
    if stratified and len(gh):
        st = np.frombuffer(sc.strata, dtype=np.uint64)[nonblank]
        # a group spread over strata belongs to the smallest stratum hash: order-independent
        stratum = np.full(len(gh), np.iinfo(np.uint64).max, np.uint64)
        np.minimum.at(stratum, inverse, st)
    return _Groups(gh, counts.astype(np.int64), gbytes, stratum, np.zeros(len(gh), bool),
                   inverse, nonblank)


# --------------------------------------------------------------------------- assignment

def _threshold(ratio: float) -> int:
    """``hash < threshold`` ⇔ ``hash / 2**64 < ratio``."""
    return min(int(ratio * 2.0 ** 64), 2 ** 64 - 1) if ratio > 0 else 0


def _assign(g: _Groups, ratio: float | None, count: int | None,
            nbytes: int | None, stratified: bool) -> None:
    import numpy as np

    if ratio is not None and not stratified:
        # a fact about each group alone: order-independent and append-stable
        g.val = g.h < np.uint64(_threshold(ratio))
        return
    total_ex, total_b = int(g.examples.sum()), int(g.bytes.sum())
    order = np.lexsort((g.h, g.stratum))  # by stratum, then hash
    st = g.stratum[order]
    cuts = np.flatnonzero(st[1:] != st[:-1]) + 1
    for seg in np.split(order, cuts):
        if not len(seg):
            continue
        ex, by = g.examples[seg], g.bytes[seg]
        s_ex, s_b = int(ex.sum()), int(by.sum())
        if ratio is not None or count is not None:
            want = ratio * s_ex if ratio is not None else \
                (count * s_ex / total_ex if total_ex else 0)
            cum = np.cumsum(ex)
            prev = cum - ex
            # take groups in hash order while each brings the total closer to the wanted
            # size: |cum - want| <= |prev - want|  ⇔  cum + prev <= 2 want (cum increases)
            bad = np.flatnonzero(cum + prev > 2 * want)
        else:
            want_b = nbytes * s_b / total_b if total_b else 0
            bad = np.flatnonzero(np.cumsum(by) > want_b)
        k = int(bad[0]) if len(bad) else len(seg)
        g.val[seg[:k]] = True


def _keep_prefix(sizes, ok_for) -> int:
    """How many of the validation groups (in hash order) to keep: the longest prefix
    whose cumulative size passes ``ok_for`` (monotone: true on a prefix)."""
    import numpy as np

    kept = np.concatenate(([0], np.cumsum(sizes)))
    ok = ok_for(kept)
    bad = np.flatnonzero(~ok)
    return int(bad[0]) - 1 if len(bad) else len(sizes)


def _apply_caps(g: _Groups, target, result: SplitResult, finding) -> None:
    """Move whole groups until each cap of ``target`` holds: out of validation the
    groups with the largest hashes, into it (for a minimum) the smallest."""
    import numpy as np

    if target is None:
        return
    moved = 0
    total_b = int(g.bytes.sum())

    def trim(sizes_of, ok_for) -> None:
        nonlocal moved
        vi = np.flatnonzero(g.val)  # ascending hash
        k = max(_keep_prefix(sizes_of[vi], ok_for), 0)
        out = vi[k:]
        g.val[out] = False
        moved += int(g.examples[out].sum())

    fixed, share = target.val_max_bytes, target.val_max_ratio_of_train_bytes
    if fixed or share:
        def byte_cap(train_bytes):
            cap = np.full(np.shape(train_bytes), np.inf)
            if fixed:
                cap = np.minimum(cap, fixed)
            if share:
                cap = np.minimum(cap, share * np.asarray(train_bytes, dtype=float))
            return cap

        trim(g.bytes, lambda kept: kept <= byte_cap(total_b - kept))
        te, ve, tb, vb = g.sides()
        parts = []
        if fixed:
            parts.append(f"{fixed:,} bytes")
        if share:
            parts.append(f"{share:.0%} of training bytes")
        cap = float(byte_cap(tb))
        result.caps.append(Cap(f"{target.provider} validation bytes",
                               "≤ min(" + ", ".join(parts) + f") = {int(cap):,} bytes",
                               f"{vb:,} bytes", vb <= cap))
    if target.val_max_examples:
        trim(g.examples, lambda kept: kept <= target.val_max_examples)
        ve = g.sides()[1]
        result.caps.append(Cap(f"{target.provider} validation examples",
                               f"≤ {target.val_max_examples:,} examples", f"{ve:,}",
                               ve <= target.val_max_examples))
    unmet = [c for c in result.caps if not c.ok]
    if target.requires_validation:
        need = max(target.min_examples or 1, 1)
        te, ve, tb, vb = g.sides()
        for i in np.flatnonzero(~g.val):  # training groups, smallest hash first
            if ve >= need:
                break
            n = int(g.examples[i])
            if te - n < need:
                continue  # moving this group would leave training under the minimum
            g.val[i] = True
            moved += n
            te, ve = te - n, ve + n
        ok = te >= need and ve >= need
        result.caps.append(Cap(f"{target.provider} both files", f"≥ {need:,} examples each",
                               f"{te:,} train, {ve:,} validation", ok))
        if not ok:
            finding("D102", f"{target.id} needs at least {need:,} examples in each file; the "
                            f"split gives {te:,} train and {ve:,} validation: add examples")
    for c in unmet:
        finding("D102", f"cap {c.name} ({c.limit}) cannot be met: one group alone is larger; "
                        "use a finer --group-by")
    result.moved_by_caps = moved


# --------------------------------------------------------------------------- API

def _resolve_target(target: str | None):
    if not target:
        return None
    from datakit.targets import resolve

    return resolve(target)


def split(source: Any, train: str | os.PathLike | None = None,
          val: str | os.PathLike | None = None, *, target: str | None = None,
          val_ratio: float | None = None, val_count: int | None = None,
          val_bytes: int | None = None, seed: int | str = 0, group_by: str | None = None,
          stratify_by: str | None = None, force: bool = False,
          progress: bool | None = None) -> SplitResult:
    """Split ``source`` into training and validation sets.

    ``source``: a JSONL path (``.gz``/``.zst`` read too), a list of dicts, a
    ``pandas.DataFrame`` or a ``datasets.Dataset``. With ``train``/``val`` paths the
    raw lines are copied there byte for byte (atomically; existing files only with
    ``force``). In-memory sources also get ``result.train`` / ``result.val`` of the
    same type. Give at most one of ``val_ratio``, ``val_count``, ``val_bytes``; the
    default is the target's documented share (DashScope 20 %, SiliconFlow 10 %) or 10 %.
    ``progress``: a bar on stderr (default: only when stderr is a terminal).
    """
    import numpy as np

    from datakit.chunking import Progress
    from datakit.io.atomic import default_permissions

    chosen = [x is not None for x in (val_ratio, val_count, val_bytes)]
    if sum(chosen) > 1:
        raise SplitError("give only one of val_ratio, val_count, val_bytes")
    tgt = _resolve_target(target)
    if not any(chosen):
        val_ratio = (tgt.val_default_ratio if tgt and tgt.val_default_ratio else DEFAULT_RATIO)
    if val_ratio is not None and not 0 <= val_ratio < 1:
        raise SplitError(f"val_ratio must be in [0, 1), not {val_ratio}")
    if val_count is not None and val_count < 0 or val_bytes is not None and val_bytes < 0:
        raise SplitError("val_count and val_bytes cannot be negative")
    if (train is None) != (val is None):
        raise SplitError("give both output paths (TRAIN and VAL) or neither")
    if train is not None:
        tp, vp = os.path.abspath(train), os.path.abspath(val)
        if tp == vp:
            raise SplitError("TRAIN and VAL must be different files")
        for p in (tp, vp):
            if os.path.exists(p) and not force:
                from datakit.io.atomic import OutputExists

                raise OutputExists(f"{p} exists (use --force to overwrite)")

    kind = sources.kind(source)
    file_size = None
    if kind == "path":
        label = os.fspath(source)
        if not os.path.exists(label):
            raise SplitError(f"{label}: no such file")
        if os.path.isdir(label):
            raise SplitError(f"{label}: is a directory, not a JSONL file")
        what = reader.not_jsonl(label)
        if what is not None:
            raise SplitError(f"{label}: the file holds {what}, not JSON Lines; split copies "
                             f"lines byte for byte, so convert it first: datakit convert "
                             f"{label} --to FORMAT -o OUT.jsonl")
        if train is not None and any(os.path.exists(p) and os.path.samefile(label, p)
                                     for p in (tp, vp)):
            raise SplitError("an output path is the input file; the input is never overwritten")
        lines_factory = lambda: reader.iter_lines(label)
        mem_lines = None
        if not reader.is_compressed(label):
            file_size = os.path.getsize(label)
    elif kind == "paths":
        raise SplitError("split takes one input file; concatenate or split each file")
    else:
        label = {"pandas": "<DataFrame>", "datasets": "<Dataset>"}.get(kind, "<records>")
        mem_lines = list(sources.to_lines(sources.iter_records(source)))
        lines_factory = lambda: iter(mem_lines)

    result = SplitResult(source=label, train_path=os.fspath(train) if train else None,
                         val_path=os.fspath(val) if val else None, seed=seed, group_by=group_by)
    from datakit.rules import registry

    def finding(code: str, message: str, severity: str | None = None) -> None:
        sev = None if severity is None else registry.Severity(severity)
        result.findings.append(registry.diagnostic(
            registry.Finding(code, message, severity=sev), path=label, line=None, example=None))

    # Pass 1: keys and sizes (an uncompressed file of some size: byte ranges in parallel).
    bar = Progress("split: keys", file_size, progress)
    try:
        workers = _workers() if file_size and file_size >= PARALLEL_MIN_BYTES else 1
        if workers > 1:
            sc = _scan_parallel(label, workers, seed, group_by, stratify_by, bar)
        else:
            sc = _scan(lines_factory(), seed, group_by, stratify_by, bar)
    finally:
        bar.close()
    if sc.missing_group:
        finding("D103", f"{sc.missing_group:,} example(s) have no field {group_by!r}; they were "
                        "grouped by the default key (system prompt + first user turn)")
    if sc.missing_stratum:
        finding("D103", f"{sc.missing_stratum:,} example(s) have no field {stratify_by!r}; they "
                        f"form the stratum {MISSING!r}")
    result.blank_lines, result.invalid_lines = sc.blank, sc.invalid
    g = _groups(sc, bool(stratify_by))
    _assign(g, val_ratio, val_count, val_bytes, bool(stratify_by))
    _apply_caps(g, tgt, result, finding)
    te, ve, tb, vb = g.sides()
    result.examples, result.groups = te + ve, len(g.h)
    if tgt is not None and tgt.val_default_ratio and not any(chosen):
        share = ve / (te + ve) if te + ve else 0.0
        result.caps.insert(0, Cap(f"{tgt.provider} validation share",
                                  f"{tgt.val_default_ratio:.0%} of examples by default "
                                  "(before the caps)", f"{share:.1%}", True))
    requested = (val_ratio or 0) > 0 or (val_count or 0) > 0 or (val_bytes or 0) > 0
    if requested and te and not ve and not any(d.code == "D102" for d in result.findings):
        finding("D102", f"the validation set is empty: {te:,} example(s) in {len(g.h):,} "
                        "group(s) give none at this size; ask for --val-count N", "warning")
    result.train_examples, result.val_examples, result.train_bytes, result.val_bytes = te, ve, tb, vb
    if stratify_by:
        for sh in np.unique(g.stratum):
            in_s = g.stratum == sh
            v = int(g.examples[in_s & g.val].sum())
            result.strata[sc.labels.get(int(sh), MISSING)] = (int(g.examples[in_s].sum()) - v, v)

    # One byte per line: 0 blank (dropped), 1 training, 2 validation.
    side = np.zeros(len(sc.sizes), np.uint8)
    side[g.nonblank] = 1 + g.val[g.inverse]
    del sc, g
    if mem_lines is not None:
        result.val_lines = (np.flatnonzero(side == 2) + 1).tolist()

    if train is not None:  # pass 2: byte-for-byte copy
        sides = side.tobytes()
        bar = Progress("split: write", file_size, progress)
        n = 0
        with atomic_write(train, overwrite=True) as ft, atomic_write(val, overwrite=True) as fv:
            out = (None, ft.write, fv.write)
            for i, raw in enumerate(lines_factory()):
                if i >= len(sides):
                    raise SplitError(f"{label}: the input changed while it was being split")
                which = sides[i]
                if which:
                    out[which](raw)
                n = i + 1
                bar.update(len(raw))
            if n != len(sides):
                raise SplitError(f"{label}: the input changed while it was being split")
        bar.close()
        default_permissions(os.fspath(train), os.fspath(val))
    if mem_lines is not None:
        val_idx = [i - 1 for i in result.val_lines]
        train_idx = np.flatnonzero(side == 1).tolist()
        result.train, result.val = _take(source, kind, train_idx), _take(source, kind, val_idx)
    return result


def _take(source: Any, kind: str, idx: list[int]) -> Any:
    if kind == "pandas":
        return source.iloc[idx].reset_index(drop=True)
    if kind == "datasets":
        return source.select(idx)
    rows = list(source)
    return [rows[i] for i in idx]


# --------------------------------------------------------------------------- check-split

def _digest(body: bytes) -> bytes:
    try:
        canon = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        canon = body
    return hashlib.blake2b(canon, digest_size=16).digest()


def _keyed_lines(path: str | os.PathLike, group_by: str | None):
    """``(line number, group hash, exact digest)`` of every non-blank line."""
    for i, raw in enumerate(reader.iter_lines(path)):
        body = raw.strip().lstrip(b"\xef\xbb\xbf")
        if not body:
            continue
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            obj = None
        key, _ = group_key(obj, body, group_by)
        yield i + 1, key_hash(0, key), _digest(body)


def group_leaks(train_path: str | os.PathLike, val_path: str | os.PathLike,
                group_by: str | None = None) -> list[Diagnostic]:
    """Validation examples that share a group key (D101) with a training example.

    Exact duplicates are D006 (``datakit lint --validation``); this adds copies that
    differ after the group key. Each diagnostic points at the validation line and
    names the first training line of the same group. Memory grows with the
    validation file only: it is read first, then the training file is streamed.
    """
    from datakit.rules import registry

    by_group: dict[int, list[tuple[int, bytes]]] = {}
    for line, h, digest in _keyed_lines(val_path, group_by):
        by_group.setdefault(h, []).append((line, digest))
    wanted = {d for lines in by_group.values() for _, d in lines}
    first_train: dict[int, int] = {}
    exact: set[bytes] = set()
    for line, h, digest in _keyed_lines(train_path, group_by):
        if h in by_group:
            first_train.setdefault(h, line)
            if digest in wanted:
                exact.add(digest)
    hits = sorted((line, h, digest) for h, lines in by_group.items() if h in first_train
                  for line, digest in lines)
    out = []
    vlabel, tlabel = os.fspath(val_path), os.fspath(train_path)
    for line, h, digest in hits:
        what = "is an exact copy of a training example" if digest in exact else \
            "shares its group key (system prompt + first user turn)" if not group_by else \
            f"shares its {group_by!r} value"
        out.append(registry.diagnostic(registry.Finding(
            "D101", f"validation example {what} with {tlabel} line {first_train[h]}; "
                    "move the whole group to one side (datakit split keeps groups together)"),
            path=vlabel, line=line, example=None))
    return out


@dataclass
class CheckSplitResult:
    train: str
    val: str
    leaks: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not self.leaks

    def to_dict(self) -> dict[str, Any]:
        return {"train": self.train, "validation": self.val, "ok": self.ok,
                "leaks": [d.to_dict() for d in self.leaks]}

    def __str__(self) -> str:
        if self.ok:
            return f"datakit check-split: no leakage between {self.train} and {self.val}"
        body = "\n".join(f"{d.path}:{d.line}: {d.code} {d.message}" for d in self.leaks)
        return body + f"\n\n{len(self.leaks):,} validation example(s) leak from training."

    def __repr__(self) -> str:
        return f"<CheckSplitResult {len(self.leaks):,} leak(s)>"

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{d.line}</td><td>{html.escape(d.message)}</td></tr>"
                       for d in self.leaks)
        return (f"<div><b>datakit check-split</b> — {len(self.leaks):,} leak(s)</div>"
                f"<table><tr><th>validation line</th><th>message</th></tr>{rows}</table>")


def check_split(train: str | os.PathLike, val: str | os.PathLike, *,
                group_by: str | None = None) -> CheckSplitResult:
    """Report leakage (shared group keys, exact copies) between existing files."""
    for p in (train, val):
        if not os.path.exists(p):
            raise SplitError(f"{os.fspath(p)}: no such file")
    return CheckSplitResult(os.fspath(train), os.fspath(val), group_leaks(train, val, group_by))


__all__ = [
    "CheckSplitResult",
    "SplitError",
    "SplitResult",
    "check_split",
    "group_key",
    "group_leaks",
    "split",
]

"""Byte-exact chunking of a JSONL file under a size limit, with a manifest.

``chunk`` copies raw lines; it never parses, re-serialises or splits a line, and
runs in constant memory apart from one small integer per line where a mode needs
it.

* **contiguous under a byte limit** (the common case, e.g. ``--target mistral``)
  takes a single pass, block by block: each chunk takes the longest run of whole
  lines that fits, found with ``rfind`` of a newline inside the room left. The
  chunks get their final names ``{stem}-{i:05d}-of-{n:05d}.jsonl`` once ``n`` is
  known, at the end.
* **the other cases** (a line limit, round-robin, balanced) read the source twice:

  1. **plan**: line sizes, the source's sha256 (and, outside contiguous mode, a
     multiset hash of its lines); from these the number of chunks ``n``;
  2. **write**: every line goes to its chunk; the limit is checked again before
     each write, so a source that changed between the passes is an error, never
     an oversized chunk.

A line alone over the limit is an error (:class:`LineOverLimit`), never a
silent overflow.

Modes:

* ``contiguous``: fill chunk 0 up to the limit in source order, then chunk 1, …
  Concatenating the chunks in name order gives the source back byte for byte.
* ``round-robin``: line ``i`` goes to chunk ``i mod n`` (what Mistral's
  chunking example does); ``n`` is the smallest count at which every chunk fits.
* ``balanced``: in source order, each line goes to the chunk holding the fewest
  bytes so far (ties: the lowest index). The heaviest and lightest chunks then
  differ by at most one line's size. ``n`` is the smallest count that fits.

In every mode a chunk keeps its lines in source order. When the source's last
line has no final newline it stays without one and is the last line of its
chunk (it is the last line written), so no two lines are ever glued together;
concatenating round-robin or balanced chunks is not meaningful anyway.

All chunks are written into a hidden staging directory beside the outputs and
moved into place only when every chunk is complete; the manifest is written
last (atomically, and flushed to disk), so an interrupted run leaves no chunk
and no manifest under a final name. Chunks themselves are not fsynced one by
one: like ``split(1)``, chunking would otherwise run at the disk's write speed;
a chunk lost to a system crash is caught by ``datakit verify``. Existing
outputs are replaced only with ``force=True``.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import heapq
import html
import json
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from array import array
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from datakit import __version__, sources
from datakit.io import reader
from datakit.io.atomic import OutputExists, atomic_write, default_permissions, temp_name

MODES = ("contiguous", "round-robin", "balanced")

# Upload limits per target, in bytes (decimal units: the smaller reading of "MB").
# mistral: the seed documents 512 MB per file but HTTP 413 from about 500 MB, so
# chunks stay under 500 MB minus a 20 MB margin for multipart framing and for the
# MB/MiB ambiguity of that report.
CHUNK_TARGETS: dict[str, int] = {
    "mistral": 480_000_000,
    "dashscope": 300_000_000,
    "openai": 512_000_000,
}

MANIFEST_KIND = "datakit-chunk-manifest"
MAX_OPEN_CHUNKS = 64  # round-robin/balanced write this many chunks per pass over the source
_MASK128 = (1 << 128) - 1


class ChunkError(ValueError):
    """The source cannot be chunked as asked (bad options, a line over the limit)."""


class LineOverLimit(ChunkError):
    """One line alone is over the limit: no chunking can hold it (a finding, exit 1)."""


# --------------------------------------------------------------------------- helpers
# Shared with datakit.split: sizes, progress, in-memory sources.

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}


def parse_size(text: str | int) -> int:
    """``512MB`` (10^6), ``500MiB`` (2^20), ``1GB``, ``1.5GiB`` or plain bytes → bytes.

    A bare ``M``/``G`` is refused: it means MiB to coreutils and MB to most people.
    """
    if isinstance(text, int):
        if text <= 0:
            raise ValueError(f"size must be positive, got {text}")
        return text
    m = _SIZE.match(str(text))
    if not m:
        raise ValueError(f"invalid size {text!r}: write e.g. 512MB, 500MiB, 1GB or 1048576")
    number, unit = m.groups()
    unit = unit.lower()
    if unit not in _UNITS:
        hint = f" (write {number}{unit.upper()}B or {number}{unit.upper()}iB)" if len(unit) == 1 else ""
        raise ValueError(f"invalid size unit in {text!r}{hint}")
    value = int(float(number) * _UNITS[unit]) if "." in number else int(number) * _UNITS[unit]
    if value <= 0:
        raise ValueError(f"size must be positive, got {text!r}")
    return value


def human_bytes(n: float) -> str:
    """``1.2 MB`` style, decimal units (as the providers state their limits)."""
    n = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal.

    ``enabled=None`` means "if stderr is a TTY". Updates are throttled to ten per
    second so the bar costs nothing on the hot path.
    """

    def __init__(self, label: str, total: int | None = None, enabled: bool | None = None) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.enabled = enabled
        self.label = label
        self.total = total
        self.done = 0
        self._next = 0.0
        self._start = time.monotonic()

    def update(self, n: int) -> None:
        self.done += n
        if self.enabled:
            now = time.monotonic()
            if now >= self._next:
                self._next = now + 0.1
                self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.done / max(now - self._start, 1e-9)
        if self.total:
            frac = min(self.done / self.total, 1.0)
            bar = "#" * int(frac * 30)
            text = (f"\r{self.label} [{bar:<30}] {frac:6.1%} "
                    f"{human_bytes(self.done)}/{human_bytes(self.total)} {human_bytes(rate)}/s")
        else:
            text = f"\r{self.label} {human_bytes(self.done)} {human_bytes(rate)}/s"
        sys.stderr.write(text)
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            sys.stderr.write("\n")
            sys.stderr.flush()


def is_in_memory(source: Any) -> bool:
    """True for a pandas DataFrame, a ``datasets.Dataset`` or a list of records."""
    return sources.kind(source) in ("pandas", "datasets", "records")


def write_records(source: Any, path: str) -> None:
    """Serialise rows with orjson, one object per line (UTF-8, not ASCII-escaped).

    Arrow's null fill for absent keys is dropped (see :mod:`datakit.sources`)."""
    with open(path, "wb", buffering=reader.BUFFER) as fh:
        fh.writelines(sources.to_lines(sources.iter_records(source)))


@contextlib.contextmanager
def materialised(source: Any) -> Iterator[tuple[str, str]]:
    """``(path, display name)`` of a source: a path as is, a frame via a temporary JSONL."""
    if isinstance(source, (str, os.PathLike)):
        p = os.fspath(source)
        if not os.path.exists(p):
            raise FileNotFoundError(f"{p}: no such file")
        if os.path.isdir(p):
            raise IsADirectoryError(f"{p}: is a directory, not a JSONL file")
        yield p, p
        return
    if not is_in_memory(source):
        raise ChunkError(f"unsupported source type {type(source).__name__}: "
                         "give a path, a pandas DataFrame, a datasets.Dataset or a list of dicts")
    with tempfile.TemporaryDirectory(prefix="datakit-") as tmp:
        p = os.path.join(tmp, "data.jsonl")
        write_records(source, p)
        yield p, f"<{type(source).__name__}>"


def line_hash128(line: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(line, digest_size=16).digest(), "little")


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def stem_of(path: str) -> str:
    """``data.jsonl.gz`` → ``data``."""
    name = os.path.basename(path)
    for suffix in reader.COMPRESSED_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    for suffix in (".jsonl", ".ndjson", ".json", ".txt"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name or "data"


# --------------------------------------------------------------------------- results


@dataclass(slots=True)
class ChunkInfo:
    name: str
    lines: int
    bytes: int
    sha256: str = ""
    multiset: str | None = None  # outside contiguous mode: sum of per-line blake2b-128, hex

    def to_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "lines": self.lines, "bytes": self.bytes, "sha256": self.sha256}
        if self.multiset is not None:
            d["lines_multiset"] = self.multiset
        return d


@dataclass(slots=True)
class ChunkResult:
    source: str
    out_dir: str
    mode: str
    max_bytes: int | None
    max_lines: int | None
    target: str | None
    source_lines: int
    source_bytes: int
    source_sha256: str
    source_multiset: str | None
    final_newline: bool
    chunks: list[ChunkInfo] = field(default_factory=list)
    manifest: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "out_dir": self.out_dir,
            "manifest": self.manifest,
            "mode": self.mode,
            "limit": {"max_bytes": self.max_bytes, "max_lines": self.max_lines, "target": self.target},
            "source_lines": self.source_lines,
            "source_bytes": self.source_bytes,
            "source_sha256": self.source_sha256,
            "chunks": [c.to_dict() for c in self.chunks],
            "warnings": list(self.warnings),
        }

    def __repr__(self) -> str:
        return (f"<ChunkResult {self.source}: {self.source_lines:,} lines → "
                f"{len(self.chunks)} chunk(s), {self.mode}, manifest {self.manifest}>")

    def _limit_text(self) -> str:
        parts = []
        if self.max_bytes is not None:
            parts.append(f"{human_bytes(self.max_bytes)} ({self.max_bytes} bytes)")
        if self.max_lines is not None:
            parts.append(f"{self.max_lines} lines")
        text = " and ".join(parts)
        return f"{text}, target {self.target}" if self.target else text

    def __str__(self) -> str:
        out = [
            (f"chunk {self.source}: {self.source_lines} lines, {human_bytes(self.source_bytes)} "
            f"→ {len(self.chunks)} chunk(s), {self.mode}, limit {self._limit_text()}"),
        ]
        width = max((len(c.name) for c in self.chunks), default=0)
        for c in self.chunks:
            pct = f"{c.bytes / self.max_bytes:6.1%} of limit" if self.max_bytes else ""
            out.append(f"  {c.name:<{width}}  {c.lines:>9} lines  {human_bytes(c.bytes):>10}  {pct}")
        if self.manifest:
            out.append(f"manifest: {self.manifest}")
        out.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(out)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(c.name)}</td><td>{c.lines}</td><td>{c.bytes}</td>"
            f"<td><code>{c.sha256[:16]}…</code></td></tr>" for c in self.chunks)
        warn = "".join(f"<p>⚠ {html.escape(w)}</p>" for w in self.warnings)
        return (f"<p><b>datakit chunk</b> {html.escape(self.source)}: {self.source_lines} lines, "
                f"{self.source_bytes} bytes → {len(self.chunks)} chunk(s), {self.mode}, "
                f"limit {html.escape(self._limit_text())}</p>"
                "<table><thead><tr><th>chunk</th><th>lines</th><th>bytes</th><th>sha256</th></tr>"
                f"</thead><tbody>{rows}</tbody></table>{warn}")


# --------------------------------------------------------------------------- planning


@dataclass(slots=True)
class _Plan:
    n: int
    lines: list[int]  # lines per chunk
    bytes: list[int]  # bytes per chunk


def _resolve_limits(max_bytes: int | str | None, target: str | None,
                    max_lines: int | None) -> tuple[int | None, int | None]:
    if max_bytes is not None and target is not None:
        raise ChunkError("give either max_bytes or target, not both")
    if target is not None:
        target = target.partition(":")[0].strip().lower()  # "mistral:open-mistral-7b" → mistral
        if target not in CHUNK_TARGETS:
            raise ChunkError(f"unknown chunk target {target!r} (known: {', '.join(CHUNK_TARGETS)})")
        max_bytes = CHUNK_TARGETS[target]
    limit = parse_size(max_bytes) if max_bytes is not None else None
    if max_lines is not None and max_lines <= 0:
        raise ChunkError(f"max_lines must be positive, got {max_lines}")
    if limit is None and max_lines is None:
        raise ChunkError("give a limit: max_bytes, target or max_lines")
    return limit, max_lines


def _plan_round_robin(sizes: array, limit: int, max_lines: int, total: int) -> _Plan:
    import numpy as np

    arr = np.frombuffer(sizes, dtype=np.uint32) if len(sizes) else np.zeros(0, np.uint32)
    count = len(arr)
    n = max(1, math.ceil(total / limit), math.ceil(count / max_lines))
    while True:
        loads = [int(arr[j::n].sum(dtype=np.uint64)) for j in range(n)]
        if max(loads) <= limit:
            lines = [len(range(j, count, n)) for j in range(n)]
            return _Plan(n, lines, loads)
        n += 1  # terminates: at n == count every chunk holds one line, each under the limit


def _balanced_state(n: int, max_lines: int) -> tuple[list, list[int], list[int]]:
    """Greedy state: a heap of (bytes, index) and per-chunk line and byte counts."""
    heap = [(0, j) for j in range(n)]
    return heap, [0] * n, [0] * n


def _balanced_next(heap: list, counts: list[int], loads: list[int], size: int,
                   max_lines: int) -> int:
    """Put one line of ``size`` bytes into the lightest chunk with room; return its index."""
    load, j = heapq.heappop(heap)
    counts[j] += 1
    loads[j] = load + size
    if counts[j] < max_lines:
        heapq.heappush(heap, (loads[j], j))
    return j


def _plan_balanced(sizes: array, limit: int, max_lines: int, total: int) -> _Plan:
    count = len(sizes)
    n = max(1, math.ceil(total / limit), math.ceil(count / max_lines))
    while True:
        heap, counts, loads = _balanced_state(n, max_lines)
        for s in sizes:
            _balanced_next(heap, counts, loads, s, max_lines)
        if max(loads) <= limit:
            return _Plan(n, counts, loads)
        n += 1


# --------------------------------------------------------------------------- chunk


def _chunk_names(stem: str, n: int) -> list[str]:
    return [f"{stem}-{i:05d}-of-{n:05d}.jsonl" for i in range(n)]


def chunk(
    source: Any,
    out_dir: str | os.PathLike,
    *,
    max_bytes: int | str | None = None,
    target: str | None = None,
    max_lines: int | None = None,
    mode: str = "contiguous",
    stem: str | None = None,
    force: bool = False,
    progress: bool | None = None,
) -> ChunkResult:
    """Split ``source`` into chunks of at most ``max_bytes`` bytes and/or ``max_lines`` lines.

    ``source`` is a path (``.gz``/``.zst`` are read transparently; chunks are plain
    JSONL), a pandas DataFrame or a ``datasets.Dataset`` (rows are serialised with
    orjson first). ``target`` picks a provider's limit from :data:`CHUNK_TARGETS`.
    Writes the chunks and ``{stem}.manifest.json`` into ``out_dir``. Raises
    :class:`ChunkError` for a line over the limit, :class:`OutputExists` when an
    output exists and ``force`` is false.
    """
    created = not os.path.exists(os.fspath(out_dir))
    try:
        return _chunk(source, out_dir, max_bytes=max_bytes, target=target, max_lines=max_lines,
                      mode=mode, stem=stem, force=force, progress=progress)
    except BaseException:
        # a failed run leaves nothing behind: not even the output directory it created
        out = os.fspath(out_dir)
        if created and os.path.isdir(out) and not os.listdir(out):
            with contextlib.suppress(OSError):
                os.rmdir(out)
        raise


def _chunk(source: Any, out_dir: str | os.PathLike, *, max_bytes: int | str | None,
           target: str | None, max_lines: int | None, mode: str, stem: str | None,
           force: bool, progress: bool | None) -> ChunkResult:
    if mode not in MODES:
        raise ChunkError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")
    limit, line_limit = _resolve_limits(max_bytes, target, max_lines)
    byte_cap = limit if limit is not None else 1 << 62
    line_cap = line_limit if line_limit is not None else 1 << 62
    out = os.fspath(out_dir)
    if os.path.exists(out) and not os.path.isdir(out):
        raise ChunkError(f"{out}: exists and is not a directory")

    with materialised(source) as (path, display):
        what = reader.not_jsonl(path) if display == path else None
        if what is not None:
            raise ChunkError(f"{display}: the file holds {what}, not JSON Lines; chunks are "
                             f"whole lines copied byte for byte, so convert it first: "
                             f"datakit convert {display} --to FORMAT -o OUT.jsonl")
        stem = stem or (stem_of(path) if display == path else "data")
        if stem in (".", "..") or os.sep in stem or (os.altsep and os.altsep in stem):
            raise ChunkError(f"stem {stem!r} must be a plain file name prefix")
        manifest_path = os.path.join(out, f"{stem}.manifest.json")
        if not force and os.path.exists(manifest_path):
            raise OutputExists(f"{manifest_path} exists (use --force to overwrite)")

        if not force:
            _refuse_existing_chunks(out, stem)
        if mode == "contiguous" and line_limit is None:
            # One pass, block by block: no per-line Python work (see _stream_contiguous).
            os.makedirs(out, exist_ok=True)
            staging = temp_name(out, f".{stem}.", ".partial")  # named first: see temp_name
            try:
                os.mkdir(staging, 0o700)
                s = _stream_contiguous(path, display, staging, byte_cap, progress)
                names = _chunk_names(stem, len(s.infos))
                for name in names:
                    p = os.path.join(out, name)
                    if os.path.exists(p) and same_file(path, p):
                        raise ChunkError(f"{p} is the source file: choose another output "
                                         "directory")
                for info, name in zip(s.infos, names):
                    os.replace(os.path.join(staging, info.name), os.path.join(out, name))
                    info.name = name
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            result = ChunkResult(
                source=display, out_dir=out, mode=mode, max_bytes=limit, max_lines=line_limit,
                target=target, source_lines=s.lines, source_bytes=s.bytes,
                source_sha256=s.sha.hexdigest(), source_multiset=None,
                final_newline=s.final_newline, chunks=s.infos)
            if s.lines == 0:
                result.warnings.append("the source is empty: no chunk written")
        else:
            # Pass 1: sizes, hashes, plan.
            keep_sizes = mode != "contiguous"
            sizes = array("I")
            src_sha = hashlib.sha256()
            multiset = 0
            total = count = 0
            last_line = b""
            file_size = None if reader.is_compressed(path) else os.path.getsize(path)
            bar = Progress("plan ", file_size, progress)
            plan_c = _ContiguousPlanner(byte_cap, line_cap) if not keep_sizes else None
            for line in reader.iter_lines(path):
                s = len(line)
                count += 1
                if s > byte_cap:
                    bar.close()
                    raise LineOverLimit(
                        f"{display}:{count}: line of {s} bytes is over the limit of {byte_cap} bytes; "
                        "a line is never split: raise the limit or shorten the example")
                src_sha.update(line)
                total += s
                if keep_sizes:
                    sizes.append(s)
                    multiset += line_hash128(line)
                else:
                    plan_c.add(s)  # type: ignore[union-attr]
                last_line = line
                bar.update(s)
            bar.close()
            final_newline = (not last_line) or last_line.endswith(b"\n")

            if mode == "contiguous":
                plan = plan_c.finish()  # type: ignore[union-attr]
            elif mode == "round-robin":
                plan = _plan_round_robin(sizes, byte_cap, line_cap, total)
            else:
                plan = _plan_balanced(sizes, byte_cap, line_cap, total)
            if count == 0:
                plan = _Plan(0, [], [])
            del sizes

            names = _chunk_names(stem, plan.n)
            if not force:
                for name in names:
                    p = os.path.join(out, name)
                    if os.path.exists(p):
                        raise OutputExists(f"{p} exists (use --force to overwrite)")
            for name in names:
                p = os.path.join(out, name)
                if os.path.exists(p) and same_file(path, p):
                    raise ChunkError(f"{p} is the source file: choose another output directory")

            result = ChunkResult(
                source=display, out_dir=out, mode=mode, max_bytes=limit, max_lines=line_limit,
                target=target, source_lines=count, source_bytes=total,
                source_sha256=src_sha.hexdigest(),
                source_multiset=None if mode == "contiguous" else f"{multiset & _MASK128:032x}",
                final_newline=final_newline,
            )
            if count == 0:
                result.warnings.append("the source is empty: no chunk written")

            # Pass 2: write into a staging directory, then move everything into place.
            os.makedirs(out, exist_ok=True)
            staging = temp_name(out, f".{stem}.", ".partial")
            try:
                os.mkdir(staging, 0o700)
                infos = _write_chunks(path, display, staging, names, plan, mode, byte_cap, line_cap,
                                      total, progress)
                for name in names:
                    os.replace(os.path.join(staging, name), os.path.join(out, name))
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            result.chunks = infos

        old = _previous_chunks(manifest_path) if force else []
        stale = sorted(set(old) - set(names))
        for name in stale:
            if os.path.exists(os.path.join(out, name)):
                result.warnings.append(f"{name} from the previous manifest was left in place "
                                       "(it is not part of this chunking)")
        default_permissions(*(os.path.join(out, c.name) for c in result.chunks))
        manifest = _manifest(result, path if display == path else None, manifest_path)
        with atomic_write(manifest_path, overwrite=True) as fh:
            fh.write(json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n")
        default_permissions(manifest_path)
        result.manifest = manifest_path
        return result


def _refuse_existing_chunks(out: str, stem: str) -> None:
    """Without ``force``, any chunk of this stem already in ``out`` stops the run (the
    number of chunks, hence the names, is known only once the source is read)."""
    if not os.path.isdir(out):
        return
    pattern = re.compile(re.escape(stem) + r"-\d{5}-of-\d{5}\.jsonl")
    for name in sorted(os.listdir(out)):
        if pattern.fullmatch(name):
            raise OutputExists(f"{os.path.join(out, name)} exists (use --force to overwrite)")


@dataclass(slots=True)
class _Streamed:
    infos: list[ChunkInfo]
    lines: int
    bytes: int
    sha: Any
    final_newline: bool


STREAM_BLOCK = 1 << 20  # 1 MiB: as fast as larger blocks here, and the ring stays small
RING = 16  # read buffers in the ring; memory is RING blocks plus at most LONG_LINES lines
LONG_LINES = 4  # lines that spanned read blocks, in flight at once


class _Over(Exception):
    """A line over the limit, found by the reading thread (size None: not yet known)."""

    def __init__(self, size: int | None) -> None:
        self.size = size


class _Pipeline:
    """The two helper threads of :func:`_stream_contiguous`.

    Each work item is one read block (or one line that spanned blocks) with the chunk
    segments cut from it: ``(data, ring, lo, hi, segs)``, ``segs`` a list of
    ``(chunk, a, b)`` covering ``data[lo:hi]``. The *hasher* feeds the source's sha256
    and counts each segment's newlines; the *writer* opens chunk files, writes the
    segments and feeds each chunk's sha256. Both release the GIL for the bulk of their
    work (hashlib, numpy, ``os.write``), so the two cores stay busy while the reading
    thread cuts the next block. One queue operation per block and thread; a block's
    buffer goes back to the ring once both threads are done with it.
    """

    def __init__(self, staging: str, ring: list[bytearray]) -> None:
        import queue
        import threading

        self.staging = staging
        self.ring = ring
        self.free: queue.SimpleQueue = queue.SimpleQueue()
        for i in range(len(ring)):
            self.free.put(i)
        self.long_lines = threading.Semaphore(LONG_LINES)
        self.lock = threading.Lock()
        self.src_sha = hashlib.sha256()
        self.counts: list[int] = []  # newlines per chunk
        self.shas: list[str] = []  # sha256 per chunk, as each is closed
        self.errors: list[BaseException] = []
        self.queues = (queue.SimpleQueue(), queue.SimpleQueue())
        self.threads = [threading.Thread(target=self._run, args=(q, work), daemon=True)
                        for q, work in zip(self.queues, (self._hash, self._write))]
        self.fd = -1
        self.sha: Any = None
        self.eq: Any = None  # the hasher's scratch array for counting newlines
        for t in self.threads:
            t.start()

    def submit(self, data: Any, ring: int, lo: int, hi: int, segs: list) -> None:
        item = (data, ring, lo, hi, segs, [2])
        for q in self.queues:
            q.put(item)

    def stop(self) -> None:
        """Let both threads finish every submitted item, then end them."""
        if self.threads:
            for q in self.queues:
                q.put(None)
            for t in self.threads:
                t.join()
            self.threads = []
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _run(self, q: Any, work: Any) -> None:
        while (item := q.get()) is not None:
            if not self.errors:
                try:
                    work(item)
                except BaseException as exc:  # noqa: BLE001 (re-raised by the reading thread)
                    self.errors.append(exc)
            with self.lock:
                item[5][0] -= 1
                done = not item[5][0]
            if done:
                if item[1] >= 0:
                    self.free.put(item[1])
                else:
                    self.long_lines.release()
        if not self.errors:
            try:
                work(None)
            except BaseException as exc:  # noqa: BLE001 (re-raised by the reading thread)
                self.errors.append(exc)

    def _hash(self, item: Any) -> None:
        import numpy as np

        if item is None:
            return
        data, _, lo, hi, segs, _ = item
        self.src_sha.update(memoryview(data)[lo:hi])
        eq = self.eq
        if eq is None:
            eq = self.eq = np.empty(STREAM_BLOCK, bool)
        arr = np.frombuffer(data, np.uint8)
        counts = self.counts
        for k, a, b in segs:
            while k >= len(counts):
                counts.append(0)
            n = 0
            for p in range(a, b, len(eq)):
                q = min(b, p + len(eq))
                n += int(np.count_nonzero(np.equal(arr[p:q], 10, out=eq[: q - p])))
            counts[k] += n

    def _write(self, item: Any) -> None:
        if item is None:
            self._close()
            return
        data, _, _, _, segs, _ = item
        view = memoryview(data)
        for k, a, b in segs:
            name = os.path.join(self.staging, f"part-{k:05d}")
            if k >= len(self.shas) + (self.fd >= 0):
                self._close()
                self.fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                self.sha = hashlib.sha256()
            piece = view[a:b]
            self.sha.update(piece)
            try:
                while piece:
                    piece = piece[os.write(self.fd, piece):]
            except OSError as e:  # disk full, quota, …: name the chunk being written
                raise OSError(e.errno, e.strerror, name) from None

    def _close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            self.shas.append(self.sha.hexdigest())


def _stream_contiguous(path: str, display: str, staging: str, limit: int,
                       progress: bool | None) -> _Streamed:
    """Contiguous chunks under a byte limit in a single pass over the source.

    Blocks are cut at newlines only: the current chunk takes the longest run of whole
    lines that fits (``rfind`` of a newline within the room left), exactly what the
    line-by-line greedy plan does, but hashing, counting and copying run in C over
    whole blocks. Chunks get provisional names in ``staging``; the caller names them
    once their number is known. The limit is checked before every write.

    This thread reads and cuts; a :class:`_Pipeline` hashes, counts and writes. Blocks
    are read into a ring of reused buffers, so memory stays constant: the ring, plus
    the few lines longer than a block that are in flight.
    """
    infos: list[ChunkInfo] = []
    ring = [bytearray(STREAM_BLOCK) for _ in range(RING)]
    pipe = _Pipeline(staging, ring)
    state = {"k": 0, "used": 0}  # the chunk being filled and its bytes so far

    def place(data: Any, a: int, end: int, segs: list) -> None:
        """Cut data[a:end], whole lines (the last one maybe unterminated), into chunks."""
        k, used = state["k"], state["used"]
        while a < end:
            room = limit - used
            if end - a <= room:
                b = end
            else:
                cut = data.rfind(b"\n", a, a + room)
                if cut < 0:
                    if not used:
                        nl = data.find(b"\n", a, end)
                        raise _Over((nl + 1 if nl >= 0 else end) - a)
                    k, used = k + 1, 0  # the next line does not fit: a new chunk
                    continue
                b = cut + 1
            if k == len(infos):
                infos.append(ChunkInfo(f"part-{k:05d}", 0, 0))
            if used + (b - a) > limit:  # the hard limit, before the write
                raise ChunkError(f"{display}: internal error: a chunk would exceed the limit")
            segs.append((k, a, b))
            used += b - a
            infos[k].bytes += b - a
            if b < end:
                k, used = k + 1, 0
            a = b
            state["k"], state["used"] = k, used
        state["k"], state["used"] = k, used

    def send(data: Any, ring_index: int, lo: int, hi: int) -> None:
        segs: list = []
        try:
            place(data, lo, hi, segs)
        finally:  # on an error, what was cut still goes through (it counts the lines)
            if segs:
                pipe.submit(data, ring_index, lo, segs[-1][2], segs)
            elif ring_index >= 0:
                pipe.free.put(ring_index)
            else:
                pipe.long_lines.release()

    def over(size: int | None) -> LineOverLimit:
        pipe.stop()
        lineno = sum(pipe.counts) + 1
        what = f"line of {size} bytes" if size is not None else \
            f"line of more than {limit} bytes"
        return LineOverLimit(f"{display}:{lineno}: {what} is over the limit of {limit} "
                             "bytes; a line is never split: raise the limit or shorten the "
                             "example")

    before = os.stat(path)
    file_size = None if reader.is_compressed(path) else before.st_size
    bar = Progress("chunk", file_size, progress)
    pending = bytearray()  # the start of a line that began in earlier blocks
    last_byte = b""
    total = 0
    try:
        with reader.open_binary(path) as src:
            while True:
                if pipe.errors:
                    raise pipe.errors[0]
                i = pipe.free.get()
                buf = ring[i]
                n = src.readinto(buf)
                if not n:
                    pipe.free.put(i)
                    break
                total += n
                bar.update(n)
                last_byte = bytes(buf[n - 1:n])
                start = 0
                if pending:  # the line begun in earlier blocks: join only that line
                    nl = buf.find(b"\n", 0, n)
                    if nl < 0:
                        pending += memoryview(buf)[:n]
                        pipe.free.put(i)
                        if len(pending) > limit:
                            raise _Over(None)
                        continue
                    pending += memoryview(buf)[: nl + 1]
                    head, pending = bytes(pending), bytearray()
                    pipe.long_lines.acquire()
                    send(head, -1, 0, len(head))
                    start = nl + 1
                nl = buf.rfind(b"\n", start, n)
                pending += memoryview(buf)[max(nl + 1, start):n]
                if nl >= start:
                    send(buf, i, start, nl + 1)
                else:
                    pipe.free.put(i)
                if len(pending) > limit:
                    raise _Over(None)
        if pending:  # a last line without a final newline: one more line
            head = bytes(pending)
            pipe.long_lines.acquire()
            send(head, -1, 0, len(head))
        pipe.stop()
        if pipe.errors:
            raise pipe.errors[0]
        if pending:
            pipe.counts[state["k"]] += 1
    except _Over as e:
        raise over(e.size) from None
    finally:
        pipe.stop()
        bar.close()
    after = os.stat(path)
    if stat.S_ISREG(after.st_mode) and (
            (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns)
            or (file_size is not None and total != file_size)):
        raise ChunkError(f"{display}: the source changed while it was being chunked; chunk it "
                         "again once nothing writes to it")
    for info, count, sha in zip(infos, pipe.counts, pipe.shas):
        info.lines, info.sha256 = count, sha
    return _Streamed(infos, sum(pipe.counts), total, pipe.src_sha,
                     final_newline=not last_byte or last_byte == b"\n")


class _ContiguousPlanner:
    """Chunk boundaries on the fly, so contiguous mode stores nothing per line."""

    def __init__(self, limit: int, max_lines: int) -> None:
        self.limit, self.max_lines = limit, max_lines
        self.lines: list[int] = []
        self.bytes: list[int] = []
        self.cur_l = self.cur_b = 0

    def add(self, s: int) -> None:
        if self.cur_l and (self.cur_b + s > self.limit or self.cur_l >= self.max_lines):
            self.lines.append(self.cur_l)
            self.bytes.append(self.cur_b)
            self.cur_l = self.cur_b = 0
        self.cur_l += 1
        self.cur_b += s

    def finish(self) -> _Plan:
        if self.cur_l:
            self.lines.append(self.cur_l)
            self.bytes.append(self.cur_b)
        return _Plan(len(self.lines), self.lines, self.bytes)


def _changed(display: str, lineno: int) -> ChunkError:
    return ChunkError(f"{display}:{lineno}: the source changed while it was being chunked")


def _write_chunks(path: str, display: str, staging: str, names: list[str], plan: _Plan,
                  mode: str, limit: int, max_lines: int, total: int,
                  progress: bool | None) -> list[ChunkInfo]:
    infos = [ChunkInfo(name, 0, 0) for name in names]
    if not names:
        return infos
    if mode == "contiguous":
        bar = Progress("write", total, progress)
        lines = reader.iter_lines(path)
        lineno = 0
        for j, info in enumerate(infos):
            sha = hashlib.sha256()
            with atomic_write(os.path.join(staging, info.name)) as fh:
                for _ in range(plan.lines[j]):
                    line = next(lines, None)
                    lineno += 1
                    if line is None or info.bytes + len(line) > limit:
                        raise _changed(display, lineno)
                    fh.write(line)
                    sha.update(line)
                    info.lines += 1
                    info.bytes += len(line)
                    bar.update(len(line))
            info.sha256 = sha.hexdigest()
            if info.bytes != plan.bytes[j]:
                raise _changed(display, lineno)
        if next(lines, None) is not None:
            raise _changed(display, lineno + 1)
        bar.close()
        return infos

    # round-robin / balanced: at most MAX_OPEN_CHUNKS open files per pass.
    n = len(names)
    groups = [range(a, min(a + MAX_OPEN_CHUNKS, n)) for a in range(0, n, MAX_OPEN_CHUNKS)]
    for gi, group in enumerate(groups):
        label = "write" if len(groups) == 1 else f"write {gi + 1}/{len(groups)}"
        bar = Progress(label, total, progress)
        shas = {j: hashlib.sha256() for j in group}
        sums = {j: 0 for j in group}
        lo, hi = group.start, group.stop
        with contextlib.ExitStack() as stack:
            fhs = {j: stack.enter_context(atomic_write(os.path.join(staging, names[j])))
                   for j in group}
            if mode == "balanced":
                heap, counts, loads = _balanced_state(n, max_lines)
            lineno = 0
            for line in reader.iter_lines(path):
                s = len(line)
                if mode == "round-robin":
                    j = lineno % n
                else:
                    if not heap:
                        raise _changed(display, lineno + 1)
                    j = _balanced_next(heap, counts, loads, s, max_lines)
                lineno += 1
                bar.update(s)
                if lo <= j < hi:
                    info = infos[j]
                    if info.bytes + s > limit or info.lines >= max_lines:
                        raise _changed(display, lineno)
                    fhs[j].write(line)
                    shas[j].update(line)
                    sums[j] += line_hash128(line)
                    info.lines += 1
                    info.bytes += s
            for j in group:
                info = infos[j]
                if info.lines != plan.lines[j] or info.bytes != plan.bytes[j]:
                    raise _changed(display, lineno)
                info.sha256 = shas[j].hexdigest()
                info.multiset = f"{sums[j] & _MASK128:032x}"
        bar.close()
    return infos


def _manifest(result: ChunkResult, source_path: str | None, manifest_path: str) -> dict[str, Any]:
    if source_path is not None:
        # Relative to the manifest's directory, so the tree can move as a whole.
        rel = os.path.relpath(os.path.abspath(source_path),
                              os.path.dirname(os.path.abspath(manifest_path)))
    else:
        rel = None
    src: dict[str, Any] = {
        "path": rel,
        "name": result.source,
        "lines": result.source_lines,
        "bytes": result.source_bytes,
        "sha256": result.source_sha256,
        "final_newline": result.final_newline,
    }
    if result.source_multiset is not None:
        src["lines_multiset"] = result.source_multiset
    return {
        "kind": MANIFEST_KIND,
        "version": 1,
        "datakit": __version__,
        "source": src,
        "mode": result.mode,
        "limit": {"max_bytes": result.max_bytes, "max_lines": result.max_lines,
                  "target": result.target},
        "chunks": [c.to_dict() for c in result.chunks],
    }


def _previous_chunks(manifest_path: str) -> list[str]:
    try:
        with open(manifest_path, "rb") as fh:
            data = json.load(fh)
        return [c["name"] for c in data.get("chunks", []) if isinstance(c.get("name"), str)]
    except (OSError, ValueError, AttributeError, TypeError, KeyError):
        return []


# --------------------------------------------------------------------------- verify


class ManifestError(ValueError):
    """The manifest cannot be read, or files it names are missing (exit 2)."""


@dataclass(slots=True)
class VerifyResult:
    manifest: str
    mode: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chunks: int = 0
    lines: int = 0
    bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"manifest": self.manifest, "mode": self.mode, "ok": self.ok,
                "chunks": self.chunks, "lines": self.lines, "bytes": self.bytes,
                "problems": list(self.problems), "notes": list(self.notes)}

    def __str__(self) -> str:
        what = ("concatenation equals the source byte for byte" if self.mode == "contiguous"
                else "chunks hold the same multiset of lines as the source")
        head = (f"verify {self.manifest}: OK: {self.chunks} chunk(s), {self.lines} lines, "
                f"{human_bytes(self.bytes)}; {what}" if self.ok
                else f"verify {self.manifest}: FAILED ({len(self.problems)} problem(s))")
        return "\n".join([head, *(f"  error: {p}" for p in self.problems),
                          *(f"  note: {n}" for n in self.notes)])

    def __repr__(self) -> str:
        state = "OK" if self.ok else f"FAILED, {len(self.problems)} problem(s)"
        return f"<VerifyResult {self.manifest}: {state}, {self.chunks} chunk(s), {self.lines:,} lines>"

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in self.problems + self.notes)
        return f"<p><b>{html.escape(str(self).splitlines()[0])}</b></p><ul>{items}</ul>"


def _read_manifest(manifest: str) -> dict[str, Any]:
    try:
        with open(manifest, "rb") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ManifestError(f"{manifest}: no such file") from None
    except (OSError, ValueError) as e:
        raise ManifestError(f"{manifest}: cannot read the manifest: {e}") from None
    ok = (isinstance(data, dict) and data.get("kind") == MANIFEST_KIND
          and isinstance(data.get("chunks"), list) and isinstance(data.get("source"), dict)
          and data.get("mode") in MODES
          and all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in data["chunks"]))
    if not ok:
        raise ManifestError(f"{manifest}: not a datakit chunk manifest")
    for c in data["chunks"]:
        if os.path.basename(c["name"]) != c["name"]:
            raise ManifestError(f"{manifest}: chunk name {c['name']!r} is not a plain file name")
    return data


def _hash_blocks(path: str, hashes: tuple, bar: Progress) -> tuple[int, int, bytes]:
    """Feed a file to every hash in ``hashes``, block by block (each hash in its own
    thread: hashlib releases the GIL); return its lines, bytes and last byte."""
    lines = nbytes = 0
    last = b""
    # one single-thread executor per hash: each hash sees its blocks in order
    pools = [ThreadPoolExecutor(1) for _ in hashes]
    with contextlib.ExitStack() as stack, reader.open_binary(path) as fh:
        for pool in pools:
            stack.enter_context(pool)
        pending: collections.deque = collections.deque()
        while block := fh.read(STREAM_BLOCK):
            pending.append([p.submit(h.update, block) for p, h in zip(pools, hashes)])
            if len(pending) > 4:  # bounded read-ahead
                for f in pending.popleft():
                    f.result()
            lines += block.count(b"\n")
            nbytes += len(block)
            last = block[-1:]
            bar.update(len(block))
        for fs in pending:
            for f in fs:
                f.result()
    if last and last != b"\n":
        lines += 1  # a last line without a final newline
    return lines, nbytes, last


def verify(manifest: str | os.PathLike, *, progress: bool | None = None) -> VerifyResult:
    """Prove that the chunks named in ``manifest`` hold exactly the source's lines.

    contiguous: the sha256 of the chunks concatenated in name order equals the
    source's. Other modes: line counts match and the sum of per-line 128-bit
    blake2b hashes (mod 2^128) equals the source's, i.e. the same multiset of
    lines. Each chunk is also checked against its own lines/bytes/sha256, and
    the source, when it still exists, against the manifest's record of it.
    Raises :class:`ManifestError` for an unreadable manifest or missing chunks.
    """
    mpath = os.fspath(manifest)
    data = _read_manifest(mpath)
    base = os.path.dirname(os.path.abspath(mpath))
    mode = data["mode"]
    src = data["source"]
    chunks = sorted(data["chunks"], key=lambda c: c["name"])
    missing = [c["name"] for c in chunks if not os.path.isfile(os.path.join(base, c["name"]))]
    if missing:
        raise ManifestError(f"{mpath}: missing chunk file(s): {', '.join(missing)}")
    res = VerifyResult(mpath, mode, ok=True, chunks=len(chunks))
    limit = data.get("limit") or {}
    concat = hashlib.sha256()
    multiset = 0
    total = sum(int(c.get("bytes") or 0) for c in chunks)
    bar = Progress("verify", total, progress)
    for c in chunks:
        sha = hashlib.sha256()
        lines = nbytes = csum = 0
        last = b""
        if mode == "contiguous":  # whole blocks: the order of bytes is all that matters
            lines, nbytes, last = _hash_blocks(os.path.join(base, c["name"]), (sha, concat), bar)
        else:
            for line in reader.iter_lines(os.path.join(base, c["name"])):
                lines += 1
                nbytes += len(line)
                sha.update(line)
                csum += line_hash128(line)
                last = line
                bar.update(len(line))
        multiset += csum
        res.lines += lines
        res.bytes += nbytes
        name = c["name"]
        if lines != c.get("lines"):
            res.problems.append(f"{name}: {lines} lines, the manifest says {c.get('lines')}")
        if nbytes != c.get("bytes"):
            res.problems.append(f"{name}: {nbytes} bytes, the manifest says {c.get('bytes')}")
        if sha.hexdigest() != c.get("sha256"):
            res.problems.append(f"{name}: sha256 differs from the manifest (the chunk was modified)")
        if limit.get("max_bytes") is not None and nbytes > limit["max_bytes"]:
            res.problems.append(f"{name}: {nbytes} bytes, over the limit of {limit['max_bytes']}")
        if limit.get("max_lines") is not None and lines > limit["max_lines"]:
            res.problems.append(f"{name}: {lines} lines, over the limit of {limit['max_lines']}")
        if mode == "contiguous" and last and not last.endswith(b"\n") and c is not chunks[-1]:
            res.problems.append(f"{name}: its last line has no newline, so it would be glued to "
                                "the first line of the next chunk")
    bar.close()
    if res.lines != src.get("lines"):
        res.problems.append(f"the chunks hold {res.lines} lines, the source had {src.get('lines')}")
    if res.bytes != src.get("bytes"):
        res.problems.append(f"the chunks hold {res.bytes} bytes, the source had {src.get('bytes')}")
    if mode == "contiguous":
        if concat.hexdigest() != src.get("sha256"):
            res.problems.append("the concatenation of the chunks in name order differs from the "
                                "source (sha256)")
    elif f"{multiset & _MASK128:032x}" != src.get("lines_multiset"):
        res.problems.append("the chunks do not hold the same multiset of lines as the source")

    rel = src.get("path")
    src_path = os.path.normpath(os.path.join(base, rel)) if isinstance(rel, str) else None
    if src_path and os.path.isfile(src_path):
        sha = hashlib.sha256()
        lines = nbytes = 0
        bar = Progress("source", None, progress)
        lines, nbytes, _ = _hash_blocks(src_path, (sha,), bar)
        bar.close()
        if (sha.hexdigest(), lines, nbytes) != (src.get("sha256"), src.get("lines"), src.get("bytes")):
            res.problems.append(f"the source {src_path} changed since it was chunked "
                                f"(now {lines} lines, {nbytes} bytes)")
        else:
            res.notes.append(f"the source {src_path} still matches the manifest")
    else:
        res.notes.append("the source file is not available: checked against the manifest's "
                         "record of it")
    res.ok = not res.problems
    return res


__all__ = [
    "CHUNK_TARGETS", "MODES", "ChunkError", "ChunkInfo", "ChunkResult", "LineOverLimit",
    "ManifestError",
    "OutputExists", "Progress", "VerifyResult", "chunk", "parse_size", "verify",
]

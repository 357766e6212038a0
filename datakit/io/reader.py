"""Streaming JSONL input as raw bytes.

The reader never decodes or re-serialises: it hands out raw lines with their
1-based line number and byte offset, in constant memory. Byte-range shards let
several processes read one file; each shard starts after a newline, so no line
is split between shards.
"""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

BUFFER = 1 << 20
COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd")


def open_binary(path: str | os.PathLike) -> BinaryIO:
    """Open a possibly compressed file for binary reading."""
    p = os.fspath(path)
    if p.endswith(".gz"):
        return gzip.open(p, "rb")  # type: ignore[return-value]
    if p.endswith((".zst", ".zstd")):
        import zstandard

        fh = open(p, "rb")
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(fh, closefd=True))
    return open(p, "rb", buffering=BUFFER)


def is_compressed(path: str | os.PathLike) -> bool:
    return os.fspath(path).endswith(COMPRESSED_SUFFIXES)


@dataclass(frozen=True, slots=True)
class Shard:
    """A byte range [start, end) of a file that starts at a line boundary."""

    path: str
    start: int
    end: int
    index: int


def shards(path: str | os.PathLike, target_bytes: int = 16 << 20) -> list[Shard]:
    """Cut an uncompressed file into line-aligned byte ranges of about ``target_bytes``."""
    p = os.fspath(path)
    size = os.path.getsize(p)
    if size == 0:
        return [Shard(p, 0, 0, 0)]
    bounds = [0]
    with open(p, "rb") as fh:
        pos = target_bytes
        while pos < size:
            fh.seek(pos)
            fh.readline()  # move to the end of the line we landed in
            nxt = fh.tell()
            if nxt >= size:
                break
            if nxt > bounds[-1]:
                bounds.append(nxt)
            pos = nxt + target_bytes
    bounds.append(size)
    return [Shard(p, a, b, i) for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]


def iter_shard_lines(shard: Shard) -> Iterator[bytes]:
    """Raw lines (newline included) of one shard."""
    with open(shard.path, "rb", buffering=BUFFER) as fh:
        fh.seek(shard.start)
        remaining = shard.end - shard.start
        for line in fh:
            n = len(line)
            if n > remaining:
                line = line[:remaining]
                n = remaining
            yield line
            remaining -= n
            if remaining <= 0:
                break


def iter_lines(path: str | os.PathLike) -> Iterator[bytes]:
    """Raw lines of a whole (possibly compressed) file, newline included."""
    with open_binary(path) as fh:
        yield from fh


def iter_batches(lines: Iterator[bytes], batch_bytes: int = 4 << 20) -> Iterator[list[bytes]]:
    """Group raw lines into lists of about ``batch_bytes``."""
    batch: list[bytes] = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if size >= batch_bytes:
            yield batch
            batch = []
            size = 0
    if batch:
        yield batch


_BOM = b"\xef\xbb\xbf"


def document_kind(first_line: bytes) -> str | None:
    """What a file whose first non-blank line is ``first_line`` holds when it is not JSON
    Lines: ``"a JSON array"``, ``"one pretty-printed JSON object"``, or None (JSONL)."""
    stripped = first_line.lstrip(_BOM).strip()
    if stripped.startswith(b"["):
        return "a JSON array"
    if stripped == b"{":
        return "one pretty-printed JSON object"
    return None


def not_jsonl(path: str | os.PathLike, max_lines: int = 64) -> str | None:
    """:func:`document_kind` of a file, from its first non-blank line (None when the file
    looks like JSON Lines, is empty or cannot be read: the caller's own read reports that)."""
    try:
        with open_binary(path) as fh:
            for i, line in enumerate(fh):
                if line.strip():
                    return document_kind(line)
                if i >= max_lines:
                    break
    except Exception:  # noqa: BLE001 - unreadable or corrupt: the real read reports it
        return None
    return None

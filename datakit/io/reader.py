"""Streaming JSONL input as raw bytes.

The reader never decodes or re-serialises: it hands out raw lines with their
1-based line number and byte offset, in constant memory. Byte-range shards let
several processes read one file; each shard starts after a newline, so no line
is split between shards.
"""

from __future__ import annotations

import errno
import gzip
import io
import itertools
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

BUFFER = 1 << 20
COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd")


class CorruptInput(OSError):
    """A compressed input that is not what its suffix says, or is damaged; ``filename``
    names it, so every command reports it as ``datakit: error: PATH: what``."""


_MAGIC = {".gz": (b"\x1f\x8b", "gzip"), ".zst": (b"\x28\xb5\x2f\xfd", "zstd"),
          ".zstd": (b"\x28\xb5\x2f\xfd", "zstd")}


def _check_magic(p: str, suffix: str) -> None:
    magic, kind = _MAGIC[suffix]
    with open(p, "rb") as fh:
        head = fh.read(len(magic))
    if head and head != magic:
        raise CorruptInput(errno.EINVAL, f"not a {kind} file (it does not start with the {kind} "
                                         f"signature); decompress or rename it", p)


def _damaged(p: str, kind: str, e: BaseException) -> CorruptInput:
    return CorruptInput(errno.EINVAL, f"the {kind} stream is truncated or corrupt ({e}); test "
                                      f"it with `{kind} -t` or re-create it", p)


class _GzipReader(gzip.GzipFile):
    """gzip input whose damage is reported with the file's name (gzip raises a bare
    EOFError or zlib.error somewhere in the middle of a run)."""

    def read(self, size=-1):
        try:
            return super().read(size)
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise _damaged(self.name, "gzip", e) from None

    def read1(self, size=-1):
        try:
            return super().read1(size)
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise _damaged(self.name, "gzip", e) from None

    def readline(self, size=-1):
        try:
            return super().readline(size)
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise _damaged(self.name, "gzip", e) from None


class _ZstdRaw(io.RawIOBase):
    """zstd input through a decompression object, fed in small pieces: unlike
    zstandard's stream reader, it knows when the input ends inside a frame (a truncated
    file), and a small piece bounds what one call can inflate to. Damage is reported
    with the file's name."""

    PIECE = 16 << 10

    def __init__(self, path: str) -> None:
        import zstandard

        self._path = path
        self._error = zstandard.ZstdError
        self._dctx = zstandard.ZstdDecompressor()
        self._dobj = self._dctx.decompressobj()
        self._src = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._out = b""
        self._pos = 0
        self._frames = 0

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        """Decompress more input; False at the end of the file."""
        while True:
            piece = self._src.read(self.PIECE)
            if not piece:
                if self._frames and not self._dobj.eof:
                    raise _damaged(self._path, "zstd", "the file ends inside a frame")
                return False
            try:
                out = self._dobj.decompress(piece)
                self._frames = 1
                while self._dobj.eof and self._dobj.unused_data:  # concatenated frames
                    rest = self._dobj.unused_data
                    self._dobj = self._dctx.decompressobj()
                    out += self._dobj.decompress(rest)
            except self._error as e:
                raise _damaged(self._path, "zstd", e) from None
            if out:
                self._out, self._pos = out, 0
                return True

    def readinto(self, b) -> int:
        if self._pos >= len(self._out) and not self._fill():
            return 0
        n = min(len(b), len(self._out) - self._pos)
        b[:n] = self._out[self._pos:self._pos + n]
        self._pos += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._src.close()
        super().close()


def open_binary(path: str | os.PathLike) -> BinaryIO:
    """Open a possibly compressed file for binary reading. A ``.gz`` / ``.zst`` file
    without its format's signature raises :class:`CorruptInput` at once, and damage
    found later while reading raises it too, always with the file's name."""
    p = os.fspath(path)
    if p.endswith(".gz"):
        _check_magic(p, ".gz")
        return _GzipReader(p, "rb")  # type: ignore[return-value]
    if p.endswith((".zst", ".zstd")):
        _check_magic(p, ".zst")
        return io.BufferedReader(_ZstdRaw(p), buffer_size=BUFFER)  # type: ignore[return-value]
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
    return [Shard(p, a, b, i) for i, (a, b) in enumerate(itertools.pairwise(bounds))]


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


def not_jsonl(path: str | os.PathLike, max_bytes: int = 1 << 16) -> str | None:
    """:func:`document_kind` of a file, judged from at most ``max_bytes`` of its start (a
    file that is one huge line is never read whole). None when it looks like JSON Lines,
    is empty or cannot be read: the caller's own read reports that."""
    try:
        with open_binary(path) as fh:
            head = fh.read(max_bytes)
    except Exception:  # noqa: BLE001 - unreadable or corrupt: the real read reports it
        return None
    body = head.lstrip(_BOM).lstrip()
    if not body:
        return None
    end = body.find(b"\n")
    first = body if end < 0 else body[:end]
    if first.startswith(b"{") and end < 0 and len(head) >= max_bytes:
        return None  # a long first line that opens an object: JSON Lines
    return document_kind(first)
"""Batch conversion of files: inputs in, one output (JSONL, Parquet or a zip) out.

* Inputs: files, directories (every convertible file below), globs; ``.jsonl``
  (also ``.gz``/``.zst``), ``.json`` holding an array, ``.parquet`` and DashScope
  image ``.zip`` archives (read with :mod:`datakit.io.safezip`).
* Streaming in constant memory: raw lines go to worker processes in batches, at
  most ``2 × workers`` batches in flight, and come back in order. Workers write
  their output lines to part files in a hidden spool directory beside the output
  (``.datakit-convert-*``) and the parent appends them, in order, with
  ``sendfile``; the spool is removed at the end of every run, also an
  interrupted one (only a SIGKILL of the parent can leave it behind).
* The output is written to a temporary file and renamed at the end (and the
  rejects file likewise). Under ``on_loss="error"`` with any example rejected,
  the output is not written at all: the run reports every problem instead.
* The temporary file is renamed without an ``fsync``: an interrupted run (Ctrl-C,
  a kill, an error) never leaves a partial file under the final name, but the
  data's durability across an operating-system crash is left to the file system,
  as ``datakit chunk`` and ``split(1)`` do (an fsync of 100 MB costs about half of
  the time it takes to parse it). ``datakit lint`` catches a damaged output.
"""

from __future__ import annotations

import collections
import contextlib
import glob
import gzip
import io
import lzma
import multiprocessing
import os
import shutil
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from datakit.conversion import mapping as M
from datakit.conversion.engine import BatchOut, Settings, Tally, convert_lines
from datakit.conversion.summary import ConversionSummary
from datakit.diagnostics import Diagnostic
from datakit.io import reader
from datakit.io.atomic import OutputExists, temp_name
from datakit.rules import registry

BATCH_BYTES = 2 << 20
PARALLEL_MIN_BYTES = 4 << 20
SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".jsonl.zstd", ".json", ".json.gz", ".parquet",
            ".zip", ".ndjson")
MAX_PRINTED_PER_CODE = 20
# Diagnostics of one code kept in the summary: a corpus whose every example has the same
# loss would otherwise hold millions of them (~400 bytes each). Counts stay exact, and
# the rejects file holds every rejected example with its reasons.
KEPT_PER_CODE = 1000


def _usage(msg: str) -> Exception:
    from datakit.errors import UsageError as LintUsage

    return LintUsage(msg)


# --------------------------------------------------------------------------- inputs

def expand_inputs(paths: list[str]) -> list[str]:
    out: list[str] = []
    for p in map(os.fspath, paths):
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(os.path.join(root, f) for f in sorted(files)
                           if f.endswith(SUFFIXES) and not f.startswith("."))
        elif os.path.exists(p):
            out.append(p)
        elif any(ch in p for ch in "*?["):
            found = sorted(f for f in glob.glob(p, recursive=True) if os.path.isfile(f))
            if not found:
                raise _usage(f"{p}: no file matches this pattern")
            out.extend(found)
        else:
            raise _usage(f"{p}: no such file or directory")
    if not out:
        raise _usage("no input files (directories are searched for " + ", ".join(SUFFIXES) + ")")
    return out


def _json_array(path: str) -> bool:
    with reader.open_binary(path) as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")


ARRAY_READ = 1 << 20  # characters read at a time from a JSON array


def _array_lines(path: str) -> Iterator[bytes]:
    """The elements of a top-level JSON array, one JSONL line each, streamed: memory holds
    the element being read plus a read block, never the whole document.

    Each element is decoded with the standard library's ``raw_decode`` (exact integers of
    any size) and passed on as its own text when it sits on one line, compacted
    otherwise. NaN/Infinity, bad UTF-8, a truncated document and text after the closing
    bracket are usage errors that name the element and the line where it starts.
    """
    import json

    def no_constants(name: str):
        raise ValueError(f"{name} is not valid JSON")

    decoder = json.JSONDecoder(parse_constant=no_constants)
    compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                               allow_nan=False).encode
    with reader.open_binary(path) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig")
        buf, pos, line, eof = "", 0, 1, False  # line: the line number of buf[pos]

        def fill(at_least: int = ARRAY_READ) -> bool:
            nonlocal buf, pos, eof
            if eof:
                return False
            try:
                chunk = text.read(max(at_least, ARRAY_READ))
            except UnicodeDecodeError as e:
                raise _usage(f"{path}: not valid UTF-8 near line {line} ({e.reason}); save "
                             "the file as UTF-8") from None
            if not chunk:
                eof = True
                return False
            buf = buf[pos:] + chunk
            pos = 0
            return True

        def skip_ws() -> str:
            """The next non-blank character ("" at the end of the file)."""
            nonlocal pos, line
            while True:
                while pos < len(buf) and buf[pos] in " \t\r\n":
                    if buf[pos] == "\n":
                        line += 1
                    pos += 1
                if pos < len(buf):
                    return buf[pos]
                if not fill():
                    return ""

        def fail(what: str) -> Exception:
            return _usage(f"{path}:{line}: {what}; a .json input must hold one array of "
                          "examples")

        if skip_ws() != "[":
            raise fail("the document is not a JSON array")
        pos += 1
        index = 0
        while True:
            ch = skip_ws()
            if ch == "]" and index == 0:
                pos += 1
                break
            if not ch:
                raise fail(f"the file ends inside the array, before element {index + 1} "
                           "(a truncated file?)")
            while True:
                try:
                    obj, end = decoder.raw_decode(buf, pos)
                except (json.JSONDecodeError, ValueError) as e:
                    # an error at the end of what is read may only mean "read more"; one
                    # earlier is the element's own (never read the rest of a big file)
                    partial = isinstance(e, json.JSONDecodeError) and (
                        e.msg.startswith("Unterminated string") or e.pos >= len(buf) - 16)
                    if partial and not eof and fill(len(buf)):
                        continue
                    if partial and (e.msg.startswith("Unterminated string")
                                    or e.pos >= len(buf.rstrip())):  # all read: is it cut?
                        raise fail(f"the file ends inside element {index + 1} (a truncated "
                                   "file?)") from None
                    where = getattr(e, "msg", str(e))
                    raise fail(f"element {index + 1} is not valid JSON ({where})") from None
                if end == len(buf) and not eof and fill(len(buf)):
                    continue  # a number could go on in the next block
                break
            piece = buf[pos:end]
            if "\n" in piece or "\r" in piece:
                line += piece.count("\n")
                piece = compact(obj)
            yield piece.encode("utf-8", errors="surrogatepass") + b"\n"
            pos = end
            index += 1
            ch = skip_ws()
            if ch == ",":
                pos += 1
                continue
            if ch == "]":
                pos += 1
                break
            raise fail(f"expected ',' or ']' after element {index}" if ch else
                       f"the file ends after element {index}, before the closing ']'")
        if skip_ws():
            raise fail("text after the closing ']' of the array")


def _parquet_lines(path: str) -> Iterator[bytes]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from datakit.sources import strip_nulls, to_lines

    try:
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=2048):
            yield from to_lines(strip_nulls(r) for r in batch.to_pylist())
    except (pa.ArrowException, OSError) as e:
        raise _usage(f"{path}: not a readable Parquet file ({e})") from None


# What reading a damaged zip member raises: a bad CRC or header, a cut or garbled
# compressed stream, an encrypted member or a compression method Python lacks.
_ZIP_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                      NotImplementedError, lzma.LZMAError)


def _zip_fix(path: str) -> str:
    return (f"the archive is truncated or corrupt: test it with `unzip -t {path}`, then "
            "re-create or re-download it")


def read_zip_member(zf: zipfile.ZipFile, path: str, member: str) -> bytes:
    """A member's bytes; a damaged member is a usage error naming the archive and member."""
    try:
        return zf.read(member)
    except _ZIP_MEMBER_ERRORS as e:
        raise _usage(f"{path}: cannot read {member!r} from the zip archive ({e}); "
                     f"{_zip_fix(path)}") from None


class ZipMedia:
    """Images beside one ``.jsonl`` member of a safe zip."""

    def __init__(self, zf: zipfile.ZipFile, names: list[str], base: str, path: str = "") -> None:
        self.zf = zf
        self.base = base
        self.names = set(names)
        self.path = path or str(zf.filename)

    def read(self, name: str) -> bytes | None:
        member = f"{self.base}/{name}" if self.base else name
        if member not in self.names or name.startswith(("/", "..")) or "/../" in member:
            return None
        return read_zip_member(self.zf, self.path, member)


@dataclass
class Source:
    path: str  # label used in diagnostics
    lines: Any  # callable returning an iterator of raw lines
    size: int | None = None  # bytes, when known (progress bar, parallelism)
    shardable: bool = False
    media: ZipMedia | None = None


@contextlib.contextmanager
def open_sources(paths: list[str]) -> Iterator[list[Source]]:
    from datakit.io.safezip import UnsafeZip, open_safe

    sources: list[Source] = []
    zips: list[zipfile.ZipFile] = []
    try:
        for p in paths:
            if p.endswith(".zip"):
                try:
                    zf, names = open_safe(p)
                except UnsafeZip as e:
                    raise _usage(f"{p}: refused the zip archive: {e}") from None
                except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError,
                        ValueError) as e:
                    raise _usage(f"{p}: cannot read the zip archive ({e}); {_zip_fix(p)}"
                                 ) from None
                zips.append(zf)
                members = [n for n in names if n.endswith(".jsonl")]
                if not members:
                    raise _usage(f"{p}: the zip archive holds no .jsonl file")
                for m in members:
                    base = os.path.dirname(m)
                    sources.append(Source(
                        f"{p}!{m}",
                        lambda zf=zf, m=m, p=p: iter(io.BytesIO(read_zip_member(zf, p, m))),
                        zf.getinfo(m).file_size, False, ZipMedia(zf, names, base, p)))
            elif p.endswith(".parquet"):
                sources.append(Source(p, lambda p=p: _parquet_lines(p), os.path.getsize(p)))
            elif (p.endswith((".json", ".json.gz")) or not p.endswith(SUFFIXES)) and _json_array(p):
                sources.append(Source(p, lambda p=p: _array_lines(p), os.path.getsize(p)))
            else:
                size = os.path.getsize(p)
                sources.append(Source(p, lambda p=p: reader.iter_lines(p), size,
                                      not reader.is_compressed(p)))
        yield sources
    finally:
        for zf in zips:
            zf.close()


# --------------------------------------------------------------------------- workers

def _spool(res: BatchOut, spool: str | None) -> BatchOut:
    """Write a worker's output lines to a file in ``spool`` and return only the name.

    Sending megabytes of output back through the pool's pipe stalls the workers
    (the parent reads the pipe between its own writes); the parent appends the
    file to the output with ``sendfile`` instead."""
    if spool is not None and res.out:
        fd, name = tempfile.mkstemp(dir=spool, suffix=".part")
        try:
            _write_all(fd, res.out)
        finally:
            os.close(fd)
        res.out = []
        res.part = name
    return res


def _write_all(fd: int, chunks: list[bytes]) -> None:
    """Write byte strings to a file descriptor without joining them first."""
    if not hasattr(os, "writev"):
        chunks = [b"".join(chunks)]
    step = 512  # below every platform's IOV_MAX
    for i in range(0, len(chunks), step):
        part = chunks[i:i + step]
        n = os.writev(fd, part) if len(part) > 1 and hasattr(os, "writev") else 0
        total = sum(map(len, part))
        if n < total:
            rest = memoryview(b"".join(part))[n:]
            while rest:
                rest = rest[os.write(fd, rest):]


def _work_lines(args: tuple[list[bytes], Settings, str, str | None]) -> BatchOut:
    lines, settings, path, spool = args
    return _spool(convert_lines(lines, settings, path, 1), spool)


def _shard_lines(shard: reader.Shard) -> list[bytes]:
    """The lines of a shard (one read; newlines dropped, which the converter ignores)."""
    with open(shard.path, "rb") as fh:
        fh.seek(shard.start)
        data = fh.read(shard.end - shard.start)
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def _work_shard(args: tuple[reader.Shard, Settings, str, str | None]) -> BatchOut:
    shard, settings, path, spool = args
    res = convert_lines(_shard_lines(shard), settings, path, 1)
    res.bytes = shard.end - shard.start
    return _spool(res, spool)


def _pool(workers: int):
    method = "fork" if sys.platform.startswith("linux") else None
    return multiprocessing.get_context(method).Pool(workers)


def _results(src: Source, settings: Settings, pool, workers: int,
             images_out: dict[str, bytes] | None, spool: str | None = None) -> Iterator[BatchOut]:
    """Batch results of one source, in order, with batch-relative line numbers."""
    if pool is None or src.media is not None or (src.size or 0) < PARALLEL_MIN_BYTES:
        for batch in reader.iter_batches(src.lines(), BATCH_BYTES):
            yield convert_lines(batch, settings, src.path, 1, src.media, images_out)
        return
    if src.shardable:
        tasks: Iterator[Any] = ((s, settings, src.path, spool)
                                for s in reader.shards(src.path, BATCH_BYTES))
        fn = _work_shard
    else:
        tasks = ((b, settings, src.path, spool)
                 for b in reader.iter_batches(src.lines(), BATCH_BYTES))
        fn = _work_lines
    pending: collections.deque = collections.deque()
    for task in tasks:  # bounded: at most 2 x workers batches in memory
        pending.append(pool.apply_async(fn, (task,)))
        if len(pending) >= 2 * workers:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


# --------------------------------------------------------------------------- outputs

class _Abort(Exception):
    pass


@dataclass
class _Out:
    """Where output lines go: a temp file renamed at the end (JSONL, .gz, .zst), or
    a temp JSONL that becomes Parquet or a dashscope zip at the end."""

    path: str
    kind: str  # "jsonl", "parquet", "zip"
    tmp: str = ""
    fh: BinaryIO | None = None
    raw: BinaryIO | None = None
    images: dict[str, bytes] = field(default_factory=dict)

    def open(self) -> None:
        d = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(d, exist_ok=True)
        # Named before it exists, so that an interrupt at any instant leaves discard() the
        # name to remove (mkstemp's result could be lost as it returns).
        while True:
            self.tmp = temp_name(d, f".{os.path.basename(self.path)}.", ".part")
            try:
                fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:  # someone else's: never ours to remove
                self.tmp = ""
        self.raw = os.fdopen(fd, "wb", buffering=1 << 20)
        if self.kind == "jsonl" and self.path.endswith(".gz"):
            self.fh = gzip.GzipFile(fileobj=self.raw, mode="wb", mtime=0)
        elif self.kind == "jsonl" and self.path.endswith((".zst", ".zstd")):
            import zstandard

            self.fh = zstandard.ZstdCompressor().stream_writer(self.raw, closefd=False)
        else:
            self.fh = self.raw

    def write(self, lines: list[bytes]) -> None:
        if lines:
            self.fh.write(b"".join(lines))

    def append_file(self, name: str) -> None:
        """Append a spooled part (in the kernel when the output is a plain file)."""
        try:
            with open(name, "rb") as src:
                if self.fh is self.raw and hasattr(os, "sendfile"):
                    self.raw.flush()
                    size = os.fstat(src.fileno()).st_size
                    off = 0
                    try:
                        while off < size:
                            n = os.sendfile(self.raw.fileno(), src.fileno(), off, size - off)
                            if n == 0:
                                break
                            off += n
                    except OSError:
                        if off:
                            raise
                    if off >= size:
                        return
                    src.seek(off)
                while True:
                    block = src.read(1 << 20)
                    if not block:
                        break
                    self.fh.write(block)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    def _close_stream(self) -> None:
        if self.fh is not self.raw and self.fh is not None:
            self.fh.close()
        self.raw.flush()  # no fsync: see the module docstring
        self.raw.close()

    def commit(self) -> None:
        from datakit.io.atomic import final_mode

        self._close_stream()
        mode = final_mode(self.path)  # not the temporary file's private 0600
        if self.kind == "jsonl":
            with contextlib.suppress(OSError):
                os.chmod(self.tmp, mode)
            os.replace(self.tmp, self.path)
            return
        final_tmp = self.tmp + ".final"
        try:
            if self.kind == "parquet":
                _jsonl_to_parquet(self.tmp, final_tmp, label=self.path)
            else:
                _jsonl_to_zip(self.tmp, self.images, final_tmp)
            with contextlib.suppress(OSError):
                os.chmod(final_tmp, mode)
            os.replace(final_tmp, self.path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(final_tmp)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp)

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self._close_stream()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


def _jsonl_to_parquet(src: str, dest: str, rows_per_group: int = 4096, label: str = "") -> None:
    """Two passes in bounded memory: infer the Arrow schema over every row (each column
    from all of its values, so a column that only a late row has is kept), then write
    row groups with that schema. A column whose values share no Arrow type, or an integer
    beyond 64 bits, is a usage error naming the column and the examples; nothing is
    dropped. ``label`` names the output in messages (``dest`` is a temporary file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    where = label or dest

    def group_schema(rows: list[dict]) -> pa.Schema:
        names: dict[str, None] = {}
        for r in rows:  # every key of every row, in order of first appearance
            names.update(dict.fromkeys(r))
        fields = []
        for name in names:
            try:
                fields.append(pa.field(name, pa.array([r.get(name) for r in rows]).type))
            except (pa.ArrowException, OverflowError):
                raise _column_conflict(src, where, name) from None
        return pa.schema(fields)

    schema = pa.schema([])
    for rows in _parquet_groups(src, rows_per_group):
        s = group_schema(rows)
        try:
            schema = pa.unify_schemas([schema, s], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            bad = next((f.name for f in s if f.name in schema.names
                        and not _types_merge(schema.field(f.name).type, f.type)), None)
            raise _column_conflict(src, where, bad) from None
    try:  # Arrow refuses, rather than rounds, an integer a float column cannot hold
        with pq.ParquetWriter(dest, schema) as w:
            for rows in _parquet_groups(src, rows_per_group):
                w.write_table(pa.Table.from_pylist(rows, schema=schema))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError) as e:
        raise _usage(f"{where}: cannot write Parquet ({e}); write JSONL instead "
                     "(--output-format jsonl)") from None


def _parquet_groups(src: str, rows_per_group: int) -> Iterator[list[dict]]:
    """The converted examples of the intermediate JSONL, ``rows_per_group`` at a time,
    integers beyond 64 bits read exactly (orjson would make floats of them)."""
    from datakit.conversion import jsontext

    rows: list[dict] = []
    with open(src, "rb") as fh:
        for line in fh:
            rows.append(jsontext.loads(line))
            if len(rows) >= rows_per_group:
                yield rows
                rows = []
    if rows:
        yield rows


def _types_merge(a: Any, b: Any) -> bool:
    import pyarrow as pa

    try:
        pa.unify_schemas([pa.schema([("x", a)]), pa.schema([("x", b)])],
                         promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return False
    return True


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer beyond 64 bits" if not -2 ** 63 <= value < 2 ** 63 else "an integer"
    return {float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def _column_conflict(src: str, where: str, column: str | None) -> Exception:
    """The usage error for a column Parquet cannot hold: rescan the column (this is the
    error path) for the first example whose value has no Arrow type in common with the
    values before it, or none at all."""
    import pyarrow as pa

    jsonl = "write JSONL instead (--output-format jsonl)"
    fix = f"Parquet needs one type per column: {jsonl} or make the column's values one type"
    if column is None:
        return _usage(f"{where}: cannot write Parquet: the examples do not share one Arrow "
                      f"schema; {fix}")
    seen: Any = None  # the column's type so far
    first = (0, None)  # (example, value) that set it
    n = 0
    for rows in _parquet_groups(src, 4096):
        for r in rows:
            n += 1
            v = r.get(column)
            if v is None:
                continue
            try:
                t = pa.array([v]).type
            except (pa.ArrowException, OverflowError) as e:
                what = _kind(v)
                if isinstance(e, OverflowError):
                    return _usage(f"{where}: cannot write Parquet: column {column!r} holds an "
                                  f"integer beyond 64 bits in example {n}"
                                  f"{'' if what.endswith('bits') else f' ({what})'}, which no "
                                  f"Parquet integer holds; {jsonl}")
                return _usage(f"{where}: cannot write Parquet: column {column!r} holds {what} "
                              f"in example {n} whose parts do not share one type ({e}); {fix}")
            if seen is None:
                seen, first = t, (n, v)
            elif _types_merge(seen, t):
                seen = pa.unify_schemas([pa.schema([("x", seen)]), pa.schema([("x", t)])],
                                        promote_options="permissive").field("x").type
            else:
                return _usage(f"{where}: cannot write Parquet: column {column!r} holds "
                              f"{_kind(first[1])} in example {first[0]} ({seen}) and "
                              f"{_kind(v)} in example {n} ({t}); {fix}")
    return _usage(f"{where}: cannot write Parquet: the values of column {column!r} do not "
                  f"share one Arrow type; {fix}")


def _jsonl_to_zip(src: str, images: dict[str, bytes], dest: str) -> None:
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(src, M.ZIP_JSONL)
        for name in sorted(images):
            zf.writestr(name, images[name], compress_type=zipfile.ZIP_STORED)


# --------------------------------------------------------------------------- driver

@dataclass
class FileJob:
    inputs: list[str]
    output: str
    settings: Settings
    output_format: str | None = None  # jsonl | parquet | None (from the suffix)
    rejects: str | None = None
    force: bool = False
    workers: int | None = None
    progress: bool | None = None
    on_diagnostic: Any = None  # callable(Diagnostic), e.g. print to stderr


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _output_kind(job: FileJob) -> str:
    fmt = job.output_format
    if job.settings.target == "dashscope-sft-image":
        if not job.output.endswith(".zip"):
            raise _usage("dashscope-sft-image is a zip of the .jsonl and its images; give an "
                         "output ending in .zip")
        if fmt == "parquet":
            raise _usage("dashscope-sft-image output is a zip, not Parquet")
        return "zip"
    if fmt is None:
        fmt = "parquet" if job.output.endswith(".parquet") else "jsonl"
    if fmt not in ("jsonl", "parquet"):
        raise _usage(f"unknown output format {fmt!r}; choose jsonl or parquet")
    return fmt


def _default_workers() -> int:
    """``datakit.linter.run.default_workers`` without importing the linter (start-up time)."""
    env = os.environ.get("DATAKIT_WORKERS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    return max(1, min(os.cpu_count() or 1, 8))


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int | None, enabled: bool | None) -> Any:
    """The progress bar on a terminal; nothing (and no import) otherwise."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return _NoProgress()
    from datakit.chunking import Progress

    return Progress("convert", total, True)


def _bar_total(sources: list[Source]) -> int | None:
    """What the bar counts up to, in the bytes of lines read. A plain JSONL file's size
    (or a zip member's uncompressed size) is that; a compressed, Parquet or JSON-array
    file's size is not, so with any of those the bar shows no total (it showed 100 %
    at once, then e.g. "5.2 MB/34.7 kB" for a .jsonl.gz)."""
    if all(x.size is not None and (x.shardable or x.media is not None) for x in sources):
        return sum(x.size for x in sources) or None
    return None


def convert_files(job: FileJob) -> ConversionSummary:
    s = job.settings
    if s.target not in M.CAPS:
        raise _usage(f"unknown target format {s.target!r}; choose one of: {', '.join(M.FORMAT_IDS)}")
    if s.source != "auto" and s.source not in M.CAPS:
        raise _usage(f"unknown source format {s.source!r}; choose auto or one of: "
                     f"{', '.join(M.FORMAT_IDS)}")
    inputs = expand_inputs(job.inputs)
    kind_ = _output_kind(job)
    rejects = job.rejects
    if rejects is None and s.on_loss == "drop":
        rejects = job.output + ".rejects.jsonl"
    for target in (job.output, rejects):
        if target is None:
            continue
        for p in inputs:
            if _same_file(p, target):
                raise _usage(f"{target} is also an input; datakit never overwrites its input")
        if os.path.exists(target) and not job.force:
            raise OutputExists(f"{target} exists (use --force to overwrite)")
        if os.path.isdir(target):
            raise _usage(f"{target} is a directory; give a file name")
    if rejects is not None and _same_file(rejects, job.output):
        raise _usage("the rejects file and the output must differ")
    workers = job.workers or _default_workers()
    total = Tally()
    diags: list[Diagnostic] = []
    counted: collections.Counter = collections.Counter()
    out = _Out(job.output, kind_)
    rej = _Out(rejects, "jsonl") if rejects else None
    bar = None
    pool = None
    spool = None
    try:
        with open_sources(inputs) as sources:
            bar = _progress(_bar_total(sources), job.progress)
            out.open()
            if rej:
                rej.open()
            big = workers > 1 and any((x.size or 0) >= PARALLEL_MIN_BYTES and x.media is None
                                      for x in sources)
            pool = _pool(workers) if big else None
            if pool is not None:
                # Named before it exists, so that an interrupt at any instant leaves the
                # finally below a name to remove (mkdtemp's result could be lost).
                spool = temp_name(os.path.dirname(os.path.abspath(job.output)),
                                  ".datakit-convert-")
                os.mkdir(spool, 0o700)
            images = out.images if kind_ == "zip" else None
            for src in sources:
                line_off = 0
                ex_off = 0
                for res in _results(src, s, pool, workers, images, spool):
                    for line, ex, f in res.diags:
                        counted[f.code] += 1
                        n = counted[f.code]
                        if n > KEPT_PER_CODE:  # only counted (MAX_PRINTED_PER_CODE < KEPT_PER_CODE)
                            continue
                        d = registry.diagnostic(f, path=src.path, line=line + line_off,
                                                example=ex + ex_off)
                        diags.append(d)
                        if job.on_diagnostic is not None and n <= MAX_PRINTED_PER_CODE:
                            job.on_diagnostic(d)
                    if rej and res.rejects:
                        rej.write([_shift_reject(r, line_off) for r in res.rejects]
                                  if line_off else res.rejects)
                    out.write(res.out)
                    if res.part is not None:
                        out.append_file(res.part)
                    total.add(res.tally)
                    line_off += res.lines
                    ex_off += res.tally.read
                    bar.update(res.bytes)
        committed = not (s.on_loss == "error" and total.rejected_examples)
        if committed:
            out.commit()
        else:
            out.discard()
        if rej:
            rej.commit()
    except BaseException:
        out.discard()
        if rej:
            rej.discard()
        raise
    finally:
        try:
            if pool is not None:
                pool.terminate()
                pool.join()
        finally:  # even if a second Ctrl-C lands while the workers are stopped
            if spool is not None:
                shutil.rmtree(spool, ignore_errors=True)
            if bar is not None:
                bar.close()
    hidden = {c: n - MAX_PRINTED_PER_CODE for c, n in
              counted.items() if n > MAX_PRINTED_PER_CODE}
    summary = ConversionSummary.from_tally(total, s.target, s.on_loss, diagnostics=diags,
                                           output=job.output, rejects=rejects, committed=committed,
                                           files=len(inputs), hidden=hidden)
    return summary


# --------------------------------------------------------------------------- -o DIR

_INPUT_SUFFIXES = (".jsonl.gz", ".jsonl.zst", ".jsonl.zstd", ".json.gz", ".jsonl", ".json",
                   ".parquet", ".zip")


def is_dir_output(output: str) -> bool:
    """``-o DIR``: an existing directory, or a path ending with a separator."""
    return output.endswith(("/", os.sep)) or os.path.isdir(output)


def _with_roots(paths: list[str]) -> list[tuple[str, str]]:
    """(file, path relative to the directory or glob root it was found under)."""
    out: list[tuple[str, str]] = []
    for p in map(os.fspath, paths):
        if os.path.isdir(p):
            out += [(f, os.path.relpath(f, p)) for f in expand_inputs([p])]
        elif not os.path.exists(p) and any(ch in p for ch in "*?["):
            root = p
            while any(ch in root for ch in "*?["):
                root = os.path.dirname(root)
            out += [(f, os.path.relpath(f, root or ".")) for f in expand_inputs([p])]
        else:
            out += [(f, os.path.basename(f)) for f in expand_inputs([p])]
    return out


def plan_tree(inputs: list[str], out_dir: str, target: str,
              output_format: str | None) -> list[tuple[str, str]]:
    """(input file, output file) for ``-o DIR``: each input's path under its directory or
    glob root, mirrored under ``out_dir`` with the output's suffix. Two inputs that would
    write the same output are a usage error, before anything is written."""
    if target == "dashscope-sft-image":
        suffix = ".zip"
    else:
        suffix = ".parquet" if output_format == "parquet" else ".jsonl"
    plan: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for src, rel in _with_roots(inputs):
        stem = next((rel[: -len(x)] for x in _INPUT_SUFFIXES if rel.endswith(x)), rel)
        dest = os.path.join(out_dir, stem + suffix)
        key = os.path.normcase(os.path.abspath(dest))
        if key in seen:
            raise _usage(f"{seen[key]} and {src} would both be written to {dest}; convert them "
                         "separately or rename one")
        seen[key] = src
        plan.append((src, dest))
    return plan


def convert_tree(job: FileJob) -> tuple[ConversionSummary, list[ConversionSummary]]:
    """``-o DIR``: one output per input file (see :func:`plan_tree`), each converted and
    committed on its own like a single-file run, rejects beside each output. Returns the
    total and the per-file summaries."""
    if job.rejects is not None:
        raise _usage("--rejects names one file; with -o DIR every output gets its own "
                     "OUT.rejects.jsonl beside it")
    plan = plan_tree(job.inputs, job.output, job.settings.target, job.output_format)
    rejects_of = (lambda d: d + ".rejects.jsonl") if job.settings.on_loss == "drop" else (
        lambda d: None)
    inputs = [src for src, _ in plan]
    for _, dest in plan:  # every check before the first write
        for target in filter(None, (dest, rejects_of(dest))):
            if any(_same_file(p, target) for p in inputs):
                raise _usage(f"{target} is also an input; datakit never overwrites its input")
            if os.path.exists(target) and not job.force:
                raise OutputExists(f"{target} exists (use --force to overwrite)")
    per_file: list[ConversionSummary] = []
    total = Tally()
    for src, dest in plan:
        one = FileJob([src], dest, job.settings, job.output_format, None, job.force,
                      job.workers, job.progress, job.on_diagnostic)
        summary = convert_files(one)
        per_file.append(summary)
        total.add(Tally(read=summary.read, written=summary.written, changed=summary.changed,
                        lossy=summary.lossy, rejected=collections.Counter(summary.rejected),
                        losses=collections.Counter(summary.losses),
                        changes=collections.Counter(summary.changes),
                        sources=collections.Counter(summary.sources),
                        rejected_examples=summary.rejected_total))
    hidden: collections.Counter = collections.Counter()
    for one in per_file:
        hidden.update(one.hidden)
    result = ConversionSummary.from_tally(
        total, job.settings.target, job.settings.on_loss,
        diagnostics=[d for one in per_file for d in one.diagnostics], output=None,
        committed=all(one.committed for one in per_file), files=len(plan), hidden=dict(hidden))
    return result, per_file


def _shift_reject(line: bytes, off: int) -> bytes:
    from datakit.conversion import jsontext
    from datakit.conversion.engine import dumps

    rec = jsontext.loads(line)  # the example may hold integers beyond 64 bits
    if isinstance(rec.get("line"), int):
        rec["line"] += off
    return dumps(rec)


__all__ = ["FileJob", "convert_files", "convert_tree", "expand_inputs", "is_dir_output",
           "plan_tree"]

"""Open a user's zip archive defensively.

DashScope image datasets arrive as one ``.zip`` holding the ``.jsonl`` and its
images. Archives from elsewhere may carry path traversal (``../x``), absolute
paths, symlinks, or decompression bombs; refuse those before reading anything.
"""

from __future__ import annotations

import os
import posixpath
import stat
import zipfile

MAX_ENTRIES = 100_000
MAX_TOTAL_BYTES = 8 << 30  # decompressed
MAX_RATIO = 200  # decompressed / compressed, per entry


class UnsafeZip(ValueError):
    """The archive breaks one of the safety limits."""


def check_member_name(name: str) -> None:
    norm = posixpath.normpath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeZip(f"entry {name!r} has an absolute path")
    if norm == ".." or norm.startswith("../"):
        raise UnsafeZip(f"entry {name!r} escapes the archive (path traversal)")


def open_safe(path: str | os.PathLike, *, max_entries: int = MAX_ENTRIES,
              max_total: int = MAX_TOTAL_BYTES, max_ratio: int = MAX_RATIO
              ) -> tuple[zipfile.ZipFile, list[str]]:
    """Open ``path`` and return the archive with its member names, after checks."""
    zf = zipfile.ZipFile(path)
    try:
        infos = zf.infolist()
        if len(infos) > max_entries:
            raise UnsafeZip(f"{len(infos)} entries (limit {max_entries})")
        total = 0
        for info in infos:
            check_member_name(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeZip(f"entry {info.filename!r} is a symbolic link")
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > max_ratio \
                    and info.file_size > (1 << 20):
                raise UnsafeZip(f"entry {info.filename!r} expands {info.file_size // info.compress_size}x "
                                "(zip bomb?)")
        if total > max_total:
            raise UnsafeZip(f"{total} bytes once decompressed (limit {max_total})")
    except BaseException:
        zf.close()
        raise
    return zf, [i.filename for i in infos]

"""Atomic output: write to a temporary file beside the target, then rename.

An interrupted run never leaves a half-written file under the final name, and
an existing file is replaced only when the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO


class OutputExists(FileExistsError):
    """The output exists and overwriting was not allowed."""


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[BinaryIO]:
    """Open ``path`` for binary writing through a temporary file in the same directory."""
    dest = os.fspath(path)
    if not overwrite and os.path.exists(dest):
        raise OutputExists(f"{dest} exists (use --force to overwrite)")
    directory = os.path.dirname(os.path.abspath(dest))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise

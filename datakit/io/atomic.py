"""Atomic output: write to a temporary file beside the target, then rename.

An interrupted run never leaves a half-written file under the final name, and
an existing file is replaced only when the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import BinaryIO


class OutputExists(FileExistsError):
    """The output exists and overwriting was not allowed."""


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (os.umask can
    only be read by setting it, which races with other threads creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def final_mode(dest: str) -> int:
    """The mode a finished output gets: the mode of the file it replaces, or what a plain
    ``open()`` would give a new file (0666 minus the umask), never the temporary file's
    private 0600."""
    try:
        return os.stat(dest).st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def default_permissions(*paths: str) -> None:
    """Give files written through a private temporary file the mode of a plain ``open()``."""
    mode = 0o666 & ~_umask()
    for p in paths:
        with contextlib.suppress(OSError):
            os.chmod(p, mode)


def temp_name(directory: str, prefix: str = "", suffix: str = "") -> str:
    """A fresh random path in ``directory``, not yet created. Name first, create second
    (``os.open(..., O_EXCL)`` / ``os.mkdir``): a caller that keeps the name before the
    file exists can remove it whenever an interrupt lands, which ``mkstemp`` and
    ``mkdtemp`` do not allow (their result is lost if the interrupt comes as they
    return)."""
    import secrets

    return os.path.join(directory, f"{prefix}{secrets.token_hex(6)}{suffix}")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[BinaryIO]:
    """Open ``path`` for binary writing through a temporary file in the same directory."""
    dest = os.fspath(path)
    if not overwrite and os.path.exists(dest):
        raise OutputExists(f"{dest} exists (use --force to overwrite)")
    directory = os.path.dirname(os.path.abspath(dest))
    os.makedirs(directory, exist_ok=True)
    tmp = ""
    try:
        while True:
            tmp = temp_name(directory, f".{os.path.basename(dest)}.", ".part")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                break
            except FileExistsError:  # someone else's: never ours to remove
                tmp = ""
        with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
            yield fh
            fh.flush()
            with contextlib.suppress(OSError):
                os.fchmod(fh.fileno(), final_mode(dest))
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        if tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise

"""The progress bar of the long commands, seen from a real terminal.

Each command runs as a subprocess whose stderr is the slave end of a pseudo-terminal
(so ``sys.stderr.isatty()`` is true in the child); what the terminal received is read
from the master end until the child has exited and the terminal reports EOF (EIO on
Linux). The same command with stderr on a plain pipe must draw nothing.
"""

from __future__ import annotations

import errno
import gzip
import os
import pty
import re
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from conftest import write_big_sharegpt

# A bar redraws its line: a carriage return, then text with a percentage.
BAR = re.compile(rb"\r[^\r\n]*?(\d{1,3}(?:\.\d+)?)%")
TIMEOUT = 60


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """A ShareGPT file of about 5 MiB: above convert's parallel threshold (4 MiB)."""
    path = tmp_path_factory.mktemp("progress") / "big.jsonl"
    write_big_sharegpt(path, 5)
    return path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATAKIT_WORKERS", None)
    env["TERM"] = "xterm"
    env["PYTHONFAULTHANDLER"] = "1"  # a hung child dumps its stacks on SIGABRT
    return env


def _spawn(args: list[str], stdout, stderr) -> subprocess.Popen:
    # its own session: on a timeout the whole group (pool workers too) is ended
    return subprocess.Popen([sys.executable, "-m", "datakit", *args], stdin=subprocess.DEVNULL,
                            stdout=stdout, stderr=stderr, env=_env(), start_new_session=True)


def _abort(proc: subprocess.Popen) -> None:
    """A child that did not finish: ask for its stacks (faulthandler), then end its
    process group."""
    for sig in (signal.SIGABRT, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        time.sleep(0.5)


def _read_until_eof(fd: int, proc: subprocess.Popen) -> bytes:
    """Everything the terminal received: read until EOF, which Linux reports as EIO once
    every slave descriptor is closed (the child and any worker it started)."""
    chunks = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                break
            raise
        if not data:  # other platforms: a plain EOF
            break
        chunks.append(data)
    else:
        _abort(proc)
        try:
            chunks.append(os.read(fd, 1 << 20))
        except OSError:
            pass
        pytest.fail(f"no EOF on the terminal within {TIMEOUT} s: "
                    f"{b''.join(chunks)[-3000:].decode(errors='replace')}")
    return b"".join(chunks)


def run_on_tty(args: list[str], tmp_path: Path) -> tuple[int, bytes]:
    """Run ``python -m datakit ARGS`` with stderr on a pseudo-terminal; returns the exit
    code and the bytes written to the terminal. stdout goes to a file, so a command
    that prints a lot never blocks on a pipe nobody reads."""
    master, slave = pty.openpty()
    # No output post-processing: the bytes arrive as written (no "\n" -> "\r\n").
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    try:
        with open(tmp_path / "stdout.txt", "wb") as out:
            proc = _spawn(args, out, slave)
        os.close(slave)
        slave = -1
        try:
            received = _read_until_eof(master, proc)
        finally:
            code = proc.wait(timeout=TIMEOUT)
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    return code, received


def run_on_pipe(args: list[str], tmp_path: Path) -> tuple[int, bytes]:
    with open(tmp_path / "stdout.txt", "wb") as out:
        proc = _spawn(args, out, subprocess.PIPE)
        try:
            _, stderr = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            _abort(proc)
            _, stderr = proc.communicate()
            pytest.fail(f"datakit {args[0]} did not finish within {TIMEOUT} s: "
                        f"{stderr[-3000:].decode(errors='replace')}")
    return proc.returncode, stderr


SIZE = rb"(\d+(?:\.\d+)?) ([kMGT]?B)"
UNITS = {b"B": 1, b"kB": 1e3, b"MB": 1e6, b"GB": 1e9, b"TB": 1e12}


def _bytes(number: bytes, unit: bytes) -> float:
    return float(number) * UNITS[unit]


def assert_done_within_total(received: bytes) -> None:
    """A bar with a total never counts past it ("5.2 MB/34.7 kB" is a wrong total)."""
    for m in re.finditer(SIZE + rb"/" + SIZE, received):
        done, total = _bytes(*m.group(1, 2)), _bytes(*m.group(3, 4))
        slack = 0.05 * (UNITS[m.group(2)] + UNITS[m.group(4)])  # one decimal shown
        assert done <= total + slack, m.group(0)


def assert_bar(received: bytes) -> None:
    percents = [float(m.group(1)) for m in BAR.finditer(received)]
    assert percents, f"no progress bar on the terminal: {received[:400]!r}"
    assert max(percents) == 100.0, percents  # the bar is closed at 100 %
    assert b"\n" in received.rsplit(b"\r", 1)[-1]  # the last redraw ends its line
    assert_done_within_total(received)


def assert_no_bar(stderr: bytes) -> None:
    assert b"\r" not in stderr, stderr[:400]
    assert not BAR.search(stderr)
    assert not re.search(rb"\[#+ *\]", stderr), stderr[:400]


def _args(cmd: str, src: Path, tmp_path: Path) -> list[str]:
    return {
        "lint": ["lint", str(src)],
        "convert": ["convert", str(src), "--to", "openai", "-o", str(tmp_path / "out.jsonl")],
        "split": ["split", str(src), "-o", str(tmp_path / "train.jsonl"),
                  str(tmp_path / "val.jsonl")],
        "chunk": ["chunk", str(src), "--max-bytes", "1MB", "-o", str(tmp_path / "chunks")],
        "stats": ["stats", str(src)],
    }[cmd]


ALL = ["lint", "convert", "split", "chunk", "stats"]


@pytest.mark.parametrize("cmd", ALL)
def test_progress_bar_on_a_terminal(cmd, big, tmp_path):
    code, received = run_on_tty(_args(cmd, big, tmp_path), tmp_path)
    assert code in (0, 1), received[-400:]  # lint exits 1 on findings
    assert_bar(received)


@pytest.mark.parametrize("cmd", ALL)
def test_no_progress_bar_on_a_pipe(cmd, big, tmp_path):
    code, stderr = run_on_pipe(_args(cmd, big, tmp_path), tmp_path)
    assert code in (0, 1), stderr[-400:]
    assert_no_bar(stderr)


@pytest.mark.parametrize("cmd,flag", [("convert", "--quiet"), ("split", "--no-progress"),
                                      ("chunk", "--no-progress"), ("lint", "--no-progress"),
                                      ("stats", "--no-progress")])
def test_opting_out_on_a_terminal(cmd, flag, big, tmp_path):
    code, received = run_on_tty([*_args(cmd, big, tmp_path), flag], tmp_path)
    assert code == 0, received[-400:]
    assert_no_bar(received)


def test_the_bar_shows_each_phase(big, tmp_path):
    # split reads the keys, then writes: one bar per phase, each ended by a newline
    code, received = run_on_tty(_args("split", big, tmp_path), tmp_path)
    assert code == 0
    for label in (b"split: keys", b"split: write"):
        assert re.search(rb"\r" + label + rb" \[#{30}\] 100\.0%[^\r\n]*\n", received), label


@pytest.mark.parametrize("cmd", ALL)
def test_compressed_input_shows_bytes_without_a_false_total(cmd, big, tmp_path):
    # regression (convert): the total was the .gz file's size on disk while the bar
    # counted the bytes read from it, so it showed 100 % at once, then "5.2 MB/34.7 kB"
    gz = tmp_path / "big.jsonl.gz"
    gz.write_bytes(gzip.compress(big.read_bytes(), compresslevel=1))
    code, received = run_on_tty(_args(cmd, gz, tmp_path), tmp_path)
    assert code == 0, received[-400:]
    assert not BAR.search(received), received[:400]  # no percentage: the total is unknown
    assert_done_within_total(received)
    assert re.search(rb"\r[a-z: ]+ " + SIZE + rb" ", received), received[:400]
    last = received.rsplit(b"\r", 1)[-1]
    m = re.match(rb"[a-z: ]+ " + SIZE, last)
    assert m, last[:200]
    counted = _bytes(*m.group(1, 2))  # the bar ends on every byte read (one decimal shown)
    assert abs(counted - big.stat().st_size) <= 0.05 * UNITS[m.group(2)]

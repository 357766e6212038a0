"""SIGTERM (kill, a CI timeout, a container stop) unwinds like Ctrl-C: exit 143, one
line on stderr, and no temporary output, staging directory or spool left behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_big_sharegpt


def _hidden(d: Path) -> list[str]:
    return sorted(x.name for x in d.rglob("*") if x.name.startswith(".") or x.suffix == ".part")


def _terminate_once(cmd: list[str], ready, env: dict) -> subprocess.CompletedProcess:
    """Start ``cmd``, send SIGTERM as soon as ``ready()`` holds, and wait."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 60
    while time.time() < deadline and p.poll() is None and not ready():
        time.sleep(0.002)
    sent = p.poll() is None
    if sent:
        p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    return subprocess.CompletedProcess(cmd, p.returncode if sent else None, out.decode(),
                                       err.decode())


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_during_convert_leaves_nothing(tmp_path, workers):
    src = tmp_path / "in.jsonl"
    write_big_sharegpt(src, 40)
    out = tmp_path / "out" / "x.jsonl"
    out.parent.mkdir()
    env = dict(os.environ, DATAKIT_WORKERS=workers)
    r = _terminate_once([sys.executable, "-m", "datakit", "convert", str(src), "--from",
                         "sharegpt", "--to", "mistral", "-o", str(out), "--quiet"],
                        lambda: any(out.parent.iterdir()), env)
    if r.returncode is None:
        pytest.skip("the conversion finished before the signal could be sent")
    assert r.returncode == 143, r.stderr
    assert "terminated" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() and _hidden(out.parent) == []


def test_sigterm_during_chunk_leaves_nothing(tmp_path):
    src = tmp_path / "in.jsonl"
    write_big_sharegpt(src, 60)
    out = tmp_path / "chunks"
    r = _terminate_once([sys.executable, "-m", "datakit", "chunk", str(src), "--max-bytes",
                         "1MB", "-o", str(out)],
                        lambda: out.exists() and any(out.rglob("part-*")), dict(os.environ))
    if r.returncode is None:
        pytest.skip("chunk finished before the signal could be sent")
    assert r.returncode == 143, r.stderr
    assert "terminated" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() or list(out.rglob("*")) == []


def test_sigterm_handler_is_put_back_after_main(tmp_path):
    """Called in-process (a notebook, a test), main leaves SIGTERM as it found it."""
    from datakit.cli import main

    before = signal.getsignal(signal.SIGTERM)
    src = tmp_path / "d.jsonl"
    src.write_text('{"messages": [{"role": "user", "content": "hi"}, '
                   '{"role": "assistant", "content": "yo"}]}\n')
    assert main(["lint", str(src)]) == 0
    assert signal.getsignal(signal.SIGTERM) is before


def test_forked_workers_get_the_default_sigterm_back():
    """A pool stops its workers with SIGTERM; a Python handler inherited by a worker
    blocked in a C-level lock would never run, and the pool's join would hang (seen
    once in a benchmark). So a child forked while main() runs has SIGTERM's default."""
    from datakit.cli import _on_sigterm_unwind

    before = signal.getsignal(signal.SIGTERM)
    restore = _on_sigterm_unwind()
    try:
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, before)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report and leave at once
            os.write(w, b"default" if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
                     else b"inherited")
            os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        assert os.read(r, 20) == b"default"
        os.close(r)
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) is before

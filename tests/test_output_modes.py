"""Outputs are written through private temporary files (mode 0600) and renamed; the
finished file must get the mode a plain open() gives (0666 minus the umask), or keep
the mode of the file it replaces, for every command that writes one."""

from __future__ import annotations

import json
import os
import stat

import pytest
from conftest import run_cli

from datakit.io.atomic import atomic_write

ROW = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield 0o644
    os.umask(old)


def test_atomic_write_new_file_and_replaced_file(tmp_path, umask_022):
    new = tmp_path / "new.txt"
    with atomic_write(new) as fh:
        fh.write(b"x")
    assert _mode(new) == umask_022
    kept = tmp_path / "kept.txt"
    kept.write_bytes(b"old")
    os.chmod(kept, 0o640)
    with atomic_write(kept) as fh:
        fh.write(b"new")
    assert kept.read_bytes() == b"new" and _mode(kept) == 0o640


def test_every_command_output_gets_the_usual_mode(tmp_path):
    src = tmp_path / "train.jsonl"
    src.write_text("\n".join(json.dumps(ROW | {"id": i}) for i in range(40)) + "\n")
    out = tmp_path / "out"
    out.mkdir()
    commands = {
        "lint": (["lint", src, "--output-file", out / "report.txt", "--exit-zero"], ["report.txt"]),
        "fix": (["fix", src, "-o", out / "fixed.jsonl"], ["fixed.jsonl"]),
        "convert": (["convert", src, "--to", "mistral", "-o", out / "m.jsonl", "--quiet"],
                    ["m.jsonl"]),
        "convert-parquet": (["convert", src, "--to", "openai", "-o", out / "o.parquet",
                             "--quiet"], ["o.parquet"]),
        "split": (["split", src, "-o", out / "t.jsonl", out / "v.jsonl"], ["t.jsonl", "v.jsonl"]),
        "chunk": (["chunk", src, "--max-lines", "10", "-o", out / "chunks"],
                  ["chunks/train.manifest.json"]),
    }
    for name, (args, files) in commands.items():
        r = run_cli(*args, env={})
        assert r.returncode in (0, 1), (name, r.stderr)
        for f in files:
            assert _mode(out / f) == 0o666 & ~_current_umask(), (name, f, oct(_mode(out / f)))


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

"""Damaged compressed inputs: every command stops with one line naming the file and
what is wrong (exit 2, no traceback, nothing written). A truncated .zst is caught too;
zstandard's stream reader alone would end quietly at the cut, losing examples."""

from __future__ import annotations

import gzip
import json

import pytest
import zstandard
from conftest import run_cli

LINE = b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n'
DATA = LINE * 20000


def _inputs(tmp_path):
    gz = gzip.compress(DATA)
    zst = zstandard.ZstdCompressor().compress(DATA)
    files = {
        "not-gzip.jsonl.gz": (b"plain text, not gzip\n", "not a gzip file"),
        "not-zstd.jsonl.zst": (b"plain text, not zstd\n", "not a zstd file"),
        "cut.jsonl.gz": (gz[: len(gz) // 2], "the gzip stream is truncated or corrupt"),
        "cut.jsonl.zst": (zst[: len(zst) // 2], "the zstd stream is truncated or corrupt"),
        "garbled.jsonl.zst": (zst[:8] + b"\xff" * 64 + zst[72:], "the zstd stream is truncated or corrupt"),
    }
    for name, (data, _) in files.items():
        (tmp_path / name).write_bytes(data)
    return {tmp_path / name: why for name, (_, why) in files.items()}


COMMANDS = [
    ["lint", "{src}"],
    ["stats", "{src}", "--target", "openai"],
    ["split", "{src}", "-o", "{out}/t.jsonl", "{out}/v.jsonl"],
    ["chunk", "{src}", "--max-bytes", "1MB", "-o", "{out}/chunks"],
    ["fix", "{src}", "-o", "{out}/fixed.jsonl"],
    ["convert", "{src}", "--to", "mistral", "-o", "{out}/converted.jsonl"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_damaged_compressed_input_is_one_clear_error(tmp_path, command):
    for src, why in _inputs(tmp_path).items():
        out = tmp_path / f"out-{src.name}"
        out.mkdir()
        r = run_cli(*[a.format(src=src, out=out) for a in command])
        assert r.returncode == 2, (src.name, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
        assert f"{src}: {why}" in r.stderr, (src.name, r.stderr)
        assert [p.name for p in out.iterdir()] == [], src.name


def test_concatenated_zstd_frames_are_read_whole(tmp_path):
    c = zstandard.ZstdCompressor()
    src = tmp_path / "two-frames.jsonl.zst"
    src.write_bytes(c.compress(LINE * 3) + c.compress(LINE * 4))
    r = run_cli("lint", src, "--format", "openai", "--output-format", "json")
    assert r.returncode == 0, r.stderr
    assert [f["examples"] for f in json.loads(r.stdout)["files"]] == [7]


def test_damaged_parquet_is_one_clear_error(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"messages": [[{"role": "user", "content": "q"},
                                           {"role": "assistant", "content": "a"}]] * 2000}), good)
    data = good.read_bytes()
    bad = {tmp_path / "text.parquet": b"not parquet at all\n",
           tmp_path / "cut.parquet": data[: len(data) // 2] + data[-8:]}
    for path, content in bad.items():
        path.write_bytes(content)
        out = tmp_path / f"{path.stem}.jsonl"
        r = run_cli("convert", path, "--to", "mistral", "-o", out)
        assert r.returncode == 2, r.stderr
        assert f"{path}: not a readable Parquet file" in r.stderr
        assert "Traceback" not in r.stderr and not out.exists()
    r = run_cli("convert", good, "--to", "mistral", "-o", tmp_path / "ok.jsonl", "--quiet")
    assert r.returncode == 0, r.stderr
    assert len((tmp_path / "ok.jsonl").read_bytes().splitlines()) == 2000

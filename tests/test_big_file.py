"""Constant memory on a file of more than 1 GB: `datakit chunk`, `verify` and `split`.

The file is generated on the fly (streamed to disk, never held in memory); each
command runs as a real subprocess whose peak RSS this test reads from
``os.wait4`` and reports. The bounds are far below the file's size: a tool that
held the file, or a Python object per line, would exceed them.
"""

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

GB = 1_000_000_000
TARGET_BYTES = 1_050_000_000  # over 1 GB
RSS_BOUND_MB = 160  # a fresh interpreter with datakit, orjson and NumPy loaded is ~45 MB


def _generate(path) -> tuple[int, int, str]:
    """A chat corpus of ~1.7 kB lines (English and Chinese, CRLF on some lines, no final
    newline), written from pre-serialised pieces; returns (lines, bytes, sha256)."""
    bodies = [json.dumps(b, ensure_ascii=False)[1:-1].encode() for b in (
        "数据按行流式处理，从不整体载入内存。" * 40,
        "The training data is streamed line by line and never loaded whole. " * 30)]
    template = (b'{"messages": [{"role": "system", "content": "You are assistant %d."}, '
                b'{"role": "user", "content": "Question %d: how is line %d handled?"}, '
                b'{"role": "assistant", "content": "%s"}], "meta": {"task": "%s"}}')
    tasks = (b"qa", b"code", b"chat")
    sha = hashlib.sha256()
    n = size = 0
    with open(path, "wb", buffering=1 << 20) as fh:
        while size < TARGET_BYTES:
            body = bodies[n % 3 != 0]
            line = template % (n % 7, n, n, body[: 800 + n % 700].decode("utf-8", "ignore")
                               .encode(), tasks[n % 3])
            line += b"\r\n" if n % 5 == 0 else b"\n"
            if size + len(line) >= TARGET_BYTES:
                line = line.rstrip(b"\r\n")  # the last line has no newline
            fh.write(line)
            sha.update(line)
            n += 1
            size += len(line)
    return n, size, sha.hexdigest()


# Runs a command in a child, waits for it with os.wait4 and writes its peak RSS: the
# RSS of that one process, not of pytest or of other tests' subprocesses.
_LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump({"maxrss_kib": usage.ru_maxrss, "exit": os.waitstatus_to_exitcode(status)}, f)
"""


def _run_measured(tmp_path, *args) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run ``python -m datakit ARGS``; return the result, seconds and peak RSS in MB."""
    env = dict(os.environ)
    env.pop("DATAKIT_WORKERS", None)
    report = tmp_path / "rusage.json"
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _LAUNCHER, str(report), sys.executable, "-m",
                        "datakit", *map(str, args)], capture_output=True, text=True, env=env, check=False,
                       timeout=600)
    seconds = time.perf_counter() - t0
    info = json.loads(report.read_text())
    r.returncode = info["exit"]
    return r, seconds, info["maxrss_kib"] / 1024  # KiB on Linux


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("big")
    path = d / "big.jsonl"
    t0 = time.perf_counter()
    lines, size, sha = _generate(path)
    print(f"\ngenerated {size / GB:.2f} GB, {lines:,} lines in {time.perf_counter() - t0:.1f} s")
    yield path, lines, size, sha
    path.unlink()


def test_chunk_and_verify_a_1gb_file_in_constant_memory(big_file, tmp_path):
    path, lines, size, sha = big_file
    assert size > GB
    out = tmp_path / "chunks"
    r, secs, rss = _run_measured(tmp_path, "chunk", path, "--target", "mistral", "-o", out,
                                 "--output-format", "json")
    print(f"chunk: {secs:.1f} s, peak RSS {rss:.0f} MB")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["source_sha256"] == sha and doc["source_lines"] == lines
    assert len(doc["chunks"]) == 3 and all(c["bytes"] < 500_000_000 for c in doc["chunks"])
    assert rss < RSS_BOUND_MB, f"chunk peak RSS {rss:.0f} MB"

    r, secs, rss = _run_measured(tmp_path, "verify", out / "big.manifest.json")
    print(f"verify: {secs:.1f} s, peak RSS {rss:.0f} MB")
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr
    assert rss < RSS_BOUND_MB, f"verify peak RSS {rss:.0f} MB"
    # the concatenation is the source, byte for byte (hashed here, streamed)
    h = hashlib.sha256()
    for c in sorted(doc["chunks"], key=lambda c: c["name"]):
        with open(out / c["name"], "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        (out / c["name"]).unlink()
    assert h.hexdigest() == sha


def test_split_a_1gb_file_in_bounded_memory(big_file, tmp_path):
    path, lines, size, _ = big_file
    train, val = tmp_path / "train.jsonl", tmp_path / "val.jsonl"
    r, secs, rss = _run_measured(tmp_path, "split", path, "--target", "mistral", "-o", train, val,
                                 "--output-format", "json")
    print(f"split: {secs:.1f} s, peak RSS {rss:.0f} MB")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["examples"] == lines and doc["train_bytes"] + doc["val_bytes"] == size
    assert 0 < doc["val_bytes"] <= 1_000_000 and all(c["ok"] for c in doc["caps"])
    assert train.stat().st_size + val.stat().st_size == size
    # 12 bytes per line are kept between the passes (~6 MB here): far under the bound
    assert rss < RSS_BOUND_MB, f"split peak RSS {rss:.0f} MB"

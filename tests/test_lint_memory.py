"""Lint's memory: duplicate detection keeps flat arrays, not Python objects per line.

The duplicates found (D004 within a file, D006 between training and validation
files) must be exactly those of a plain comparison of the lines, whatever the
batches, workers and the way repeated digests are found (a dict below
SORT_MIN_DIGESTS, numpy's sort above). A damaged compressed input among several
is reported and the others are linted.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
from array import array

import orjson
import pytest
from conftest import run_cli

from datakit.linter import kernel, run
from datakit.linter.kernel import DIGEST_BYTES, Digests
from datakit.linter.run import LintOptions, lint_paths


def _example(n: int) -> bytes:
    return orjson.dumps({"messages": [{"role": "user", "content": f"question {n}"},
                                      {"role": "assistant", "content": f"answer {n % 7}"}]})


def _corpus(lines: int, seed: int = 1) -> list[bytes]:
    """Lines with many repeats near and far apart, some differing only in surrounding
    whitespace or CRLF (still duplicates), blank, invalid and non-object lines (which
    shift line and example numbers), all in one format."""
    rng = random.Random(seed)
    out = []
    for i in range(lines):
        r = rng.random()
        if r < 0.02:
            out.append(b"\n")
        elif r < 0.03:
            out.append(b'{"messages": [\n')  # invalid JSON: an example without a digest
        elif r < 0.035:
            out.append(b"[1, 2]\n")
        elif r < 0.45:
            body = _example(rng.randrange(max(1, i // 3)))  # a repeat, maybe far back
            pad = rng.choice([b"", b"", b" ", b"\t"])
            out.append(pad + body + pad + rng.choice([b"\n", b"\n", b"\r\n"]))
        else:
            out.append(_example(10_000_000 + i) + b"\n")
    return out


def _reference_duplicates(lines: list[bytes]) -> list[tuple[int, int, int]]:
    """(line, example, first line) of every duplicate, by comparing the stripped lines."""
    first: dict[bytes, int] = {}
    out = []
    example = -1
    for line_no, raw in enumerate(lines, 1):
        body = raw.strip()
        if not body:
            continue
        example += 1
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(obj, dict):
            continue
        prev = first.setdefault(body, line_no)
        if prev != line_no:
            out.append((line_no, example, prev))
    return out


def _found(report, code: str) -> list[tuple[int, int, str]]:
    return [(d.line, d.example, d.message) for d in report.diagnostics if d.code == code]


@pytest.mark.parametrize("sort_min", [0, 10**9], ids=["numpy-sort", "dict"])
@pytest.mark.parametrize("workers", [1, 2])
def test_duplicates_match_a_plain_comparison_across_batches_and_workers(
        tmp_path, monkeypatch, sort_min, workers):
    lines = _corpus(12_000)
    path = tmp_path / "dups.jsonl"
    path.write_bytes(b"".join(lines))
    # small batches and shards: repeats cross many batch and worker boundaries
    monkeypatch.setattr(run, "BATCH_BYTES", 16 << 10)
    monkeypatch.setattr(run, "SHARD_BYTES", 64 << 10)
    monkeypatch.setattr(run, "PARALLEL_MIN_BYTES", 64 << 10)
    monkeypatch.setattr(kernel, "SORT_MIN_DIGESTS", sort_min)
    report = lint_paths([str(path)], LintOptions(format="openai", workers=workers))
    expected = _reference_duplicates(lines)
    assert len(expected) > 2000
    assert _found(report, "D004") == [
        (line, example, (f"exact duplicate of line {prev}; remove it (duplicates are "
                         "trained twice and leak into validation)"))
        for line, example, prev in expected]


@pytest.mark.parametrize("sort_min", [0, 10**9], ids=["numpy-sort", "dict"])
def test_leakage_matches_a_plain_comparison(tmp_path, monkeypatch, sort_min):
    train_lines = _corpus(6_000, seed=2)
    val_lines = [_example(n) + b"\n" for n in range(0, 4_000, 3)]  # some in training, some not
    train, val = tmp_path / "train.jsonl", tmp_path / "val.jsonl"
    train.write_bytes(b"".join(train_lines))
    val.write_bytes(b"".join(val_lines))
    monkeypatch.setattr(run, "BATCH_BYTES", 16 << 10)
    monkeypatch.setattr(kernel, "SORT_MIN_DIGESTS", sort_min)
    report = lint_paths([str(train)], LintOptions(format="openai", workers=1,
                                                  validation=str(val)))
    first_in_train: dict[bytes, int] = {}
    for line_no, raw in enumerate(train_lines, 1):
        body = raw.strip()
        if body.startswith(b"{") and body.endswith(b"}"):
            first_in_train.setdefault(body, line_no)
    expected = [(i, i - 1, (f"this validation example is also line "
                            f"{first_in_train[v.strip()]} of {train}; remove it from one side "
                            "(leakage)"))
                for i, v in enumerate(val_lines, 1) if v.strip() in first_in_train]
    assert len(expected) > 100
    assert _found(report, "D006") == expected


def test_equal_prefixes_are_not_duplicates(monkeypatch):
    """The sort compares 64-bit prefixes; only whole 128-bit digests make duplicates."""
    monkeypatch.setattr(kernel, "SORT_MIN_DIGESTS", 0)
    prefix = b"\x01" * 8
    digests = [prefix + b"A" * 8, prefix + b"B" * 8, b"\x02" * 16, prefix + b"A" * 8]
    d = Digests([(10, 5, array("I", [1, 2, 3, 4]), array("I", [0, 1, 2, 3]),
                  b"".join(digests))])
    assert all(len(x) == DIGEST_BYTES for x in digests)
    assert list(d.repeated()) == [(11, 5, digests[0]), (14, 8, digests[3])]
    other = Digests([(0, 0, array("I", [1]), array("I", [0]), prefix + b"B" * 8)])
    assert list(d.matching(other)) == [(12, 6, digests[1])]


def test_a_corrupt_gzip_among_several_inputs_is_reported_and_the_others_linted(tmp_path):
    good = _example(1) + b"\n" + _example(2) + b"\n"
    first, second = tmp_path / "a.jsonl", tmp_path / "c.jsonl"
    first.write_bytes(good)
    second.write_bytes(good + _example(1) + b"\n")  # a duplicate: still found
    gz = gzip.compress(good * 500)
    cut = tmp_path / "b.jsonl.gz"
    cut.write_bytes(gz[: len(gz) // 2])
    not_gzip = tmp_path / "d.jsonl.gz"
    not_gzip.write_bytes(b"plain text\n")

    r = run_cli("lint", first, cut, second, not_gzip, "--output-format", "json")
    assert r.returncode == 1, (r.stdout, r.stderr)  # something failed
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    out = json.loads(r.stdout)
    assert [f["path"] for f in out["files"]] == [str(first), str(cut), str(second), str(not_gzip)]
    assert [f["examples"] for f in out["files"]] == [2, 0, 3, 0]
    unread = [(d["path"], d["code"], d["line"]) for d in out["diagnostics"] if d["code"] == "J005"]
    assert unread == [(str(cut), "J005", None), (str(not_gzip), "J005", None)]
    messages = {d["path"]: d["message"] for d in out["diagnostics"]}
    assert "the gzip stream is truncated or corrupt" in messages[str(cut)]
    assert "not a gzip file" in messages[str(not_gzip)]
    assert [(d["path"], d["line"]) for d in out["diagnostics"] if d["code"] == "D004"] == [
        (str(second), 3)]

    # --select does not hide a file that was not read at all
    r = run_cli("lint", first, cut, "--select", "D004")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert f"{cut}:" in r.stdout and "J005" in r.stdout

    # when no input can be read, it stays one error line and exit 2
    r = run_cli("lint", cut, not_gzip)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert f"{cut}: the gzip stream is truncated or corrupt" in r.stderr


# Run in a fresh interpreter that reports the high-water mark of its own address space
# (VmHWM), which, unlike ru_maxrss, does not start from the parent's peak after exec.
_CHILD = """
import sys
from datakit.cli import main
rc = main(sys.argv[1:])
with open("/proc/self/status") as f:
    hwm = next(ln for ln in f if ln.startswith("VmHWM:"))
print(int(hwm.split()[1]) // 1024, file=sys.stderr)
sys.exit(rc)
"""

# 300,000 short lines (~26 MB): the old list of (line, example, digest) tuples and the
# dict of every digest made the peak 113 MB; the flat arrays take 7 MB (with numpy, the
# batch in flight and the next one, ~20 MB): the peak is now 55 MB.
RSS_LINES = 300_000
RSS_BOUND_MB = 85


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_peak_rss_of_many_short_lines_stays_small(tmp_path):
    path = tmp_path / "short.jsonl"
    with open(path, "wb") as f:
        f.writelines(_example(n) + b"\n" for n in range(RSS_LINES))
    env = dict(os.environ, DATAKIT_WORKERS="1")
    r = subprocess.run(
        [sys.executable, "-c", _CHILD, "lint", str(path), "--format", "openai",
         "--output-format", "json", "--output-file", os.devnull],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    peak_mb = int(r.stderr.strip().splitlines()[-1])
    assert peak_mb < RSS_BOUND_MB, f"peak RSS {peak_mb} MB on {RSS_LINES:,} lines"

"""`datakit chunk` / `verify`: byte-exact chunks under a hard limit, with a manifest."""

import gzip
import hashlib
import itertools
import json
import re
import subprocess
import sys

import pytest
from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datakit
from datakit import chunking
from datakit.chunking import ChunkError, LineOverLimit, chunk, verify

NAME = re.compile(r"^(?P<stem>.+)-(?P<i>\d{5})-of-(?P<n>\d{5})\.jsonl$")


def chunk_files(d, stem):
    return sorted(p for p in d.iterdir() if p.name.startswith(stem + "-") and NAME.match(p.name))


def lines_of(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


# One JSONL line: ASCII, CJK or emoji text, LF or CRLF ending.
line_st = st.builds(
    lambda text, crlf: (json.dumps({"messages": [{"role": "user", "content": text}]},
                                   ensure_ascii=False) + ("\r\n" if crlf else "\n")).encode(),
    st.text(alphabet=st.sampled_from("ab z中文数据训练😀\t\"\\"), max_size=40), st.booleans())


@st.composite
def sources(draw):
    lines = draw(st.lists(line_st, min_size=1, max_size=40))
    if draw(st.booleans()):  # a missing final newline
        lines[-1] = lines[-1].rstrip(b"\r\n")
    return b"".join(lines)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=sources(), slack=st.integers(0, 300), mode=st.sampled_from(["contiguous", "round-robin", "balanced"]),
       max_lines=st.none() | st.integers(1, 7), block=st.sampled_from([1, 7, 64, 4 << 20]),
       gz=st.booleans())
def test_chunks_hold_exactly_the_source(tmp_path_factory, data, slack, mode, max_lines, block,
                                        gz):
    tmp = tmp_path_factory.mktemp("c")
    src = tmp / ("train.jsonl.gz" if gz else "train.jsonl")
    src.write_bytes(gzip.compress(data) if gz else data)
    limit = max(map(len, lines_of(data))) + slack
    # tiny read blocks put line ends, and whole lines, across block boundaries
    saved, chunking.STREAM_BLOCK = chunking.STREAM_BLOCK, block
    try:
        res = chunk(src, tmp / "out", max_bytes=limit, max_lines=max_lines, mode=mode)
    finally:
        chunking.STREAM_BLOCK = saved
    files = chunk_files(tmp / "out", "train")
    n = len(files)
    assert [p.name for p in files] == [f"train-{i:05d}-of-{n:05d}.jsonl" for i in range(n)]
    parts = [p.read_bytes() for p in files]
    for part in parts:
        assert 0 < len(part) <= limit
        if max_lines:
            assert len(lines_of(part)) <= max_lines
    if mode == "contiguous":
        assert b"".join(parts) == data  # byte for byte, CRLF and a missing newline included
        # greedy: no chunk could have taken the next chunk's first line
        for a, b in itertools.pairwise(parts):
            first = lines_of(b)[0]
            assert len(a) + len(first) > limit or (max_lines and len(lines_of(a)) == max_lines)
    else:
        got = sorted(ln for part in parts for ln in lines_of(part))
        assert got == sorted(lines_of(data))
        # an unterminated last line is never glued to another line
        assert sum(len(lines_of(p)) for p in parts) == len(lines_of(data))
    manifest = json.loads((tmp / "out" / "train.manifest.json").read_text())
    assert manifest["source"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["source"]["lines"] == len(lines_of(data))
    for c, p in zip(manifest["chunks"], files):
        assert c["name"] == p.name and c["bytes"] == p.stat().st_size
        assert c["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
        assert c["lines"] == len(lines_of(p.read_bytes()))
    assert verify(res.manifest).ok


def test_round_robin_puts_line_i_in_chunk_i_mod_n(tmp_path):
    rows = [json.dumps({"i": i, "t": "训练" * (i % 5)}, ensure_ascii=False) + "\n" for i in range(50)]
    src = tmp_path / "d.jsonl"
    src.write_text("".join(rows), encoding="utf-8")
    res = chunk(src, tmp_path / "o", max_bytes=400, mode="round-robin")
    n = len(res.chunks)
    assert n > 1
    for j, p in enumerate(chunk_files(tmp_path / "o", "d")):
        assert [json.loads(x)["i"] for x in lines_of(p.read_bytes())] == list(range(j, 50, n))


def test_balanced_chunks_differ_by_at_most_one_line(tmp_path):
    sizes = [(i * 37) % 90 + 5 for i in range(300)]
    src = tmp_path / "d.jsonl"
    src.write_bytes(b"".join(b'"' + b"x" * s + b'"\n' for s in sizes))
    res = chunk(src, tmp_path / "o", max_bytes=5000, mode="balanced")
    loads = [c.bytes for c in res.chunks]
    assert max(loads) <= 5000 and max(loads) - min(loads) <= max(sizes) + 3


@pytest.mark.parametrize("block", [5, 4 << 20])
def test_a_line_longer_than_a_read_block_is_measured_across_blocks(tmp_path, block, monkeypatch):
    monkeypatch.setattr(chunking, "STREAM_BLOCK", block)
    src = tmp_path / "d.jsonl"
    src.write_bytes(b'{"a": 1}\n' * 3 + b'"' + b"y" * 40 + b'"\n' + b'{"a": 2}')
    res = chunk(src, tmp_path / "ok", max_bytes=43)
    assert [c.lines for c in res.chunks] == [3, 1, 1] and res.chunks[1].bytes == 43
    with pytest.raises(LineOverLimit, match=r"d.jsonl:4: line of"):
        chunk(src, tmp_path / "no", max_bytes=42)


def test_line_over_the_limit_is_an_error_and_writes_nothing(tmp_path):
    src = tmp_path / "d.jsonl"
    src.write_bytes(b'{"a": 1}\n' + b'{"b": "' + b"x" * 100 + b'"}\n')
    with pytest.raises(LineOverLimit, match=r"d.jsonl:2: line of 110 bytes"):
        chunk(src, tmp_path / "o", max_bytes=50)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    r = run_cli("chunk", src, "--max-bytes", "50", "-o", tmp_path / "o")
    assert r.returncode == 1 and "d.jsonl:2" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_gzip_source_dataframe_and_targets(tmp_path):
    raw = "".join(json.dumps({"q": f"问题{i}"}, ensure_ascii=False) + "\n" for i in range(30)).encode()
    gz = tmp_path / "corpus.jsonl.gz"
    gz.write_bytes(gzip.compress(raw))
    res = chunk(gz, tmp_path / "o", max_lines=7)
    assert [c.lines for c in res.chunks] == [7, 7, 7, 7, 2]
    assert b"".join(p.read_bytes() for p in chunk_files(tmp_path / "o", "corpus")) == raw
    res = chunk(gz, tmp_path / "m", target="mistral:open-mistral-7b")
    assert res.max_bytes < 500_000_000 and len(res.chunks) == 1

    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"q": [f"问题{i}" for i in range(30)]})
    res = datakit.chunk(df, tmp_path / "df", max_lines=10)
    assert len(res.chunks) == 3 and "<table>" in res._repr_html_() and "ChunkResult" in repr(res)
    out = b"".join(p.read_bytes() for p in chunk_files(tmp_path / "df", "data"))
    assert [json.loads(x)["q"] for x in lines_of(out)] == list(df["q"])
    assert "问题".encode() in out and b"\\u" not in out  # CJK not ASCII-escaped

    datasets = pytest.importorskip("datasets")
    res = datakit.chunk(datasets.Dataset.from_pandas(df), tmp_path / "ds", max_lines=16)
    assert [c.lines for c in res.chunks] == [16, 14] and datakit.verify(res.manifest).ok

    with pytest.raises(ChunkError):
        chunk(gz, tmp_path / "x", max_bytes=100, stem="../up")
    with pytest.raises(ChunkError):
        chunk(gz, tmp_path / "x", max_bytes=100, target="mistral")
    with pytest.raises(ChunkError):
        chunk(gz, tmp_path / "x", target="nowhere")


def test_cli_chunk_verify_and_tampering(tmp_path):
    raw = "".join(json.dumps({"messages": [{"role": "user", "content": "数据 " * (i % 13)}]},
                             ensure_ascii=False) + "\r\n" for i in range(200)).encode()[:-2]
    src = tmp_path / "big.jsonl"
    src.write_bytes(raw)
    before = hashlib.sha256(raw).hexdigest()
    out = tmp_path / "chunks"
    r = run_cli("chunk", src, "--max-bytes", "2KB", "-o", out, "--output-format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["source_sha256"] == before and hashlib.sha256(src.read_bytes()).hexdigest() == before
    assert len(doc["chunks"]) == len(chunk_files(out, "big")) > 3
    assert all(c["bytes"] <= 2000 for c in doc["chunks"])
    manifest = out / "big.manifest.json"
    r = run_cli("verify", manifest)
    assert r.returncode == 0 and "OK" in r.stdout, r.stdout + r.stderr

    # existing outputs only with --force
    r = run_cli("chunk", src, "--max-bytes", "2KB", "-o", out)
    assert r.returncode == 2 and "--force" in r.stderr
    assert run_cli("chunk", src, "--max-bytes", "3KB", "-o", out, "--force").returncode == 0
    stale = [p for p in chunk_files(out, "big") if p.name.endswith(f"-of-{len(doc['chunks']):05d}.jsonl")]
    assert stale  # a different n leaves the old names, which the new manifest does not list
    assert run_cli("verify", manifest).returncode == 0

    # a modified chunk fails verification (exit 1), a missing one is a usage error (exit 2)
    first = chunk_files(out, "big")[0]
    body = json.loads(manifest.read_text())["chunks"][0]["name"]
    target = out / body
    target.write_bytes(target.read_bytes().replace("数".encode(), "效".encode(), 1))
    r = run_cli("verify", manifest, "--output-format", "json")
    assert r.returncode == 1 and not json.loads(r.stdout)["ok"]
    target.unlink()
    r = run_cli("verify", manifest)
    assert r.returncode == 2 and "missing" in r.stderr and "Traceback" not in r.stderr
    assert first.name  # (keeps the name list honest)

    # usage errors: no limit, bad size, not a manifest
    assert run_cli("chunk", src, "-o", out).returncode == 2
    r = run_cli("chunk", src, "--max-bytes", "2M", "-o", out)
    assert r.returncode == 2 and "2MB" in r.stderr
    r = run_cli("verify", src)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_source_change_is_detected_by_verify(tmp_path):
    src = tmp_path / "s.jsonl"
    src.write_bytes(b'{"a":1}\n{"a":2}\n{"a":3}\n')
    res = chunk(src, tmp_path / "o", max_lines=2, mode="round-robin")
    assert verify(res.manifest).ok
    src.write_bytes(b'{"a":1}\n{"a":2}\n{"a":4}\n')
    v = verify(res.manifest)
    assert not v.ok and any("changed" in p for p in v.problems)


def test_a_failed_write_stops_the_run_cleanly(tmp_path):
    """A write that fails in the writing thread (here: over RLIMIT_FSIZE, as a full disk
    would) is one error line naming the chunk, exit 2, and no chunk, staging directory
    or manifest left behind."""
    src = tmp_path / "d.jsonl"
    src.write_bytes(b"".join(b'{"i": %d, "t": "%s"}\n' % (i, b"x" * 500) for i in range(20000)))
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (3_000_000, 3_000_000))\n"
        "from datakit.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-c", script, "chunk", str(src), "--max-bytes", "4MB",
                        "-o", str(out)], capture_output=True, text=True, check=False, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "File too large" in r.stderr
    assert "part-00000" in r.stderr and str(out) in r.stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("limit", [800, 4096, 10_000, 65_536])
def test_plain_and_gzip_sources_give_the_same_chunks(tmp_path, limit, monkeypatch):
    """With read blocks far smaller than the file, and lines across their edges, a plain
    file and its gzip give the same chunks, byte for byte, and the same manifest entries."""
    monkeypatch.setattr(chunking, "STREAM_BLOCK", 1000)
    rows = [json.dumps({"i": i, "t": "训练数据" * (i * 7 % 60)}, ensure_ascii=False) + "\n"
            for i in range(1500)]
    data = "".join(rows).encode()[:-1]  # and no final newline
    plain, gz = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz"
    plain.write_bytes(data)
    gz.write_bytes(gzip.compress(data))
    ra = chunk(plain, tmp_path / "pa", max_bytes=limit, stem="x")
    rb = chunk(gz, tmp_path / "pb", max_bytes=limit, stem="x")
    assert len(ra.chunks) > 1
    assert [c.to_dict() for c in ra.chunks] == [c.to_dict() for c in rb.chunks]
    assert ra.source_sha256 == rb.source_sha256 == hashlib.sha256(data).hexdigest()
    assert ra.source_lines == rb.source_lines == 1500 and not ra.final_newline
    for p, q in zip(chunk_files(tmp_path / "pa", "x"), chunk_files(tmp_path / "pb", "x")):
        assert p.read_bytes() == q.read_bytes()
    assert verify(ra.manifest).ok and verify(rb.manifest).ok


@pytest.mark.parametrize("change", ["truncate", "append"])
def test_a_source_changed_during_the_run_is_an_error_and_leaves_nothing(tmp_path, change,
                                                                        monkeypatch):
    """The source's size and mtime are compared before and after the run, and the bytes
    read with its size: a file cut or appended to while it is chunked is an error."""
    monkeypatch.setattr(chunking, "STREAM_BLOCK", 4096)
    src = tmp_path / "d.jsonl"
    src.write_bytes(b"".join(b'{"i": %d, "t": "%s"}\n' % (i, b"x" * 200) for i in range(2000)))
    real = chunking.Progress.update
    calls = []

    def meddle(self, n):  # the reading thread, after its first block
        if not calls:
            with open(src, "r+b" if change == "truncate" else "ab") as fh:
                if change == "truncate":
                    fh.truncate(10_000)
                else:
                    fh.write(b'{"late": 1}\n')
        calls.append(1)
        return real(self, n)

    monkeypatch.setattr(chunking.Progress, "update", meddle)
    out = tmp_path / "o"
    with pytest.raises(ChunkError, match=r"d.jsonl: the source changed while it was being "
                                         r"chunked"):
        chunk(src, out, max_bytes=50_000)
    assert not out.exists() or not any(out.iterdir())

"""`datakit convert` as a subprocess, and the Python API on real files."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import orjson
import pytest
from conftest import run_cli

import datakit

ROOT = Path(__file__).resolve().parent
CORPORA = ROOT / "fixtures" / "corpora"
SEEDS = ROOT / "fixtures" / "seeds"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")


def _digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _lines(p: Path) -> list[dict]:
    return [orjson.loads(x) for x in p.read_bytes().splitlines() if x.strip()]


def test_corpus_to_mistral_passes_lint_and_leaves_input_untouched(tmp_path):
    before = {p: _digest(p) for p in CORPORA.iterdir()}
    out = tmp_path / "train.jsonl"
    r = run_cli("convert", CORPORA / "sharegpt.jsonl", CORPORA / "alpaca.json", "--to", "mistral",
                "-o", out)
    assert r.returncode == 0, r.stderr
    assert "13 read, 13 written" in r.stderr
    rows = _lines(out)
    assert len(rows) == 13
    assert "杭州" in out.read_text(encoding="utf-8")  # ensure_ascii=False
    lint = run_cli("lint", out, "--format", "mistral")
    assert lint.returncode == 0, lint.stdout
    assert {p: _digest(p) for p in CORPORA.iterdir()} == before


def test_error_policy_writes_nothing_and_names_every_problem(tmp_path, write_jsonl):
    src = write_jsonl("in.jsonl", [
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
        {"messages": [{"role": "user", "content": "q"},
                      {"role": "assistant", "content": "a", "weight": 0},
                      {"role": "user", "content": "q2"}, {"role": "assistant", "content": "b"}]}])
    out = tmp_path / "out.jsonl"
    r = run_cli("convert", src, "--to", "dashscope-sft", "-o", out)
    assert r.returncode == 1
    assert not out.exists()
    assert "in.jsonl:2: C002" in r.stderr and "not written" in r.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    # warn: written without the weight, and said so
    r = run_cli("convert", src, "--to", "dashscope-sft", "-o", out, "--on-loss", "warn")
    assert r.returncode == 0 and "C002" in r.stderr
    assert len(_lines(out)) == 2 and "weight" not in out.read_text()
    # drop: one written, one in the rejects file with its reason
    out.unlink()
    rej = tmp_path / "rej.jsonl"
    r = run_cli("convert", src, "--to", "dashscope-sft", "-o", out, "--on-loss", "drop",
                "--rejects", rej)
    assert r.returncode == 0, r.stderr
    assert len(_lines(out)) == 1
    (rejected,) = _lines(rej)
    assert rejected["line"] == 2 and rejected["reasons"][0]["code"] == "C002"
    assert rejected["example"]["messages"][1]["weight"] == 0


def test_existing_output_needs_force_and_input_is_never_output(tmp_path, write_jsonl):
    src = write_jsonl("in.jsonl", [{"instruction": "i", "input": "", "output": "o"}])
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n")
    r = run_cli("convert", src, "--to", "openai", "-o", out)
    assert r.returncode == 2 and "--force" in r.stderr and out.read_text() == "keep me\n"
    r = run_cli("convert", src, "--to", "openai", "-o", out, "--force")
    assert r.returncode == 0 and _lines(out)[0]["messages"][1]["content"] == "o"
    r = run_cli("convert", src, "--to", "openai", "-o", src, "--force")
    assert r.returncode == 2 and "input" in r.stderr
    assert _lines(src) == [{"instruction": "i", "input": "", "output": "o"}]


@pytest.mark.parametrize("args,needle", [
    (["--to", "nope"], "invalid choice"),
    (["missing.jsonl", "--to", "openai"], "no such file"),
    (["--to", "dashscope-sft-image"], ".zip"),
])
def test_usage_errors_exit_2_without_traceback(tmp_path, write_jsonl, args, needle):
    src = write_jsonl("in.jsonl", [{"instruction": "i", "input": "", "output": "o"}])
    if "missing.jsonl" not in args:
        args = [str(src), *args]
    r = run_cli("convert", *args, "-o", tmp_path / "o.jsonl")
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr


def test_batch_inputs_dirs_globs_gz_zst_parquet_json(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    d = tmp_path / "corpus"
    (d / "sub").mkdir(parents=True)
    sg = (CORPORA / "sharegpt.jsonl").read_bytes()
    (d / "a.jsonl.gz").write_bytes(gzip.compress(sg))
    (d / "sub" / "b.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(sg))
    alpaca = json.loads((CORPORA / "alpaca.json").read_text(encoding="utf-8"))
    (d / "c.json").write_text(json.dumps(alpaca, ensure_ascii=False), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(alpaca), d / "d.parquet")
    out = tmp_path / "out.parquet"
    r = run_cli("convert", d, "--to", "openai", "-o", out)
    assert r.returncode == 0, r.stderr
    n = 2 * len(sg.splitlines()) + 2 * len(alpaca)
    assert f"{n} read, {n} written" in r.stderr
    table = pq.read_table(out)
    assert table.num_rows == n
    # the Parquet output reads back through datakit and still passes lint as openai
    back = tmp_path / "back.jsonl"
    assert run_cli("convert", out, "--to", "openai", "-o", back).returncode == 0
    assert run_cli("lint", back, "--format", "openai").returncode == 0
    # a glob, and .zst output
    z = tmp_path / "out.jsonl.zst"
    r = run_cli("convert", str(d / "**" / "*.zst"), "--to", "sharegpt", "-o", z)
    assert r.returncode == 0, r.stderr
    text = zstandard.ZstdDecompressor().decompressobj().decompress(z.read_bytes())
    assert len(text.splitlines()) == len(sg.splitlines())


def test_dashscope_image_zip_to_openai_data_urls_and_back(tmp_path):
    src = tmp_path / "img.zip"
    line = {"messages": [{"role": "user", "content": [{"text": "What is this?"},
                                                      {"image": "dot.png"}]},
                         {"role": "assistant", "content": [{"text": "A single pixel."}]}]}
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("data/train.jsonl", json.dumps(line) + "\n")
        zf.writestr("data/dot.png", PNG)
    oa = tmp_path / "vision.jsonl"
    r = run_cli("convert", src, "--to", "openai", "-o", oa)
    assert r.returncode == 0, r.stderr
    (row,) = _lines(oa)
    url = row["messages"][0]["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,") and base64.b64decode(url.split(",")[1]) == PNG
    assert run_cli("lint", oa, "--format", "openai").returncode == 0
    back = tmp_path / "back.zip"
    r = run_cli("convert", oa, "--to", "dashscope-sft-image", "-o", back)
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(back) as zf:
        rows = [orjson.loads(x) for x in zf.read("data.jsonl").splitlines()]
        name = rows[0]["messages"][0]["content"][1]["image"]
        assert zf.read(name) == PNG
    assert rows[0]["messages"][0]["content"][0] == {"text": "What is this?"}
    lint = run_cli("lint", back, "--format", "dashscope-sft-image")
    assert lint.returncode == 0, lint.stdout


def test_unsafe_zip_is_refused(tmp_path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("../escape.jsonl", "{}\n")
    r = run_cli("convert", bad, "--to", "openai", "-o", tmp_path / "o.jsonl")
    assert r.returncode == 2 and "traversal" in r.stderr and "Traceback" not in r.stderr


def _big_sharegpt(path: Path, mb: int) -> None:
    row = orjson.loads((CORPORA / "sharegpt.jsonl").read_bytes().splitlines()[2])
    row["conversations"][-1]["value"] += " 长文本" * 2000
    line = orjson.dumps(row) + b"\n"
    with open(path, "wb") as fh:
        fh.writelines(line for _ in range(mb * (1 << 20) // len(line) + 1))


def test_parallel_run_equals_single_process(tmp_path):
    src = tmp_path / "big.jsonl"
    _big_sharegpt(src, 10)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    r1 = run_cli("convert", src, "--to", "mistral", "-o", one, "--workers", "1", "--quiet")
    r2 = run_cli("convert", src, "--to", "mistral", "-o", two, "--workers", "2", "--quiet")
    assert r1.returncode == 0 and r2.returncode == 0, r2.stderr
    assert r1.stderr == "" and r2.stderr == ""  # --quiet and not a TTY: no bar, no summary
    assert one.read_bytes() == two.read_bytes()
    assert len(one.read_bytes().splitlines()) == len(src.read_bytes().splitlines())


def test_interrupted_run_leaves_no_output(tmp_path):
    """SIGINT while the converter is mid-file: no output under the final name, no
    temporary file left, input untouched. The input is a FIFO that the test holds
    open, so the interrupt always lands mid-run (a fast machine cannot finish first)."""
    import threading

    src = tmp_path / "in.jsonl"
    os.mkfifo(src)
    out = tmp_path / "out.jsonl"
    row = orjson.loads((CORPORA / "sharegpt.jsonl").read_bytes().splitlines()[2])
    release = threading.Event()

    def feed():
        with open(src, "wb") as fh:  # blocks until the converter opens the FIFO
            fh.writelines(orjson.dumps(row) + b"\n" for _ in range(200))
            fh.flush()
            release.wait(60)  # keep the FIFO open: the converter waits for more lines

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    env = dict(os.environ, DATAKIT_WORKERS="2")
    p = subprocess.Popen([sys.executable, "-m", "datakit", "convert", str(src), "--to", "mistral",
                          "-o", str(out), "--quiet"], stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not any(x.name.endswith(".part")
                                                 for x in tmp_path.iterdir()):
            assert p.poll() is None, p.stderr.read().decode()
            time.sleep(0.02)
        assert p.poll() is None, "the converter must still be waiting for input"
        p.send_signal(signal.SIGINT)
        p.wait(timeout=60)
    finally:
        release.set()
        writer.join(10)
        if p.poll() is None:
            p.kill()
    assert p.returncode != 0
    assert "Traceback" not in p.stderr.read().decode()
    assert not out.exists()
    assert not [x for x in tmp_path.iterdir() if x.name.endswith(".part")]


# --------------------------------------------------------------------------- Python API

def test_api_records_dataframe_and_summary(tmp_path):
    import pandas as pd

    rows = json.loads((CORPORA / "alpaca.json").read_text(encoding="utf-8"))
    out = datakit.convert(rows, to="siliconflow")
    assert len(out) == len(rows) and out[0]["messages"][0]["role"] == "user"
    df = datakit.convert(pd.DataFrame(rows), to="dashscope-sft")
    assert isinstance(df, pd.DataFrame) and len(df) == len(rows)
    summary = df.attrs["conversion_summary"]
    assert isinstance(summary, datakit.ConversionSummary)
    assert summary.read == summary.written == len(rows)
    sg = [orjson.loads(x) for x in (CORPORA / "sharegpt.jsonl").read_bytes().splitlines()]
    with pytest.raises(ValueError, match="C001"):
        datakit.convert(sg, to="siliconflow")
    kept, s = datakit.convert(sg, to="siliconflow", on_loss="drop", return_summary=True)
    assert len(kept) + s.rejected_total == len(sg) == s.read
    assert s.rejected == {"C001": s.rejected_total} and len(s.rejected_data) == s.rejected_total
    table = s.to_pandas()
    assert set(table["code"]) >= {"C001"} and "C001" in s._repr_html_()


def test_api_files_and_dataset_map(tmp_path):
    import datasets

    s = datakit.convert(str(CORPORA / "sharegpt.jsonl"), to="mistral",
                        output=tmp_path / "m.jsonl")
    assert s.read == s.written == 7 and s.changes["C050"] > 0
    rows = json.loads((CORPORA / "alpaca.json").read_text(encoding="utf-8"))
    keys = sorted({k for r in rows for k in r})  # from_list would keep the first row's keys only
    ds = datasets.Dataset.from_list([{k: r.get(k) for k in keys} for r in rows])
    out = datakit.convert(ds, to="openai", num_proc=2)
    assert isinstance(out, datasets.Dataset) and len(out) == len(rows)
    assert out[0]["messages"][-1]["content"] == rows[0]["output"]
    mapped = ds.map(datakit.convert_batch, batched=True, fn_kwargs={"to": "sharegpt"},
                    remove_columns=ds.column_names)
    assert mapped[3]["conversations"][0]["value"] == rows[3]["history"][0][0]

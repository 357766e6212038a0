"""`datakit convert ... -o DIR`: one output per input, mirroring each input's path under
the directory or glob root it came from; every check before the first write; rejects
beside each output; per-file lines and a total in the summary."""

from __future__ import annotations

import gzip
import json

from conftest import run_cli

CHAT = {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}
ALPACA = {"instruction": "Name a colour.", "output": "Blue."}
LOSSY = {"messages": [{"role": "user", "content": "q"},
                      {"role": "assistant", "content": "draft", "weight": 0},
                      {"role": "user", "content": "again"},
                      {"role": "assistant", "content": "a"}]}


def _corpus(root):
    (root / "a" / "b").mkdir(parents=True)
    (root / "x.jsonl").write_text(json.dumps(CHAT) + "\n")
    (root / "a" / "y.json").write_text(json.dumps([ALPACA, ALPACA | {"output": "Red."}]))
    lines = (json.dumps(CHAT) + "\n") * 3
    (root / "a" / "b" / "z.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    (root / "a" / "notes.txt").write_text("not an input")
    return root


def _lines(p):
    return [json.loads(ln) for ln in p.read_text().splitlines()]


def test_directory_input_is_mirrored(tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    out = tmp_path / "out"
    r = run_cli("convert", corpus, "--to", "openai", "-o", f"{out}/")
    assert r.returncode == 0, r.stderr
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["a/b/z.jsonl", "a/y.jsonl", "x.jsonl"]
    assert len(_lines(out / "a" / "b" / "z.jsonl")) == 3
    assert [m["content"] for m in _lines(out / "a" / "y.jsonl")[1]["messages"]][-1] == "Red."
    for rel in files:
        assert f"{out / rel}: " in r.stderr  # a line per file
    assert "6 read, 6 written" in r.stderr and "3 of 3 file(s) written" in r.stderr
    # an existing directory works without the trailing slash; outputs need --force
    again = run_cli("convert", corpus, "--to", "openai", "-o", out)
    assert again.returncode == 2 and "exists (use --force" in again.stderr
    assert run_cli("convert", corpus, "--to", "openai", "-o", out, "--force").returncode == 0


def test_glob_root_and_parquet_suffix(tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    out = tmp_path / "pq"
    r = run_cli("convert", f"{corpus}/**/*.jsonl*", "--to", "mistral", "-o", f"{out}/",
                "--output-format", "parquet")
    assert r.returncode == 0, r.stderr
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["a/b/z.parquet", "x.parquet"]


def test_collisions_are_refused_before_anything_is_written(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "train.jsonl").write_text(json.dumps(CHAT) + "\n")
    (two / "train.json").write_text(json.dumps([CHAT]))
    out = tmp_path / "out"
    r = run_cli("convert", one / "train.jsonl", two / "train.json", "--to", "openai",
                "-o", f"{out}/")
    assert r.returncode == 2
    assert "would both be written to" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_each_output_is_committed_on_its_own_with_rejects_beside_it(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "clean.jsonl").write_text(json.dumps(LOSSY | {"messages": LOSSY["messages"][2:]})
                                        + "\n")
    (corpus / "lossy.jsonl").write_text(json.dumps(LOSSY) + "\n")
    out = tmp_path / "out"
    r = run_cli("convert", corpus, "--to", "dashscope-sft", "-o", f"{out}/")
    assert r.returncode == 1
    assert (out / "clean.jsonl").exists() and not (out / "lossy.jsonl").exists()
    assert "1 of 2 output(s) were not written" in r.stderr
    r = run_cli("convert", corpus, "--to", "dashscope-sft", "-o", f"{out}/", "--on-loss", "drop",
                "--force")
    assert r.returncode == 0, r.stderr
    rejects = _lines(out / "lossy.jsonl.rejects.jsonl")
    assert len(rejects) == 1 and "C002" in json.dumps(rejects[0])
    assert (out / "lossy.jsonl").read_text() == ""
    r = run_cli("convert", corpus, "--to", "dashscope-sft", "-o", f"{out}/", "--on-loss", "drop",
                "--rejects", tmp_path / "r.jsonl", "--force")
    assert r.returncode == 2 and "--rejects names one file" in r.stderr

"""Regression tests for the `datakit convert` audit: lost Parquet columns, damaged zips,
multi-process Dataset conversion, big integers in embedded JSON, unreported unknown keys
and output that fails `datakit lint`."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

CHAT = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


def _lines(p: Path) -> list[dict]:
    return [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]


def _write(p: Path, rows: list[dict]) -> Path:
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                 encoding="utf-8")
    return p


# --------------------------------------------------------------------------- 1. Parquet columns

def test_parquet_keeps_a_column_only_a_late_row_has(tmp_path):
    import pyarrow.parquet as pq

    rows = [dict(CHAT) for _ in range(6000)]
    rows[4999] = {**CHAT, "source_id": "only-here", "meta": {"lang": "en"}}
    src = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.parquet"
    r = run_cli("convert", src, "--to", "openai", "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    table = pq.read_table(out)
    assert {"messages", "source_id", "meta"} <= set(table.column_names)
    assert table.column("source_id").to_pylist()[4999] == "only-here"
    assert table.column("meta").to_pylist()[4999] == {"lang": "en"}
    assert table.column("source_id").null_count == 5999
    # read back, the Parquet file gives the same examples as a JSONL output
    back = tmp_path / "back.jsonl"
    direct = tmp_path / "direct.jsonl"
    assert run_cli("convert", out, "--to", "openai", "-o", back, "--quiet").returncode == 0
    assert run_cli("convert", src, "--to", "openai", "-o", direct, "--quiet").returncode == 0
    assert _lines(back) == _lines(direct)


def test_parquet_column_type_conflict_is_a_diagnostic(tmp_path):
    rows = [dict(CHAT) for _ in range(6000)]
    rows[0] = {**CHAT, "meta": "text"}
    rows[4999] = {**CHAT, "meta": 5}
    src = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.parquet"
    r = run_cli("convert", src, "--to", "openai", "-o", out, "--quiet")
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert "'meta'" in r.stderr and "example 1" in r.stderr and "example 5000" in r.stderr
    assert "--output-format jsonl" in r.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_parquet_integer_beyond_64_bits_is_a_diagnostic(tmp_path):
    src = _write(tmp_path / "in.jsonl", [{**CHAT, "id": 1}, {**CHAT, "id": 2 ** 70}])
    out = tmp_path / "out.parquet"
    r = run_cli("convert", src, "--to", "openai", "-o", out, "--quiet")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "'id'" in r.stderr and "beyond 64 bits" in r.stderr and "example 2" in r.stderr
    assert not out.exists()

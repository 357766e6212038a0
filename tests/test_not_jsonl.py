"""A JSON array or a pretty-printed object given where JSON Lines is expected: the
byte-for-byte tools (split, chunk) and stats refuse it with one clear line that says how
to convert it, write nothing, and exit 2; lint reports J009."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

ROWS = [{"instruction": f"Name colour {i}.", "output": "Blue."} for i in range(5)]


@pytest.fixture(params=["array", "pretty"])
def document(request, tmp_path):
    if request.param == "array":
        p = tmp_path / "data.json"
        p.write_text(json.dumps(ROWS, indent=2), encoding="utf-8")
        return p, "a JSON array"
    p = tmp_path / "one.jsonl"
    p.write_text(json.dumps(ROWS[0], indent=2) + "\n", encoding="utf-8")
    return p, "one pretty-printed JSON object"


@pytest.mark.parametrize("command", [
    ["split", "{src}", "-o", "{out}/t.jsonl", "{out}/v.jsonl"],
    ["chunk", "{src}", "--max-bytes", "1MB", "-o", "{out}/chunks"],
    ["stats", "{src}", "--target", "openai"],
])
def test_refused_with_a_conversion_hint(document, tmp_path, command):
    src, what = document
    out = tmp_path / "out"
    out.mkdir()
    before = src.read_bytes()
    r = run_cli(*[a.format(src=src, out=out) for a in command])
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert f"{src}: the file holds {what}, not JSON Lines" in r.stderr
    assert f"datakit convert {src} --to FORMAT" in r.stderr
    assert list(out.iterdir()) == []  # nothing written
    assert src.read_bytes() == before


def test_lint_reports_j009_on_the_first_line(document):
    src, what = document
    r = run_cli("lint", src, "--output-format", "json")
    doc = json.loads(r.stdout)
    j009 = [d for d in doc["diagnostics"] if d["code"] == "J009"]
    assert [(d["line"], d["column"]) for d in j009] == [(1, 1)]
    assert what in j009[0]["message"]

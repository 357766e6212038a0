"""`datakit formats`: every format datakit knows, with its schema file and source."""

import json

from conftest import run_cli

from datakit import formats


def test_formats_lists_every_format_with_a_loadable_schema():
    r = run_cli("formats", "--output-format", "json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["id"] for row in rows] == sorted(formats.FORMATS)
    for row in rows:
        with open(row["schema"], encoding="utf-8") as fh:
            schema = json.load(fh)
        assert schema == formats.load_schema(row["id"])
        assert row["source"] and row["title"] and row["rules"] > 0
    assert {row["id"]: row["container"] for row in rows}["dashscope-sft-image"] == "zip"
    text = run_cli("formats")
    assert text.returncode == 0
    for fid in formats.FORMATS:
        assert f"\n{fid} " in text.stdout

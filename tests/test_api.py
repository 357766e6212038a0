"""``datakit.lint`` from Python: every kind of source goes through the same kernel as
``datakit lint``, and the Report reads well as objects, a DataFrame, JSON and HTML."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

import datakit

GOOD = {"messages": [{"role": "user", "content": "What is 2+2?"},
                     {"role": "assistant", "content": "4"}]}
UNKNOWN_ROLE = {"messages": [{"role": "<bot>", "content": "hi"},
                             {"role": "assistant", "content": "hello"}]}
NO_ANSWER = {"messages": [{"role": "system", "content": "Be brief."},
                          {"role": "user", "content": "Hi"}]}
ROWS = [GOOD, UNKNOWN_ROLE, {"messages": [{"role": "user", "content": "And 3+3?"},
                                          {"role": "assistant", "content": "6"}]}, NO_ANSWER]


def triples(report):
    return sorted((d.line, d.code, d.pointer) for d in report.diagnostics)


@pytest.fixture
def bad_file(write_jsonl):
    return write_jsonl("train.jsonl", ROWS)


def test_path_source_matches_the_cli(bad_file):
    report = datakit.lint(bad_file)
    assert not report.ok
    cli = json.loads(run_cli("lint", bad_file, "--output-format", "json").stdout)
    assert triples(report) == sorted((d["line"], d["code"], d["pointer"])
                                     for d in cli["diagnostics"])
    assert {d.path for d in report.diagnostics} == {str(bad_file)}
    by_line = {d.line: d.code for d in report.diagnostics}
    assert by_line[2] == "S003" and by_line[4] == "R008"
    assert report.files[0].format == "openai" and report.files[0].examples == 4


def test_clean_path_is_ok(write_jsonl):
    report = datakit.lint(write_jsonl("ok.jsonl", [GOOD]))
    assert report.ok and report.diagnostics == [] and len(report) == 0


def test_list_of_dicts_gives_the_same_diagnostics_as_the_file(bad_file):
    from_file = datakit.lint(bad_file)
    from_list = datakit.lint(ROWS)
    assert triples(from_list) == triples(from_file)
    assert {d.path for d in from_list.diagnostics} == {"<records>"}
    # any iterable, e.g. a generator, not only a list
    assert triples(datakit.lint(r for r in ROWS)) == triples(from_file)
    assert datakit.lint(ROWS, name="chats").diagnostics[0].path == "chats"


def test_format_and_target_are_honoured():
    two_users = {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                              {"role": "assistant", "content": "c"}]}
    assert "R003" not in {d.code for d in datakit.lint([two_users]).diagnostics}  # openai
    strict = datakit.lint([two_users], format="siliconflow")
    assert [(d.line, d.code) for d in strict.diagnostics] == [(1, "R003")]
    with pytest.raises(KeyError, match="siliconflow"):
        datakit.lint([GOOD], format="no-such-format")


def test_pandas_dataframe_with_a_messages_column(bad_file):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"messages": [r["messages"] for r in ROWS]})
    report = datakit.lint(df)
    # row i of the frame is line i + 1, exactly as in the file
    assert triples(report) == triples(datakit.lint(bad_file))
    assert report.files[0].path == "<DataFrame>" and report.files[0].examples == len(df)


def test_pandas_frame_read_back_from_jsonl(bad_file):
    pd = pytest.importorskip("pandas")
    df = pd.read_json(bad_file, lines=True)
    assert triples(datakit.lint(df)) == triples(datakit.lint(bad_file))


def test_datasets_dataset_ignores_arrow_null_fill():
    datasets = pytest.importorskip("datasets")
    weighted = {"messages": [{"role": "user", "content": "q"},
                             {"role": "assistant", "content": "draft", "weight": 0},
                             {"role": "user", "content": "again"},
                             {"role": "assistant", "content": "final", "weight": 1}]}
    ds = datasets.Dataset.from_list([weighted, GOOD, UNKNOWN_ROLE])
    # Arrow unifies the schema: every message of every row now has "weight": None
    assert ds[1]["messages"][0]["weight"] is None
    report = datakit.lint(ds)
    # those nulls are not the user's data: no R010 (weight on a user message), no S002
    assert [(d.line, d.code) for d in report.diagnostics] == [(3, "S003")]
    assert report.files[0].path == "<Dataset>" and report.files[0].examples == 3


def test_bad_records_become_diagnostics_not_exceptions():
    report = datakit.lint([{"messages": "nope"}, {"x": float("nan")}, "not json\n", GOOD])
    assert not report.ok
    got = {(d.line, d.code) for d in report.diagnostics}
    assert (1, "S002") in got and (3, "J005") in got
    assert all(1 <= d.line <= 4 for d in report.diagnostics if d.line is not None)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(Exception, match="no such file"):
        datakit.lint(tmp_path / "missing.jsonl")


# --------------------------------------------------------------------------- Report views

def test_to_pandas_has_one_row_per_diagnostic(bad_file):
    report = datakit.lint(bad_file)
    df = report.to_pandas()
    assert list(df.columns) == ["path", "line", "column", "example", "code", "name", "severity",
                                "message", "pointer"]
    assert len(df) == len(report.diagnostics)
    row = df[df.code == "S003"].iloc[0]
    assert (row.line, row.example, row.severity, row.pointer) == (2, 1, "error", "/messages/0/role")
    assert "<bot>" in row.message
    assert datakit.lint([GOOD]).to_pandas().empty


def test_to_json_follows_the_cli_contract(bad_file):
    doc = json.loads(datakit.lint(bad_file).to_json())
    assert set(doc) == {"version", "files", "diagnostics", "summary"}
    assert doc["version"] == datakit.__version__
    assert doc["files"][0]["path"] == str(bad_file) and doc["files"][0]["errors"] >= 2
    assert {(d["line"], d["code"]) for d in doc["diagnostics"]} >= {(2, "S003"), (4, "R008")}
    assert doc["summary"]["by_code"]["S003"] == 1


def test_repr_html_is_a_table_with_codes_lines_and_escaped_messages(bad_file):
    report = datakit.lint(bad_file)
    page = report._repr_html_()
    assert "<table>" in page and "error(s)" in page
    # each diagnostic is a row with its line number and code in cells
    for d in report.diagnostics:
        assert f"<td>{d.line}</td>" in page and f"<code>{d.code}</code>" in page
    assert "&lt;bot&gt;" in page and "<bot>" not in page  # user data is escaped
    clean = datakit.lint([GOOD])._repr_html_()
    assert "no errors" in clean and "<table>" not in clean


def test_max_per_rule_through_the_api(write_jsonl):
    p = write_jsonl("many.jsonl", [UNKNOWN_ROLE] * 6)
    report = datakit.lint(p, max_per_rule=2)
    assert [d.code for d in report.diagnostics].count("S003") == 2
    assert report.summary["hidden"] >= 4 and report.summary["by_code"]["S003"] == 6
    assert not report.ok


def test_empty_records_are_reported_like_an_empty_file(tmp_path):
    import pandas as pd

    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert [d.code for d in datakit.lint(empty).diagnostics] == ["J010"]
    for source, label in (([], "<records>"), (pd.DataFrame({"messages": []}), "<DataFrame>")):
        report = datakit.lint(source)
        assert [(d.code, d.path) for d in report.diagnostics] == [("J010", label)]
        assert not report.ok


def test_report_and_fix_result_reprs_are_one_line(bad_file):
    report = datakit.lint(bad_file)
    assert repr(report) == (f"<Report 1 file(s), 4 example(s): {report.errors} error(s), "
                            f"{report.warnings} warning(s)>")
    fixed = datakit.fix(ROWS + [GOOD], target="openai")
    assert repr(fixed).startswith("<FixResult <records>: ") and "\n" not in repr(fixed)
    assert f"{fixed.report.errors} error(s) remain" in repr(fixed)

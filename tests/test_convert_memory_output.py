"""In-memory conversion (list, DataFrame, Dataset) written to a file with output=: the
file lints clean for its target, with none of the nulls that pandas and Arrow fill in
for keys a row does not have; a converted Dataset has no all-null target columns."""

from __future__ import annotations

import json

import datasets
import pandas as pd
import pytest

import datakit
from datakit.io.atomic import OutputExists

PLAIN = {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}
TOOL = {"conversations": [
    {"from": "human", "value": "Weather in Paris?"},
    {"from": "function_call", "value": json.dumps({"name": "w", "arguments": {"c": "Paris"}})},
    {"from": "observation", "value": "20C"},
    {"from": "gpt", "value": "It is 20C."}],
    "tools": json.dumps([{"name": "w", "parameters": {"type": "object",
                                                      "properties": {"c": {"type": "string"}}}}])}


def _lint_codes(path, fmt):
    report = datakit.lint(path, format=fmt)
    return sorted({d.code for d in report.diagnostics if d.severity.value == "error"})


@pytest.mark.parametrize("kind", ["list", "pandas", "datasets"])
@pytest.mark.parametrize("to", ["openai", "mistral"])
def test_output_file_lints_clean(tmp_path, kind, to):
    # every row has every key, as a loaded corpus has (Dataset.from_list takes the keys
    # of the first row only): pandas and Arrow fill the missing tools with nulls
    rows = [PLAIN | {"tools": None}, TOOL, PLAIN | {"tools": None, "conversations": [
        PLAIN["conversations"][0], {"from": "gpt", "value": "hello"}]}]
    source = {"list": rows, "pandas": pd.DataFrame(rows),
              "datasets": datasets.Dataset.from_list(rows)}[kind]
    out = tmp_path / f"{kind}-{to}.jsonl"
    data, summary = datakit.convert(source, to=to, output=out, return_summary=True)
    assert summary.output == str(out)
    lines = out.read_bytes().splitlines()
    assert len(lines) == len(rows) == len(data)
    assert b"null" not in out.read_bytes()
    assert _lint_codes(out, to) == []
    # the tool example keeps its call and result
    tool_line = json.loads(lines[1])
    assert [m["role"] for m in tool_line["messages"]] == ["user", "assistant", "tool", "assistant"]
    with pytest.raises(OutputExists):
        datakit.convert(source, to=to, output=out)
    datakit.convert(source, to=to, output=out, force=True)


def test_dataset_has_no_all_null_target_columns():
    ds = datasets.Dataset.from_list([PLAIN, PLAIN])
    out = datakit.convert(ds, to="openai")
    assert out.column_names == ["messages"]  # no tools / parallel_tool_calls of nulls
    mixed = datakit.convert(datasets.Dataset.from_list([PLAIN | {"tools": None}, TOOL]),
                            to="openai")
    assert "tools" in mixed.column_names  # one row has tools: the column stays


def test_dataset_rejections_are_explained():
    untyped = TOOL | {"tools": None}  # calls a function that no tools list defines
    with pytest.raises(datakit.conversion.ConversionError, match="C027"):
        datakit.convert(datasets.Dataset.from_list([untyped]), to="mistral")
    out, summary = datakit.convert(datasets.Dataset.from_list([untyped, PLAIN | {"tools": None}]),
                                   to="mistral", on_loss="drop", return_summary=True)
    assert len(out) == 1 and summary.rejected == {"C027": 1}
    assert [(d.code, d.example) for d in summary.diagnostics] == [("C027", 0)]


def test_dataset_summary_counts_what_the_list_summary_counts():
    rows = [PLAIN | {"tools": None}, TOOL, TOOL | {"tools": None}]
    _, from_list = datakit.convert(rows, to="mistral", on_loss="drop", return_summary=True)
    _, from_ds = datakit.convert(datasets.Dataset.from_list(rows), to="mistral",
                                 on_loss="drop", return_summary=True)
    fields = ("read", "written", "changed", "lossy", "rejected", "losses", "changes", "sources")
    assert {f: getattr(from_ds, f) for f in fields} == {f: getattr(from_list, f) for f in fields}
    assert from_ds.changes == {"C050": 1} and from_ds.rejected == {"C027": 1}


def test_summary_reprs_read_well_outside_a_notebook():
    _, summary = datakit.convert([PLAIN | {"tools": None}, TOOL], to="mistral",
                                 return_summary=True)
    assert repr(summary) == ("<ConversionSummary to mistral: 2 read, 2 written, 1 changed, "
                             "0 with losses, 0 rejected>")
    assert str(summary).startswith("2 read, 2 written (1 changed, 0 with losses), 0 rejected")
    assert "C050" in summary._repr_html_() and "<table" in summary._repr_html_()
    assert list(summary.to_pandas()["code"]) == ["C050"]


@pytest.mark.parametrize("to", ["mistral", "openai", "siliconflow", "dashscope-sft"])
def test_tool_definition_with_a_non_string_name_is_a_diagnostic_not_a_crash(to):
    """Found by the fuzz test: a tools entry whose name is a list crashed the set of
    defined names (unhashable) in the model path and in the ShareGPT direct path."""
    openai_row = {"messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "tool_calls": [{"id": "TX92Jm8Zi", "type": "function",
                                              "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "TX92Jm8Zi", "content": "r"},
        {"role": "assistant", "content": "a"}],
        "tools": [{"type": "function", "function": {"name": [], "parameters": {"type": "object"}}}]}
    sharegpt_row = TOOL | {"tools": json.dumps([{"name": [1], "parameters": {"type": "object"}}])}
    for row, source in ((openai_row, "openai"), (sharegpt_row, "sharegpt"), (sharegpt_row, "auto")):
        out, summary = datakit.convert([row], to=to, from_=source, on_loss="drop",
                                       return_summary=True)
        assert summary.read == 1 and len(out) + summary.rejected_total == 1
        assert not any(d.code == "X001" for d in summary.diagnostics)

"""A DataFrame in, a DataFrame out: per-row lint columns; and the in-memory inputs
datakit.lint takes besides paths (one dict, JSONL bytes)."""

import json

import pandas as pd
import pytest

import datakit

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
NO_ANSWER = {"messages": [{"role": "user", "content": "hi"}]}


def test_lint_frame_adds_per_row_columns_in_the_frame_order_and_index(tmp_path):
    df = pd.DataFrame([GOOD, NO_ANSWER, GOOD, {"messages": [{"role": "user", "content": "a"},
                                                            {"role": "assistant", "content": "b"}]}],
                      index=["a", "b", "c", "d"])
    out = datakit.lint_frame(df)
    assert list(out.index) == ["a", "b", "c", "d"] and "lint_ok" not in df.columns
    assert out["lint_ok"].tolist() == [True, False, True, True]
    assert out["lint_errors"].tolist() == [0, 1, 0, 0]
    assert [d["code"] for d in out.loc["b", "lint_diagnostics"]] == ["R008"]
    # dataset-wide rules land on their row too: the exact duplicate of row 1
    assert [d["code"] for d in out.loc["c", "lint_diagnostics"]] == ["D004"]
    assert out.loc["d", "lint_diagnostics"] == []
    # the same findings as linting the JSONL file the frame would write
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in df.to_dict("records")))
    file_codes = sorted((d.line, d.code) for d in datakit.lint(src).diagnostics)
    frame_codes = sorted((x["line"], x["code"]) for row in out["lint_diagnostics"] for x in row)
    assert frame_codes == file_codes
    report = out.attrs["lint_report"]
    assert isinstance(report, datakit.Report) and report.errors == 1


def test_relinting_replaces_the_columns_and_lint_dataset_takes_a_frame():
    df = pd.DataFrame([GOOD, NO_ANSWER])
    once = datakit.lint_frame(df)
    fixed = once.copy()
    fixed.at[1, "messages"] = GOOD["messages"] + [{"role": "user", "content": "more"},
                                                  {"role": "assistant", "content": "ok"}]
    again = datakit.lint_dataset(fixed)  # a DataFrame in, a DataFrame out
    assert isinstance(again, pd.DataFrame)
    assert list(again.columns).count("lint_ok") == 1
    assert again["lint_ok"].tolist() == [True, True]


def test_lint_frame_rejects_other_inputs_with_a_hint():
    with pytest.raises(TypeError, match="lint_frame takes a pandas.DataFrame"):
        datakit.lint_frame([GOOD])


def test_lint_takes_one_dict_and_jsonl_bytes():
    r = datakit.lint(GOOD)
    assert r.ok and r.errors == 0 and not r.diagnostics
    bad = datakit.lint(NO_ANSWER)
    assert [d.code for d in bad.diagnostics] == ["R008"]  # one example, not its keys
    data = (json.dumps(GOOD) + "\n" + "{bad\n" + json.dumps(NO_ANSWER)).encode()
    r = datakit.lint(data)
    assert sorted((d.line, d.code) for d in r.diagnostics) == [(2, "J005"), (3, "R008")]

"""The dataframe engines run the same kernel as the local engine: a row gets the
same diagnostics from `datasets.map`, Ray Data and `datakit lint` on a file."""

import json
from collections import defaultdict

import pytest

import datakit
from datakit.engines.arrow import resolve_format

GOOD = {"messages": [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "hi 👋"}]}
ROWS = [
    GOOD,
    {"messages": [{"role": "bot", "content": "x"}]},
    GOOD,
    {"messages": [{"role": "user", "content": "q"},
                  {"role": "assistant", "content": "a", "weight": 3}]},
    {"messages": [{"role": "user", "content": "q"},
                  {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                   "function": {"name": "f", "arguments": "{}"}}]},
                  {"role": "tool", "tool_call_id": "c2", "content": "r"},
                  {"role": "assistant", "content": "done"}]},
] * 3


def per_line(diags) -> dict[int, set[str]]:
    out = defaultdict(set)
    for d in diags:
        if not d["code"].startswith("D"):  # dataset-level rules are not per-row facts
            out[d["line"]].add(d["code"])
    return dict(out)


@pytest.fixture(scope="module")
def file_verdict(tmp_path_factory):
    p = tmp_path_factory.mktemp("eng") / "rows.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    report = datakit.lint(p, format="openai")
    found = per_line([d.to_dict() for d in report.diagnostics])
    assert found, "the fixture must contain errors"
    return found


def test_datasets_engine_matches_file_lint(file_verdict):
    datasets = pytest.importorskip("datasets")
    from datakit.engines.hf import lint_dataset

    ds = datasets.Dataset.from_list(ROWS)
    out = lint_dataset(ds, num_proc=2, batch_size=4)  # batches cross row boundaries
    assert len(out) == len(ROWS) and out.column_names[:1] == ["messages"]
    diags = [d for row in out["lint_diagnostics"] for d in row]
    assert per_line(diags) == file_verdict
    assert list(out["lint_ok"]) == [i + 1 not in file_verdict for i in range(len(ROWS))]
    assert all(n == len(row) for n, row in zip(out["lint_errors"], out["lint_diagnostics"]))
    # idempotent: re-linting replaces the verdict columns instead of failing
    again = lint_dataset(out, format="openai", batch_size=5)
    assert again.column_names == out.column_names and again["lint_ok"] == out["lint_ok"]


def test_ray_engine_matches_file_lint(file_verdict):
    ray = pytest.importorskip("ray")
    from datakit.engines.ray import lint_ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        ds = ray.data.from_items([dict(r, row_id=i) for i, r in enumerate(ROWS)])
        out = sorted(lint_ray(ds, format="openai", batch_size=4).take_all(),
                     key=lambda r: r["row_id"])
    finally:
        ray.shutdown()
    got = {r["row_id"] + 1: {d["code"] for d in r["lint_diagnostics"]}
           for r in out if r["lint_diagnostics"]}
    assert got == file_verdict
    assert [r["lint_ok"] for r in out] == [i + 1 not in file_verdict for i in range(len(ROWS))]


def test_unrecognisable_rows_are_a_clear_error():
    with pytest.raises(ValueError, match="cannot recognise the format"):
        resolve_format([{"foo": 1}])


def test_datasets_engine_decodes_json_columns(tmp_path, file_verdict):
    """`load_dataset("json")` stores message dicts with differing keys as JSON strings
    (a `Json` feature); the engine must lint the user's objects, not those strings."""
    datasets = pytest.importorskip("datasets")
    from datakit.engines.hf import lint_dataset

    p = tmp_path / "rows.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    ds = datasets.load_dataset("json", data_files=str(p), split="train",
                               cache_dir=str(tmp_path / "cache"))
    out = lint_dataset(ds, format="openai", batch_size=4)
    assert per_line([d for row in out["lint_diagnostics"] for d in row]) == file_verdict

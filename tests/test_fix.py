"""`datakit fix`: the data-driven fixer cases (tests/fixes/*.yaml), idempotence, the
declared-fix table, the CLI as a subprocess, and the Python API over paths,
lists, DataFrames and Datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import run_cli

import datakit
from datakit.fixers import FIXERS
from datakit.fixing import LINE_FIXES, FixOptions
from datakit.rules import RULES
from datakit.rules.fixes import FIXES

CASES_DIR = Path(__file__).parent / "fixes"


def _load_cases():
    out = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for i, case in enumerate(doc["cases"]):
            out.append(pytest.param(doc["rule"], case, id=f"{path.stem}-{i}"))
    return out


CASES = _load_cases()


def _codes(report) -> set[str]:
    return {d.code for d in report.diagnostics}


def _fix(src: Path, out: Path, case: dict):
    opts = case.get("options", {})
    return datakit.fix(src, target=case.get("target"), format=case.get("format", "auto"),
                       output=out, **opts)


@pytest.mark.parametrize("rule,case", CASES)
def test_fixer_case(rule, case, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(case["fail_str"].encode("utf-8"))
    fmt, target = case.get("format", "auto"), case.get("target")

    # the failing input really breaks the rule
    before = datakit.lint(src, format=fmt, target=target)
    assert rule in _codes(before), f"case does not trigger {rule}: {_codes(before)}"

    out = tmp_path / "out.jsonl"
    result = _fix(src, out, case)
    if case.get("fixed", True):
        assert out.read_bytes() == case["fix_str"].encode("utf-8")
        assert result.fixed[rule] >= 1
        # the output lints clean of this rule and of every other fix that was on
        after = datakit.lint(out, format=fmt, target=target)
        assert rule not in _codes(after)
        enabled = FixOptions(only=None, **case.get("options", {})).resolve().enabled
        assert not (_codes(after) & enabled), after.diagnostics
        assert result.report.errors == after.errors
    else:
        # a safety case: the fix does not apply and the rule is still reported
        assert out.read_bytes() == src.read_bytes()
        assert result.fixed[rule] == 0
        assert rule in {d.code for d in result.remaining}

    # idempotent: fixing the output again changes nothing
    again = tmp_path / "again.jsonl"
    second = _fix(out, again, case)
    assert again.read_bytes() == out.read_bytes()
    assert not second.changes and sum(second.fixed.values()) == 0


def test_every_declared_fix_has_a_fixer_and_a_case():
    with_case = {rule for rule, case in (p.values for p in CASES) if case.get("fixed", True)}
    assert set(FIXES) <= with_case, f"no fixing case for {sorted(set(FIXES) - with_case)}"
    assert set(FIXES) == set(FIXERS) | set(LINE_FIXES)
    assert not set(FIXERS) & set(LINE_FIXES)


def test_registry_takes_fixes_from_the_table():
    assert set(FIXES) <= set(RULES)
    for code, rule in RULES.items():
        assert rule.fixable == (code in FIXES)
        assert rule.fix == FIXES.get(code)
    r = run_cli("rule", "T015")
    assert r.returncode == 0 and FIXES["T015"] in r.stdout.replace("\n", " ")


# --------------------------------------------------------------------------- CLI

GOOD = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
# mistral: invalid ids (T001) and object arguments (T009); then an unfixable line
MISTRAL = [
    {"messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "call_0001", "type": "function", "function": {
            "name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "content": "18C", "tool_call_id": "call_0001"},
        {"role": "assistant", "content": "It is 18C."}],
     "tools": [{"type": "function", "function": {
         "name": "get_weather", "parameters": {"type": "object",
                                               "properties": {"city": {"type": "string"}}}}}]},
    {"messages": [{"role": "user", "content": "hi"}]},  # R008: nothing to fix
    GOOD,
]


def _mistral_file(write_jsonl):
    return write_jsonl("in.jsonl", MISTRAL)


def test_cli_writes_output_and_reports_what_remains(write_jsonl, tmp_path):
    src = _mistral_file(write_jsonl)
    original = src.read_bytes()
    out = tmp_path / "out.jsonl"
    r = run_cli("fix", src, "--target", "mistral", "-o", out)
    assert r.returncode == 1, r.stderr  # R008 cannot be fixed
    assert src.read_bytes() == original  # never in place unless asked
    assert "T001" in r.stdout and "T009" in r.stdout and "R008" in r.stdout
    lines = out.read_bytes().splitlines(keepends=True)
    assert lines[1:] == original.splitlines(keepends=True)[1:]  # untouched lines: same bytes
    fixed = json.loads(lines[0])
    call = fixed["messages"][1]["tool_calls"][0]
    assert len(call["id"]) == 9 and call["id"].isalnum()
    assert fixed["messages"][2]["tool_call_id"] == call["id"]
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    lint = run_cli("lint", out, "--target", "mistral", "--output-format", "json")
    assert {d["code"] for d in json.loads(lint.stdout)["diagnostics"]} == {"R008"}


def test_cli_exit_0_when_output_is_clean_and_json_report(write_jsonl, tmp_path):
    src = write_jsonl("in.jsonl", [GOOD, GOOD])
    out = tmp_path / "out.jsonl"
    r = run_cli("fix", src, "-o", out, "--output-format", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["fixed"]["D004"]["count"] == 1 and doc["ok"] is True
    assert doc["lines_in"] == 2 and doc["lines_out"] == 1
    assert out.read_text().count("\n") == 1


def test_cli_refuses_to_overwrite_and_needs_a_destination(write_jsonl, tmp_path):
    src = write_jsonl("in.jsonl", [GOOD])
    out = tmp_path / "out.jsonl"
    out.write_text("keep me\n")
    r = run_cli("fix", src, "-o", out)
    assert r.returncode == 2 and "--force" in r.stderr and "Traceback" not in r.stderr
    assert out.read_text() == "keep me\n"
    assert run_cli("fix", src, "-o", out, "--force").returncode == 0
    assert out.read_bytes() == src.read_bytes()
    r = run_cli("fix", src)
    assert r.returncode == 2 and "-o OUT" in r.stderr
    r = run_cli("fix", src, "-o", src)
    assert r.returncode == 2 and "--in-place" in r.stderr
    r = run_cli("fix", tmp_path / "missing.jsonl", "-o", tmp_path / "x.jsonl")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_cli_in_place_keeps_a_backup(write_jsonl):
    src = _mistral_file(write_jsonl)
    original = src.read_bytes()
    r = run_cli("fix", src, "--target", "mistral", "--in-place")
    assert r.returncode == 1
    backup = src.with_name(src.name + ".bak")
    assert backup.read_bytes() == original
    assert src.read_bytes() != original
    assert "original kept as" in r.stdout
    # a second in-place run would clobber the backup: refused without --force
    r = run_cli("fix", src, "--target", "mistral", "--in-place")
    assert r.returncode == 2 and "--force" in r.stderr
    assert backup.read_bytes() == original


def test_cli_dry_run_writes_nothing_and_diff_shows_each_changed_line(write_jsonl, tmp_path):
    src = _mistral_file(write_jsonl)
    original = src.read_bytes()
    r = run_cli("fix", src, "--target", "mistral", "--dry-run", "--diff")
    assert r.returncode == 1
    assert src.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
    out = r.stdout.splitlines()
    assert f"--- {src}" in out
    hunks = [ln for ln in out if ln.startswith("@@")]
    assert hunks == ["@@ -1 +1 @@ T001, T009"]
    minus = [ln for ln in out if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln for ln in out if ln.startswith("+") and not ln.startswith("+++")]
    assert json.loads(minus[0][1:]) == MISTRAL[0]
    assert json.loads(plus[0][1:])["messages"][1]["tool_calls"][0]["id"] != "call_0001"
    assert any("T009 at /messages/1/tool_calls/0/function/arguments" in ln for ln in out)
    assert "would fix 2 problem(s)" in r.stdout


def test_cli_only_limits_the_fixes(write_jsonl, tmp_path):
    src = _mistral_file(write_jsonl)
    out = tmp_path / "out.jsonl"
    r = run_cli("fix", src, "--target", "mistral", "-o", out, "--only", "T009",
                "--output-format", "json")
    doc = json.loads(r.stdout)
    assert set(doc["fixed"]) == {"T009"}
    fixed = json.loads(out.read_bytes().splitlines()[0])
    assert fixed["messages"][1]["tool_calls"][0]["id"] == "call_0001"  # T001 left alone
    assert "T001" in {d["code"] for d in doc["remaining"]}
    assert r.returncode == 1


def test_cli_usage_errors_exit_2(write_jsonl, tmp_path):
    src = write_jsonl("in.jsonl", [GOOD])
    out = tmp_path / "out.jsonl"
    for args, needle in [
        (("--only", "Z999"), "matches no rule"),
        (("--only", "L001"), "selects no fixable rule"),
        (("--only", "R003"), "--merge-consecutive"),
        (("--format", "nope"), "unknown format"),
        (("--target", "nope:nothing"), ""),
    ]:
        r = run_cli("fix", src, "-o", out, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert needle in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_cli_merge_and_trim_on_request(write_jsonl, tmp_path):
    row = {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                        {"role": "assistant", "content": "c"}, {"role": "user", "content": "d"}]}
    src = write_jsonl("in.jsonl", [row])
    out = tmp_path / "out.jsonl"
    r = run_cli("fix", src, "--format", "siliconflow", "-o", out)
    assert r.returncode == 1 and out.read_bytes() == src.read_bytes()
    r = run_cli("fix", src, "--format", "siliconflow", "-o", out, "--force",
                "--merge-consecutive", "--trim-trailing")
    assert r.returncode == 0, r.stdout
    assert json.loads(out.read_text())["messages"] == [
        {"role": "user", "content": "a\n\nb"}, {"role": "assistant", "content": "c"}]


# --------------------------------------------------------------------------- API

def test_api_path_without_output_writes_nothing(write_jsonl, tmp_path):
    src = _mistral_file(write_jsonl)
    result = datakit.fix(src, target="mistral")
    assert result.dry_run and result.output is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
    assert result.fixed == {"T001": 1, "T009": 1}
    assert [d.code for d in result.remaining] == ["R008"]
    assert result.remaining[0].extra["input_line"] == 2
    df = result.to_pandas()
    assert sorted(df[df.status == "fixed"].code) == ["T001", "T009"]
    assert list(df[df.status == "remaining"].code) == ["R008"]
    html = result._repr_html_()
    assert "T009" in html and "R008" in html
    d = result.to_dict()
    assert d["fixed"]["T001"]["count"] == 1 and d["ok"] is False
    json.dumps(d)


def test_api_records_in_records_out():
    rows = [dict(MISTRAL[0]), GOOD, GOOD]
    result = datakit.fix(rows, target="mistral")
    assert len(result.data) == 2
    assert result.data[1] is GOOD  # untouched rows are the caller's own objects
    assert isinstance(result.data[0]["messages"][1]["tool_calls"][0]["function"]["arguments"], str)
    assert result.fixed["D004"] == 1 and result.ok


def test_api_dataframe_in_dataframe_out():
    pd = pytest.importorskip("pandas")
    legacy = {"messages": [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": None,
         "function_call": {"name": "add", "arguments": "{\"a\": 2, \"b\": 2}"}},
        {"role": "function", "name": "add", "content": "4"},
        {"role": "assistant", "content": "4"}],
        "functions": [{"name": "add", "parameters": {"type": "object", "properties": {
            "a": {"type": "number"}, "b": {"type": "number"}}}}]}
    df = pd.DataFrame([legacy, GOOD, GOOD], index=[10, 11, 12])
    result = datakit.fix(df, format="openai")
    out = result.data
    assert isinstance(out, pd.DataFrame)
    assert list(out.index) == [10, 11]
    assert "tools" in out.columns and "functions" not in out.columns
    msgs = out.loc[10, "messages"]
    assert msgs[1]["tool_calls"][0]["function"]["name"] == "add"
    assert msgs[2] == {"role": "tool", "tool_call_id": msgs[1]["tool_calls"][0]["id"],
                       "content": "4"}
    assert result.fixed["T018"] == 3 and result.fixed["D004"] == 1
    assert result.ok, result.remaining
    assert datakit.lint(out, format="openai").ok


def test_api_dataset_in_dataset_out():
    datasets = pytest.importorskip("datasets")
    bad = {"messages": [{"role": "user", "content": "q", "weight": 0},
                        {"role": "assistant", "content": "a", "weight": 1}]}
    ds = datasets.Dataset.from_list([bad, GOOD, bad])
    result = datakit.fix(ds, target="mistral", num_proc=2, batch_size=1)
    out = result.data
    assert isinstance(out, datasets.Dataset)
    assert len(out) == 2
    assert result.fixed["R010"] == 2 and result.fixed["D004"] == 1
    assert "weight" not in {k for m in out[0]["messages"] for k, v in m.items()
                            if v is not None and m["role"] == "user"}
    assert datakit.lint(out, target="mistral").ok


# --------------------------------------------------------------------------- properties

ROOT = Path(__file__).resolve().parent.parent
CORPORA = sorted([*(ROOT / "examples").glob("*.jsonl"),
                  *(ROOT / "tests" / "fixtures" / "seeds").glob("*.jsonl")])
# Fixes that apply whenever their rule fires; the others (T015, T018, R003, R004) leave an
# example alone when the repair would be a guess, and the rule stays reported.
UNCONDITIONAL = {"J002", "J003", "J004", "J011", "D004", "R010", "T001", "T008", "T009",
                 "T011", "T012"}


@pytest.mark.parametrize("path", CORPORA, ids=[p.name for p in CORPORA])
def test_fix_is_idempotent_and_leaves_nothing_fixable(path, tmp_path):
    fmt = path.stem if path.parent.name == "seeds" else "auto"
    target = "mistral" if path.stem.startswith("mistral") else None
    opts = {"merge_consecutive": True, "trim_trailing": True}
    once, twice = tmp_path / "once.jsonl", tmp_path / "twice.jsonl"
    first = datakit.fix(path, target=target, format=fmt, output=once, **opts)
    second = datakit.fix(once, target=target, format=fmt, output=twice, **opts)
    assert twice.read_bytes() == once.read_bytes()
    assert sum(second.fixed.values()) == 0
    assert not {d.code for d in first.remaining} & UNCONDITIONAL
    # every line the fix did not touch is copied byte for byte
    src = path.read_bytes().splitlines(keepends=True)
    out = once.read_bytes().splitlines(keepends=True)
    touched = {c.line for c in first.changes}
    kept = [line for i, line in enumerate(src, 1) if i not in touched]
    assert [line for line in out if line in kept] == kept


def test_unparseable_lines_are_kept_while_framing_is_fixed(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"messages": [}\r\n' + json.dumps(GOOD).encode() + b"\r\n")
    out = tmp_path / "out.jsonl"
    result = datakit.fix(src, output=out)
    assert out.read_bytes() == b'{"messages": [}\n' + json.dumps(GOOD).encode() + b"\n"
    assert result.fixed == {"J003": 2}
    assert [d.code for d in result.remaining] == ["J005"]


def test_compressed_input_and_output(tmp_path):
    import gzip

    src = tmp_path / "in.jsonl.gz"
    row = json.dumps({"messages": [{"role": "user", "content": "q", "weight": 0},
                                   {"role": "assistant", "content": "a"}]}).encode()
    src.write_bytes(gzip.compress(row + b"\n" + row + b"\n"))
    out = tmp_path / "out.jsonl.gz"
    result = datakit.fix(src, output=out)
    assert result.fixed == {"R010": 2, "D004": 1}
    lines = gzip.decompress(out.read_bytes()).splitlines()
    assert len(lines) == 1 and "weight" not in json.loads(lines[0])["messages"][0]
    zst = tmp_path / "out.jsonl.zst"
    again = datakit.fix(out, output=zst)
    assert not again.changes
    import zstandard

    assert zstandard.ZstdDecompressor().stream_reader(zst.read_bytes()).read() == \
        gzip.decompress(out.read_bytes())


def test_in_place_without_changes_makes_no_backup(write_jsonl):
    src = write_jsonl("in.jsonl", [GOOD])
    before = src.read_bytes()
    result = datakit.fix(src, in_place=True)
    assert result.backup is None and not result.changes
    assert src.read_bytes() == before
    assert not src.with_name("in.jsonl.bak").exists()


def test_remaining_diagnostics_point_back_to_input_lines(write_jsonl, tmp_path):
    lone = {"messages": [{"role": "user", "content": "hi"}]}
    src = write_jsonl("in.jsonl", [GOOD, GOOD, GOOD, lone])
    dry = datakit.fix(src)  # no output: a dry run, diagnostics in input lines
    assert [(d.code, d.line, d.extra["output_line"]) for d in dry.remaining] == [("R008", 4, 2)]
    out = tmp_path / "out.jsonl"
    real = datakit.fix(src, output=out)
    assert [(d.code, d.line, d.extra["input_line"]) for d in real.remaining] == [("R008", 2, 4)]
    r = run_cli("fix", src, "--dry-run")
    assert r.returncode == 1 and f"{src}:4:" in r.stdout


# --------------------------------------------------------------------------- helpers used by the fixers

def test_remap_tool_ids_is_valid_deterministic_and_collision_free():
    import re

    from datakit.conversion.ids import remap_tool_ids

    ids = ["call_8f2a", "abcDEF123", "", "call_8f2a", "toolu_01", *[f"c{i}" for i in range(300)]]
    m = remap_tool_ids(ids)
    assert m == remap_tool_ids(list(ids))  # deterministic
    assert m["abcDEF123"] == "abcDEF123"  # already valid: kept
    assert all(re.fullmatch(r"[a-zA-Z0-9]{9}", v) for v in m.values())
    assert len(set(m.values())) == len(set(ids))  # collision-free
    assert remap_tool_ids(["call_8f2a"], salt="x") != remap_tool_ids(["call_8f2a"])
    # a generated id never takes the place of a valid id that is kept
    target = remap_tool_ids(["call_8f2a"])["call_8f2a"]
    both = remap_tool_ids([target, "call_8f2a"])
    assert both[target] == target and both["call_8f2a"] != target


@pytest.mark.parametrize("value,expected", [
    ({"word": "listen"}, ('{"word": "listen"}', "stringified")),
    ('{"word": "listen"}', ('{"word": "listen"}', "ok")),
    (json.dumps('{"word": "listen"}'), ('{"word": "listen"}', "repaired-double-encoded")),
    ("{'word': 'écouter', 'strict': True}", ('{"word": "écouter", "strict": true}',
                                             "repaired-python-repr")),
    ("{'x': 1e999}", (None, "unrepairable")),  # would need Infinity, which is not JSON
    ("[1, 2]", (None, "unrepairable")),
    ("__import__('os')", (None, "unrepairable")),  # literals only, never executed
    (["a"], (None, "unrepairable")),
])
def test_repair_arguments(value, expected):
    from datakit.conversion.arguments import repair_arguments

    assert repair_arguments(value) == expected

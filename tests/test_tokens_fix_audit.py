"""Regressions from the audit of token counting, target configs and `fix`.

Each test runs real files on disk, through the CLI as a subprocess where users use it.
"""

import json

import pytest
from conftest import run_cli

import datakit

GOOD = {"messages": [{"role": "user", "content": "hello there"},
                     {"role": "assistant", "content": "hi"}]}


def lines(*rows) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


# ------------------------------------------------------------------ 1. stats on bad lines

@pytest.mark.parametrize("bad", [
    '{"messages": 5}',
    '{"messages": []}',
    '{"messages": [5, "x"]}',
    '{"messages": [{"role": 3, "content": "x"}]}',
    '{"messages": [{"role": "user", "content": 5}]}',
    '{"messages": [{"role": "user", "content": [7]}]}',
    '[1, 2]',
])
def test_stats_skips_malformed_chat_lines_with_a_reason(tmp_path, bad):
    p = tmp_path / "mixed.jsonl"
    p.write_text(lines(GOOD, bad, GOOD))
    r = run_cli("stats", p, "--output-format", "json")
    assert r.returncode == 0, r.stderr
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    doc = json.loads(r.stdout)
    assert doc["counted"] == 2 and doc["skipped"] == 1
    [skip] = doc["skipped_examples"]
    assert skip["line"] == 2 and skip["reason"]
    assert doc["messages"]["min"] == 2  # the bad line is in no per-example figure
    r = run_cli("stats", p)
    assert r.returncode == 0 and "1 skipped" in r.stdout and f"{p}:2:" in r.stdout


@pytest.mark.parametrize("fmt,bad,good", [
    ("sharegpt", {"conversations": 5},
     {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}),
    ("sharegpt", {"conversations": [{"from": "human", "value": 5}]},
     {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}),
    ("alpaca", {"instruction": "q", "output": "a", "history": 3},
     {"instruction": "q", "output": "a"}),
    ("dashscope-dpo", {"messages": 1, "chosen": {}, "rejected": {}},
     {"messages": [{"role": "user", "content": "q"}],
      "chosen": {"role": "assistant", "content": "a"},
      "rejected": {"role": "assistant", "content": "b"}}),
    ("openai-preference", {"input": "q", "preferred_output": []},
     {"input": {"messages": [{"role": "user", "content": "q"}]},
      "preferred_output": [{"role": "assistant", "content": "a"}],
      "non_preferred_output": [{"role": "assistant", "content": "b"}]}),
    ("minimax", {"messages": 3, "prompt": "p", "role_meta": {}},
     {"messages": [{"sender_type": "USER", "text": "q"}, {"sender_type": "BOT", "text": "a"}],
      "prompt": "p", "role_meta": {"user_name": "u", "bot_name": "b"}}),
])
def test_stats_skips_malformed_lines_of_every_format(tmp_path, fmt, bad, good):
    p = tmp_path / "x.jsonl"
    p.write_text(lines(good, bad))
    r = run_cli("stats", p, "--format", fmt, "--output-format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["counted"] == 1 and [s["line"] for s in doc["skipped_examples"]] == [2]


def test_stats_reports_an_empty_file_and_counts_the_others(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n")
    good = tmp_path / "good.jsonl"
    good.write_text(lines(GOOD, GOOD))
    r = run_cli("stats", empty, good, blank, "--output-format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["counted"] == 2 and doc["empty_files"] == [str(empty), str(blank)]
    assert f"{empty}: the file is empty" in r.stderr
    r = run_cli("stats", empty, good)
    assert r.returncode == 0 and "empty (nothing counted): " + str(empty) in r.stdout
    s = datakit.stats([good, empty], target="openai")
    assert s.empty == [str(empty)] and len(s.to_pandas()) == 2
    # nothing at all to count is still a usage error, and says why
    r = run_cli("stats", empty)
    assert r.returncode == 2 and "empty" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------ 2. missing tokenizer

def _without_openai_vocabulary(tmp_path) -> dict:
    stub = tmp_path / "stub" / "bpe_openai"  # a bpe_openai without its vocabulary files
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("")
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    return {"PYTHONPATH": str(stub.parent), "TIKTOKEN_CACHE_DIR": str(cache)}


def test_missing_tokenizer_is_one_diagnostic_not_one_per_example(tmp_path):
    # 6,000+ bytes each: the byte bound cannot decide a 4,096-token limit, so each needs counting
    rows = [{"messages": [{"role": "user", "content": "hello " * (1000 + i)},
                          {"role": "assistant", "content": "ok"}]} for i in range(12)]
    p = tmp_path / "long.jsonl"
    p.write_text(lines(*rows))
    env = _without_openai_vocabulary(tmp_path)
    for cmd in (["lint", p], ["fix", p, "-o", tmp_path / "out.jsonl"]):
        r = run_cli(*cmd, "--target", "openai:gpt-3.5-turbo-0613", "--output-format", "json-lines",
                    env=env)
        assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    r = run_cli("lint", p, "--target", "openai:gpt-3.5-turbo-0613", "--output-format",
                "json-lines", env=env)
    diags = [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]
    l002 = [d for d in diags if d["code"] == "L002"]
    assert len(l002) == 1, diags
    [d] = l002
    assert d["line"] is None and d["example"] is None  # about the file, not one example
    assert "not checked on 12 lines in this file" in d["message"]
    assert "pip install bpe-openai" in d["message"]
    assert "cl100k_base" in d["message"] and "offline" in d["message"]
    assert "first shown" not in d["message"]  # one file-level finding, not 12 collapsed ones
    assert not [d for d in diags if d["code"] == "L001"]  # nothing is claimed without counting
    # with the vocabulary, the same file is counted exactly: no L002 at all
    r = run_cli("lint", p, "--target", "openai:gpt-3.5-turbo-0613", "--output-format", "json-lines")
    assert '"L002"' not in r.stdout


# ------------------------------------------------------------------ 3. target config types

@pytest.mark.parametrize("setting,expected", [
    ('max_tokens = "big"', 'max_tokens = "big": expected a positive integer'),
    ("max-tokens = -5", "max-tokens = -5: expected a positive integer"),
    ("max_tokens = 0", "max_tokens = 0: expected a positive integer"),
    ('tokenizer = "nope"', 'tokenizer = "nope": expected one of: tiktoken:o200k_base'),
    ('overflow = "explode"', 'overflow = "explode": expected one of: truncate, drop, reject'),
    ('formats = "openai"', 'formats = "openai": expected a non-empty list of format ids'),
    ('formats = ["nope"]', 'formats = ["nope"]: expected a non-empty list of format ids'),
    ("format = 3", "format = 3: expected one of: alpaca"),
    ("default_epochs = 1.5", "default_epochs = 1.5: expected a positive integer"),
    ("file_max_bytes = true", "file_max_bytes = true: expected a positive integer"),
    ("val_default_ratio = inf", "val_default_ratio = inf: expected a number greater than 0"),
    ("min_examples = -1", "min_examples = -1: expected a positive integer"),
])
def test_wrong_target_config_values_are_config_errors(tmp_path, setting, expected):
    config = tmp_path / "pyproject.toml"
    config.write_text(f'[tool.datakit.targets."openai:tiny"]\n{setting}\n')
    data = tmp_path / "d.jsonl"
    data.write_text(lines(GOOD))
    for cmd in (["lint", data, "--target", "openai:tiny"], ["stats", data, "--target", "openai:tiny"],
                ["fix", data, "--target", "openai:tiny", "-o", tmp_path / "out.jsonl"],
                ["targets"]):
        r = run_cli(*cmd, cwd=tmp_path)
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        assert "internal error" not in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert str(config) in r.stderr and '[tool.datakit.targets."openai:tiny"]' in r.stderr
        assert expected in r.stderr, r.stderr


@pytest.mark.parametrize("price", ["inf", "nan", "-1"])
def test_a_price_must_be_finite_and_non_negative(tmp_path, price):
    data = tmp_path / "d.jsonl"
    data.write_text(lines(GOOD))
    config = tmp_path / "pyproject.toml"
    config.write_text(f"[tool.datakit.prices]\nopenai = {price}\n")
    r = run_cli("stats", data, "--target", "openai", cwd=tmp_path)
    assert r.returncode == 2 and "finite non-negative number" in r.stderr, r.stderr
    assert str(config) in r.stderr and "[tool.datakit.prices] openai" in r.stderr
    r = run_cli("stats", data, "--target", "openai", "--price-per-million", price)
    assert r.returncode == 2 and "finite non-negative" in r.stderr and "Traceback" not in r.stderr


# ------------------------------------------------------------------ 4. fix on a loaded Dataset

FIXABLE = [
    {"messages": [{"role": "user", "content": "hi"},
                  {"role": "assistant", "content": "hello", "weight": 1.0}]},
    {"messages": [{"role": "user", "content": "call"},
                  {"role": "assistant", "content": None, "tool_calls": [
                      {"id": "call_1234567890", "type": "function",
                       "function": {"name": "f", "arguments": {"x": 1}}}]},
                  {"role": "tool", "tool_call_id": "call_1234567890", "content": "1"},
                  {"role": "assistant", "content": "done"}],
     "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]},
    {"messages": [{"role": "user", "content": "hi"},
                  {"role": "assistant", "content": "hello", "weight": 1.0}]},
]


def test_fix_on_a_json_loaded_dataset_applies_the_file_fixes(tmp_path):
    datasets = pytest.importorskip("datasets")
    src = tmp_path / "train.jsonl"
    src.write_text(lines(*FIXABLE))
    fixed_file = tmp_path / "train.fixed.jsonl"
    from_file = datakit.fix(src, target="mistral", output=fixed_file)
    assert from_file.fixed  # the file has something to fix
    ds = datasets.load_dataset("json", data_files=str(src), split="train",
                               cache_dir=str(tmp_path / "hf-cache"))
    from_ds = datakit.fix(ds, target="mistral")
    assert dict(from_ds.fixed) == dict(from_file.fixed)
    assert [(c.line, c.out_line, c.fixes) for c in from_ds.changes] == \
        [(c.line, c.out_line, c.fixes) for c in from_file.changes]
    rows = [json.loads(ln) for ln in fixed_file.read_text().splitlines()]
    # a column some rows lack is None in a Dataset; inside the rows nothing is added back
    # (a deleted `content: null` stays deleted)
    got = [{k: v for k, v in r.items() if v is not None} for r in from_ds.data.to_list()]
    assert got == rows
    assert from_ds.report.summary["by_code"] == from_file.report.summary["by_code"]


# ------------------------------------------------------------------ 5. legacy functions, mistral

LEGACY = {
    "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None,
         "function_call": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
        {"role": "function", "name": "get_weather", "content": "sunny"},
        {"role": "assistant", "content": "It is sunny."}],
    "functions": [{"name": "get_weather", "description": "d",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
}


@pytest.mark.parametrize("target", ["mistral", "openai"])
def test_fix_rewrites_legacy_functions_so_the_output_lints_clean(tmp_path, target):
    src = tmp_path / "legacy.jsonl"
    src.write_text(lines(*[LEGACY] * 1))
    out = tmp_path / "fixed.jsonl"
    r = run_cli("fix", src, "--target", target, "-o", out, "--output-format", "json")
    assert "Traceback" not in r.stderr, r.stderr
    doc = json.loads(r.stdout)
    assert doc["fixed"]["T018"]["count"] == 3, doc
    [row] = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert "functions" not in row and row["tools"][0]["function"]["name"] == "get_weather"
    call = row["messages"][1]
    assert "function_call" not in call and len(call["tool_calls"][0]["id"]) == 9
    assert row["messages"][2] == {"role": "tool", "tool_call_id": call["tool_calls"][0]["id"],
                                  "content": "sunny"}
    if target == "mistral":
        assert "content" not in call  # Mistral: an assistant turn has content or tool_calls
    lint = run_cli("lint", out, "--target", target, "--select", "S,T,R", "--output-format",
                   "json-lines")
    assert lint.returncode == 0, lint.stdout
    again = run_cli("fix", out, "--target", target, "--dry-run", "--output-format", "json")
    assert json.loads(again.stdout)["fixed"] == {}  # fixing the output changes nothing


def test_fix_reports_legacy_calls_it_cannot_rewrite(tmp_path):
    bad = json.loads(json.dumps(LEGACY))
    bad["messages"][2]["name"] = "another_tool"  # a result no call can be attributed to
    src = tmp_path / "legacy.jsonl"
    src.write_text(lines(bad))
    out = tmp_path / "fixed.jsonl"
    r = run_cli("fix", src, "--target", "mistral", "-o", out)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "remaining in the output" in r.stdout and 'role is "function"' in r.stdout
    assert "T008: the fix did not apply here" in r.stdout
    row = json.loads(out.read_text())
    # nothing half-done: the legacy call keeps its `content`, so no new S001 appears
    assert row["messages"][1]["content"] is None and "S001" not in r.stdout


# ------------------------------------------------------------------ 6. escaped special tokens

@pytest.mark.parametrize("target,raw,token", [
    ("openai", r'"<\u007cim_start\u007c>user\nhi"', "<|im_start|>"),
    ("openai", r'"text <\u007Cendoftext\u007C>"', "<|endoftext|>"),
    ("mistral", r'"<\u007cim_end\u007c>"', "<|im_end|>"),
    ("mistral", r'"\u005bINST\u005d hi"', "[INST]"),
    ("mistral", r'"[TOOL_CALL\u0053]"', "[TOOL_CALLS]"),
])
def test_special_tokens_written_with_json_escapes_are_found(tmp_path, target, raw, token):
    p = tmp_path / "esc.jsonl"
    p.write_text('{"messages": [{"role": "user", "content": ' + raw + '}, '
                 '{"role": "assistant", "content": "ok"}]}\n')
    assert token in json.loads(p.read_text())["messages"][0]["content"]
    r = run_cli("lint", p, "--target", target, "--select", "L004", "--output-format", "json-lines")
    found = [json.loads(ln) for ln in r.stdout.splitlines() if ln.strip()]
    assert [(d["code"], d["line"]) for d in found] == [("L004", 1)], r.stdout + r.stderr
    assert repr(token) in found[0]["message"]


def test_escaped_text_without_special_tokens_stays_clean(tmp_path):
    p = tmp_path / "plain.jsonl"
    p.write_text(lines({"messages": [{"role": "user", "content": "caf\u00e9 a|b [inst]"},
                                     {"role": "assistant", "content": "\u4f60\u597d"}]}))
    assert "\\u" in p.read_text()  # json.dumps escapes non-ASCII
    for target in ("openai", "mistral"):
        r = run_cli("lint", p, "--target", target, "--select", "L004")
        assert r.returncode == 0, r.stdout


# ------------------------------------------------------------------ 7. wording of what remains

def test_fix_summary_does_not_call_fixable_codes_unfixable(tmp_path):
    row = {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                        {"role": "assistant", "content": "c"}, {"role": "user", "content": "thanks"}]}
    src = tmp_path / "roles.jsonl"
    src.write_text(lines(row, row))
    r = run_cli("fix", src, "--target", "siliconflow", "--keep-duplicates", "-o", tmp_path / "o.jsonl")
    assert r.returncode == 1
    assert "no fix repairs" not in r.stdout
    assert "R003: applied only on request: add --merge-consecutive" in r.stdout
    assert "R004: applied only on request: add --trim-trailing" in r.stdout
    assert "D004: not applied with --keep-duplicates" in r.stdout
    r = run_cli("fix", src, "--target", "siliconflow", "--only", "T001", "--merge-consecutive",
                "-o", tmp_path / "o2.jsonl")
    assert "R003: not selected by --only" in r.stdout
    # only what has no fix remains: then the summary says so
    unfixable = tmp_path / "unfixable.jsonl"
    unfixable.write_text(lines({"messages": [{"role": "user", "content": "a"}]}))
    r = run_cli("fix", unfixable, "--target", "siliconflow", "--trim-trailing",
                "-o", tmp_path / "o3.jsonl")
    assert r.returncode == 1 and "that no fix repairs:" in r.stdout, r.stdout
    assert "has a fix for" not in r.stdout


def test_r003_r004_docs_name_the_fix_command():
    for code, flag in (("R003", "--merge-consecutive"), ("R004", "--trim-trailing")):
        r = run_cli("rule", code)
        assert r.returncode == 0 and f"datakit fix {flag}" in r.stdout, r.stdout


def test_a_wrong_target_value_names_the_config_given_with_dash_dash_config(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.datakit]\n")  # the nearest one: not it
    conf = tmp_path / "conf" / "datakit.toml"
    conf.parent.mkdir()
    conf.write_text('[tool.datakit.targets."openai:tiny"]\nmax_tokens = "big"\n')
    data = tmp_path / "d.jsonl"
    data.write_text(lines(GOOD))
    r = run_cli("lint", data, "--config", conf, "--target", "openai:tiny", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert str(conf) in r.stderr and "pyproject.toml" not in r.stderr, r.stderr


def test_stats_reads_past_more_blank_lines_than_its_sniff_head(tmp_path):
    """70 blank lines, then examples: not an empty file (the head of 64 lines is blank)."""
    data = tmp_path / "d.jsonl"
    data.write_text("\n" * 70 + lines(GOOD, GOOD, GOOD))
    r = run_cli("stats", data, "--output-format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["examples"] == 3 and out["empty_files"] == [] and "empty" not in r.stderr

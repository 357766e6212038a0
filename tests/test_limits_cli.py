"""Every limit of SPEC.md §2 is a checked rule, tested through the real CLI.

Limits too large to reach with small files (300 MB, 1 MB) are lowered with
``[tool.datakit.targets]`` in a pyproject.toml next to the data, which is how a
user adapts a limit that changed.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from conftest import run_cli

import datakit
from datakit.targets import resolve
from datakit.tokenizers import counter_for

OPENAI = "openai:gpt-3.5-turbo-0613"  # limit 4,096: small files can exceed it


def chat(i: int, answer: str | None = None) -> dict:
    return {"messages": [{"role": "user", "content": f"Question number {i}: what is {i} + {i}?"},
                         {"role": "assistant", "content": answer or f"It is {2 * i}."}]}


def long_chat(words: int) -> dict:
    text = " ".join(f"w{i % 97}x{i}" for i in range(words))
    return {"messages": [{"role": "system", "content": "Summarise."},
                         {"role": "user", "content": text},
                         {"role": "assistant", "content": "A long list of tokens."}]}


def lint_json(*args, cwd=None, env=None):
    r = run_cli("lint", *args, "--output-format", "json", cwd=cwd, env=env)
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr
    return r, json.loads(r.stdout)


def diags(doc) -> list[dict]:
    return doc if isinstance(doc, list) else doc.get("diagnostics", doc)


def codes(doc) -> list[str]:
    return [d["code"] for d in diags(doc)]


def with_code(doc, code: str) -> list[dict]:
    return [d for d in diags(doc) if d["code"] == code]


# --------------------------------------------------------------------------- tokens

def test_openai_over_limit_says_it_will_be_truncated_and_by_how_much(write_jsonl):
    rows = [chat(i) for i in range(12)] + [long_chat(3000)]
    path = write_jsonl("train.jsonl", rows)
    r, doc = lint_json(path, "--target", OPENAI)
    assert r.returncode == 1
    [d] = with_code(doc, "L001")
    assert d["line"] == 13
    t = resolve(OPENAI)
    expected = counter_for(t.tokenizer, t.model).count(rows[-1]).total
    assert expected > 4096
    assert f"{expected:,} tokens" in d["message"]
    assert f"OpenAI will truncate it by {expected - 4096:,} tokens, losing the final assistant turn" \
        in d["message"]
    assert "cl100k_base" in d["message"]  # says which tokenizer counted
    # the same file is fine for a model with a 65,536-token limit
    _, doc2 = lint_json(path, "--target", "openai:gpt-4o-mini-2024-07-18")
    assert "L001" not in codes(doc2)


def test_dashscope_over_max_length_says_it_will_be_dropped(write_jsonl):
    rows = [chat(i) for i in range(5)] + [long_chat(1500)]
    path = write_jsonl("sft.jsonl", rows)
    _, doc = lint_json(path, "--target", "dashscope:qwen-turbo")
    [d] = with_code(doc, "L001")
    assert d["line"] == 6
    assert "2,048-token limit" in d["message"] and "DashScope will drop it silently" in d["message"]
    assert "qwen" in d["message"]


def test_minimax_over_limit_is_labelled_an_estimate(write_jsonl):
    text = " ".join(f"词{i}" for i in range(9000))
    rows = [{"messages": [{"sender_type": "USER", "text": f"问题 {i}"},
                          {"sender_type": "BOT", "text": f"回答 {i}"}],
             "prompt": "你是助手。", "role_meta": {"bot_name": "助手", "user_name": "用户"}}
            for i in range(11)]
    rows.append({"messages": [{"sender_type": "USER", "text": text},
                              {"sender_type": "BOT", "text": "好的"}],
                 "prompt": "你是助手。", "role_meta": {"bot_name": "助手", "user_name": "用户"}})
    path = write_jsonl("mm.jsonl", rows)
    val = write_jsonl("mm-val.jsonl", rows[:2])
    _, doc = lint_json(path, "--target", "minimax", "--validation", val)
    [d] = with_code(doc, "L001")
    assert "an estimated" in d["message"] and "estimate:" in d["message"]
    assert "16,384-token limit" in d["message"]


def test_missing_tokenizer_is_a_warning_that_says_what_to_install(write_jsonl, tmp_path):
    stub = tmp_path / "stub" / "bpe_openai"  # a bpe_openai without its vocabulary files
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("")
    cache = tmp_path / "empty-tiktoken-cache"
    cache.mkdir()
    rows = [chat(i) for i in range(12)] + [long_chat(3000), long_chat(2500)]
    path = write_jsonl("train.jsonl", rows)
    env = {"PYTHONPATH": str(stub.parent), "TIKTOKEN_CACHE_DIR": str(cache)}
    _, doc = lint_json(path, "--target", OPENAI, env=env)
    [d] = with_code(doc, "L002")
    assert d["severity"] == "warning"
    assert "pip install bpe-openai" in d["message"]
    assert "2 lines in this file" in d["message"]  # both undecided examples, none passed silently
    assert "L001" not in codes(doc) and "X001" not in codes(doc)


def test_lint_tokenizes_nothing_when_the_byte_bound_decides(tmp_path, monkeypatch):
    from datakit.tokenizers import OpenAIChatCounter

    calls = []
    original = OpenAIChatCounter.count
    monkeypatch.setattr(OpenAIChatCounter, "count",
                        lambda self, ex: calls.append(1) or original(self, ex))
    path = tmp_path / "train.jsonl"
    rows = [chat(i, "answer " * (i * 10)) for i in range(40)]  # all under 4,096 bytes
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = datakit.lint(str(path), target=OPENAI, workers=1)
    assert calls == [] and "L001" not in report.counts
    # one example the bound cannot decide: exactly one count
    with path.open("a") as f:
        f.write(json.dumps(long_chat(3000)) + "\n")
    report = datakit.lint(str(path), target=OPENAI, workers=1)
    assert len(calls) == 1 and report.counts["L001"] == 1


# --------------------------------------------------------------------------- files

def test_file_over_the_size_limit_points_at_datakit_chunk(write_jsonl, tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.datakit.targets."dashscope:qwen-turbo"]\nfile_max_bytes = 2000\n')
    path = write_jsonl("big.jsonl", [chat(i) for i in range(40)])
    assert os.path.getsize(path) > 2000
    _, doc = lint_json(path, "--target", "dashscope", cwd=tmp_path)
    [d] = with_code(doc, "D001")
    assert "datakit chunk" in d["message"] and "--target dashscope" in d["message"]
    small = write_jsonl("small.jsonl", [chat(i) for i in range(3)])
    _, doc = lint_json(small, "--target", "dashscope", cwd=tmp_path)
    assert "D001" not in codes(doc)


def test_fewer_examples_than_the_minimum(write_jsonl):
    path = write_jsonl("few.jsonl", [chat(i) for i in range(5)])
    _, doc = lint_json(path, "--target", "openai")
    [d] = with_code(doc, "D003")
    assert "5 example(s)" in d["message"] and "at least 10" in d["message"]
    enough = write_jsonl("enough.jsonl", [chat(i) for i in range(10)])
    _, doc = lint_json(enough, "--target", "openai")
    assert "D003" not in codes(doc)


def test_mistral_validation_over_five_percent_of_training(write_jsonl):
    train = write_jsonl("train.jsonl", [chat(i) for i in range(200)])
    val = write_jsonl("val.jsonl", [chat(1000 + i) for i in range(30)])
    _, doc = lint_json(train, "--target", "mistral", "--validation", val)
    [d] = with_code(doc, "D005")
    assert d["path"].endswith("val.jsonl")
    cap = int(0.05 * os.path.getsize(train))
    assert f"at most {cap:,} bytes" in d["message"] and "5%" in d["message"]
    ok = write_jsonl("val-ok.jsonl", [chat(2000 + i) for i in range(5)])
    _, doc = lint_json(train, "--target", "mistral", "--validation", ok)
    assert "D005" not in codes(doc)


def test_mistral_validation_over_the_absolute_cap(write_jsonl, tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.datakit.targets."mistral:open-mistral-nemo"]\nval_max_bytes = 300\n')
    train = write_jsonl("train.jsonl", [chat(i) for i in range(400)])
    val = write_jsonl("val.jsonl", [chat(1000 + i) for i in range(10)])  # < 5 %, > 300 bytes
    _, doc = lint_json(train, "--target", "mistral", "--validation", val, cwd=tmp_path)
    [d] = with_code(doc, "D005")
    assert "at most 300 bytes" in d["message"]


def test_dashscope_validation_over_1000_examples(write_jsonl):
    train = write_jsonl("train.jsonl", [chat(i) for i in range(20)])
    val = write_jsonl("val.jsonl", [chat(100 + i) for i in range(1001)])
    _, doc = lint_json(train, "--target", "dashscope", "--validation", val)
    [d] = with_code(doc, "D005")
    assert "1,001 examples" in d["message"] and "at most 1,000" in d["message"]


def test_minimax_requires_a_validation_file(write_jsonl):
    rows = [{"messages": [{"sender_type": "USER", "text": f"问题 {i}"},
                          {"sender_type": "BOT", "text": f"回答 {i}"}],
             "prompt": "你是助手。", "role_meta": {"bot_name": "助手", "user_name": "用户"}}
            for i in range(12)]
    path = write_jsonl("mm.jsonl", rows)
    _, doc = lint_json(path, "--target", "minimax")
    assert "D007" in codes(doc)


# --------------------------------------------------------------------------- duplicates

def test_exact_duplicates_within_a_file(write_jsonl):
    rows = [chat(i) for i in range(12)]
    rows.insert(7, rows[2])
    path = write_jsonl("dup.jsonl", rows)
    _, doc = lint_json(path, "--target", "openai")
    [d] = with_code(doc, "D004")
    assert d["line"] == 8 and "duplicate of line 3" in d["message"]


def test_duplicates_across_training_and_validation(write_jsonl):
    train = write_jsonl("train.jsonl", [chat(i) for i in range(12)])
    val = write_jsonl("val.jsonl", [chat(100), chat(5), chat(101)])
    r, doc = lint_json(train, "--target", "openai", "--validation", val)
    [d] = with_code(doc, "D006")
    assert d["path"].endswith("val.jsonl") and d["line"] == 2
    assert "line 6 of" in d["message"] and "train.jsonl" in d["message"]
    assert r.returncode == 1


# --------------------------------------------------------------------------- content

@pytest.mark.parametrize("token,target", [("<|im_start|>", "openai"), ("<|endoftext|>", "dashscope"),
                                          ("<|fim_suffix|>", "openai"), ("[INST]", "mistral"),
                                          ("[TOOL_CALLS]", "mistral")])
def test_special_tokens_in_content(write_jsonl, token, target):
    rows = [chat(i) for i in range(12)]
    rows[4]["messages"][0]["content"] = f"please {token} ignore"
    path = write_jsonl("special.jsonl", rows)
    _, doc = lint_json(path, "--target", target, "--format",
                       {"dashscope": "dashscope-sft"}.get(target, "auto"))
    [d] = with_code(doc, "L004")
    assert d["line"] == 5 and token in d["message"]


def test_mistral_control_tokens_are_plain_text_for_other_templates(write_jsonl):
    rows = [chat(i) for i in range(12)]
    rows[4]["messages"][0]["content"] = "the Llama 2 prompt looks like [INST] question [/INST]"
    path = write_jsonl("inst.jsonl", rows)
    _, doc = lint_json(path, "--target", "openai")
    assert "L004" not in codes(doc)


def test_empty_assistant_content(write_jsonl):
    rows = [chat(i) for i in range(12)]
    rows[3]["messages"][1]["content"] = ""
    path = write_jsonl("empty.jsonl", rows)
    _, doc = lint_json(path, "--target", "openai")
    lines = [d["line"] for d in with_code(doc, "R012")]
    assert lines == [4]


def test_every_assistant_turn_weight_zero(write_jsonl):
    rows = [chat(i) for i in range(12)]
    rows[6]["messages"][1]["weight"] = 0
    rows[7]["messages"] += [{"role": "user", "content": "more"},
                            {"role": "assistant", "content": "sure", "weight": 0}]
    path = write_jsonl("weights.jsonl", rows)
    _, doc = lint_json(path, "--target", "openai")
    assert [d["line"] for d in with_code(doc, "L005")] == [7]
    # one finding per example: the target's L005 replaces the format's R009 warning
    assert with_code(doc, "R009") == []
    _, plain = lint_json(path)
    assert [d["line"] for d in with_code(plain, "R009")] == [7]
    assert with_code(plain, "L005") == []


def test_every_limit_rule_is_documented():
    r = run_cli("rules", "--output-format", "json")
    known = {rule["code"] for rule in json.loads(r.stdout)}
    assert {"L001", "L002", "L004", "L005", "D001", "D003", "D004", "D005", "D006", "D007",
            "R012"} <= known
    for code in ("L001", "D005"):
        text = run_cli("rule", code).stdout
        assert re.search(r"## Why is this bad\?", text)

"""Conversion: round trips, the whole conversion matrix against datakit lint, and
Mistral output against mistral-common's own fine-tuning validation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datakit
from datakit.conversion import mapping as M
from datakit.conversion.engine import Settings, convert_object
from datakit.rules.conversion import kind

ROOT = Path(__file__).resolve().parent
SEEDS = ROOT / "fixtures" / "seeds"
CORPORA = ROOT / "fixtures" / "corpora"
ID = re.compile(r"^[a-zA-Z0-9]{9}$")


def _examples() -> list[tuple[str, dict]]:
    out = []
    for p in sorted(SEEDS.glob("*.jsonl")):
        for line in p.read_bytes().splitlines():
            if line.strip():
                out.append((p.stem, orjson.loads(line)))
    for line in (CORPORA / "sharegpt.jsonl").read_bytes().splitlines():
        out.append(("sharegpt", orjson.loads(line)))
    for obj in json.loads((CORPORA / "alpaca.json").read_text(encoding="utf-8")):
        out.append(("alpaca", obj))
    return out


EXAMPLES = _examples()


def conv(obj, src, tgt, on_loss="error", **kw):
    return convert_object(obj, Settings(tgt, src, on_loss, **kw))


# --------------------------------------------------------------------------- mistral-common

def mistral_validate(example: dict) -> None:
    """Validate one Mistral line with mistral-common in fine-tuning mode (raises)."""
    from mistral_common.protocol.instruct.messages import (
        AssistantMessage,
        FinetuningAssistantMessage,
        SystemMessage,
        ToolMessage,
        UserMessage,
    )
    from mistral_common.protocol.instruct.request import ChatCompletionRequest
    from mistral_common.protocol.instruct.validator import (
        MistralRequestValidatorV11,
        ValidationMode,
    )

    classes = {"system": SystemMessage, "user": UserMessage, "tool": ToolMessage}
    msgs = []
    for m in example["messages"]:
        m = {k: v for k, v in m.items() if k != "role"}
        role = example["messages"][len(msgs)]["role"]
        if role == "assistant":
            cls = FinetuningAssistantMessage if "weight" in m else AssistantMessage
            msgs.append(cls(**m))
        else:
            msgs.append(classes[role](**m))
    req = ChatCompletionRequest(messages=msgs, tools=example.get("tools"))
    # V11: the newest rules that still require 9-character [a-zA-Z0-9] ids (the seed, 001)
    MistralRequestValidatorV11(ValidationMode.finetuning).validate_request(req)


def test_mistral_validator_is_a_real_check():
    """The reference rejects what it should, so passing it means something."""
    bad = {"messages": [{"role": "user", "content": "hi"},
                        {"role": "assistant", "tool_calls": [
                            {"id": "call_1", "type": "function",
                             "function": {"name": "f", "arguments": "{}"}}]}]}
    from mistral_common.exceptions import (
        InvalidFunctionCallException,
        InvalidMessageStructureException,
    )

    with pytest.raises(InvalidFunctionCallException):  # the id is not 9 alphanumerics
        mistral_validate(bad)
    with pytest.raises(InvalidMessageStructureException):  # fine-tuning ends on an answer
        mistral_validate({"messages": [{"role": "user", "content": "hi"}]})


# --------------------------------------------------------------------------- matrix

def _lint_errors(lines: list[dict], fmt: str, tmp_path: Path) -> list[str]:
    p = tmp_path / f"out-{fmt}.jsonl"
    p.write_bytes(b"".join(orjson.dumps(o) + b"\n" for o in lines))
    report = datakit.lint(str(p), format=fmt)
    return [f"{d.code} {d.message}" for d in report.diagnostics if d.severity.value == "error"]


@pytest.mark.parametrize("target", [t for t in M.FORMAT_IDS if t != "dashscope-sft-image"])
def test_matrix_outputs_pass_lint(target, tmp_path):
    written = []
    for src, obj in EXAMPLES:
        res = conv(obj, src, target, on_loss="warn")
        if res.status == "written":
            written.append(res.obj)
        else:  # never rejected without a blocking code
            assert any(kind(c) == "fatal" for c in res.codes), (src, res.codes)
    assert written, target
    assert _lint_errors(written, target, tmp_path) == []
    if target == "mistral":
        for o in written:
            mistral_validate(o)


def test_matrix_every_pair_decided():
    """Every (example, target) either converts or names its reason; losses are only
    ever reported, never silent: a target that drops something must say which code."""
    for src, obj in EXAMPLES:
        for target in M.FORMAT_IDS:
            strict = conv(obj, src, target, on_loss="error")
            loose = conv(obj, src, target, on_loss="warn")
            losses = [c for c in strict.codes if kind(c) == "loss"]
            if strict.status == "written":
                assert not losses
                assert strict.obj == loose.obj
            elif losses and not any(kind(c) == "fatal" for c in strict.codes):
                assert loose.status == "written"  # warn writes what error refused


# --------------------------------------------------------------------------- round trips

NORMALISATIONS = {"C051", "C050", "C056"}  # object arguments → text, ids, tool wrappers


@pytest.mark.parametrize("src,obj", EXAMPLES, ids=[f"{s}-{i}" for i, (s, _) in enumerate(EXAMPLES)])
def test_same_format_round_trip_is_exact(src, obj):
    res = conv(obj, src, src)
    if src == "dashscope-sft-image":
        assert res.status == "written"  # no archive given: names kept as they are
    assert res.status == "written", res.findings
    assert set(res.codes) <= NORMALISATIONS | {"C058"}, res.codes
    if not set(res.codes) & {"C058"}:
        assert res.obj == obj


def test_sharegpt_parallel_calls_read_back():
    src = next(o for s, o in EXAMPLES if s == "sharegpt" and "杭州" in json.dumps(o,
                                                                                 ensure_ascii=False))
    res = conv(src, "sharegpt", "openai")
    calls = res.obj["messages"][1]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["current_time", "get_weather"]
    results = [m for m in res.obj["messages"] if m["role"] == "tool"]
    assert [r["tool_call_id"] for r in results] == [c["id"] for c in calls]
    assert results[0]["content"] == "14:05"


# --------------------------------------------------------------------------- Mistral ids

def test_mistral_ids_deterministic_and_paired():
    obj = {"messages": [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"role": "assistant", "tool_calls": [
            {"id": "call_abc", "type": "function", "function": {"name": "w", "arguments": "{\"c\": \"Paris\"}"}},
            {"id": "call_def", "type": "function", "function": {"name": "w", "arguments": "{'c': 'Rome'}"}}]},
        {"role": "tool", "tool_call_id": "call_def", "content": "20"},
        {"role": "tool", "tool_call_id": "call_abc", "content": "18"},
        {"role": "assistant", "content": "Paris 18, Rome 20."}],
        "tools": [{"type": "function", "function": {"name": "w"}}]}
    a = conv(obj, "openai", "mistral")
    b = conv(obj, "openai", "mistral")
    assert a.status == "written" and a.obj == b.obj
    assert {"C050", "C051", "C056"} <= set(a.codes)
    calls = a.obj["messages"][1]["tool_calls"]
    ids = [c["id"] for c in calls]
    assert all(ID.match(i) for i in ids) and len(set(ids)) == 2
    assert a.obj["messages"][2]["tool_call_id"] == ids[1]
    assert a.obj["messages"][3]["tool_call_id"] == ids[0]
    assert json.loads(calls[1]["function"]["arguments"]) == {"c": "Rome"}
    mistral_validate(a.obj)


def test_duplicate_ids_across_turns_get_distinct_mistral_ids():
    call = lambda: {"id": "abcdefghi", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    obj = {"messages": [
        {"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [call()]},
        {"role": "tool", "tool_call_id": "abcdefghi", "content": "1"},
        {"role": "assistant", "content": "one"}, {"role": "user", "content": "b"},
        {"role": "assistant", "tool_calls": [call()]},
        {"role": "tool", "tool_call_id": "abcdefghi", "content": "2"},
        {"role": "assistant", "content": "two"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}
    res = conv(obj, "openai", "mistral")
    m = res.obj["messages"]
    assert m[1]["tool_calls"][0]["id"] == "abcdefghi"  # valid ids are kept
    second = m[5]["tool_calls"][0]["id"]
    assert second != "abcdefghi" and ID.match(second) and m[6]["tool_call_id"] == second
    mistral_validate(res.obj)


@pytest.mark.parametrize("args,code", [("word=listen", "C025"), ("[1, 2]", "C025")])
def test_unrepairable_arguments_block(args, code):
    obj = {"messages": [{"role": "user", "content": "x"},
                        {"role": "assistant", "tool_calls": [
                            {"id": "abcdefghi", "type": "function",
                             "function": {"name": "f", "arguments": args}}]},
                        {"role": "tool", "tool_call_id": "abcdefghi", "content": "1"},
                        {"role": "assistant", "content": "done"}]}
    for on_loss in ("error", "warn", "drop"):
        res = conv(obj, "openai", "openai", on_loss)
        assert res.status == "rejected" and code in res.codes


# --------------------------------------------------------------------------- losses and options

def test_losses_reported_per_kind():
    obj = {"messages": [{"role": "system", "content": "s"},
                        {"role": "user", "content": "hi", "name": "ann"},
                        {"role": "assistant", "content": "a", "weight": 0},
                        {"role": "system", "content": "late"},
                        {"role": "user", "content": "more"},
                        {"role": "assistant", "content": "b"}]}
    res = conv(obj, "openai", "siliconflow", "warn")
    assert {"C002", "C003", "C006"} <= set(res.codes)
    assert [m["role"] for m in res.obj["messages"]] == ["system", "user", "assistant", "user",
                                                        "assistant"]
    assert conv(obj, "openai", "siliconflow", "error").status == "rejected"


def test_merge_consecutive_and_trim_trailing():
    obj = {"messages": [{"role": "user", "content": "Hi"}, {"role": "user", "content": "There?"},
                        {"role": "assistant", "content": "Yes."}, {"role": "user", "content": "k"}]}
    plain = conv(obj, "openai", "dashscope-sft")
    assert plain.status == "rejected" and "C023" in plain.codes
    res = conv(obj, "openai", "dashscope-sft", merge_consecutive=True, trim_trailing=True)
    assert res.status == "written" and {"C052", "C053"} <= set(res.codes)
    assert res.obj["messages"] == [{"role": "user", "content": "Hi\n\nThere?"},
                                   {"role": "assistant", "content": "Yes."}]


def test_minimax_names_and_defaults():
    obj = {"messages": [{"role": "system", "content": "persona"},
                        {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    res = conv(obj, "openai", "minimax-pro", bot_name="Bot", user_name="Me")
    assert res.obj["bot_setting"] == [{"bot_name": "Bot", "content": "persona"}]
    assert [m["sender_name"] for m in res.obj["messages"]] == ["Me", "Bot"]
    assert "C054" in res.codes
    back = conv(res.obj, "minimax-pro", "minimax")
    assert back.obj["role_meta"] == {"user_name": "Me", "bot_name": "Bot"}
    assert back.obj["prompt"] == "persona" and "C054" not in back.codes


def test_preference_pairs():
    dpo = next(o for s, o in EXAMPLES if s == "dashscope-dpo")
    multi = conv(dpo, "dashscope-dpo", "openai-preference")
    assert multi.status == "rejected" and "C004" in multi.codes
    single = next(o for s, o in EXAMPLES if s == "openai-preference")
    there = conv(single, "openai-preference", "dashscope-dpo")
    back = conv(there.obj, "dashscope-dpo", "openai-preference")
    assert back.obj["preferred_output"] == single["preferred_output"]
    assert back.obj["non_preferred_output"] == single["non_preferred_output"]
    assert conv(single, "openai-preference", "openai").codes == ["C008"]
    assert conv({"messages": [{"role": "user", "content": "q"}, {"role": "assistant",
                                                                 "content": "a"}]},
                "openai", "dashscope-dpo", "warn").codes == ["C022"]


def test_bad_examples_are_diagnosed_not_raised():
    for obj, code in [({"conversations": "nope"}, "C020"), ({"text": "x"}, "C021"), ([1, 2], "C021"),
                      ({"messages": [{"role": "wizard", "content": "x"}]}, "C020")]:
        res = conv(obj, "auto", "mistral", "warn")
        assert res.status == "rejected" and res.codes == [code]


# --------------------------------------------------------------------------- properties

TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FFFF,
                                      exclude_categories=("Cs", "Co", "Cn")),
               min_size=1, max_size=30).filter(lambda s: s.strip() != "")
CJK_EMOJI = st.sampled_from(["你好,世界", "天气怎么样?", "🌧️☔", "😀👍🏽", "naïve café", "東京タワー"])
WORDS = st.one_of(TEXT, CJK_EMOJI)
FNS = ["get_weather", "convert_currency", "lookup"]


@st.composite
def chats(draw, tools: bool, weights: bool, parallel: bool = True):
    msgs = []
    if draw(st.booleans()):
        msgs.append({"role": "system", "content": draw(WORDS)})
    used: set[str] = set()
    n_ids = 0
    for _ in range(draw(st.integers(1, 3))):
        msgs.append({"role": "user", "content": draw(WORDS)})
        if tools and draw(st.booleans()):
            k = draw(st.integers(1, 2 if parallel else 1))
            calls = []
            for _ in range(k):
                name = draw(st.sampled_from(FNS))
                used.add(name)
                n_ids += 1
                cid = draw(st.from_regex(r"[a-zA-Z0-9]{8}", fullmatch=True)) + str(n_ids % 10)
                args = draw(st.dictionaries(st.sampled_from(["city", "q", "n"]),
                                            st.one_of(WORDS, st.integers(-5, 5)), max_size=2))
                calls.append({"id": cid, "type": "function",
                              "function": {"name": name,
                                           "arguments": json.dumps(args, ensure_ascii=False)}})
            msgs.append({"role": "assistant", "tool_calls": calls})
            for c in calls:
                msgs.append({"role": "tool", "tool_call_id": c["id"], "content": draw(WORDS)})
        answer = {"role": "assistant", "content": draw(WORDS)}
        if weights and draw(st.booleans()):
            answer["weight"] = draw(st.sampled_from([0, 1]))
        msgs.append(answer)
    ids = [c["id"] for m in msgs for c in m.get("tool_calls", [])]
    if len(set(ids)) != len(ids):  # ids are unique within a conversation
        from hypothesis import reject

        reject()
    obj = {"messages": msgs}
    if used:
        obj["tools"] = [{"type": "function", "function": {
            "name": n, "description": f"{n} tool",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
            for n in sorted(used)]
    return obj


def _ids_by_position(obj: dict) -> dict:
    """Replace ids by their order of appearance (ShareGPT pairs by position)."""
    seen: dict[str, str] = {}
    out = json.loads(json.dumps(obj))
    for m in out["messages"]:
        for c in m.get("tool_calls", []):
            c["id"] = seen.setdefault(c["id"], f"#{len(seen)}")
        if "tool_call_id" in m:
            m["tool_call_id"] = seen[m["tool_call_id"]]
    return out


PROP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.filter_too_much])


@PROP
@given(chats(tools=True, weights=True))
def test_openai_mistral_openai_is_exact(obj):
    there = conv(obj, "openai", "mistral")
    assert there.status == "written", there.findings
    assert there.codes == []
    mistral_validate(there.obj)
    back = conv(there.obj, "mistral", "openai")
    assert back.obj == obj


@PROP
@given(chats(tools=True, weights=False, parallel=False))
def test_openai_sharegpt_openai_keeps_meaning(obj):
    there = conv(obj, "openai", "sharegpt")
    assert there.status == "written", there.findings
    back = conv(there.obj, "sharegpt", "openai")
    assert back.status == "written"
    assert _ids_by_position(back.obj) == _ids_by_position(obj)
    again = conv(back.obj, "openai", "mistral")
    mistral_validate(again.obj)


@PROP
@given(chats(tools=False, weights=False),
       st.sampled_from(["siliconflow", "dashscope-sft", "alpaca", "minimax", "sharegpt",
                        "mistral", "dashscope-sft-image"]))
def test_text_chat_round_trips_through_every_text_format(obj, fmt):
    there = conv(obj, "openai", fmt)
    assert there.status == "written", there.findings
    assert there.codes == []
    again = conv(there.obj, fmt, fmt)
    assert again.obj == there.obj  # F -> model -> F
    back = conv(there.obj, fmt, "openai")
    if fmt == "dashscope-sft-image":  # content comes back as a list of text parts
        for m in back.obj["messages"]:
            m["content"] = "".join(p["text"] for p in m["content"])
    assert back.obj == obj


@PROP
@given(chats(tools=False, weights=False), st.sampled_from(["Ann", "小明", "🤖"]),
       st.sampled_from(["Bot", "助手"]))
def test_minimax_pro_minimax_round_trip_with_names(obj, user, bot):
    pro = conv(obj, "openai", "minimax-pro", user_name=user, bot_name=bot)
    assert pro.status == "written"
    plain = conv(pro.obj, "minimax-pro", "minimax")
    assert plain.status == "written" and plain.codes == []
    back = conv(plain.obj, "minimax", "minimax-pro")
    assert back.codes == []
    if sum(m["role"] == "system" for m in obj["messages"]):
        assert back.obj == pro.obj
    else:  # without a persona text the bot name lives in role_meta / an empty bot_setting
        assert back.obj["messages"] == pro.obj["messages"]

"""The ShareGPT fast path (datakit.conversion.fast) answers exactly as the model does.

Wherever the shortcut answers, the output dict and the findings must equal
``read`` → ``adapt`` → ``write``; wherever the model would lose, change or refuse
something (other than generating tool-call ids), the shortcut must step aside.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datakit.conversion.adapt import Options, adapt
from datakit.conversion.engine import Settings, convert_lines
from datakit.conversion.fast import FAST
from datakit.conversion.readers import ReadError, read
from datakit.conversion.writers import write
from datakit.rules.conversion import kind

CORPORA = Path(__file__).resolve().parent / "fixtures" / "corpora"
TARGETS = sorted({t for _, t in FAST})


def _model(obj: dict, target: str):
    conv = read(obj, "sharegpt")
    findings = adapt(conv, Options(target))
    return conv, findings


def _check(obj: dict, target: str) -> bool:
    """Assert agreement; True when the fast path answered."""
    got = FAST[("sharegpt", target)](json.loads(json.dumps(obj)))
    try:
        conv, findings = _model(json.loads(json.dumps(obj)), target)
    except ReadError:
        assert got is None, "the fast path accepted an example the reader refuses"
        return False
    if got is None:
        return False
    out, fast_findings = got
    assert [(f.code, f.message, f.pointer) for f in fast_findings] == \
        [(f.code, f.message, f.pointer) for f in findings]
    assert orjson.dumps(out) == orjson.dumps(write(conv, target))
    return True


@pytest.mark.parametrize("target", TARGETS)
def test_corpus_agrees(target):
    answered = 0
    for line in (CORPORA / "sharegpt.jsonl").read_bytes().splitlines():
        answered += _check(orjson.loads(line), target)
    assert answered  # the shortcut is actually used on a real corpus


TEXT = st.sampled_from(["", "hi", "你好，世界", "emoji 😀👍🏽", "[\"a\", \"b\"]", "line\nbreak"])
# Mistral rejects an assistant turn with no text (C029), so its clean examples never have one.
ANSWER = {"mistral": TEXT.filter(bool)}
NAMES = st.sampled_from(["search", "get_weather", "bad name", "x" * 65, "ok\n"])


@st.composite
def calls(draw):
    n = draw(st.integers(0, 3))
    items = []
    for _ in range(n):
        c = {"name": draw(NAMES)}
        if draw(st.booleans()):
            c["arguments"] = draw(st.one_of(
                st.dictionaries(st.sampled_from(["q", "城市", "n"]), st.one_of(TEXT, st.integers(-5, 5)),
                                max_size=2),
                st.just("{\"q\": 1}"), st.none(), st.just([1])))
        if draw(st.integers(0, 9)) == 0:
            c["extra"] = 1
        items.append(c)
    return items[0] if n == 1 and draw(st.booleans()) else items


@st.composite
def sharegpt(draw):
    turns = []
    for _ in range(draw(st.integers(0, 7))):
        frm = draw(st.sampled_from(["human", "gpt", "system", "function_call", "observation",
                                    "user", "assistant", "tool", "weird"]))
        if frm == "function_call":
            value = json.dumps(draw(calls()), ensure_ascii=False)
        elif frm == "observation" and draw(st.booleans()):
            value = json.dumps(draw(st.lists(TEXT, min_size=1, max_size=3)), ensure_ascii=False)
        else:
            value = draw(TEXT)
        t = {"from": frm, "value": value}
        if draw(st.integers(0, 15)) == 0:
            t["weight"] = 0
        turns.append(t)
    obj: dict = {"conversations": turns}
    if draw(st.booleans()):
        obj["system"] = draw(st.one_of(TEXT, st.none()))
    if draw(st.booleans()):
        fns = [{"name": n, "description": "d", **({"parameters": {"type": "object"}}
                                                 if draw(st.booleans()) else {})}
               for n in draw(st.lists(st.sampled_from(["search", "get_weather"]), max_size=2,
                                      unique=True))]
        obj["tools"] = draw(st.sampled_from([json.dumps(fns), fns, "", "not json"]))
    if draw(st.integers(0, 10)) == 0:
        obj["id"] = "x1"
    return obj


@st.composite
def clean_tool_chat(draw, target):
    """Examples the shortcut should answer for mistral: calls, parallel calls, results."""
    turns: list[dict] = [{"from": "human", "value": draw(TEXT)}]
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(1, 3))
        cs = [{"name": draw(st.sampled_from(["search", "get_weather"])),
               "arguments": {"q": draw(TEXT)}} for _ in range(k)]
        turns.append({"from": "function_call",
                      "value": json.dumps(cs[0] if k == 1 else cs, ensure_ascii=False)})
        results = [draw(TEXT) for _ in range(k)]
        turns.append({"from": "observation",
                      "value": results[0] if k == 1 else json.dumps(results, ensure_ascii=False)})
        turns.append({"from": "gpt", "value": draw(ANSWER.get(target, TEXT))})
    fns = [{"name": n, "parameters": {"type": "object", "properties": {}}}
           for n in ("search", "get_weather")]
    return {"conversations": turns, "tools": json.dumps(fns)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sharegpt(), st.sampled_from(TARGETS))
def test_generated_examples_agree(obj, target):
    _check(obj, target)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["mistral", "openai"]).flatmap(
    lambda t: st.tuples(clean_tool_chat(t), st.just(t))))
def test_clean_tool_examples_take_the_shortcut(case):
    obj, target = case
    assert _check(obj, target)


def test_shortcut_off_when_options_change_turns():
    """--merge-consecutive / --trim-trailing go through the model (they edit turns)."""
    line = orjson.dumps({"conversations": [{"from": "human", "value": "a"},
                                           {"from": "human", "value": "b"},
                                           {"from": "gpt", "value": "c"}]}) + b"\n"
    res = convert_lines([line], Settings("siliconflow", "sharegpt", "drop",
                                         merge_consecutive=True))
    assert res.tally.written == 1 and res.tally.changes["C052"] == 1
    assert orjson.loads(res.out[0])["messages"][0]["content"] == "a\n\nb"


def test_direct_lines_keep_line_numbers_bom_blank_and_bad_json():
    good = orjson.dumps({"conversations": [{"from": "human", "value": "你好"},
                                           {"from": "gpt", "value": "👋"}]})
    lines = [b"\xef\xbb\xbf" + good + b"\r\n", b"\n", b"   \n", b'{"conversations": [\n',
             good + b"\n", good]
    res = convert_lines(lines, Settings("mistral", "sharegpt", "drop"), "in.jsonl", 1)
    assert res.tally.read == 4 and res.tally.written == 3
    assert res.tally.rejected == {"C020": 1}
    assert [(line, ex, f.code) for line, ex, f in res.diags] == [(4, 1, "C020")]
    assert orjson.loads(res.rejects[0])["line"] == 4
    assert [orjson.loads(x)["messages"][1]["content"] for x in res.out] == ["👋"] * 3
    assert all(x.endswith(b"\n") for x in res.out)


@pytest.mark.parametrize("target", ["mistral", "openai"])
def test_batch_path_with_shared_tool_lists_agrees(target):
    """convert_lines parses a repeated `tools` text once per batch; the lines still equal
    the model's, and a tool list seen twice is written twice."""
    lines = (CORPORA / "sharegpt.jsonl").read_bytes().splitlines(keepends=True)
    lines = lines + lines
    res = convert_lines(lines, Settings(target, "sharegpt", "drop"))
    got = iter(res.out)
    for line in lines:
        conv, findings = _model(orjson.loads(line), target)
        if any(kind(f.code) != "change" for f in findings):
            continue
        assert next(got) == orjson.dumps(write(conv, target)) + b"\n"
    assert next(got, None) is None


@st.composite
def clean_text_chat(draw, target):
    turns = []
    if draw(st.booleans()):
        turns.append({"from": "system", "value": draw(TEXT)})
    for _ in range(draw(st.integers(1, 4))):
        turns.append({"from": draw(st.sampled_from(["human", "user"])), "value": draw(TEXT)})
        turns.append({"from": draw(st.sampled_from(["gpt", "assistant", "chatgpt"])),
                      "value": draw(ANSWER.get(target, TEXT))})
    obj = {"conversations": turns}
    if draw(st.booleans()):
        obj["system"] = draw(TEXT)
    return obj


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(TARGETS).flatmap(lambda t: st.tuples(clean_text_chat(t), st.just(t))))
def test_clean_text_examples_take_the_shortcut(case):
    obj, target = case
    two_systems = "system" in obj and obj["conversations"][0]["from"] == "system"
    answered = _check(obj, target)
    assert answered or (two_systems and target in ("siliconflow", "dashscope-sft"))


def test_auto_source_takes_the_same_path_and_output():
    lines = (CORPORA / "sharegpt.jsonl").read_bytes().splitlines(keepends=True)
    a = convert_lines(lines, Settings("mistral", "sharegpt", "drop"))
    b = convert_lines(lines, Settings("mistral", "auto", "drop"))
    assert a.out == b.out and a.tally.changes == b.tally.changes
    assert b.tally.sources == {"sharegpt": len(lines)}

"""Convert diagnostics point into the source line as the user wrote it.

Every pointer is an RFC 6901 pointer into the parsed source example, not into
datakit's conversation model: `/input/messages/0/name` for openai-preference,
`/conversations/1/value` for ShareGPT, `/history/0/1` for Alpaca, ...
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datakit.conversion import mapping as M
from datakit.conversion.engine import Settings, convert_lines, convert_object

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TARGETS = list(M.CAPS)
MISSING = object()


def resolve(doc, ptr: str):
    """RFC 6901: the value at ``ptr`` inside ``doc``, or MISSING."""
    if ptr == "":
        return doc
    assert ptr.startswith("/"), ptr
    value = doc
    for raw in ptr[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            if token not in value:
                return MISSING
            value = value[token]
        elif isinstance(value, list):
            if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
                return MISSING
            if int(token) >= len(value):
                return MISSING
            value = value[int(token)]
        else:
            return MISSING
    return value


def _findings(obj: dict, src: str, target: str):
    out = convert_object(json.loads(json.dumps(obj)), Settings(target, src, on_loss="warn"))
    return out.findings


def _at(obj: dict, src: str, target: str, code: str) -> list[str]:
    return [f.pointer for f in _findings(obj, src, target) if f.code == code]


# --------------------------------------------------------------------------- one per format

NAMED = [{"role": "user", "content": "hi", "name": "bob"}]
ANSWER = {"role": "assistant", "content": "a"}
WORSE = {"role": "assistant", "content": "b"}

CASES = [
    # (source format, target, example, code, expected pointer, expected value)
    ("openai", "mistral", {"messages": NAMED + [ANSWER]}, "C006", "/messages/0/name", "bob"),
    ("openai-preference", "mistral",
     {"input": {"messages": NAMED}, "preferred_output": [ANSWER],
      "non_preferred_output": [WORSE]},
     "C006", "/input/messages/0/name", "bob"),
    ("openai-preference", "mistral",
     {"input": {"messages": NAMED}, "preferred_output": [ANSWER],
      "non_preferred_output": [WORSE]},
     "C008", "/non_preferred_output/0", WORSE),
    ("openai-preference", "openai",
     {"input": {"messages": [{"role": "user", "content": "q"}], "parallel_tool_calls": False},
      "preferred_output": [ANSWER], "non_preferred_output": [WORSE]},
     "C008", "/non_preferred_output/0", WORSE),
    ("dashscope-dpo", "alpaca",
     {"messages": NAMED, "chosen": ANSWER, "rejected": WORSE},
     "C006", "/messages/0/name", "bob"),
    ("dashscope-dpo", "alpaca",
     {"messages": NAMED, "chosen": ANSWER, "rejected": WORSE}, "C008", "/rejected", WORSE),
    # ShareGPT: the `system` key is model message 0, so turn j is not model message j.
    ("sharegpt", "mistral",
     {"system": "s", "conversations": [{"from": "human", "value": "hi", "lang": "en"},
                                       {"from": "gpt", "value": "yo"}]},
     "C005", "/conversations/0", {"from": "human", "value": "hi", "lang": "en"}),
    ("sharegpt", "openai",
     {"system": "s", "conversations": [
         {"from": "human", "value": "weather?"},
         {"from": "function_call", "value": '{"name": "bad name!", "arguments": {}}'},
         {"from": "observation", "value": "sunny"},
         {"from": "gpt", "value": "sunny"}]},
     "C027", "/conversations/1/value", '{"name": "bad name!", "arguments": {}}'),
    ("sharegpt", "mistral",
     {"system": "s", "conversations": [{"from": "human", "value": "hi"},
                                       {"from": "gpt", "value": ""}]},
     "C029", "/conversations/1/value", ""),
    ("alpaca", "mistral",
     {"system": "s", "instruction": "do", "input": "it", "output": "ok",
      "history": [["a", ""]]},
     "C029", "/history/0/1", ""),
    ("alpaca", "mistral", {"instruction": "do", "output": " "}, "C029", "/output", " "),
    ("minimax", "mistral",
     {"prompt": "p", "role_meta": {"user_name": "U", "bot_name": "B"},
      "messages": [{"sender_type": "USER", "sender_name": "U", "text": "hi"},
                   {"sender_type": "BOT", "sender_name": "B", "text": "yo"}]},
     "C006", "/messages/0/sender_name", "U"),
    ("minimax-pro", "mistral",
     {"bot_setting": [{"bot_name": "B", "content": "persona"}],
      "messages": [{"sender_type": "USER", "sender_name": "U", "text": "hi"},
                   {"sender_type": "BOT", "sender_name": "B", "text": "yo"}],
      "reply_constraints": {"sender_type": "BOT", "sender_name": "B"}},
     "C006", "/bot_setting/0/bot_name", "B"),
    ("minimax-pro", "openai",
     {"bot_setting": [{"bot_name": "B", "content": "persona", "mood": "calm"}],
      "messages": [{"sender_type": "USER", "sender_name": "U", "text": "hi"},
                   {"sender_type": "BOT", "sender_name": "B", "text": "yo"}],
      "reply_constraints": {"sender_type": "BOT", "sender_name": "B"}},
     "C005", "/bot_setting/0", {"bot_name": "B", "content": "persona", "mood": "calm"}),
    ("dashscope-sft-image", "mistral",
     {"messages": [{"role": "user", "content": [{"text": "look"}, {"image": "cat.png"}]},
                   {"role": "assistant", "content": [{"text": "a cat"}]}]},
     "C010", "/messages/0/content/1", {"image": "cat.png"}),
    ("dashscope-sft-image", "alpaca",
     {"messages": [{"role": "user", "content": [{"text": "look"}, {"image": "cat.png"}]},
                   {"role": "assistant", "content": [{"text": "a cat"}]}]},
     "C007", "/messages/0/content/1", {"image": "cat.png"}),
    ("openai", "mistral",
     {"messages": [{"role": "user", "content": "q"},
                   {"role": "assistant", "content": None,
                    "function_call": {"name": "f", "arguments": ""}},
                   {"role": "function", "name": "f", "content": "r"},
                   {"role": "assistant", "content": "done"}],
      "functions": [{"name": "f", "parameters": {"type": "object", "properties": {}}}]},
     "C051", "/messages/1/function_call/arguments", ""),
]


@pytest.mark.parametrize(("src", "target", "obj", "code", "ptr", "value"), CASES,
                         ids=[f"{c[0]}-{c[3]}-{n}" for n, c in enumerate(CASES)])
def test_pointer_names_the_source_value(src, target, obj, code, ptr, value):
    got = _at(obj, src, target, code)
    assert ptr in got, (got, _findings(obj, src, target))
    assert resolve(obj, ptr) == value


def test_cli_batch_prints_source_pointers():
    line = orjson.dumps({"input": {"messages": NAMED}, "preferred_output": [ANSWER],
                         "non_preferred_output": [WORSE]})
    res = convert_lines([line], Settings("mistral", "auto", on_loss="warn"), "x.jsonl")
    text = repr(res)
    assert "/input/messages/0/name" in text
    assert "'/messages/0/name'" not in text


def test_fast_path_and_model_path_agree_on_sharegpt_calls():
    obj = {"conversations": [
        {"from": "human", "value": "q"},
        {"from": "function_call", "value": '{"name": "f", "arguments": {"x": 1}}'},
        {"from": "observation", "value": "r"},
        {"from": "gpt", "value": "done"}],
        "tools": [{"name": "f", "parameters": {"type": "object", "properties": {}}}]}
    fast = convert_object(json.loads(json.dumps(obj)), Settings("mistral", "sharegpt"))
    model = convert_object(json.loads(json.dumps(obj)), Settings("mistral", "sharegpt"),
                           fast=False)
    assert [(f.code, f.pointer) for f in fast.findings] == \
        [(f.code, f.pointer) for f in model.findings] == [("C050", "/conversations")]


# --------------------------------------------------------------------------- sweep

def _examples():
    for path in sorted((FIXTURES / "seeds").glob("*.jsonl")):
        for n, line in enumerate(path.read_bytes().splitlines()):
            if line.strip():
                yield f"seeds/{path.name}:{n + 1}", path.stem, orjson.loads(line)
    for n, line in enumerate((FIXTURES / "corpora" / "sharegpt.jsonl").read_bytes().splitlines()):
        if line.strip():
            yield f"corpora/sharegpt.jsonl:{n + 1}", "sharegpt", orjson.loads(line)
    for n, obj in enumerate(json.loads((FIXTURES / "corpora" / "alpaca.json").read_text("utf-8"))):
        yield f"corpora/alpaca.json:{n}", "alpaca", obj


EXAMPLES = list(_examples())


def _check_resolves(obj: dict, src: str, target: str) -> int:
    """Every non-empty pointer resolves in the source, to a value of the right kind."""
    checked = 0
    for f in _findings(obj, src, target):
        if not f.pointer:
            continue
        value = resolve(obj, f.pointer)
        assert value is not MISSING, (src, target, f)
        last = f.pointer.rsplit("/", 1)[-1]
        if last in ("name", "sender_name", "bot_name", "role", "from", "sender_type", "value",
                    "text", "arguments"):
            assert isinstance(value, str), (src, target, f, value)
        if f.code == "C005" and " keys [" in f.message and f.message.startswith("message "):
            keys = f.message.split(" keys ", 1)[1].split("]", 1)[0] + "]"
            assert isinstance(value, dict), (src, target, f, value)
            assert set(json.loads(keys.replace("'", '"'))) <= set(value), (src, target, f)
        checked += 1
    return checked


@pytest.mark.parametrize("target", TARGETS)
def test_every_fixture_pointer_resolves(target):
    for where, src, obj in EXAMPLES:
        _check_resolves(obj, src, target)


def test_the_sweep_sees_pointers():
    assert sum(_check_resolves(obj, src, t) for _, src, obj in EXAMPLES for t in TARGETS) > 20


# --------------------------------------------------------------------------- generated

TEXT = st.sampled_from(["", " ", "hi", "你好", "[\"a\", \"b\"]"])
NAME = st.none() | st.sampled_from(["bob", "ann"])


@st.composite
def sharegpt_lines(draw) -> dict:
    turns = []
    for _ in range(draw(st.integers(0, 5))):
        frm = draw(st.sampled_from(["human", "gpt", "system", "observation", "function_call"]))
        value = draw(TEXT) if frm != "function_call" else draw(st.sampled_from([
            '{"name": "f", "arguments": {}}', '[{"name": "f"}, {"name": "g"}]',
            '{"name": "bad name", "arguments": ""}']))
        turn = {"from": frm, "value": value}
        if draw(st.booleans()):
            turn["lang"] = "en"
        turns.append(turn)
    obj: dict = {"conversations": turns}
    if draw(st.booleans()):
        obj["system"] = draw(TEXT)
    if draw(st.booleans()):
        obj["tools"] = draw(st.sampled_from(['[{"name": "f"}]', [{"name": "g"}], {"name": "f"}]))
    return obj


@st.composite
def chat_lines(draw) -> dict:
    msgs = []
    for _ in range(draw(st.integers(0, 5))):
        m = {"role": draw(st.sampled_from(["system", "user", "assistant", "tool"])),
             "content": draw(TEXT)}
        name = draw(NAME)
        if name is not None:
            m["name"] = name
        if draw(st.booleans()):
            m["weight"] = draw(st.sampled_from([0, 1]))
        if m["role"] == "assistant" and draw(st.booleans()):
            m["tool_calls"] = [{"id": "c1", "type": "function",
                                "function": {"name": "f", "arguments": draw(TEXT)}}]
        if m["role"] == "tool" and draw(st.booleans()):
            m["tool_call_id"] = "c1"
        msgs.append(m)
    return {"messages": msgs}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(sharegpt_lines(), st.sampled_from(TARGETS))
def test_generated_sharegpt_pointers_resolve(obj, target):
    _check_resolves(obj, "sharegpt", target)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(chat_lines(), st.sampled_from(TARGETS), st.booleans())
def test_generated_preference_pointers_resolve(obj, target, wrap):
    if wrap:
        obj = {"input": obj, "preferred_output": [ANSWER], "non_preferred_output": [WORSE]}
        _check_resolves(obj, "openai-preference", target)
    else:
        _check_resolves(obj, "openai", target)


@st.composite
def other_lines(draw) -> tuple[str, dict]:
    fmt = draw(st.sampled_from(["minimax", "minimax-pro", "alpaca"]))
    if fmt == "alpaca":
        obj: dict = {"instruction": draw(TEXT), "input": draw(TEXT), "output": draw(TEXT)}
        if draw(st.booleans()):
            obj["system"] = draw(TEXT)
        if draw(st.booleans()):
            obj["history"] = draw(st.lists(st.tuples(TEXT, TEXT).map(list), max_size=2))
        return fmt, obj
    msgs = []
    for _ in range(draw(st.integers(0, 4))):
        m = {"sender_type": draw(st.sampled_from(["USER", "BOT"])), "text": draw(TEXT)}
        name = draw(NAME)
        if name is not None:
            m["sender_name"] = name
        if draw(st.booleans()):
            m["mood"] = "calm"
        msgs.append(m)
    obj = {"messages": msgs}
    if fmt == "minimax":
        if draw(st.booleans()):
            obj["prompt"] = draw(TEXT)
        if draw(st.booleans()):
            obj["role_meta"] = {"user_name": "U", "bot_name": "B", "x": 1}
    else:
        obj["bot_setting"] = [{"bot_name": draw(st.sampled_from(["B", "C"])), "content": draw(TEXT)}
                              for _ in range(draw(st.integers(1, 2)))]
        obj["reply_constraints"] = {"sender_type": "BOT", "sender_name": "B"}
    return fmt, obj


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(other_lines(), st.sampled_from(TARGETS))
def test_generated_minimax_and_alpaca_pointers_resolve(case, target):
    fmt, obj = case
    _check_resolves(obj, fmt, target)


@pytest.mark.parametrize("src,target,obj,code,words,ptr", [
    # the system key comes first in the model: the text's number is still the line's
    ("sharegpt", "mistral", {"system": "s", "conversations": [
        {"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"},
        {"from": "observation", "value": "x"}, {"from": "gpt", "value": "ok"}]},
     "C026", "message 2 is a tool result", "/conversations/2"),
    ("alpaca", "mistral", {"instruction": "i", "output": "o", "history": [["a", ""]]},
     "C029", "history pair 0 (response) is an assistant turn", "/history/0/1"),
    ("openai-preference", "openai-preference", {
        "input": {"messages": [{"role": "user", "content": "q"}]},
        "preferred_output": [{"role": "assistant", "content": "a", "weight": 0}],
        "non_preferred_output": [{"role": "assistant", "content": "b"}]},
     "C002", "weight 0 (not trained) on the preferred answer", "/preferred_output/0/weight"),
])
def test_diagnostic_texts_name_messages_as_the_pointer_does(src, target, obj, code, words, ptr):
    found = [f for f in _findings(obj, src, target) if f.code == code]
    assert found, [f.code for f in _findings(obj, src, target)]
    assert words in found[0].message and found[0].pointer == ptr, found[0]

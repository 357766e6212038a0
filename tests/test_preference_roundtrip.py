"""Property round trips for the preference (DPO) formats: openai-preference and
dashscope-dpo.

Each property converts generated examples with the public API (``datakit.convert``,
``datakit.convert_batch``) and checks two things: what survives A -> B -> A is the
example itself wherever both formats carry the same information, and anything a
target cannot carry is reported with a C-code loss (never dropped silently). Every
converted output must lint clean for its own format.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datakit
from datakit.conversion import mapping as M
from datakit.conversion.engine import ConversionError
from datakit.rules.conversion import kind

PREFERENCE = ("openai-preference", "dashscope-dpo")
# Supervised targets a preference pair can go to (its chosen answer becomes the last
# turn). dashscope-sft-image is left out: its output is a zip, linted as one.
SUPERVISED = tuple(f for f in M.FORMAT_IDS
                   if M.CAPS[f].preference == "none" and f != "dashscope-sft-image")

PROP = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# --------------------------------------------------------------------------- strategies

_PLAIN = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FFFF,
                                        exclude_categories=("Cs", "Co", "Cn")),
                 min_size=1, max_size=24)
_FIXED = st.sampled_from(["你好，世界", "今天天气怎么样？", "🌧️☔ 要带伞吗", "😀👍🏽",
                          "東京タワーはどこ?", "naïve café", "첫 줄\n둘째 줄", "多行\n文本\t制表"])
TEXT = st.one_of(_PLAIN, _FIXED).filter(lambda s: s.strip() != "")


def _msg(role: str, text: str) -> dict:
    return {"role": role, "content": text}


def _answers(draw) -> tuple[dict, dict]:
    """Chosen and rejected answers that differ (the same text twice is R014)."""
    chosen = draw(TEXT)
    return _msg("assistant", chosen), _msg("assistant", draw(TEXT.filter(lambda t: t != chosen)))


@st.composite
def dpo_examples(draw, max_turns: int = 3) -> dict:
    """A valid dashscope-dpo line: system?, (user, assistant)*, user; chosen, rejected."""
    msgs = [_msg("system", draw(TEXT))] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, max_turns - 1))):
        msgs += [_msg("user", draw(TEXT)), _msg("assistant", draw(TEXT))]
    msgs.append(_msg("user", draw(TEXT)))
    chosen, rejected = _answers(draw)
    return {"messages": msgs, "chosen": chosen, "rejected": rejected}


@st.composite
def openai_text_pairs(draw) -> dict:
    """A single-turn openai-preference line with what dashscope-dpo can also say:
    one optional system prompt and one user turn, plain strings."""
    msgs = [_msg("system", draw(TEXT))] if draw(st.booleans()) else []
    msgs.append(_msg("user", draw(TEXT)))
    chosen, rejected = _answers(draw)
    return {"input": {"messages": msgs}, "preferred_output": [chosen],
            "non_preferred_output": [rejected]}


TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "天气 lookup",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


@st.composite
def openai_rich_pairs(draw) -> tuple[dict, dict[str, str]]:
    """A single-turn openai-preference line using what only OpenAI's format carries,
    with the features used: feature -> the C code that must report its loss when the
    target is dashscope-dpo (a text-only format)."""
    used: dict[str, str] = {}
    msgs = []
    if draw(st.booleans()):
        msgs.append(_msg("system", draw(TEXT)))
        if draw(st.booleans()):  # a second system message is joined (a change, C052)
            msgs.append(_msg("system", draw(TEXT)))
    user: dict = _msg("user", draw(TEXT))
    shape = draw(st.sampled_from(["text", "parts", "image"]))
    if shape == "parts":  # several text parts become one string: same words, no loss
        user["content"] = [{"type": "text", "text": t}
                           for t in draw(st.lists(TEXT, min_size=1, max_size=3))]
    elif shape == "image":
        user["content"] = [{"type": "text", "text": draw(TEXT)}, IMAGE]
        used["image"] = "C007"
    if draw(st.booleans()):
        user["name"] = draw(st.sampled_from(["Ann", "小明", "user_1"]))
        used["name"] = "C006"
    msgs.append(user)
    inp: dict = {"messages": msgs}
    if draw(st.booleans()):
        inp["tools"] = TOOLS
        used["tools"] = "C001"
    ptc = draw(st.sampled_from([None, True, False]))
    if ptc is not None:
        inp["parallel_tool_calls"] = ptc
        if ptc is False and "tools" not in used:  # True is OpenAI's default; without
            used["parallel_tool_calls"] = "C005"  # its tools (C001) the flag means nothing
    chosen, rejected = _answers(draw)
    obj = {"input": inp, "preferred_output": [chosen], "non_preferred_output": [rejected]}
    return obj, used


# --------------------------------------------------------------------------- helpers

def _convert(obj: dict, to: str, src: str, on_loss: str = "warn"):
    """One example through the public API: (converted example or None, summary)."""
    try:
        rows, summary = datakit.convert([obj], to=to, from_=src, on_loss=on_loss,
                                        return_summary=True)
    except ConversionError as e:  # on_loss="error": nothing is returned
        assert on_loss == "error"
        return None, e.summary
    assert len(rows) <= 1
    return (rows[0] if rows else None), summary


def _codes(summary) -> set[str]:
    return set(summary.losses) | set(summary.rejected) | set(summary.changes)


def _loss_codes(summary) -> set[str]:
    return {c for c in _codes(summary) if kind(c) != "change"}


def assert_lints_clean(obj: dict, fmt: str) -> None:
    report = datakit.lint(obj, format=fmt)
    assert [(d.code, d.message) for d in report.diagnostics] == [], (fmt, obj)


def _prompt_turns(obj: dict) -> int:
    return sum(m["role"] != "system" for m in obj["messages"])


# --------------------------------------------------------------------------- same format

@PROP
@given(dpo_examples())
def test_dashscope_dpo_to_itself_is_exact(obj):
    assert_lints_clean(obj, "dashscope-dpo")
    out, summary = _convert(obj, "dashscope-dpo", "dashscope-dpo", on_loss="error")
    assert out == obj
    assert _codes(summary) == set()


@PROP
@given(openai_rich_pairs())
def test_openai_preference_to_itself_is_exact(case):
    obj, _ = case
    assert_lints_clean(obj, "openai-preference")
    out, summary = _convert(obj, "openai-preference", "openai-preference", on_loss="error")
    assert out == obj
    assert _codes(summary) == set()


# --------------------------------------------------------------------------- A -> B -> A

@PROP
@given(dpo_examples())
def test_dashscope_dpo_openai_dashscope_dpo(obj):
    there, summary = _convert(obj, "openai-preference", "dashscope-dpo")
    assert_lints_clean(there, "openai-preference")
    back, back_summary = _convert(there, "dashscope-dpo", "openai-preference", on_loss="error")
    assert _codes(back_summary) == set()
    assert_lints_clean(back, "dashscope-dpo")
    if _prompt_turns(obj) == 1:  # system? + user: both formats say the same
        assert _codes(summary) == set()
        assert back == obj
    else:  # OpenAI DPO is single-turn: the earlier turns go, and that is reported
        assert _loss_codes(summary) == {"C004"}
        system = [m for m in obj["messages"] if m["role"] == "system"]
        assert back == {**obj, "messages": system + obj["messages"][-1:]}
        _, strict = _convert(obj, "openai-preference", "dashscope-dpo", on_loss="error")
        assert strict.rejected == {"C004": 1} and strict.written == 0


@PROP
@given(openai_text_pairs())
def test_openai_dashscope_dpo_openai_text_is_exact(obj):
    there, summary = _convert(obj, "dashscope-dpo", "openai-preference", on_loss="error")
    assert _codes(summary) == set()
    assert_lints_clean(there, "dashscope-dpo")
    back, back_summary = _convert(there, "openai-preference", "dashscope-dpo", on_loss="error")
    assert _codes(back_summary) == set()
    assert back == obj


@PROP
@given(openai_rich_pairs())
def test_openai_to_dashscope_dpo_reports_every_loss(case):
    obj, used = case
    there, summary = _convert(obj, "dashscope-dpo", "openai-preference")
    losses = _loss_codes(summary)
    assert losses == set(used.values()), (used, summary.losses)
    assert_lints_clean(there, "dashscope-dpo")
    # the same example under on_loss="error" is written only when nothing is lost
    _, strict = _convert(obj, "dashscope-dpo", "openai-preference", on_loss="error")
    assert strict.written == (0 if used else 1)
    back, back_summary = _convert(there, "openai-preference", "dashscope-dpo", on_loss="error")
    assert _codes(back_summary) == set()
    assert back["preferred_output"] == obj["preferred_output"]
    assert back["non_preferred_output"] == obj["non_preferred_output"]
    if not used and not _codes(summary):  # nothing lost, nothing changed: exact
        expected = {**obj, "input": {k: v for k, v in obj["input"].items()
                                     if k != "parallel_tool_calls"}}
        user = expected["input"]["messages"][-1]
        if isinstance(user["content"], list):  # text parts read back as one string
            expected = json.loads(json.dumps(expected))
            last = expected["input"]["messages"][-1]
            last["content"] = M.PART_JOIN.join(p["text"] for p in last["content"])
        assert back == expected


# --------------------------------------------------------------------------- other formats

@PROP
@given(st.one_of(dpo_examples().map(lambda o: ("dashscope-dpo", o)),
                 openai_text_pairs().map(lambda o: ("openai-preference", o))),
       st.sampled_from(SUPERVISED))
def test_preference_to_supervised_reports_the_rejected_answer(case, target):
    src, obj = case
    out, summary = _convert(obj, target, src)
    assert "C008" in _loss_codes(summary)  # the rejected answer is never dropped silently
    assert _loss_codes(summary) <= {"C008", "C004"}
    assert_lints_clean(out, target)
    # the chosen answer is the conversation's last answer (MiniMax adds a bot name)
    back, _ = _convert(out, "openai", target, on_loss="error")
    chosen = obj.get("chosen") or obj["preferred_output"][0]
    assert {k: back["messages"][-1][k] for k in ("role", "content")} == chosen
    _, strict = _convert(obj, target, src, on_loss="error")
    assert strict.written == 0 and strict.rejected_total == 1


@PROP
@given(dpo_examples(), st.sampled_from(PREFERENCE))
def test_supervised_to_preference_is_rejected(obj, target):
    chat = {"messages": obj["messages"] + [obj["chosen"]]}
    out, summary = _convert(chat, target, "openai")
    assert out is None and summary.rejected == {"C022": 1}


# --------------------------------------------------------------------------- convert_batch

@PROP
@given(st.lists(dpo_examples(max_turns=1), min_size=1, max_size=5))
def test_convert_batch_columns_round_trip(rows):
    cols = {k: [r[k] for r in rows] for k in ("messages", "chosen", "rejected")}
    cols["id"] = list(range(len(rows)))  # an extra column is carried through
    there = datakit.convert_batch(cols, to="openai-preference", from_="dashscope-dpo",
                                  on_loss="error")
    assert there["id"] == cols["id"]
    for i in range(len(rows)):
        assert_lints_clean({k: there[k][i] for k in ("input", "preferred_output",
                                                     "non_preferred_output")},
                           "openai-preference")
    back = datakit.convert_batch(there, to="dashscope-dpo", from_="openai-preference",
                                 on_loss="error")
    assert back == cols


def test_convert_batch_reports_what_it_drops():
    obj = {"messages": [_msg("user", "第一"), _msg("assistant", "一"), _msg("user", "第二 🎉")],
           "chosen": _msg("assistant", "好"), "rejected": _msg("assistant", "坏")}
    out = datakit.convert_batch([obj], to="openai-preference", from_="dashscope-dpo",
                                on_loss="drop", status_column="status")
    assert out["input"] == [None]
    assert [r["code"] for r in json.loads(out["status"][0])] == ["C004"]


# --------------------------------------------------------------------------- CLI, on files

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "datakit", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def _read_jsonl(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]


@pytest.mark.parametrize("first", PREFERENCE)
def test_cli_round_trip_on_files(tmp_path, first):
    second = next(f for f in PREFERENCE if f != first)
    rows = [
        {"messages": [_msg("system", "你是助手 🤖"), _msg("user", "北京今天下雨吗？")],
         "chosen": _msg("assistant", "下雨 🌧️，记得带伞。"), "rejected": _msg("assistant", "不知道")},
        {"messages": [_msg("user", "Say hi\nin two lines")],
         "chosen": _msg("assistant", "hi\nthere 👋"), "rejected": _msg("assistant", "…")},
    ]
    if first == "openai-preference":
        rows = datakit.convert(rows, to=first, from_="dashscope-dpo")
    src = tmp_path / "src.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                   encoding="utf-8")
    mid, back = tmp_path / "mid.jsonl", tmp_path / "back.jsonl"
    for a, b, to in ((src, mid, second), (mid, back, first)):
        res = _cli("convert", str(a), "--to", to, "-o", str(b))
        assert res.returncode == 0, res.stderr
        assert datakit.lint(b, format=to).diagnostics == []
    assert _read_jsonl(back) == rows
    # a multi-turn prompt cannot go into OpenAI's single-turn format: C004, nothing written
    if first == "dashscope-dpo":
        multi = tmp_path / "multi.jsonl"
        multi.write_text(json.dumps({**rows[0], "messages": [
            _msg("user", "一"), _msg("assistant", "二"), _msg("user", "三")]},
            ensure_ascii=False) + "\n", encoding="utf-8")
        out = tmp_path / "multi-out.jsonl"
        res = _cli("convert", str(multi), "--to", second, "-o", str(out))
        assert res.returncode == 1 and "C004" in res.stderr
        assert not out.exists()


@PROP
@given(dpo_examples(max_turns=3).filter(lambda o: _prompt_turns(o) > 1))
def test_multi_turn_openai_input_keeps_every_turn_in_dashscope_dpo(dpo):
    # OpenAI's schema takes a multi-turn input (lint warns, R007); DashScope keeps it all
    obj = {"input": {"messages": dpo["messages"]}, "preferred_output": [dpo["chosen"]],
           "non_preferred_output": [dpo["rejected"]]}
    assert {d.code for d in datakit.lint(obj, format="openai-preference").diagnostics} == {"R007"}
    there, summary = _convert(obj, "dashscope-dpo", "openai-preference", on_loss="error")
    assert _codes(summary) == set() and there == dpo
    _, back = _convert(there, "openai-preference", "dashscope-dpo", on_loss="error")
    assert back.rejected == {"C004": 1}


def test_convert_takes_one_example_as_a_dict():
    # regression: a dict was read as the list of its keys (C021/C020 on each key, and
    # under on_loss="warn" an empty result with no exception)
    obj = {"messages": [_msg("system", "简洁"), _msg("user", "你好 👋")],
           "chosen": _msg("assistant", "你好！"), "rejected": _msg("assistant", "嗯")}
    want = {"input": {"messages": obj["messages"]}, "preferred_output": [obj["chosen"]],
            "non_preferred_output": [obj["rejected"]]}
    for on_loss in ("error", "warn", "drop"):
        rows, summary = datakit.convert(obj, to="openai-preference", on_loss=on_loss,
                                        return_summary=True)
        assert rows == [want] and summary.read == 1 and summary.written == 1

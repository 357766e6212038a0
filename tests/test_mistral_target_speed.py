"""The Mistral counter's cheap paths (line bound, partial exact counting) never change a
decision, and a user target can name a shipped Mistral tokenizer. No timing assertions."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datakit.tokenizers import counter_for
from datakit.tokenizers.base import BaseCounter
from datakit.tokenizers.mistral import (
    MISTRAL_TOKENIZERS,
    MistralCounter,
    _data_dir,
    _segment_counter,
    middle_stretch,
    space_parts,
)

pytest.importorskip("mistral_common")
pytest.importorskip("sentencepiece")

MODELS = ("open-mistral-7b", "open-mistral-nemo", "mistral-large-latest")

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120) | st.sampled_from(
    ["", " ", "  a  b  ", "你好，世界 数据 集", "x" * 50 + " y", "\n\n code  here \t", "😀 🤖 ok"]
)
words = st.lists(text, min_size=1, max_size=8).map(" ".join)


@st.composite
def examples(draw):
    messages = []
    if draw(st.booleans()):
        messages.append({"role": "system", "content": draw(words)})
    tools = None
    for turn in range(draw(st.integers(1, 3))):
        messages.append({"role": "user", "content": draw(words)})
        if draw(st.booleans()):
            call_id = "".join(draw(st.lists(st.sampled_from("abcXYZ019"), min_size=9, max_size=9)))
            args = draw(st.sampled_from(['{"city": "Paris"}', "{}", '{"q":"a b","n":1e5,"l":[1,2]}']))
            messages.append({"role": "assistant", "tool_calls": [
                {"id": call_id, "type": "function",
                 "function": {"name": "lookup", "arguments": args}}]})
            messages.append({"role": "tool", "tool_call_id": call_id, "content": draw(words)})
            tools = [{"type": "function", "function": {
                "name": "lookup", "description": draw(text),
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]
        message = {"role": "assistant", "content": draw(words)}
        if turn == 0 and draw(st.booleans()):
            message["weight"] = 0
        messages.append(message)
    example = {"messages": messages}
    if tools:
        example["tools"] = tools
    return example


def line_of(example) -> bytes:
    return orjson.dumps(example)


@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(example=examples())
def test_bounds_are_upper_bounds(model, example):
    counter = MistralCounter(model)
    total = counter.count(example).total
    assert total <= counter.upper_bound(example)
    # the byte bound lint applies to a verbatim line: its length plus the framing
    assert total <= len(line_of(example)) + counter.max_framing(example)
    # ensure_ascii lines are longer: still a bound
    assert total <= len(json.dumps(example).encode()) + counter.max_framing(example)


@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(example=examples(), slack=st.integers(-30, 30))
def test_over_limit_decides_like_count(model, example, slack):
    counter = MistralCounter(model)
    total = counter.count(example).total
    limit = max(1, total + slack)
    over = counter.over_limit(example, limit)
    assert (over is not None) == (total > limit)
    if over is not None:
        assert over.total == total


@pytest.mark.parametrize("key", [k for k, f in MISTRAL_TOKENIZERS.items() if f.sentencepiece])
@settings(max_examples=150, deadline=None)
@given(before=text, middle=st.lists(text, min_size=1, max_size=6).map(" ".join), after=text)
def test_segment_count_is_exact_in_any_context(key, before, middle, after):
    """The stretch between a text's first and last cut is tokenized the same inside any
    surrounding text as alone: the premise of MistralCounter.over_limit."""
    count = _segment_counter(key)
    assert count is not None, "the proof's checks must hold for the shipped models"
    import os

    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(
        model_file=os.path.join(_data_dir(), MISTRAL_TOKENIZERS[key].filename))
    stretch = middle_stretch(middle)
    if not stretch:
        return
    whole = before + "x" + middle.strip() + "y" + after
    # the stretch's own tokens appear, in order, in the encoding of the whole text
    ids = sp.encode("a" + stretch)[len(sp.encode("a")):]
    whole_ids = sp.encode(whole)
    assert any(whole_ids[i:i + len(ids)] == ids for i in range(len(whole_ids) - len(ids) + 1))
    inside = len(ids)
    assert inside == count(stretch) == sum(count(p) for p in space_parts(stretch, 8))


def _generated(path: Path, rng: random.Random, n: int = 80) -> None:
    english = "The quick brown fox jumps over the lazy dog again and again. "
    chinese = "数据集微调需要干净的样本，否则模型会学到错误的格式。"
    with path.open("w", encoding="utf-8") as f:
        for _ in range(n):
            size = rng.choice([100, 20000, 30000, 33000, 36000, 45000, 90000, 140000])
            mix = rng.random()
            body = ""
            while len(body.encode()) < size:
                body += english if rng.random() > mix else chinese
            messages = [{"role": "user", "content": "Summarize:  " + body},
                        {"role": "assistant", "content": body[: size // 3] + "  "}]
            if rng.random() < 0.3:
                messages.insert(0, {"role": "system", "content": "Be brief. " + body[:500]})
            f.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")


def _lint(path: Path, target: str, cwd: Path, env_extra: dict | None = None) -> str:
    cmd = [sys.executable, "-m", "datakit", "lint", str(path), "--target", target,
           "--output-format", "json", "--exit-zero"]
    import os

    env = {**os.environ, **(env_extra or {})}
    r = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=cwd, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_decisions_equal_with_and_without_the_shortcuts(tmp_path, monkeypatch):
    path = tmp_path / "near.jsonl"
    _generated(path, random.Random(7))
    counter = counter_for("mistral", "open-mistral-7b")
    limit = 32768
    decided = 0
    for raw in path.read_bytes().splitlines():
        example = orjson.loads(raw)
        total = counter.count(example).total
        bound = len(raw) + counter.max_framing(example)  # lint's byte bound
        assert total <= bound
        over = counter.over_limit(example, limit)
        assert (over is not None) == (total > limit)
        decided += bound > limit
    assert decided  # the file has lines the byte bound cannot decide

    # the CLI gives the same findings when every limit is decided by a full count
    fast = _lint(path, "mistral:open-mistral-7b", tmp_path)
    plugin = tmp_path / "slowpath"
    plugin.mkdir()
    (plugin / "sitecustomize.py").write_text(
        "from datakit.tokenizers.base import BaseCounter\n"
        "from datakit.tokenizers.mistral import MistralCounter\n"
        "MistralCounter.line_bound = lambda self, line, example: None\n"
        "MistralCounter.max_framing = lambda self, example: 10 ** 9\n"
        "MistralCounter.over_limit = BaseCounter.over_limit\n")
    slow = _lint(path, "mistral:open-mistral-7b", tmp_path, {"PYTHONPATH": str(plugin)})
    assert json.loads(fast) == json.loads(slow)
    assert "L001" in fast
    assert BaseCounter.over_limit is not MistralCounter.over_limit


def test_user_target_names_a_known_tokenizer(tmp_path):
    data = tmp_path / "data.jsonl"
    body = "word " * 40
    data.write_text("\n".join(json.dumps({"messages": [
        {"role": "user", "content": body}, {"role": "assistant", "content": body * k}]})
        for k in (1, 2, 30)) + "\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.datakit.targets."mistral:my-new-model"]\n'
        'tokenizer = "mistral:v3"\nmax_tokens = 500\n')
    out = json.loads(_lint(data, "mistral:my-new-model", tmp_path))
    text = json.dumps(out)
    assert "L001" in text and "L002" not in text
    expected = counter_for("mistral", "open-mistral-7b").count(
        json.loads(data.read_text().splitlines()[2])).total
    assert f"{expected:,} tokens" in text and "mistral:my-new-model" in text

    # without a tokenizer the new model cannot be counted, and the error says what to set
    (tmp_path / "pyproject.toml").write_text(
        '[tool.datakit.targets."mistral:my-new-model"]\nmax_tokens = 500\n')
    text = json.dumps(json.loads(_lint(data, "mistral:my-new-model", tmp_path)))
    assert "L002" in text and 'tokenizer = \\"mistral:' in text

    # an unknown Mistral tokenizer is a configuration error naming the choices
    (tmp_path / "pyproject.toml").write_text(
        '[tool.datakit.targets."mistral:my-new-model"]\ntokenizer = "mistral:v99"\n')
    r = subprocess.run([sys.executable, "-m", "datakit", "lint", str(data), "--target",
                        "mistral:my-new-model"], check=False, capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert 'tokenizer = "mistral:v99": expected one of: tiktoken:o200k_base' in r.stderr
    assert "mistral:v3-tekken" in r.stderr

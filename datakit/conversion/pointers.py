"""Source pointers: where a thing of the model sits in the line the user wrote.

Diagnostics of a conversion point into the source line (RFC 6901), never into
the model. Readers record on every :class:`~datakit.model.Message` the pointer
of the object (or string) it was read from and how the model's field names are
spelled there (``src_fields``), and on the :class:`~datakit.model.Conversation`
the pointers of its containers. Adapt resolves a pointer when it makes a
finding, from the message object itself, so the later reshuffling of
``conv.messages`` never matters.

A ``src_fields`` table maps the first token of a model path (``content``,
``name``, ``tool_calls`` ...) to ``(source key, keep the rest)``; a field it
does not list has no counterpart, and the pointer is the message's own object.
``None`` means the source spells every field as the model does.
"""

from __future__ import annotations

from typing import Any

from datakit.model import Conversation, Message

# ShareGPT turns: {"from", "value"}; a function_call turn holds its calls as JSON text.
SHAREGPT = {"role": ("from", False), "content": ("value", False), "tool_calls": ("value", False)}
# MiniMax messages: {"sender_type", "sender_name", "text"}.
MINIMAX = {"role": ("sender_type", False), "content": ("text", False),
           "name": ("sender_name", False)}
# MiniMax Pro bot_setting entries: {"bot_name", "content"}.
BOT_SETTING = {"content": ("content", False), "name": ("bot_name", False)}
# A message read from a bare string (Alpaca fields, a `system` or `prompt` key).
SCALAR: dict[str, Any] = {}


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def message(m: Message, rest: str = "") -> str | None:
    """The source pointer of ``rest`` (a model path like ``name`` or ``content/2``) inside
    message ``m``; None when the message has no source (built by hand)."""
    base = m.src
    if base is None:
        return None
    if not rest:
        return base
    fields = m.src_fields
    head, _, tail = rest.partition("/")
    if fields is None:
        return f"{base}/{rest}"
    fc = fields.get("_function_call")
    if fc is not None:  # OpenAI's legacy function_call, read after any tool_calls
        if head != "tool_calls":
            return f"{base}/{rest}"
        idx, _, inner = tail.partition("/")
        if not idx:
            return f"{base}/tool_calls" if fc else f"{base}/function_call"
        if int(idx) < fc:
            return f"{base}/{rest}"
        inner = inner.removeprefix("function").lstrip("/")
        return f"{base}/function_call/{inner}" if inner else f"{base}/function_call"
    spec = fields.get(head)
    if spec is None:
        return base
    key, keep = spec
    return f"{base}/{key}/{tail}" if keep and tail else f"{base}/{key}"


def container(conv: Conversation, key: str) -> str:
    """The source pointer of a container of the model (``messages``, ``tools`` ...)."""
    src = conv.src
    if src is None:
        return f"/{key}"
    return src.get(key, "")


def tool(conv: Conversation, j: int) -> str:
    """The source pointer of tool definition ``j`` as the reader listed them."""
    src = conv.src
    if src is None:
        return f"/tools/{j}"
    n = src.get("tools_n", 0)
    if j < n:
        return f"{src['tools']}/{j}"
    if "functions" in src:
        return f"{src['functions']}/{j - n}"
    return src.get("tools", "")


_MISSING = object()


def _tokens(ptr: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in ptr[1:].split("/")]


def clamp(obj: Any, ptr: str) -> str:
    """``ptr`` if it resolves inside ``obj``, else its longest prefix that does (the
    nearest object that exists: a field with no counterpart in the source)."""
    if not ptr:
        return ptr
    value = obj
    kept: list[str] = []
    for t in _tokens(ptr):
        if isinstance(value, dict):
            value = value.get(t, _MISSING)
        elif isinstance(value, list) and t.isdigit() and (t == "0" or t[0] != "0"):
            value = value[int(t)] if int(t) < len(value) else _MISSING
        else:
            value = _MISSING
        if value is _MISSING:
            break
        kept.append(t)
    else:
        return ptr
    return "".join("/" + escape(t) for t in kept)




_SCALAR_NAMES = {"system": "the system prompt", "prompt": "the prompt",
                 "instruction": "the instruction", "input": "the input",
                 "output": "the output"}


def label(m: Message, i: int) -> str:
    """How a diagnostic's text names message ``m`` (number ``i`` in the model's list):
    by its place in the source line, as its pointer does — ``message 2`` for the third
    object of the line's message list (``/messages/2``, ``/conversations/2``,
    ``/input/messages/2``), ``the system prompt`` for a ``system`` key, ``the preferred
    output``, ``history pair 0 (response)``... The model's number only without a source."""
    src = m.src
    if not src:
        return f"message {i}"
    parts = src.strip("/").split("/")
    last = parts[-1]
    if parts[0] == "history" and len(parts) == 3:
        return f"history pair {parts[1]} ({'response' if parts[2] == '1' else 'instruction'})"
    if parts[0] in ("preferred_output", "chosen"):
        return "the preferred answer"
    if parts[0] in ("non_preferred_output", "rejected"):
        return "the rejected answer"
    if parts[0] == "bot_setting" and len(parts) >= 2:
        return f"bot setting {parts[1]}"
    if last.isdigit():
        return f"message {last}"
    return _SCALAR_NAMES.get(last, f"`{last}`")


__all__ = ["BOT_SETTING", "MINIMAX", "SCALAR", "SHAREGPT", "clamp", "container", "escape",
           "label", "message", "tool"]

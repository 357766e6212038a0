"""The canonical conversation model every conversion goes through.

One small set of dataclasses holds everything any supported format can say, so
a conversion is always ``reader(source) -> Conversation -> writer(target)`` and
whatever the target cannot carry is visible in one place (the conversion
rules, ``C`` codes). Nothing here knows about a particular format.

* System text is a ``Message`` with role ``system`` (usually the first one).
  MiniMax's ``prompt`` and ``bot_setting[].content`` become system messages; a
  ``bot_setting[].bot_name`` is that system message's ``name``.
* ``Message.name`` is the participant name: OpenAI's ``name`` and MiniMax's
  ``sender_name`` mean the same thing. MiniMax's ``role_meta`` names, which hold
  for every message of a role, are ``Conversation.user_name`` / ``bot_name``.
* Tool calls keep the **original** ``arguments`` text; ids may be ``None``
  (ShareGPT pairs calls and results by position).
* ``chosen`` / ``rejected`` hold a preference pair answering the last turn.
* ``extra`` dicts hold keys no format defines, so they are never lost silently.
* ``layout`` holds hints about how the source spelled something (e.g. Alpaca's
  instruction/input split). Hints never carry meaning; a writer of the same
  format may use them to reproduce the input exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SYSTEM, USER, ASSISTANT, TOOL = "system", "user", "assistant", "tool"
ROLES = (SYSTEM, USER, ASSISTANT, TOOL)

TEXT, IMAGE = "text", "image"


@dataclass(slots=True)
class Part:
    """One part of a multi-part content: text, an image reference, or another kind.

    For ``image`` the value is a reference: a file name (DashScope zip), an
    ``https`` URL or a ``data:`` URL. Unknown kinds (``refusal``, audio, ...)
    keep their original dict in ``extra["raw"]``.
    """

    kind: str
    value: str | None = None
    extra: dict[str, Any] | None = None


@dataclass(slots=True)
class ToolCall:
    name: str
    arguments: str  # the original JSON text, never re-serialised on the way through
    id: str | None = None
    type: str = "function"
    extra: dict[str, Any] | None = None


@dataclass(slots=True)
class Message:
    role: str
    content: str | list[Part] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    weight: int | None = None
    extra: dict[str, Any] | None = None
    # ShareGPT encodes a function call as JSON text; kept to reproduce it byte for byte.
    source_text: str | None = None
    # Where the message came from: a JSON pointer into the source line, and how the
    # model's field names are spelled there (None: the same names; see conversion.pointers).
    src: str | None = field(default=None, compare=False, repr=False)
    src_fields: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def text(self) -> str:
        """The text of the content (text parts joined), '' when there is none."""
        c = self.content
        if c is None:
            return ""
        if isinstance(c, str):
            return c
        return "".join(p.value or "" for p in c if p.kind == TEXT)

    def has_text(self) -> bool:
        c = self.content
        if c is None:
            return False
        if isinstance(c, str):
            return c != ""
        return any(p.kind != TEXT or p.value for p in c)


@dataclass(slots=True)
class Conversation:
    messages: list[Message] = field(default_factory=list)
    tools: list[dict[str, Any]] | None = None  # OpenAI shape: {"type": "function", "function": {...}}
    chosen: Message | None = None
    rejected: Message | None = None
    user_name: str | None = None  # persona names that hold for every message of the role
    bot_name: str | None = None
    parallel_tool_calls: bool | None = None
    extra: dict[str, Any] | None = None
    layout: dict[str, Any] | None = None
    # JSON pointers into the source line of the containers (messages, tools, ...).
    src: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def system(self) -> str | None:
        """Text of the leading system message(s), joined by a blank line; None without one."""
        parts = []
        for m in self.messages:
            if m.role != SYSTEM:
                break
            parts.append(m.text())
        return "\n\n".join(parts) if parts else None

    @property
    def is_preference(self) -> bool:
        return self.chosen is not None or self.rejected is not None

    def hint(self, key: str, default: Any = None) -> Any:
        return self.layout.get(key, default) if self.layout else default

    def set_hint(self, key: str, value: Any) -> None:
        if self.layout is None:
            self.layout = {}
        self.layout[key] = value


__all__ = [
    "ASSISTANT",
    "IMAGE",
    "ROLES",
    "SYSTEM",
    "TEXT",
    "TOOL",
    "USER",
    "Conversation",
    "Message",
    "Part",
    "ToolCall",
]

"""Mapping tables: roles, field names and what each format can carry.

Conversions are driven by these tables rather than by per-pair code. Adding a
role alias or a format that is "like siliconflow" is a table edit.
"""

from __future__ import annotations

from dataclasses import dataclass

from datakit.model import ASSISTANT, SYSTEM, TOOL, USER

# ShareGPT ``from`` values → (model role, how the ``value`` is read/written).
# The canonical spelling of each role comes first; aliases seen in open corpora follow.
SHAREGPT_FROM: dict[str, tuple[str, str]] = {
    "system": (SYSTEM, "text"),
    "human": (USER, "text"),
    "gpt": (ASSISTANT, "text"),
    "function_call": (ASSISTANT, "tool_calls"),
    "observation": (TOOL, "text"),
    # aliases (read only)
    "user": (USER, "text"),
    "assistant": (ASSISTANT, "text"),
    "bing": (ASSISTANT, "text"),
    "chatgpt": (ASSISTANT, "text"),
    "bard": (ASSISTANT, "text"),
    "tool": (TOOL, "text"),
    "function": (TOOL, "text"),
}
# (model role, has tool calls) → ShareGPT ``from`` when writing.
SHAREGPT_TO: dict[tuple[str, bool], str] = {
    (SYSTEM, False): "system",
    (USER, False): "human",
    (ASSISTANT, False): "gpt",
    (ASSISTANT, True): "function_call",
    (TOOL, False): "observation",
}
SHAREGPT_KEYS = {"turns": "conversations", "role": "from", "text": "value",
                 "system": "system", "tools": "tools"}

# MiniMax ``sender_type`` ↔ model role.
MINIMAX_SENDER: dict[str, str] = {"USER": USER, "BOT": ASSISTANT}
MINIMAX_SENDER_TO: dict[str, str] = {v: k for k, v in MINIMAX_SENDER.items()}

# Alpaca fields (LLaMA-Factory's defaults). The user turn is instruction + "\n" + input.
ALPACA_KEYS = {"instruction": "instruction", "input": "input", "output": "output",
               "system": "system", "history": "history"}
ALPACA_JOIN = "\n"

# Names MiniMax requires when the source has none (documented; override with
# --bot-name / --user-name). "用户" is the user name of the seed (000); "MM智能助理" is
# the bot name of MiniMax's public ChatCompletion Pro examples.
DEFAULT_USER_NAME = "用户"
DEFAULT_BOT_NAME = "MM智能助理"

# Joiner for --merge-consecutive.
MERGE_JOIN = "\n\n"

# Mistral tool-call ids (001): exactly nine ASCII letters or digits.
MISTRAL_ID_LEN = 9
FUNCTION_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"


@dataclass(frozen=True, slots=True)
class Caps:
    """What a format can carry. Every loss rule is a comparison against this table."""

    system: str  # "any": anywhere; "mistral": not after assistant/tool; "first": one leading prompt
    tools: bool  # tool calls, tool results and tool definitions
    tool_text: bool  # an assistant message may have text *and* tool calls
    tool_ids: str  # "any": ids required, any string; "mistral": [a-zA-Z0-9]{9}; "none": positional
    tools_defined: bool  # every called function must be defined in tools
    weight: bool
    names: str  # "all" (not on tool messages), "tool" (tool messages), "sender" (every message),
    # "persona" (one name per role), "none"
    images: str  # "url" (image_url parts), "file" (zip member names), "none"
    parts: bool  # content may stay a list of parts (else text is joined)
    order: str  # "free"; "alternate" (system? then user/assistant pairs); "slots" (ShareGPT:
    # user/tool turns alternate with assistant turns, starting with the user)
    last: str  # "any", "assistant", or "user" (a preference prompt)
    preference: str  # "none", "required", "single-turn"
    msg_extra: bool  # unknown keys on messages are allowed
    needs_assistant: bool
    empty_answer: bool = True  # an assistant turn may have no text and no calls (Mistral: C029)


_TEXT_ONLY = {"tools": False, "tool_text": True, "tool_ids": "none", "tools_defined": False, "weight": False,
                  "names": "none", "images": "none", "parts": False, "msg_extra": False, "needs_assistant": True}

CAPS: dict[str, Caps] = {
    "openai": Caps(system="any", tools=True, tool_text=True, tool_ids="any", tools_defined=False,
                   weight=True, names="all", images="url", parts=True, order="free", last="any",
                   preference="none", msg_extra=False, needs_assistant=True),
    "openai-preference": Caps(system="any", tools=True, tool_text=True, tool_ids="any",
                              tools_defined=False, weight=False, names="all", images="url",
                              parts=True, order="free", last="user", preference="single-turn",
                              msg_extra=False, needs_assistant=False),
    "mistral": Caps(system="mistral", tools=True, tool_text=False, tool_ids="mistral",
                    tools_defined=True, weight=True, names="tool", images="url", parts=True,
                    order="free", last="assistant", preference="none", msg_extra=False,
                    needs_assistant=True, empty_answer=False),
    "siliconflow": Caps(system="first", order="alternate", last="assistant", preference="none",
                        **_TEXT_ONLY),
    "dashscope-sft": Caps(system="first", order="alternate", last="assistant", preference="none",
                          **_TEXT_ONLY),
    "dashscope-sft-image": Caps(system="first", order="alternate", last="assistant",
                                preference="none", **{**_TEXT_ONLY, "images": "file",
                                                      "parts": True}),
    "dashscope-dpo": Caps(system="first", order="alternate", last="user", preference="required",
                          **{**_TEXT_ONLY, "needs_assistant": False}),
    # MiniMax and ShareGPT readers (and datakit lint) want USER/BOT alternation starting
    # with the user and a final answer, so they are "alternate"/"slots" with last "assistant".
    "minimax": Caps(system="first", order="alternate", last="assistant", preference="none",
                    **{**_TEXT_ONLY, "names": "persona"}),
    "minimax-pro": Caps(system="first", order="alternate", last="assistant", preference="none",
                        **{**_TEXT_ONLY, "names": "sender"}),
    "sharegpt": Caps(system="first", tools=True, tool_text=False, tool_ids="none",
                     tools_defined=False, weight=False, names="none", images="none", parts=False,
                     order="slots", last="assistant", preference="none", msg_extra=True,
                     needs_assistant=True),
    "alpaca": Caps(system="first", order="alternate", last="assistant", preference="none",
                   **_TEXT_ONLY),
}

FORMAT_IDS: tuple[str, ...] = tuple(CAPS)

# OpenAI's chat and preference formats (refusal parts, parallel_tool_calls).
OPENAI_FAMILY = frozenset({"openai", "openai-preference"})

# Targets that keep several leading system messages apart (one bot_setting entry each);
# the other "first" targets join them with MERGE_JOIN (reported as C052).
MULTI_SYSTEM = frozenset({"minimax-pro"})

# Joiner for text parts when a target holds content as one string.
PART_JOIN = "\n"

# Parameters schema given to a Mistral tool definition that has none (C056).
EMPTY_PARAMETERS = {"type": "object", "properties": {}}

# Name of the JSON Lines member inside a dashscope-sft-image zip written by datakit.
ZIP_JSONL = "data.jsonl"

# Formats read by the generic role-based chat reader.
CHAT_READ = ("openai", "mistral", "siliconflow", "dashscope-sft", "dashscope-sft-image")

# Keys each reader understands at the top level; anything else goes to ``extra``.
TOP_KEYS: dict[str, frozenset[str]] = {
    "chat": frozenset({"messages", "tools", "parallel_tool_calls", "functions"}),
    "openai-preference": frozenset({"input", "preferred_output", "non_preferred_output"}),
    "dashscope-dpo": frozenset({"messages", "chosen", "rejected"}),
    "minimax": frozenset({"messages", "prompt", "role_meta"}),
    "minimax-pro": frozenset({"messages", "bot_setting"}),
    "sharegpt": frozenset({"conversations", "system", "tools"}),
    "alpaca": frozenset({"instruction", "input", "output", "system", "history"}),
}
MESSAGE_KEYS = frozenset({"role", "content", "tool_calls", "tool_call_id", "name", "weight",
                          "function_call"})

IMAGE_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp", ".gif": "image/gif", ".bmp": "image/bmp"}
MIME_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/jpg": ".jpg", "image/webp": ".webp",
            "image/gif": ".gif", "image/bmp": ".bmp"}

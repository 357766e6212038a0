"""Every documented format: its id, JSON Schema, detection and semantic checks.

The JSON Schemas in ``schemas/`` are the single source of truth for the shape of
an example. What a schema cannot say (role order, tool-call pairing, ids,
images in the zip) lives in the ``check`` function of each format, in the
modules of this package.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from datakit.rules.registry import Finding


@dataclass(slots=True)
class CheckContext:
    """What a semantic check may need beyond the example itself."""

    images: frozenset[str] | None = None  # file names available beside the jsonl (zip)


Check = Callable[[dict, CheckContext], list[Finding]]


@dataclass(frozen=True, slots=True)
class Format:
    id: str
    title: str
    family: str  # detection family: which top-level shape identifies it
    source: str  # seed file or public documentation behind it
    check: Check = field(repr=False, compare=False)
    container: str = "jsonl"  # "zip" for dashscope-sft-image

    @property
    def schema(self) -> dict:
        return load_schema(self.id)


FORMATS: dict[str, Format] = {}

# Family of the role-based ``{"messages": [{"role": ...}]}`` formats; which one a
# file is depends on the target (or defaults to openai, the most permissive).
CHAT = "chat"


def register(fmt: Format) -> Format:
    FORMATS[fmt.id] = fmt
    return fmt


def get(format_id: str) -> Format:
    try:
        return FORMATS[format_id]
    except KeyError:
        raise KeyError(
            f"unknown format {format_id!r}; choose one of: {', '.join(sorted(FORMATS))}"
        ) from None


@functools.cache
def schemas_dir():
    """Where the schemas are: ``datakit.schemas`` inside an installed wheel, or the
    top-level ``schemas/`` folder of a source checkout (editable installs)."""
    try:
        return resources.files("datakit.schemas")
    except ModuleNotFoundError:
        from pathlib import Path

        here = Path(__file__).resolve().parents[2] / "schemas"
        if not here.is_dir():
            raise RuntimeError(f"datakit's JSON Schemas are missing (looked in {here})") from None
        return here


@functools.cache
def load_schema(format_id: str) -> dict:
    """Load ``schemas/<id>.schema.json`` (the single source of truth for a format)."""
    text = schemas_dir().joinpath(f"{format_id}.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def detect_family(obj: Any) -> str | None:
    """The format family of one parsed line, from its keys alone (cheap)."""
    if not isinstance(obj, dict):
        return None
    if "conversations" in obj:
        return "sharegpt"
    if "instruction" in obj and "output" in obj:
        return "alpaca"
    if "preferred_output" in obj or "non_preferred_output" in obj or isinstance(obj.get("input"), dict):
        return "openai-preference"
    if "chosen" in obj and "rejected" in obj:
        return "dashscope-dpo"
    if "bot_setting" in obj:
        return "minimax-pro"
    if "role_meta" in obj:
        return "minimax"
    msgs = obj.get("messages")
    if isinstance(msgs, list):
        for m in msgs:
            if isinstance(m, dict):
                if "sender_type" in m:
                    return "minimax-pro" if "sender_name" in m else "minimax"
                if "role" in m:
                    return CHAT
                break
        if "prompt" in obj:
            return "minimax"
        return CHAT
    return None


def has_image_parts(obj: dict) -> bool:
    """True when message content uses DashScope's ``{"image": ...}`` parts."""
    msgs = obj.get("messages")
    if not isinstance(msgs, list):
        return False
    for m in msgs:
        if isinstance(m, dict):
            c = m.get("content")
            if isinstance(c, list) and any(isinstance(p, dict) and "image" in p for p in c):
                return True
    return False


def family_of(format_id: str) -> str:
    return get(format_id).family


def resolve(family: str, sample: dict | None = None, chat_default: str = "openai") -> str:
    """Format id for a detected family; role-based chat goes to ``chat_default``."""
    if family == CHAT:
        if sample is not None and has_image_parts(sample):
            return "dashscope-sft-image"
        return chat_default
    return family


from datakit.formats import alpaca, dashscope, minimax, mistral, openai, sharegpt, siliconflow  # noqa: F401

__all__ = [
    "CHAT",
    "FORMATS",
    "CheckContext",
    "Finding",
    "Format",
    "detect_family",
    "get",
    "load_schema",
    "register",
    "resolve",
]

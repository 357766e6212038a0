"""JSON text inside examples (ShareGPT calls and tools, tool-call arguments), parsed
exactly: orjson is fast but reads an integer beyond 64 bits as a float, silently
changing it; the standard library reads it exactly, and is only asked when needed."""

from __future__ import annotations

import json
from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError  # a ValueError, like json's

_INT64 = 2.0 ** 63


def lost_integer(value: Any) -> bool:
    """True when orjson may have parsed an integer outside the 64-bit range as a float
    (it does, silently): an integral float of magnitude 2**63 or more. Strings are
    skipped without a look; most lines hold nothing else of interest."""
    t = type(value)
    if t is dict:
        for v in value.values():
            if type(v) is not str and lost_integer(v):
                return True
        return False
    if t is list:
        for v in value:
            if type(v) is not str and lost_integer(v):
                return True
        return False
    return t is float and (value >= _INT64 or value < -_INT64) and value.is_integer()


def loads(text: str | bytes) -> Any:
    """``orjson.loads``, with integers of any size kept exact. Raises
    :class:`orjson.JSONDecodeError` for text that is not JSON."""
    value = orjson.loads(text)
    if lost_integer(value):
        try:
            raw = text.decode("utf-8") if isinstance(text, bytes) else text
            return json.loads(raw.lstrip("\ufeff"))
        except (ValueError, RecursionError):
            return value
    return value


__all__ = ["JSONDecodeError", "loads", "lost_integer"]

"""RFC 6901 JSON pointers over parsed examples: the address every diagnostic carries."""

from __future__ import annotations

from typing import Any

MISSING = object()


def tokens(ptr: str) -> list[str]:
    if not ptr:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in ptr.lstrip("/").split("/")]


def _step(value: Any, token: str) -> Any:
    if isinstance(value, dict):
        return value.get(token, MISSING)
    if isinstance(value, list) and token.isdigit():
        i = int(token)
        return value[i] if i < len(value) else MISSING
    return MISSING


def get(obj: Any, ptr: str) -> Any:
    """The value at ``ptr``, or :data:`MISSING`."""
    value = obj
    for t in tokens(ptr):
        value = _step(value, t)
        if value is MISSING:
            return MISSING
    return value


def parent(obj: Any, ptr: str) -> tuple[Any, str | int] | None:
    """``(container, key)`` of the value at ``ptr`` (key is an int for lists), or None."""
    toks = tokens(ptr)
    if not toks:
        return None
    container = get(obj, "/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in toks[:-1])) \
        if len(toks) > 1 else obj
    last = toks[-1]
    if isinstance(container, dict):
        return container, last
    if isinstance(container, list) and last.isdigit() and int(last) < len(container):
        return container, int(last)
    return None


def up(ptr: str, levels: int = 1) -> str:
    """The pointer ``levels`` steps above ``ptr``."""
    parts = ptr.split("/")
    return "/".join(parts[: len(parts) - levels])

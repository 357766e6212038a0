"""Repair ``function.arguments`` into the JSON text of an object.

OpenAI and Mistral want ``arguments`` as a *string* holding a JSON object.
Data in the wild carries an object (decoded by pandas or ``datasets``), Python
``repr`` text (``str(dict)``) or JSON encoded twice. :func:`repair_arguments`
says which, and gives the JSON text when the repair is certain.
"""

from __future__ import annotations

import ast
import json
from typing import Any

_LITERAL_MAX = 1_000_000  # never hand huge text to the Python parser


def _decode(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def _literal(text: str) -> Any:
    if len(text) > _LITERAL_MAX:
        return None
    try:  # literal_eval evaluates literals only: nothing is executed
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _dumps(value: Any) -> str | None:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same JSON types (``1 == True`` and ``[1] == (1,)`` do not count)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def repair_arguments(value: Any) -> tuple[str | None, str]:
    """``(json_text, status)`` for one ``arguments`` value.

    status is ``"ok"`` (already the JSON text of an object, returned unchanged),
    ``"stringified"`` (an object, serialised), ``"repaired-double-encoded"`` (JSON
    text of a string that is itself the JSON text of an object: decoded once),
    ``"repaired-python-repr"`` (a Python dict literal, rewritten as JSON) or
    ``"unrepairable"`` (text is None: anything else, left for a human).
    """
    if isinstance(value, dict):
        text = _dumps(value)
        return (text, "stringified") if text is not None else (None, "unrepairable")
    if not isinstance(value, str):
        return None, "unrepairable"
    ok, decoded = _decode(value)
    if ok:
        if isinstance(decoded, dict):
            return value, "ok"
        if isinstance(decoded, str):
            ok2, inner = _decode(decoded)
            if ok2 and isinstance(inner, dict):
                return decoded, "repaired-double-encoded"
        return None, "unrepairable"
    literal = _literal(value)
    if isinstance(literal, dict):
        text = _dumps(literal)
        # Unambiguous only when JSON says exactly what the literal said: tuples, sets,
        # non-string keys or bytes would change type on the way through.
        if text is not None and _same(json.loads(text), literal):
            return text, "repaired-python-repr"
    return None, "unrepairable"


__all__ = ["repair_arguments"]

"""S: the shape of one example against its format's JSON Schema.

Valid lines are checked by a compiled validator (jsonschema-rs) and never pay for
explanation. Only failing lines go through ``jsonschema`` to produce one precise
message per independent problem (best match inside ``anyOf``/``oneOf``), with a
JSON pointer.
"""

from __future__ import annotations

import functools
from typing import Any

from datakit.rules.registry import Finding, define

define("S001", "missing-field", "error", """
    ## What it does
    Flags an object that lacks a field its format requires.

    ## Why is this bad?
    The provider cannot interpret the example (e.g. a message without `role`) and rejects it.

    ## Example
    `{"messages": [{"content": "hi"}]}`: the message has no `role`.
    """)

define("S002", "wrong-type", "error", """
    ## What it does
    Flags a value of the wrong JSON type.

    ## Why is this bad?
    Providers validate types strictly: `"weight": "1"` or `"content": 42` fail the upload.

    ## Example
    `{"role": "assistant", "content": "ok", "weight": "0"}`: `weight` must be the integer 0 or 1.
    """)

define("S003", "invalid-value", "error", """
    ## What it does
    Flags a value outside the allowed set, such as an unknown role.

    ## Why is this bad?
    Unknown roles or constants are rejected by the provider.

    ## Example
    `{"role": "bot", "content": "hi"}`: roles are `system`, `user`, `assistant` (and `tool` where supported).
    """)

define("S004", "unexpected-field", "error", """
    ## What it does
    Flags a key that the format does not allow.

    ## Why is this bad?
    Strict providers reject unknown keys; others ignore them silently, which usually
    means the data is not what you think (e.g. `weight` on DashScope is not supported
    and every assistant turn is trained).

    ## Example
    `{"role": "assistant", "content": "ok", "weight": 0}` in a `dashscope-sft` file.
    """)

define("S005", "array-size", "error", """
    ## What it does
    Flags an array with too few or too many items, such as an empty `messages` list.

    ## Why is this bad?
    An example with no messages trains nothing and is rejected.

    ## Example
    `{"messages": []}`.
    """)

define("S006", "string-constraint", "error", """
    ## What it does
    Flags a string that breaks a length or pattern constraint of the schema.

    ## Why is this bad?
    The provider checks the same constraint and rejects the example.

    ## Example
    An empty string where a non-empty one is required.
    """)

define("S000", "schema-violation", "error", """
    ## What it does
    Flags any other departure from the format's JSON Schema.

    ## Why is this bad?
    The example does not have the documented shape, so the provider rejects it.

    ## Example
    See the message: it names the JSON pointer and the constraint.
    """)

_KEYWORD_CODES = {
    "required": "S001",
    "type": "S002",
    "enum": "S003",
    "const": "S003",
    "additionalProperties": "S004",
    "unevaluatedProperties": "S004",
    "propertyNames": "S004",
    "minItems": "S005",
    "maxItems": "S005",
    "minLength": "S006",
    "maxLength": "S006",
    "pattern": "S006",
}

MAX_SCHEMA_FINDINGS = 20


@functools.cache
def fast_validator(format_id: str):
    import jsonschema_rs

    from datakit.formats import load_schema

    return jsonschema_rs.validator_for(load_schema(format_id))


@functools.cache
def explaining_validator(format_id: str):
    from jsonschema import Draft202012Validator

    from datakit.formats import load_schema

    return Draft202012Validator(load_schema(format_id))


def _json_pointer(path) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _leaf(error):
    """Descend anyOf/oneOf to the single most relevant sub-error."""
    from jsonschema.exceptions import best_match

    while error.context:
        nxt = best_match(error.context)
        if nxt is None or nxt is error:
            break
        error = nxt
    return error


def _short(value: Any, limit: int = 60) -> str:
    import json

    try:
        s = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        s = repr(value)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _describe(error, format_id: str) -> str:
    kw = error.validator
    where = _json_pointer(error.absolute_path) or "the example"
    if kw == "required":
        missing = [k for k in error.validator_value if isinstance(error.instance, dict) and k not in error.instance]
        names = ", ".join(f"`{k}`" for k in missing) or str(error.validator_value)
        return f"{where} is missing required field {names}; add it ({format_id} requires it)"
    if kw in ("additionalProperties", "unevaluatedProperties"):
        allowed = sorted((error.schema.get("properties") or {}).keys())
        extra = ""
        if isinstance(error.instance, dict) and allowed:
            unknown = [k for k in error.instance if k not in allowed]
            extra = f"unexpected {', '.join(f'`{k}`' for k in unknown)}"
        hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"{where}: {extra or error.message} is not supported by {format_id}{hint}; remove it"
    if kw == "type":
        expected = error.validator_value
        exp = " or ".join(expected) if isinstance(expected, list) else expected
        return f"{where} must be of type {exp}, got {_short(error.instance)}"
    if kw in ("enum", "const"):
        allowed = error.validator_value if kw == "enum" else [error.validator_value]
        return (f"{where} is {_short(error.instance)}; allowed: "
                f"{', '.join(_short(a) for a in allowed)}")
    if kw in ("minItems", "maxItems"):
        n = len(error.instance) if isinstance(error.instance, list) else "?"
        bound = "at least" if kw == "minItems" else "at most"
        return f"{where} has {n} item(s); {format_id} needs {bound} {error.validator_value}"
    if kw in ("minProperties", "maxProperties") and isinstance(error.instance, dict):
        n = len(error.instance)
        bound = "at least" if kw == "minProperties" else "at most"
        keys = ", ".join(f"`{k}`" for k in error.instance) or "none"
        msg = (f"{where} has {n} field(s) ({keys}); {format_id} allows {bound} "
               f"{error.validator_value} here")
    else:
        msg = f"{where}: {error.message}"
    desc = error.schema.get("description") if isinstance(error.schema, dict) else None
    return f"{msg} ({desc})" if desc else msg


def explain(obj: Any, format_id: str) -> list[Finding]:
    """One finding per independent schema problem of a failing example."""
    validator = explaining_validator(format_id)
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for error in validator.iter_errors(obj):
        leaf = _leaf(error)
        ptr = _json_pointer(leaf.absolute_path)
        code = _KEYWORD_CODES.get(leaf.validator, "S000")
        key = (ptr, code)
        if key in seen:
            continue
        seen.add(key)
        findings.append(Finding(code, _describe(leaf, format_id), ptr))
        if len(findings) >= MAX_SCHEMA_FINDINGS:
            break
    typed = {f.pointer for f in findings if f.code == "S002"}
    # a wrong type explains a failed enum/const at the same place: say it once
    findings = [f for f in findings if not (f.code == "S003" and f.pointer in typed)]
    findings.sort(key=lambda f: f.pointer)
    return findings


def explain_failure(obj: Any, format_id: str) -> list[Finding]:
    """Findings for an example the compiled validator has already rejected."""
    found = explain(obj, format_id)
    # The two validators should agree; if only the fast one objects, still say so.
    return found or [Finding("S000", f"example does not match the {format_id} schema")]


def check(obj: Any, format_id: str) -> list[Finding]:
    """Fast path first; explain only when the compiled validator says no."""
    if fast_validator(format_id).is_valid(obj):
        return []
    found = explain(obj, format_id)
    # The two validators should agree; if only the fast one objects, still say so.
    return found or [Finding("S000", f"example does not match the {format_id} schema")]

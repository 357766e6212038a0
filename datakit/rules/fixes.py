"""The declared fixes: rule code → what ``datakit fix`` does about it, in one sentence.

This table is the only place that makes a rule fixable: the registry reads a
rule's ``fix`` from here, ``datakit rules`` marks these codes ``[fix]``, and
:mod:`datakit.fixing` has exactly one fixer per entry (a test checks both
directions, and that every entry has a case in ``tests/fixes/*.yaml``). A fix
is listed only when it is safe: it never drops training text, never guesses,
and leaves the example alone when the repair is ambiguous.

Fixes marked *on request* change what the model is trained on, so ``datakit
fix`` applies them only when asked (``--merge-consecutive``,
``--trim-trailing``); duplicates are removed unless ``--keep-duplicates``.
"""

from __future__ import annotations

FIXES: dict[str, str] = {
    # J: bytes and framing (never re-serialises the line)
    "J002": "strip the UTF-8 byte-order mark",
    "J003": "normalise line endings to LF",
    "J004": "delete the blank line",
    "J011": "append a final newline",
    # T: tool calls
    "T001": "remap the example's invalid tool-call ids to 9-character [a-zA-Z0-9] ids, "
            "consistently in the calls and in the matching tool_call_id of their results",
    "T008": "drop the empty `content` key beside `tool_calls`",
    "T009": "serialise object `arguments` to JSON text",
    "T011": "rewrite Python-literal `arguments` as JSON text (evaluated safely, never executed)",
    "T012": "decode doubly encoded `arguments` once, leaving the JSON text of the object",
    "T015": "add the missing tool definition to `tools` when the input defines a tool of "
            "that name exactly one way elsewhere",
    "T018": "rewrite legacy `functions`/`function_call`/`function` messages as "
            "`tools`/`tool_calls`/`tool` messages with generated call ids",
    # R: roles
    "R003": "merge consecutive turns of the same role into one, joining their text with a "
            "blank line (on request: --merge-consecutive)",
    "R004": "delete the turns after the last assistant turn (on request: --trim-trailing)",
    "R010": "remove `weight` from the non-assistant message",
    # D: dataset
    "D004": "remove the exact duplicate, keeping the first occurrence",
}

# Fixes that change the training signal: applied only when the caller asks.
ON_REQUEST: dict[str, str] = {"R003": "merge_consecutive", "R004": "trim_trailing"}

__all__ = ["FIXES", "ON_REQUEST"]

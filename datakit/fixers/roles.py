"""Fixers for role rules: a stray ``weight`` (R010), and, on request only,
consecutive same-role turns (R003) and trailing turns after the last answer (R004).

The turn fixers work on every conversation shape the linter reports them for:
the diagnostic's pointer ends in the role key, which says where the text is.
"""

from __future__ import annotations

from typing import Any

from datakit.fixers import FixContext, fixer
from datakit.fixers import pointer as jp

TEXT_KEY = {"role": "content", "sender_type": "text", "from": "value"}
ANSWER_ROLES = frozenset({"assistant", "BOT", "gpt", "function_call"})


@fixer("R010")
def drop_stray_weight(obj: dict, ptrs: list[str], ctx: FixContext) -> list[str]:
    fixed = []
    for ptr in ptrs:
        where = jp.parent(obj, ptr)
        if where is None:
            continue
        msg, key = where
        if key == "weight" and isinstance(msg, dict) and msg.get("role") != "assistant":
            del msg["weight"]
            fixed.append(ptr)
    return fixed


def _turn(ptr: str) -> tuple[str, int, str] | None:
    """``/messages/3/role`` → (``/messages``, 3, ``role``)."""
    toks = ptr.rsplit("/", 2)
    if len(toks) != 3 or not toks[1].isdigit() or toks[2] not in TEXT_KEY:
        return None
    return toks[0], int(toks[1]), toks[2]


def _join(a: Any, b: Any) -> Any:
    if isinstance(a, str) and isinstance(b, str):
        if not a.strip():
            return b
        if not b.strip():
            return a
        return f"{a}\n\n{b}"
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    return None


@fixer("R003", structural=True)
def merge_consecutive(obj: dict, ptrs: list[str], ctx: FixContext) -> list[str]:
    """Merge turn i into turn i-1 when both have the same role and nothing but their
    text differs (a different speaker name, weight or tool data keeps them apart)."""
    turns = sorted((t for t in map(_turn, ptrs) if t is not None), key=lambda t: -t[1])
    plan: list[tuple[list, int, str, Any, str]] = []
    for base, i, role_key in turns:
        msgs = jp.get(obj, base)
        if not isinstance(msgs, list) or not 0 < i < len(msgs):
            continue
        a, b = msgs[i - 1], msgs[i]
        text_key = TEXT_KEY[role_key]
        if not (isinstance(a, dict) and isinstance(b, dict)) or a.get(role_key) != b.get(role_key):
            continue
        if {k: v for k, v in a.items() if k != text_key} != {k: v for k, v in b.items() if k != text_key}:
            continue
        joined = _join(a.get(text_key), b.get(text_key))
        if joined is None:
            continue
        plan.append((msgs, i, text_key, joined, f"{base}/{i}/{role_key}"))
    # Highest index first, so earlier indices stay valid; a chain a,b,c merges in one go.
    fixed = []
    for msgs, i, text_key, _, ptr in plan:
        joined = _join(msgs[i - 1].get(text_key), msgs[i].get(text_key))
        msgs[i - 1][text_key] = joined
        del msgs[i]
        fixed.append(ptr)
    return fixed


@fixer("R004", structural=True)
def trim_trailing(obj: dict, ptrs: list[str], ctx: FixContext) -> list[str]:
    """Cut the conversation after its last assistant turn (never when it has none)."""
    fixed = []
    for ptr in ptrs:
        t = _turn(ptr)
        if t is None:
            continue
        base, _, role_key = t
        msgs = jp.get(obj, base)
        if not isinstance(msgs, list):
            continue
        last = max((k for k, m in enumerate(msgs)
                    if isinstance(m, dict) and m.get(role_key) in ANSWER_ROLES), default=None)
        if last is None or last == len(msgs) - 1:
            continue
        del msgs[last + 1:]
        fixed.append(ptr)
    return fixed

"""A direct path for the commonest conversion: a clean ShareGPT example into a chat target.

Corpora are mostly ShareGPT, and most of their examples need nothing from the
model but a change of spelling. For those, building the model, running every
adapt step and writing it back costs about three times the JSON parsing. This
module spells such an example directly as the target's dict.

It is a shortcut, never a second converter: it returns ``None`` (and the caller
goes through the model) for anything that would produce a loss, a fatal
finding, or any change other than the generated tool-call ids (C050). Where it
does answer, the output and the findings are exactly what
``read`` → ``adapt`` → ``write`` gives; ``tests/test_convert_fast.py`` checks
that on the seed corpora and on generated examples.

Covered: ``sharegpt`` → ``mistral``, ``openai`` (with tool calls, including
parallel calls whose results travel as one JSON list) and ``siliconflow``,
``dashscope-sft`` (text only).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import orjson

from datakit.conversion import mapping as M
from datakit.conversion.ids import remap_tool_ids
from datakit.model import ASSISTANT, SYSTEM, TOOL, USER
from datakit.rules.registry import Finding

_TOP = M.TOP_KEYS["sharegpt"]
_FROM = M.SHAREGPT_FROM
# The same text as json.dumps(value, ensure_ascii=False), without building an encoder per call.
_encode = json.JSONEncoder(ensure_ascii=False).encode
_FN_NAME = re.compile(M.FUNCTION_NAME_PATTERN)  # as adapt checks it (re.match)
_ROLE_DICTS = {k: v[0] for k, v in _FROM.items() if v[1] == "text"}


def _calls(value: str) -> list[tuple[str, str]] | None:
    """(name, arguments text) of a function_call turn, or None when the model is needed."""
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    items = data if isinstance(data, list) else [data]
    out = []
    for c in items:
        if type(c) is not dict or len(c) > 2:
            return None
        name = c.get("name")
        if type(name) is not str:
            return None
        args = c.get("arguments", {})
        if args is None:
            args = {}
        if type(args) is not dict or len(c) == 2 and "arguments" not in c:
            return None
        try:  # the reader's spelling of an object (json.dumps(args, ensure_ascii=False))
            text = _encode(args)
        except (TypeError, ValueError):
            return None
        out.append((name, text))
    return out or None


def _tools(tools: Any, caps: M.Caps) -> tuple[list[dict], set] | None:
    """Tool definitions of a ShareGPT line, wrapped, and the names they define."""
    if type(tools) is str:
        if tools.strip() == "":
            tools = []
        else:
            try:
                tools = orjson.loads(tools)
            except orjson.JSONDecodeError:
                return None
    if type(tools) is not list:
        return None
    wrapped = []
    for d in tools:
        if type(d) is not dict:
            return None
        if not (d.get("type") == "function" and type(d.get("function")) is dict):
            d = {"type": "function", "function": d}
        if caps.tools_defined and d["function"].get("parameters") is None:
            return None  # C056
        wrapped.append(d)
    return wrapped, {d["function"].get("name") for d in wrapped}


def _sharegpt_chat(obj: Any, target: str, cache: dict | None = None
                   ) -> tuple[dict, list[Finding]] | None:
    """``cache`` (text of ``tools`` → parsed) may be given when the result is serialised
    at once: the parsed lists are then shared between results."""
    if type(obj) is not dict or not obj.keys() <= _TOP:
        return None
    turns = obj.get("conversations")
    if type(turns) is not list:
        return None
    caps = M.CAPS[target]
    tools_ok = caps.tools
    msgs: list[dict] = []
    sys_text = obj.get("system")
    if sys_text is not None:
        if type(sys_text) is not str:
            return None
        msgs.append({"role": SYSTEM, "content": sys_text})
    # tool state
    calls: list[tuple[int, str, str]] = []  # (message index, name, arguments) in order
    call_dicts: list[dict] = []
    pending: list[int] = []  # tool messages to get the id of call number n
    result_of: list[int] = []
    open_calls: list[int] = []  # call numbers of the latest tool-calling turn, unanswered
    prev_ncalls = 0
    for t in turns:
        if type(t) is not dict or len(t) != 2:
            return None
        try:  # two keys, both present: exactly from/value
            frm = t["from"]
            value = t["value"]
        except KeyError:
            return None
        if type(value) is not str or type(frm) is not str:
            return None
        role = _ROLE_DICTS.get(frm)
        if role is None:
            if frm != "function_call" or not tools_ok:
                return None
            cs = _calls(value)
            if cs is None:
                return None
            i = len(msgs)
            tcs = []
            open_calls = []
            for name, args in cs:
                open_calls.append(len(calls))
                calls.append((i, name, args))
                d = {"id": None, "type": "function", "function": {"name": name, "arguments": args}}
                call_dicts.append(d)
                tcs.append(d)
            msgs.append({"role": ASSISTANT, "tool_calls": tcs})
            prev_ncalls = len(cs)
            continue
        if role == TOOL:
            if not tools_ok:
                return None
            results = [value]
            if prev_ncalls > 1 and value.startswith("["):
                try:
                    items = orjson.loads(value)
                except orjson.JSONDecodeError:
                    items = None
                if (type(items) is list and len(items) == prev_ncalls
                        and all(type(x) is str for x in items)):
                    results = items
            for r in results:
                if not open_calls:
                    return None  # C026
                pending.append(len(msgs))
                result_of.append(open_calls.pop(0))
                msgs.append({"role": TOOL, "content": r})
        else:
            msgs.append({"role": role, "content": value})
        prev_ncalls = 0
    findings: list[Finding] = []
    out: dict[str, Any] = {"messages": msgs}
    tools = obj.get("tools")
    defined: set = set()
    if tools is not None:
        if not tools_ok:
            return None
        if cache is not None and type(tools) is str:
            parsed = cache.get(tools, False)
            if parsed is False:
                parsed = cache[tools] = _tools(tools, caps)
        else:
            parsed = _tools(tools, caps)
        if parsed is None:
            return None
        wrapped, defined = parsed
        if wrapped:
            out["tools"] = wrapped
    if calls:
        for _, name, _ in calls:
            if not _FN_NAME.match(name):
                return None  # C027
        if caps.tools_defined:
            if any(name not in defined for _, name, _ in calls):
                return None  # C027
        h = hashlib.blake2b(digest_size=8)
        for _, name, args in calls:
            h.update(name.encode("utf-8", "surrogatepass"))
            h.update(args.encode("utf-8", "surrogatepass"))
        keys = []
        last_i, j = -1, 0
        for i, _, _ in calls:
            j = j + 1 if i == last_i else 0
            last_i = i
            keys.append(f"\x00{i}.{j}")
        mapping = remap_tool_ids(keys, h.hexdigest())
        ids = [mapping[k] for k in keys]
        for d, cid in zip(call_dicts, ids):
            d["id"] = cid
        for mi, n in zip(pending, result_of):
            msgs[mi]["tool_call_id"] = ids[n]
        findings.append(Finding("C050", f"{len(keys)} tool-call id(s) generated (the source "
                                        "pairs calls by position)", "/messages"))
    # roles: what adapt's _systems, _needs_answer and _order would say
    if not _roles_ok([m["role"] for m in msgs], caps, target):
        return None
    return out, findings


def _roles_ok(roles: list[str], caps: M.Caps, target: str) -> bool:
    if ASSISTANT not in roles:
        return False
    body = [r for r in roles if r != SYSTEM]
    if not body:
        return False
    if caps.system == "mistral":
        prev = None
        for r in roles:
            if r == SYSTEM and prev in (ASSISTANT, TOOL):
                return False
            prev = r
    elif caps.system == "first":
        lead = 0
        while lead < len(roles) and roles[lead] == SYSTEM:
            lead += 1
        if SYSTEM in roles[lead:] or (lead > 1 and target not in M.MULTI_SYSTEM):
            return False
    elif caps.system != "any":
        return False
    if caps.order == "alternate":
        for k, r in enumerate(body):
            if (r != USER if k % 2 == 0 else r != ASSISTANT):
                return False
    elif caps.order != "free":
        return False
    want = {"assistant": ASSISTANT, "user": USER}.get(caps.last)
    return want is None or body[-1] == want


FAST: dict[tuple[str, str], Callable[..., tuple[dict, list[Finding]] | None]] = {
    ("sharegpt", t): functools.partial(_sharegpt_chat, target=t)
    for t in ("mistral", "openai", "siliconflow", "dashscope-sft")
}


__all__ = ["FAST"]

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

from datakit.conversion import jsontext
from datakit.conversion import mapping as M
from datakit.conversion.ids import _candidate
from datakit.model import ASSISTANT, SYSTEM, TOOL, USER
from datakit.rules.registry import Finding
from datakit.rules.tools import parameters_problem

_TOP = M.TOP_KEYS["sharegpt"]
_FROM = M.SHAREGPT_FROM
# The same text as json.dumps(value, ensure_ascii=False), without building an encoder per call.
_encode = json.JSONEncoder(ensure_ascii=False).encode
_FN_NAME = re.compile(M.FUNCTION_NAME_PATTERN)  # as adapt checks it (fullmatch)
_ROLE_DICTS = {k: v[0] for k, v in _FROM.items() if v[1] == "text"}


def _calls(value: str) -> list[tuple[str, str]] | None:
    """(name, arguments text) of a function_call turn, or None when the model is needed."""
    try:
        data = jsontext.loads(value)
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
                tools = jsontext.loads(tools)
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
        fn = d["function"]
        params = fn.get("parameters")
        if caps.tools_defined and params is None:
            return None  # C056
        name = fn.get("name")
        if type(name) is not str:
            return None  # the model reports a bad name
        if caps.tool_ids != "none":  # C027, as adapt._definition_problem checks
            if not _FN_NAME.fullmatch(name):
                return None
            if params is not None and (type(params) is not dict
                                       or parameters_problem(params) is not None):
                return None
        wrapped.append(d)
    return wrapped, {d["function"].get("name") for d in wrapped}


def _sharegpt_chat(obj: Any, target: str, cache: dict | None = None
                   ) -> tuple[dict, list[Finding]] | None:
    """``cache`` (text of ``tools`` → parsed) may be given when the result is serialised
    at once: the parsed lists are then shared between results.

    Role rules are checked as messages are added, mirroring adapt: ``_systems``
    (mistral: no system after an assistant or tool turn; "first": one leading
    system message, else C003/C052), ``_order`` ("alternate": user, assistant, ...;
    the last turn as ``caps.last`` says, else C023/C024) and ``_needs_answer``.
    """
    if type(obj) is not dict or not obj.keys() <= _TOP:
        return None
    turns = obj.get("conversations")
    if type(turns) is not list:
        return None
    caps = M.CAPS[target]
    tools_ok = caps.tools
    sys_mode = caps.system
    if sys_mode not in ("mistral", "first", "any") or caps.order not in ("free", "alternate"):
        return None
    if sys_mode == "first" and target in M.MULTI_SYSTEM:
        return None
    alternate = caps.order == "alternate"
    msgs: list[dict] = []
    sys_text = obj.get("system")
    prev = None  # role of the last message added
    if sys_text is not None:
        if type(sys_text) is not str:
            return None
        msgs.append({"role": SYSTEM, "content": sys_text})
        prev = SYSTEM
    n_body = 0  # non-system messages so far
    has_answer = False
    # tool state, made on the first call
    calls: list[tuple[int, str, str]] | None = None  # (message index, name, arguments)
    call_dicts: list[dict] = []
    pending: list[int] = []  # tool messages, and the call number each answers
    result_of: list[int] = []
    open_calls: list[int] = []  # call numbers of the latest tool-calling turn, unanswered
    group_results = 0  # results after the latest tool-calling turn
    prev_ncalls = 0
    no_empty = not caps.empty_answer
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
            if cs is None or open_calls:  # open_calls: C026 (the previous calls unanswered)
                return None
            if calls is None:
                calls = []
            i = len(msgs)
            tcs = []
            open_calls = []
            group_results = 0
            for name, args in cs:
                open_calls.append(len(calls))
                calls.append((i, name, args))
                d = {"id": None, "type": "function", "function": {"name": name, "arguments": args}}
                call_dicts.append(d)
                tcs.append(d)
            msgs.append({"role": ASSISTANT, "tool_calls": tcs})
            prev = ASSISTANT
            has_answer = True
            n_body += 1
            prev_ncalls = len(cs)
            continue
        if open_calls and role != TOOL:
            return None  # C026: the conversation moves on from unanswered calls
        if role == SYSTEM:
            if sys_mode == "mistral":
                if prev == ASSISTANT or prev == TOOL:
                    return None  # C003
            elif sys_mode == "first" and msgs:
                return None  # C003 (late) or C052 (joined)
            msgs.append({"role": SYSTEM, "content": value})
        elif role == TOOL:
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
                group_results += 1
                msgs.append({"role": TOOL, "content": r})
                n_body += 1
        else:
            if alternate and role != (USER if n_body % 2 == 0 else ASSISTANT):
                return None  # C023
            if no_empty and role == ASSISTANT and (not value or value.isspace()):
                return None  # C029
            msgs.append({"role": role, "content": value})
            n_body += 1
            if role == ASSISTANT:
                has_answer = True
        prev = role
        prev_ncalls = 0
    if not has_answer or (open_calls and group_results):
        return None  # C028; C026 (a last turn of calls answered in part)
    last = caps.last
    if last != "any":
        body_last = prev
        if body_last == SYSTEM:
            for m in reversed(msgs):
                if m["role"] != SYSTEM:
                    body_last = m["role"]
                    break
        if body_last != last:
            return None  # C024
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
    if calls is None:
        return out, []
    tools_defined = caps.tools_defined
    for _, name, _ in calls:
        if name not in _NAMES_OK:
            if not _FN_NAME.fullmatch(name):
                return None  # C027
            if len(_NAMES_OK) < 4096:
                _NAMES_OK.add(name)
        if tools_defined and name not in defined:
            return None  # C027
    # adapt._salt and remap_tool_ids, spelled for calls without ids: the keys
    # "\x00{message}.{call}" are never valid ids, so each gets the first candidate
    # not taken (one streaming hash of all names and arguments == one hash of their join).
    salt = hashlib.blake2b("".join([name + args for _, name, args in calls]).encode(
        "utf-8", "surrogatepass"), digest_size=8).hexdigest()
    ids = []
    used: set[str] = set()
    last_i, j = -1, 0
    for (i, _, _), d in zip(calls, call_dicts):
        j = j + 1 if i == last_i else 0
        last_i = i
        key = f"\x00{i}.{j}"
        attempt = 0
        new = _candidate(key, salt, 0)
        while new in used:
            attempt += 1
            new = _candidate(key, salt, attempt)
        used.add(new)
        ids.append(new)
        d["id"] = new
    for mi, n in zip(pending, result_of):
        msgs[mi]["tool_call_id"] = ids[n]
    return out, [_c050(len(ids))]


_NAMES_OK: set[str] = set()  # function names seen to match FUNCTION_NAME_PATTERN


@functools.lru_cache(maxsize=64)
def _c050(n: int) -> Finding:
    return Finding("C050", f"{n} tool-call id(s) generated (the source pairs calls by position)",
                   f"/{M.SHAREGPT_KEYS['turns']}")


FAST: dict[tuple[str, str], Callable[..., tuple[dict, list[Finding]] | None]] = {
    ("sharegpt", t): functools.partial(_sharegpt_chat, target=t)
    for t in ("mistral", "openai", "siliconflow", "dashscope-sft")
}


__all__ = ["FAST"]

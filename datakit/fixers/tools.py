"""Fixers for tool calls: ids (T001), arguments (T009, T011, T012), an empty
content beside calls (T008), missing definitions (T015) and OpenAI's legacy
function-calling fields (T018)."""

from __future__ import annotations

import copy
from typing import Any

from datakit.fixers import AMBIGUOUS, FixContext, fixer
from datakit.fixers import pointer as jp
from datakit.formats._chat import blank
from datakit.rules.tools import decode_json, parameters_problem

# what repair_arguments must report for the repair to count as the fix of each code
_ARGUMENT_REPAIRS = {
    "T009": "stringified",
    "T011": "repaired-python-repr",
    "T012": "repaired-double-encoded",
}


def _fix_arguments(code: str, obj: dict, ptrs: list[str]) -> list[str]:
    from datakit.conversion.arguments import repair_arguments

    fixed = []
    for ptr in ptrs:
        where = jp.parent(obj, ptr)
        if where is None and "/function_call/function/" in ptr:
            # a legacy call is checked as {"function": function_call}: its real address
            ptr = ptr.replace("/function_call/function/", "/function_call/")
            where = jp.parent(obj, ptr)
        if where is None:
            continue
        container, key = where
        text, status = repair_arguments(container[key])
        if status != _ARGUMENT_REPAIRS[code] or not isinstance(text, str):
            continue
        ok, value = decode_json(text)
        if ok and isinstance(value, dict):  # only a repair that ends in a valid object
            container[key] = text
            fixed.append(ptr)
    return fixed


@fixer("T009")
def stringify_arguments(obj: dict, ptrs: list[str], ctx: FixContext) -> list[str]:
    return _fix_arguments("T009", obj, ptrs)


@fixer("T011")
def python_repr_arguments(obj: dict, ptrs: list[str], ctx: FixContext) -> list[str]:
    return _fix_arguments("T011", obj, ptrs)


@fixer("T012")
def double_encoded_arguments(obj: dict, ptrs: list[str], ctx: FixContext) -> list[str]:
    return _fix_arguments("T012", obj, ptrs)


# --- ids ---------------------------------------------------------------------------------

def _message_dicts(value: Any):
    """Every message-like dict of an example (anything with a ``role``), at any depth."""
    if isinstance(value, dict):
        if "role" in value:
            yield value
        for v in value.values():
            if isinstance(v, (dict, list)):
                yield from _message_dicts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _message_dicts(v)


def _all_ids(obj: dict) -> list[str]:
    ids: list[str] = []
    for m in _message_dicts(obj):
        calls = m.get("tool_calls")
        if isinstance(calls, list):
            ids.extend(c["id"] for c in calls if isinstance(c, dict) and isinstance(c.get("id"), str))
        if isinstance(m.get("tool_call_id"), str):
            ids.append(m["tool_call_id"])
    return ids


@fixer("T001")
def remap_ids(obj: dict, ptrs: list[str], ctx: FixContext) -> list[str]:
    """Give every flagged call id a fresh valid id, and its results the same id."""
    from datakit.conversion.ids import remap_tool_ids

    bad = {v for v in (jp.get(obj, p) for p in ptrs) if isinstance(v, str)}
    if not bad:
        return []
    # All ids go in, so the new ones cannot collide with the ids that stay.
    mapping = remap_tool_ids(list(dict.fromkeys(_all_ids(obj))))
    new = {old: mapping[old] for old in bad if mapping.get(old, old) != old}
    if not new:
        return []
    for m in _message_dicts(obj):
        calls = m.get("tool_calls")
        if isinstance(calls, list):
            for c in calls:
                if isinstance(c, dict) and c.get("id") in new:
                    c["id"] = new[c["id"]]
        if m.get("tool_call_id") in new:
            m["tool_call_id"] = new[m["tool_call_id"]]
    return [p for p in ptrs if isinstance(jp.get(obj, p), str) and jp.get(obj, p) in new.values()]


# --- content beside calls ------------------------------------------------------------------

@fixer("T008")
def drop_empty_content(obj: dict, ptrs: list[str], ctx: FixContext) -> list[str]:
    fixed = []
    for ptr in ptrs:
        where = jp.parent(obj, ptr)
        if where is None:
            continue
        msg, key = where
        if not isinstance(msg, dict) or key != "content":
            continue
        calls = msg.get("tool_calls")
        # Only beside tool_calls: a legacy function_call needs its `content` (null) until
        # T018 rewrites it, or formats that require content get a new error (S001); the
        # rewritten message is reported (and fixed) again where its format wants it gone.
        if isinstance(calls, list) and calls and blank(msg.get("content")) is True:
            del msg["content"]
            fixed.append(ptr)
    return fixed


# --- missing definitions -------------------------------------------------------------------

def _tool_container(obj: dict) -> dict:
    """Where ``tools`` lives: the example, or ``input`` of an OpenAI preference example."""
    inp = obj.get("input")
    return inp if isinstance(inp, dict) and "messages" in inp else obj


def _defined_names(tools: list) -> set[str]:
    out = set()
    for t in tools:
        fn = t.get("function") if isinstance(t, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            out.add(fn["name"])
    return out


@fixer("T015")
def add_tool_definitions(obj: dict, ptrs: list[str], ctx: FixContext) -> list[str]:
    """Add a definition found, identical, everywhere else in the input; never guess."""
    if "functions" in obj:
        return []  # legacy definitions: T018 rewrites them first
    box = _tool_container(obj)
    tools = box.get("tools", jp.MISSING)
    if tools is not jp.MISSING and not isinstance(tools, list):
        return []
    have = _defined_names(tools) if isinstance(tools, list) else set()
    adds: dict[str, dict] = {}
    fixed = []
    for ptr in ptrs:
        name = jp.get(obj, ptr)
        if not isinstance(name, str) or name in have:
            continue
        definition = ctx.tool_catalog.get(name)
        if definition is None or definition is AMBIGUOUS:
            continue
        adds.setdefault(name, definition)
        fixed.append(ptr)
    if not adds:
        return []
    new = [{"type": "function", "function": copy.deepcopy(d)} for d in adds.values()]
    if isinstance(tools, list):
        tools.extend(new)
    else:
        box["tools"] = new
    return fixed


def add_to_catalog(catalog: dict[str, Any], obj: Any) -> None:
    """Record the tool definitions of one example (for T015). A name defined in two
    different ways anywhere in the input becomes AMBIGUOUS and is never added."""
    if not isinstance(obj, dict):
        return
    defs: list[Any] = []
    for box in (obj, obj.get("input")):
        if isinstance(box, dict) and isinstance(box.get("tools"), list):
            defs.extend(t.get("function") for t in box["tools"] if isinstance(t, dict))
    if isinstance(obj.get("functions"), list):
        defs.extend(obj["functions"])
    for fn in defs:
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            continue
        params = fn.get("parameters")
        if params is not None and (not isinstance(params, dict) or parameters_problem(params)):
            catalog[fn["name"]] = AMBIGUOUS  # a broken definition is not one to copy
            continue
        seen = catalog.get(fn["name"])
        if seen is None:
            catalog[fn["name"]] = fn
        elif seen is not AMBIGUOUS and seen != fn:
            catalog[fn["name"]] = AMBIGUOUS


# --- legacy function calling ----------------------------------------------------------------

def _replace_key(d: dict, old: str, new: str, value: Any) -> dict:
    """``d`` with key ``old`` replaced by ``new`` in the same position."""
    return {(new if k == old else k): (value if k == old else v) for k, v in d.items()}


@fixer("T018", structural=True)
def legacy_functions(obj: dict, ptrs: list[str], ctx: FixContext) -> list[str]:
    """functions → tools, function_call → tool_calls (with ids), function → tool messages.
    All or nothing: the two styles must not be mixed, so a partial rewrite is worse."""
    from datakit.conversion.ids import remap_tool_ids

    msgs = obj.get("messages")
    if not isinstance(msgs, list):
        return []
    new_obj = copy.deepcopy(obj)
    if "functions" in obj:
        fns = obj["functions"]
        if not isinstance(fns, list) or not all(
                isinstance(f, dict) and isinstance(f.get("name"), str) for f in fns):
            return []
        converted = [{"type": "function", "function": copy.deepcopy(f)} for f in fns]
        if "tools" in obj:
            tools = new_obj["tools"]
            if not isinstance(tools, list):
                return []
            by_name = {t["function"]["name"]: t["function"] for t in tools if isinstance(t, dict)
                       and isinstance(t.get("function"), dict)
                       and isinstance(t["function"].get("name"), str)}
            for c in converted:
                known = by_name.get(c["function"]["name"])
                if known is None:
                    tools.append(c)
                elif known != c["function"]:
                    return []  # the same name defined two ways: not ours to choose
            del new_obj["functions"]
        else:
            new_obj = _replace_key(new_obj, "functions", "tools", converted)

    n_calls = sum(1 for m in msgs if isinstance(m, dict) and "function_call" in m)
    existing = _all_ids(obj)
    placeholders = [f"legacy-call-{k}" for k in range(n_calls)]
    mapping = remap_tool_ids(list(dict.fromkeys(existing + placeholders)))
    ids = iter(mapping[p] for p in placeholders)

    out_msgs = []
    pending: tuple[str, str] | None = None  # (id, name) of the call awaiting its result
    for m in new_obj["messages"]:
        if not isinstance(m, dict):
            return []
        role = m.get("role")
        if role == "assistant" and "function_call" in m:
            fc = m["function_call"]
            if "tool_calls" in m or not isinstance(fc, dict) or not isinstance(fc.get("name"), str):
                return []
            cid = next(ids)
            fn = {"name": fc["name"]}
            if "arguments" in fc:
                fn["arguments"] = fc["arguments"]
            call = {"id": cid, "type": "function", "function": fn}
            out_msgs.append(_replace_key(m, "function_call", "tool_calls", [call]))
            pending = (cid, fc["name"])
        elif role == "function":
            name = m.get("name")
            if pending is None or (name is not None and name != pending[1]):
                return []  # a result we cannot attribute to a call
            msg: dict[str, Any] = {}
            for k, v in m.items():
                if k == "role":
                    msg["role"] = "tool"
                    msg["tool_call_id"] = pending[0]
                elif k != "name":
                    msg[k] = v
            out_msgs.append(msg)
            pending = None
        else:
            out_msgs.append(m)
            pending = None
    new_obj["messages"] = out_msgs
    if new_obj == obj:
        return []
    obj.clear()
    obj.update(new_obj)
    return list(ptrs)

"""Writers: an adapted :class:`~datakit.model.Conversation` → one example dict.

A writer assumes :func:`datakit.conversion.adapt.adapt` has already fitted the
conversation to its format, so it only spells things: it never drops anything.
Layout hints (``Conversation.layout``) let a writer reproduce its own format's
input exactly (ShareGPT's ``tools`` text, Alpaca's instruction/input split).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

from datakit.conversion import jsontext
from datakit.conversion import mapping as M
from datakit.model import IMAGE, SYSTEM, TEXT, TOOL, Conversation, Message, Part


def _public(extra: dict | None) -> dict:
    """Extra keys minus datakit's private markers (``_...``)."""
    if not extra:
        return {}
    return {k: v for k, v in extra.items() if not k.startswith("_")}


# --------------------------------------------------------------------------- role-based chat

def _openai_part(p: Part, string_urls: bool) -> dict:
    if p.kind == TEXT:
        return {"type": "text", "text": p.value or "", **_public(p.extra)}
    if p.kind == IMAGE:
        ex = dict(p.extra or {})
        as_string = ex.pop("url_string", False)
        if as_string and string_urls:
            return {"type": "image_url", "image_url": p.value}
        return {"type": "image_url", "image_url": {"url": p.value, **ex}}
    return dict((p.extra or {}).get("raw") or {"type": p.kind})


def _calls(m: Message) -> list[dict]:
    out = []
    for c in m.tool_calls or ():
        ex = _public(c.extra)
        fex = ex.pop("function", None) or {}
        d: dict[str, Any] = {}
        if c.id is not None:
            d["id"] = c.id
        d["type"] = c.type or "function"
        d["function"] = {"name": c.name, "arguments": c.arguments, **fex}
        d.update(ex)
        out.append(d)
    return out


def _chat_message(m: Message, fmt: str) -> dict:
    d: dict[str, Any] = {"role": m.role}
    c = m.content
    if fmt == "dashscope-sft-image":
        parts = [Part(TEXT, c)] if isinstance(c, str) else (c or [])
        d["content"] = [{"text": p.value or ""} if p.kind == TEXT else {"image": p.value or ""}
                        for p in parts]
        return d
    if isinstance(c, list):
        d["content"] = [_openai_part(p, fmt == "mistral") for p in c]
    elif c is not None:
        d["content"] = c
    elif not m.tool_calls:
        d["content"] = ""
    if m.tool_calls:
        d["tool_calls"] = _calls(m)
    if m.tool_call_id is not None:
        d["tool_call_id"] = m.tool_call_id
    if m.name is not None:
        d["name"] = m.name
    if m.weight is not None:
        d["weight"] = m.weight
    if m.extra:
        d.update(_public(m.extra))
    return d


def _top_extra(d: dict, conv: Conversation) -> dict:
    for k, v in (conv.extra or {}).items():
        d.setdefault(k, v)
    return d


def write_chat(conv: Conversation, fmt: str) -> dict:
    d: dict[str, Any] = {"messages": [_chat_message(m, fmt) for m in conv.messages]}
    if conv.tools:
        d["tools"] = conv.tools
    if conv.parallel_tool_calls is not None:
        d["parallel_tool_calls"] = conv.parallel_tool_calls
    return _top_extra(d, conv)


def write_openai_preference(conv: Conversation) -> dict:
    inp: dict[str, Any] = {"messages": [_chat_message(m, "openai") for m in conv.messages]}
    if conv.tools is not None:
        inp["tools"] = conv.tools
    if conv.parallel_tool_calls is not None:
        inp["parallel_tool_calls"] = conv.parallel_tool_calls
    for k, v in (conv.hint("openai-preference.input_extra") or {}).items():
        inp.setdefault(k, v)
    d = {"input": inp,
         "preferred_output": [_chat_message(conv.chosen, "openai")],
         "non_preferred_output": [_chat_message(conv.rejected, "openai")]}
    return _top_extra(d, conv)


def write_dashscope_dpo(conv: Conversation) -> dict:
    d = {"messages": [_chat_message(m, "dashscope-dpo") for m in conv.messages],
         "chosen": _chat_message(conv.chosen, "dashscope-dpo"),
         "rejected": _chat_message(conv.rejected, "dashscope-dpo")}
    return _top_extra(d, conv)


# --------------------------------------------------------------------------- MiniMax

def _minimax_messages(conv: Conversation, names: bool) -> list[dict]:
    out = []
    for m in conv.messages:
        if m.role == SYSTEM:
            continue
        d: dict[str, Any] = {"sender_type": M.MINIMAX_SENDER_TO[m.role]}
        if names:
            d["sender_name"] = m.name
        d["text"] = m.text()
        out.append(d)
    return out


def write_minimax(conv: Conversation) -> dict:
    d: dict[str, Any] = {"messages": _minimax_messages(conv, False)}
    system = conv.system
    if system is not None:
        d["prompt"] = system
    if conv.user_name is not None or conv.bot_name is not None:
        d["role_meta"] = {"user_name": conv.user_name, "bot_name": conv.bot_name,
                          **(conv.hint("minimax.role_meta_extra") or {})}
    return _top_extra(d, conv)


def write_minimax_pro(conv: Conversation) -> dict:
    bots = [{"bot_name": m.name, "content": m.text(), **_public(m.extra)}
            for m in conv.messages if m.role == SYSTEM]
    if not bots:
        bots = [{"bot_name": conv.bot_name, "content": ""}]
    d = {"bot_setting": bots, "messages": _minimax_messages(conv, True)}
    return _top_extra(d, conv)


# --------------------------------------------------------------------------- ShareGPT

def _call_objects(m: Message) -> list[dict]:
    out = []
    for c in m.tool_calls or ():
        try:
            args = jsontext.loads(c.arguments)
        except orjson.JSONDecodeError:  # adapt() repaired or rejected these; be safe
            args = json.loads(c.arguments)
        out.append({"name": c.name, "arguments": args, **_public(c.extra)})
    return out


def write_sharegpt(conv: Conversation) -> dict:
    k = M.SHAREGPT_KEYS
    turns: list[dict] = []
    msgs = conv.messages
    system_turn = conv.hint("sharegpt.system_turn", False)
    d: dict[str, Any] = {}
    i = 0
    while i < len(msgs):
        m = msgs[i]
        if m.role == SYSTEM and not system_turn:
            d[k["system"]] = m.text()
            i += 1
            continue
        frm = M.SHAREGPT_TO[(m.role, bool(m.tool_calls))]
        if m.tool_calls:
            objs = _call_objects(m)
            value = None
            if m.source_text is not None:
                try:
                    src = jsontext.loads(m.source_text)
                except orjson.JSONDecodeError:
                    src = None
                if src == (objs[0] if len(objs) == 1 else objs):
                    value = m.source_text
            if value is None:
                value = json.dumps(objs[0] if len(objs) == 1 else objs, ensure_ascii=False)
            turns.append({k["role"]: frm, k["text"]: value, **_public(m.extra)})
            j = i + 1
            results = []
            while j < len(msgs) and msgs[j].role == TOOL:
                results.append(msgs[j])
                j += 1
            if len(results) == 1 or (results and len(objs) == 1):
                for r in results:
                    turns.append({k["role"]: "observation", k["text"]: r.text(),
                                  **_public(r.extra)})
            elif results:  # parallel calls: one observation holding a JSON list of results
                turns.append({k["role"]: "observation",
                              k["text"]: json.dumps([r.text() for r in results],
                                                    ensure_ascii=False),
                              **_public(results[0].extra)})
            i = j
            continue
        turns.append({k["role"]: frm, k["text"]: m.text(), **_public(m.extra)})
        i += 1
    out: dict[str, Any] = {k["turns"]: turns}
    out.update(d)
    if conv.tools:
        raw = conv.hint("sharegpt.tools")
        if raw is not None and raw[1] == conv.tools and isinstance(raw[0], str):
            out[k["tools"]] = raw[0]
        else:
            fns = [t.get("function", t) for t in conv.tools]
            out[k["tools"]] = json.dumps(fns, ensure_ascii=False)
    return _top_extra(out, conv)


# --------------------------------------------------------------------------- Alpaca

def write_alpaca(conv: Conversation) -> dict:
    k = M.ALPACA_KEYS
    msgs = conv.messages
    d: dict[str, Any] = {}
    body = [m for m in msgs if m.role != SYSTEM]
    pairs = [(body[n].text(), body[n + 1].text()) for n in range(0, len(body) - 1, 2)]
    query, answer = pairs[-1]
    split = conv.hint("alpaca.split")
    if split is not None and split[2] == query:
        instruction, inp = split[0], split[1]
    else:
        instruction, inp = query, ""
    d[k["instruction"]] = instruction
    d[k["input"]] = inp  # the schema requires it, empty when there is none
    d[k["output"]] = answer
    system = conv.system
    if system is not None:
        d[k["system"]] = system
    if len(pairs) > 1 or conv.hint("alpaca.history_key"):
        d[k["history"]] = [list(p) for p in pairs[:-1]]
    return _top_extra(d, conv)


WRITERS: dict[str, Callable[[Conversation], dict]] = {
    **{f: (lambda c, f=f: write_chat(c, f)) for f in M.CHAT_READ},
    "openai-preference": write_openai_preference,
    "dashscope-dpo": write_dashscope_dpo,
    "minimax": write_minimax,
    "minimax-pro": write_minimax_pro,
    "sharegpt": write_sharegpt,
    "alpaca": write_alpaca,
}


def write(conv: Conversation, fmt: str) -> dict:
    return WRITERS[fmt](conv)


__all__ = ["WRITERS", "write"]

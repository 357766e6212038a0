"""Readers: one parsed example of a format → :class:`~datakit.model.Conversation`.

Readers are total over valid input and strict about shape: anything they cannot
interpret raises :class:`ReadError` (reported as C020), never a guess. They
never copy strings and never mutate the input; lists they hand to the model are
new lists, so later passes can edit the model freely.

``None`` values of optional keys are read as absent: Parquet and Hugging Face
datasets fill every struct field, so ``{"name": null}`` is the same as no name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import orjson

from datakit.conversion import jsontext
from datakit.conversion import mapping as M
from datakit.conversion import pointers as P
from datakit.model import (
    ASSISTANT,
    IMAGE,
    ROLES,
    SYSTEM,
    TEXT,
    TOOL,
    USER,
    Conversation,
    Message,
    Part,
    ToolCall,
)


class ReadError(ValueError):
    """The example does not have the shape of its source format."""

    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(message)
        self.pointer = pointer


def _absent(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _str(v: Any, ptr: str, what: str) -> str:
    if not isinstance(v, str):
        raise ReadError(f"{what} must be a string, got {type(v).__name__}", ptr)
    return v


def _extra(d: dict, known: frozenset[str] | set[str]) -> dict | None:
    out = None
    for k, v in d.items():
        if k not in known and not _absent(v):
            if out is None:
                out = {}
            out[k] = v
    return out


def args_text(v: Any) -> tuple[str, bool]:
    """Tool-call arguments as text; True when the source held an object, not a string."""
    if isinstance(v, str):
        return v, False
    return json.dumps(v, ensure_ascii=False), True


# --------------------------------------------------------------------------- parts

def read_parts(items: list, ptr: str) -> list[Part]:
    parts: list[Part] = []
    for i, p in enumerate(items):
        if isinstance(p, str):  # a bare string item is text
            parts.append(Part(TEXT, p))
            continue
        if not isinstance(p, dict):
            raise ReadError(f"content part must be an object, got {type(p).__name__}", f"{ptr}/{i}")
        t = p.get("type")
        if t is None:  # DashScope parts: {"text": ...} or {"image": ...}
            if "text" in p and isinstance(p["text"], str):
                parts.append(Part(TEXT, p["text"], _extra(p, {"text"})))
            elif "image" in p and isinstance(p["image"], str):
                parts.append(Part(IMAGE, p["image"], _extra(p, {"image"})))
            else:
                raise ReadError("content part has neither `type`, `text` nor `image`", f"{ptr}/{i}")
        elif t == "text":
            parts.append(Part(TEXT, _str(p.get("text"), f"{ptr}/{i}/text", "text part"),
                              _extra(p, {"type", "text"})))
        elif t == "image_url":
            iu = p.get("image_url")
            if isinstance(iu, str):
                parts.append(Part(IMAGE, iu, {"url_string": True}))
            elif isinstance(iu, dict) and isinstance(iu.get("url"), str):
                ex = _extra(iu, {"url"})
                parts.append(Part(IMAGE, iu["url"], ex))
            else:
                raise ReadError("image_url part needs `image_url.url`", f"{ptr}/{i}/image_url")
        else:  # refusal, input_audio, file, ...: kept verbatim
            parts.append(Part(str(t), None, {"raw": p}))
    return parts


# --------------------------------------------------------------------------- chat messages

def read_tool_calls(calls: Any, ptr: str) -> list[ToolCall]:
    if not isinstance(calls, list):
        raise ReadError("`tool_calls` must be a list", ptr)
    out = []
    for j, c in enumerate(calls):
        p = f"{ptr}/{j}"
        if not isinstance(c, dict):
            raise ReadError("a tool call must be an object", p)
        fn = c.get("function")
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
            raise ReadError("a tool call needs `function.name`", f"{p}/function")
        raw_args = fn.get("arguments", "")
        if _absent(raw_args):
            raw_args = ""
        text, was_obj = args_text(raw_args)
        extra = _extra(c, {"id", "type", "function"})
        fextra = _extra(fn, {"name", "arguments"})
        if fextra:
            extra = {**(extra or {}), "function": fextra}
        if was_obj:
            extra = {**(extra or {}), "_object_arguments": True}
        cid = c.get("id")
        out.append(ToolCall(fn["name"], text, None if _absent(cid) else str(cid),
                            c.get("type") or "function", extra))
    return out


def read_message(m: Any, ptr: str) -> Message:
    if not isinstance(m, dict):
        raise ReadError(f"a message must be an object, got {type(m).__name__}", ptr)
    role = m.get("role")
    legacy_function = role == "function"
    if legacy_function:
        role = TOOL
    if role not in ROLES:
        raise ReadError(f"unknown role {role!r}", f"{ptr}/role")
    content = m.get("content")
    if _absent(content):
        content = None
    elif isinstance(content, list):
        content = read_parts(content, f"{ptr}/content")
    elif not isinstance(content, str):
        raise ReadError("`content` must be a string, a list of parts or null", f"{ptr}/content")
    msg = Message(role, content)
    msg.src = ptr
    tc = m.get("tool_calls")
    if not _absent(tc):
        # An empty list says nothing; it is read as absent (documented normalisation).
        msg.tool_calls = read_tool_calls(tc, f"{ptr}/tool_calls") or None
    fc = m.get("function_call")
    if not _absent(fc):  # legacy single function call
        if not isinstance(fc, dict) or not isinstance(fc.get("name"), str):
            raise ReadError("`function_call` needs a `name`", f"{ptr}/function_call")
        text, was_obj = args_text(fc.get("arguments", ""))
        call = ToolCall(fc["name"], text, None, "function",
                        {"_object_arguments": True} if was_obj else None)
        msg.src_fields = {"_function_call": len(msg.tool_calls or ())}
        msg.tool_calls = (msg.tool_calls or []) + [call]
    tcid = m.get("tool_call_id")
    if not _absent(tcid):
        msg.tool_call_id = str(tcid)
    name = m.get("name")
    if not _absent(name):
        msg.name = _str(name, f"{ptr}/name", "`name`")
    w = m.get("weight")
    if not _absent(w):
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w not in (0, 1):
            raise ReadError(f"`weight` must be 0 or 1, got {w!r}", f"{ptr}/weight")
        msg.weight = int(w)
    ex = _extra(m, M.MESSAGE_KEYS)
    if ex:
        msg.extra = {**(msg.extra or {}), **ex}
    return msg


def _messages(obj: dict, key: str, ptr: str) -> list[Message]:
    msgs = obj.get(key)
    if not isinstance(msgs, list):
        raise ReadError(f"`{key}` must be a list", ptr)
    return [read_message(m, f"{ptr}/{i}") for i, m in enumerate(msgs)]


def _tools(v: Any, ptr: str) -> list[dict] | None:
    if _absent(v):
        return None
    if not isinstance(v, list):
        raise ReadError("`tools` must be a list", ptr)
    for i, t in enumerate(v):
        if not isinstance(t, dict):
            raise ReadError("a tool definition must be an object", f"{ptr}/{i}")
    return list(v)


def _ptc(conv: Conversation, v: Any) -> None:
    if not _absent(v):
        conv.parallel_tool_calls = bool(v)


def read_chat(obj: dict) -> Conversation:
    """openai, mistral, siliconflow, dashscope-sft and dashscope-sft-image lines."""
    conv = Conversation(_messages(obj, "messages", "/messages"))
    conv.tools = _tools(obj.get("tools"), "/tools")
    conv.src = {"messages": "/messages", "tools": "/tools", "tools_n": len(conv.tools or ()),
                "parallel_tool_calls": "/parallel_tool_calls"}
    fns = obj.get("functions")
    if not _absent(fns):  # legacy OpenAI function definitions
        if not isinstance(fns, list):
            raise ReadError("`functions` must be a list", "/functions")
        conv.tools = (conv.tools or []) + [{"type": "function", "function": f} for f in fns]
        conv.src["functions"] = "/functions"
    _ptc(conv, obj.get("parallel_tool_calls"))
    conv.extra = _extra(obj, M.TOP_KEYS["chat"])
    return conv


# --------------------------------------------------------------------------- preference

def _single(v: Any, ptr: str) -> Message:
    if isinstance(v, list):
        if len(v) != 1:
            raise ReadError(f"expected exactly one assistant message, got {len(v)}", ptr)
        v = v[0]
        ptr = f"{ptr}/0"
    msg = read_message(v, ptr)
    if msg.role != ASSISTANT:
        raise ReadError(f"a preferred/rejected answer must be an assistant message, got {msg.role}",
                        f"{ptr}/role")
    return msg


def read_dashscope_dpo(obj: dict) -> Conversation:
    conv = Conversation(_messages(obj, "messages", "/messages"))
    conv.chosen = _single(obj.get("chosen"), "/chosen")
    conv.rejected = _single(obj.get("rejected"), "/rejected")
    conv.src = {"messages": "/messages"}
    conv.extra = _extra(obj, M.TOP_KEYS["dashscope-dpo"])
    return conv


def read_openai_preference(obj: dict) -> Conversation:
    inp = obj.get("input")
    if not isinstance(inp, dict):
        raise ReadError("`input` must be an object with `messages`", "/input")
    conv = Conversation(_messages(inp, "messages", "/input/messages"))
    conv.tools = _tools(inp.get("tools"), "/input/tools")
    conv.src = {"messages": "/input/messages", "tools": "/input/tools",
                "tools_n": len(conv.tools or ()),
                "parallel_tool_calls": "/input/parallel_tool_calls"}
    _ptc(conv, inp.get("parallel_tool_calls"))
    in_extra = _extra(inp, {"messages", "tools", "parallel_tool_calls"})
    if in_extra:
        conv.set_hint("openai-preference.input_extra", in_extra)
    conv.chosen = _single(obj.get("preferred_output"), "/preferred_output")
    conv.rejected = _single(obj.get("non_preferred_output"), "/non_preferred_output")
    conv.extra = _extra(obj, M.TOP_KEYS["openai-preference"])
    return conv


# --------------------------------------------------------------------------- MiniMax

def _minimax_messages(obj: dict, with_names: bool) -> list[Message]:
    msgs = obj.get("messages")
    if not isinstance(msgs, list):
        raise ReadError("`messages` must be a list", "/messages")
    out = []
    for i, m in enumerate(msgs):
        p = f"/messages/{i}"
        if not isinstance(m, dict):
            raise ReadError("a message must be an object", p)
        st = m.get("sender_type")
        role = M.MINIMAX_SENDER.get(st) if isinstance(st, str) else None
        if role is None:
            raise ReadError(f"unknown sender_type {m.get('sender_type')!r}; expected USER or BOT",
                            f"{p}/sender_type")
        msg = Message(role, _str(m.get("text"), f"{p}/text", "`text`"))
        msg.src, msg.src_fields = p, P.MINIMAX
        name = m.get("sender_name")
        if not _absent(name):
            msg.name = _str(name, f"{p}/sender_name", "`sender_name`")
        msg.extra = _extra(m, {"sender_type", "sender_name", "text"})
        out.append(msg)
    return out


def read_minimax(obj: dict) -> Conversation:
    conv = Conversation(_minimax_messages(obj, False))
    conv.src = {"messages": "/messages"}
    prompt = obj.get("prompt")
    if not _absent(prompt):
        conv.messages.insert(0, Message(SYSTEM, _str(prompt, "/prompt", "`prompt`"),
                                        src="/prompt", src_fields=P.SCALAR))
    rm = obj.get("role_meta")
    if not _absent(rm):
        if not isinstance(rm, dict):
            raise ReadError("`role_meta` must be an object", "/role_meta")
        if not _absent(rm.get("bot_name")):
            conv.bot_name = _str(rm["bot_name"], "/role_meta/bot_name", "`bot_name`")
        if not _absent(rm.get("user_name")):
            conv.user_name = _str(rm["user_name"], "/role_meta/user_name", "`user_name`")
        ex = _extra(rm, {"bot_name", "user_name"})
        if ex:
            conv.set_hint("minimax.role_meta_extra", ex)
    conv.extra = _extra(obj, M.TOP_KEYS["minimax"])
    return conv


def read_minimax_pro(obj: dict) -> Conversation:
    conv = Conversation(_minimax_messages(obj, True))
    conv.src = {"messages": "/messages"}
    bs = obj.get("bot_setting")
    if not isinstance(bs, list):
        raise ReadError("`bot_setting` must be a list", "/bot_setting")
    systems = []
    for i, b in enumerate(bs):
        p = f"/bot_setting/{i}"
        if not isinstance(b, dict):
            raise ReadError("a bot_setting entry must be an object", p)
        name = _str(b.get("bot_name"), f"{p}/bot_name", "`bot_name`")
        content = _str(b.get("content"), f"{p}/content", "`content`")
        if content == "" and len(bs) == 1:
            conv.bot_name = name  # a persona name without a persona text
            continue
        systems.append(Message(SYSTEM, content, name=name, extra=_extra(b, {"bot_name", "content"}),
                               src=p, src_fields=P.BOT_SETTING))
    conv.messages[0:0] = systems
    conv.extra = _extra(obj, M.TOP_KEYS["minimax-pro"])
    return conv


# --------------------------------------------------------------------------- ShareGPT

def _sharegpt_calls(value: str, ptr: str) -> list[ToolCall]:
    try:
        data = jsontext.loads(value)
    except orjson.JSONDecodeError:
        raise ReadError("a function_call value must be JSON {\"name\", \"arguments\"}", ptr) from None
    items = data if isinstance(data, list) else [data]
    calls = []
    for c in items:
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            raise ReadError("a function_call value must be JSON {\"name\", \"arguments\"}", ptr)
        args = c.get("arguments", {})
        text, _ = args_text({} if args is None else args)
        ex = _extra(c, {"name", "arguments"})
        calls.append(ToolCall(c["name"], text, None, "function", ex))
    return calls


def _unpack_results(msgs: list[Message]) -> list[Message]:
    """ShareGPT alternates turns, so the results of n parallel calls (one function_call
    turn holding a JSON list of n calls) travel as one observation holding a JSON list
    of n result strings. Split it back into one tool message per call."""
    out: list[Message] = []
    for i, m in enumerate(msgs):
        prev = msgs[i - 1] if i else None
        if (m.role == TOOL and prev is not None and prev.tool_calls and len(prev.tool_calls) > 1
                and isinstance(m.content, str) and m.content.startswith("[")):
            try:
                items = orjson.loads(m.content)
            except orjson.JSONDecodeError:
                items = None
            if (isinstance(items, list) and len(items) == len(prev.tool_calls)
                    and all(isinstance(x, str) for x in items)):
                out.extend(Message(TOOL, x, extra=m.extra, src=m.src, src_fields=m.src_fields)
                           for x in items)
                continue
        out.append(m)
    return out


def read_sharegpt(obj: dict) -> Conversation:
    k = M.SHAREGPT_KEYS
    turns = obj.get(k["turns"])
    if not isinstance(turns, list):
        raise ReadError(f"`{k['turns']}` must be a list", f"/{k['turns']}")
    msgs: list[Message] = []
    turn_keys = frozenset((k["role"], k["text"]))
    kr, kt, table = k["role"], k["text"], M.SHAREGPT_FROM
    for i, t in enumerate(turns):
        if not isinstance(t, dict):
            raise ReadError("a turn must be an object", f"/{k['turns']}/{i}")
        frm = t.get(kr)
        spec = table.get(frm) if isinstance(frm, str) else None
        if spec is None:
            raise ReadError(f"unknown `from` value {frm!r}", f"/{k['turns']}/{i}/{kr}")
        role, how = spec
        value = t.get(kt)
        if not isinstance(value, str):
            _str(value, f"/{k['turns']}/{i}/{kt}", "`value`")  # raises with the pointer
        if how == "tool_calls":
            msg = Message(role, None, tool_calls=_sharegpt_calls(value, f"/{k['turns']}/{i}/{kt}"),
                          source_text=value)
        else:
            msg = Message(role, value)
        msg.src, msg.src_fields = f"/{k['turns']}/{i}", P.SHAREGPT
        if len(t) > 2:  # most turns hold exactly from/value
            msg.extra = _extra(t, turn_keys)
        msgs.append(msg)
    msgs = _unpack_results(msgs)
    conv = Conversation(msgs)
    conv.src = {"messages": f"/{k['turns']}", "tools": f"/{k['tools']}"}
    if msgs and msgs[0].role == SYSTEM:
        conv.set_hint("sharegpt.system_turn", True)
    sys_text = obj.get(k["system"])
    if not _absent(sys_text):
        msgs.insert(0, Message(SYSTEM, _str(sys_text, f"/{k['system']}", "`system`"),
                               src=f"/{k['system']}", src_fields=P.SCALAR))
        conv.set_hint("sharegpt.system_key", True)
    tools = obj.get(k["tools"])
    if not _absent(tools):
        raw = tools
        if isinstance(tools, str):
            if tools.strip() == "":
                tools = []
            else:
                try:
                    tools = jsontext.loads(tools)
                except orjson.JSONDecodeError:
                    raise ReadError("`tools` must be JSON text of a list of functions",
                                    f"/{k['tools']}") from None
        if isinstance(tools, dict):
            tools = [tools]
        elif isinstance(raw, list):  # definitions one to one with the source list
            conv.src["tools_n"] = len(raw)
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            raise ReadError("`tools` must be a list of function definitions", f"/{k['tools']}")
        conv.tools = [t if t.get("type") == "function" and isinstance(t.get("function"), dict)
                      else {"type": "function", "function": t} for t in tools]
        conv.set_hint("sharegpt.tools", (raw, conv.tools))
    conv.extra = _extra(obj, M.TOP_KEYS["sharegpt"])
    return conv


# --------------------------------------------------------------------------- Alpaca

def read_alpaca(obj: dict) -> Conversation:
    k = M.ALPACA_KEYS
    instruction = _str(obj.get(k["instruction"]), f"/{k['instruction']}", "`instruction`")
    inp = obj.get(k["input"])
    inp = "" if _absent(inp) else _str(inp, f"/{k['input']}", "`input`")
    output = _str(obj.get(k["output"]), f"/{k['output']}", "`output`")
    msgs: list[Message] = []
    sys_text = obj.get(k["system"])
    if not _absent(sys_text):
        msgs.append(Message(SYSTEM, _str(sys_text, f"/{k['system']}", "`system`"),
                            src=f"/{k['system']}", src_fields=P.SCALAR))
    hist = obj.get(k["history"])
    if not _absent(hist):
        if not isinstance(hist, list):
            raise ReadError("`history` must be a list of [instruction, response] pairs",
                            f"/{k['history']}")
        for i, pair in enumerate(hist):
            if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                    or not all(isinstance(s, str) for s in pair)):
                raise ReadError("a history item must be a [instruction, response] pair of strings",
                                f"/{k['history']}/{i}")
            p = f"/{k['history']}/{i}"
            msgs.append(Message(USER, pair[0], src=f"{p}/0", src_fields=P.SCALAR))
            msgs.append(Message(ASSISTANT, pair[1], src=f"{p}/1", src_fields=P.SCALAR))
    query = instruction + M.ALPACA_JOIN + inp if inp else instruction
    msgs.append(Message(USER, query, src=f"/{k['instruction']}", src_fields=P.SCALAR))
    msgs.append(Message(ASSISTANT, output, src=f"/{k['output']}", src_fields=P.SCALAR))
    conv = Conversation(msgs)
    conv.src = {"messages": ""}  # Alpaca has no list of turns: the line itself
    conv.set_hint("alpaca.split", (instruction, inp, query, "input" in obj))
    if not _absent(hist):
        conv.set_hint("alpaca.history_key", True)
    conv.extra = _extra(obj, M.TOP_KEYS["alpaca"])
    return conv


READERS: dict[str, Callable[[dict], Conversation]] = {
    **{f: read_chat for f in M.CHAT_READ},
    "openai-preference": read_openai_preference,
    "dashscope-dpo": read_dashscope_dpo,
    "minimax": read_minimax,
    "minimax-pro": read_minimax_pro,
    "sharegpt": read_sharegpt,
    "alpaca": read_alpaca,
}


def read(obj: Any, fmt: str) -> Conversation:
    if not isinstance(obj, dict):
        raise ReadError(f"an example must be a JSON object, got {type(obj).__name__}")
    return READERS[fmt](obj)

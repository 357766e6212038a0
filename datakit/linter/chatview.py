"""The example as a model sees it: an OpenAI-style message list, per format.

Token counters take ``{"messages": [...], "tools": [...]}``. This module maps
each provider format onto that view without copying message text. Preference
formats give two views (prompt + chosen, prompt + rejected).
"""

from __future__ import annotations

from typing import Any


def _parts_text(content: Any) -> Any:
    """DashScope image parts → OpenAI-style parts (text kept; images marked)."""
    if not isinstance(content, list):
        return content
    out = []
    for p in content:
        if isinstance(p, dict):
            if "text" in p:
                out.append({"type": "text", "text": p.get("text")})
            elif "image" in p:
                out.append({"type": "image_url", "image_url": {"url": p.get("image")}})
    return out


def views(obj: dict, fmt: str) -> list[dict]:
    """OpenAI-style views of one example (one, or two for preference data)."""
    if fmt in ("openai", "mistral", "siliconflow", "dashscope-sft"):
        return [obj]
    if fmt == "dashscope-sft-image":
        msgs = [dict(m, content=_parts_text(m.get("content"))) for m in obj.get("messages", [])
                if isinstance(m, dict)]
        return [{"messages": msgs}]
    if fmt == "dashscope-dpo":
        msgs = list(obj.get("messages") or [])
        return [{"messages": msgs + [obj[k]]} for k in ("chosen", "rejected")
                if isinstance(obj.get(k), dict)]
    if fmt == "openai-preference":
        inp = obj.get("input") or {}
        msgs = list(inp.get("messages") or [])
        out = []
        for k in ("preferred_output", "non_preferred_output"):
            extra = obj.get(k)
            if isinstance(extra, list):
                v = {"messages": msgs + extra}
                if inp.get("tools"):
                    v["tools"] = inp["tools"]
                out.append(v)
        return out
    if fmt in ("minimax", "minimax-pro"):
        msgs: list[dict] = []
        if fmt == "minimax" and isinstance(obj.get("prompt"), str):
            msgs.append({"role": "system", "content": obj["prompt"]})
        for b in obj.get("bot_setting") or []:
            if isinstance(b, dict):
                msgs.append({"role": "system", "content": b.get("content"),
                             "name": b.get("bot_name")})
        for m in obj.get("messages") or []:
            if isinstance(m, dict):
                role = "assistant" if m.get("sender_type") == "BOT" else "user"
                v = {"role": role, "content": m.get("text")}
                if m.get("sender_name"):
                    v["name"] = m["sender_name"]
                msgs.append(v)
        return [{"messages": msgs}]
    if fmt == "sharegpt":
        msgs = []
        if isinstance(obj.get("system"), str):
            msgs.append({"role": "system", "content": obj["system"]})
        for t in obj.get("conversations") or []:
            if isinstance(t, dict):
                role = _SHAREGPT_ROLE.get(t.get("from"), "user")
                msgs.append({"role": role, "content": t.get("value")})
        return [{"messages": msgs}]
    if fmt == "alpaca":
        msgs = []
        if isinstance(obj.get("system"), str):
            msgs.append({"role": "system", "content": obj["system"]})
        for pair in obj.get("history") or []:
            if isinstance(pair, list) and len(pair) == 2:
                msgs += [{"role": "user", "content": pair[0]},
                         {"role": "assistant", "content": pair[1]}]
        prompt = "\n".join(str(obj[k]) for k in ("instruction", "input") if obj.get(k))
        msgs += [{"role": "user", "content": prompt},
                 {"role": "assistant", "content": obj.get("output")}]
        return [{"messages": msgs}]
    return []


# ShareGPT speakers as chat roles (tool calls and observations count as text here).
_SHAREGPT_ROLE = {"system": "system", "human": "user", "user": "user", "gpt": "assistant",
                  "assistant": "assistant", "function_call": "assistant",
                  "observation": "tool", "tool": "tool"}

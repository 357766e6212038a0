"""ShareGPT, the shape most open corpora are published in."""

from typing import Any

from datakit.formats import CheckContext, Finding, Format, register
from datakit.formats._chat import blank, q
from datakit.rules.tools import decode_json

# LLaMA-Factory's convention: `human` and `observation` fill the user slot, `gpt` and
# `function_call` the assistant slot, and the two slots alternate. Common aliases are
# mapped so the order is still checked (the schema says whether they are allowed).
KIND = {
    "human": "human", "user": "human",
    "gpt": "gpt", "assistant": "gpt",
    "function_call": "function_call",
    "observation": "observation", "tool": "observation",
    "system": "system",
}
SLOT = {"human": "U", "observation": "U", "gpt": "A", "function_call": "A"}


def check(obj: dict, ctx: CheckContext) -> list[Finding]:
    out: list[Finding] = []
    if not isinstance(obj, dict):
        return out
    tools = obj.get("tools")
    if isinstance(tools, str) and tools.strip():
        ok, value = decode_json(tools)
        if not ok or not isinstance(value, list):
            out.append(Finding("T020", (
                "\"tools\" must be the JSON text of an array of tool definitions; it "
                f"{'is not valid JSON' if not ok else 'decodes to something else'}"), "/tools"))
    conv = obj.get("conversations")
    if not isinstance(conv, list) or not conv:
        return out
    last_kind: str | None = None
    last_from: Any = None
    last_idx = -1
    seen = False
    n_answers = 0
    final_kind: str | None = None
    for i, m in enumerate(conv):
        if not isinstance(m, dict):
            last_kind = final_kind = None
            continue
        frm = m.get("from")
        kind = KIND.get(frm) if isinstance(frm, str) else None
        final_kind = kind
        if kind is None:
            last_kind = None  # the schema reports it
            continue
        ptr = f"/conversations/{i}"
        if kind == "system":
            if i > 0:
                out.append(Finding("R001", (
                    f"turn {i} is a system turn; ShareGPT allows it only as the first turn (or as "
                    "the top-level \"system\" key) — move it to the front"), f"{ptr}/from"))
            continue
        value = m.get("value")
        alternation_broken = False
        if not seen:
            seen = True
            if kind in ("gpt", "function_call"):
                out.append(Finding("R002", (
                    f"turn {i} is the first turn but is from {q(frm)}; the conversation must "
                    "start with \"human\" — add the human turn or remove this one"), f"{ptr}/from"))
        elif last_kind is not None and SLOT[kind] == SLOT[last_kind]:
            alternation_broken = True
            out.append(Finding("R003", (
                f"turn {i} is from {q(frm)} right after {q(last_from)} (turn {last_idx}); ShareGPT "
                "turns alternate human/observation with gpt/function_call — merge the turns "
                "(datakit convert --merge-consecutive) or remove one"), f"{ptr}/from"))
        if not alternation_broken:
            if kind == "observation" and last_kind != "function_call":
                out.append(Finding("T004", (
                    f"turn {i} is an observation (tool result) that does not follow a "
                    "function_call turn; add the call before it or remove it"), f"{ptr}/from"))
            elif last_kind == "function_call" and kind != "observation":
                out.append(Finding("T006", (
                    f"turn {last_idx} is a function_call with no observation after it (turn {i} "
                    f"is from {q(frm)}); add the tool result or remove the call"),
                    f"/conversations/{last_idx}"))
        if kind == "function_call" and isinstance(value, str):
            ok, call = decode_json(value)
            # one call, or a non-empty list of parallel calls (LLaMA-Factory's convention)
            calls = call if ok and isinstance(call, list) and call else [call]
            if not (ok and all(isinstance(c, dict) and isinstance(c.get("name"), str)
                               for c in calls)):
                out.append(Finding("T020", (
                    f"turn {i} is a function_call whose value is not the JSON text of an object "
                    "with \"name\" and \"arguments\" (or of a list of such objects for "
                    "parallel calls); write it as JSON"), f"{ptr}/value"))
        elif "value" in m and blank(value) is True:
            if kind == "gpt":
                out.append(Finding("R012", (
                    f"turn {i} (gpt) has an empty value; write the answer or drop the example"),
                    f"{ptr}/value"))
            elif kind == "human":
                out.append(Finding("R013", (
                    f"turn {i} (human) has an empty value; restore the prompt or drop the example"),
                    f"{ptr}/value"))
        if kind in ("gpt", "function_call"):
            n_answers += 1
        last_kind, last_from, last_idx = kind, frm, i
    if n_answers == 0:
        out.append(Finding("R008", (
            "the conversation has no gpt turn, so it trains nothing; add the answer or drop the "
            "example"), "/conversations"))
    elif final_kind in ("human", "observation"):
        out.append(Finding("R004", (
            f"the conversation ends on turn {len(conv) - 1} from {q(conv[-1].get('from'))}; it "
            "must end on a gpt (or function_call) turn — remove the trailing turn (datakit "
            "convert --trim-trailing) or add the answer"), f"/conversations/{len(conv) - 1}/from"))
    return out


register(Format("sharegpt", "ShareGPT conversations", "sharegpt",
                "beyond the seeds: ShareGPT / LLaMA-Factory convention", check))

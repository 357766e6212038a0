"""Alpaca instruction format."""

from datakit.formats import CheckContext, Finding, Format, register
from datakit.formats._chat import blank


def check(obj: dict, ctx: CheckContext) -> list[Finding]:
    out: list[Finding] = []
    if not isinstance(obj, dict):
        return out
    if "output" in obj and isinstance(obj.get("output"), str) and blank(obj["output"]):
        out.append(Finding("R012", (
            "\"output\" is empty, so the example trains nothing; write the answer or drop the "
            "example"), "/output"))
    instruction, inp = obj.get("instruction"), obj.get("input", "")
    if (isinstance(instruction, str) and blank(instruction)
            and (inp is None or (isinstance(inp, str) and blank(inp)))):
        out.append(Finding("R013", (
            "\"instruction\" and \"input\" are both empty, so the answer replies to nothing; "
            "restore the prompt or drop the example"), "/instruction"))
    history = obj.get("history")
    if isinstance(history, list):
        for k, pair in enumerate(history):
            if not (isinstance(pair, list) and len(pair) == 2
                    and isinstance(pair[0], str) and isinstance(pair[1], str)):
                shape = (f"a list of {len(pair)} item(s)" if isinstance(pair, list)
                         else f"a {type(pair).__name__}")
                out.append(Finding("R016", (
                    f"history entry {k} is {shape}; each entry must be a pair "
                    "[instruction, response] of two strings"), f"/history/{k}"))
                continue
            if blank(pair[1]):
                out.append(Finding("R012", (
                    f"history entry {k} has an empty response; write it or drop the entry"),
                    f"/history/{k}/1"))
            if blank(pair[0]):
                out.append(Finding("R013", (
                    f"history entry {k} has an empty instruction; restore it or drop the entry"),
                    f"/history/{k}/0"))
    return out


register(Format("alpaca", "Alpaca instruction/input/output", "alpaca",
                "beyond the seeds: Stanford Alpaca / LLaMA-Factory convention", check))

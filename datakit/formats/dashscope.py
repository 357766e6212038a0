"""Alibaba Bailian / DashScope SFT, SFT-image and DPO formats."""

from datakit.formats import CHAT, CheckContext, Finding, Format, register
from datakit.formats._chat import Profile, blank, no_tools, walk

# 004: ChatML with an optional leading system prompt, then user/assistant pairs; no tools.
SFT = Profile("dashscope-sft", system_anywhere=False, first_user=True, alternate=True, tools=False)
SFT_IMAGE = Profile("dashscope-sft-image", system_anywhere=False, first_user=True, alternate=True,
                    tools=False, images="dashscope")
DPO_PROMPT = Profile("dashscope-dpo", system_anywhere=False, first_user=True, alternate=True,
                     tools=False, end="user", need_assistant=False)


def _check(obj: dict, ctx: CheckContext, prof: Profile) -> list[Finding]:
    out: list[Finding] = []
    if not isinstance(obj, dict):
        return out
    no_tools(obj, "", prof.format_id, out)
    walk(obj.get("messages"), "/messages", prof, ctx, out)
    return out


def check_sft(obj: dict, ctx: CheckContext) -> list[Finding]:
    return _check(obj, ctx, SFT)


def check_sft_image(obj: dict, ctx: CheckContext) -> list[Finding]:
    return _check(obj, ctx, SFT_IMAGE)


def check_dpo(obj: dict, ctx: CheckContext) -> list[Finding]:
    out = _check(obj, ctx, DPO_PROMPT)
    if not isinstance(obj, dict):
        return out
    answers = []
    for key in ("chosen", "rejected"):
        ans = obj.get(key)
        if not isinstance(ans, dict):
            continue  # the schema reports it
        answers.append(ans)
        if ans.get("tool_calls") or ans.get("function_call"):
            out.append(Finding("T017", (
                f"\"{key}\" makes a tool call, but dashscope-dpo has no tool calling; write the "
                "answer as text or drop the example"), f"/{key}"))
        elif "content" in ans and blank(ans.get("content")) is True:
            out.append(Finding("R012", (
                f"\"{key}\" has empty content; write the answer or drop the example"),
                f"/{key}/content"))
    if len(answers) == 2 and answers[0].get("content") == answers[1].get("content"):
        out.append(Finding("R014", (
            "\"chosen\" and \"rejected\" have the same content, so the pair teaches nothing; "
            "supply a genuinely worse rejected answer or drop the example"), "/rejected/content"))
    return out


register(Format("dashscope-sft", "DashScope SFT (ChatML)", CHAT, "004_5798d0ceeceffe78.txt", check_sft))
register(Format("dashscope-sft-image", "DashScope SFT image understanding (zip)", CHAT,
                "004_5798d0ceeceffe78.txt", check_sft_image, container="zip"))
register(Format("dashscope-dpo", "DashScope DPO", "dashscope-dpo", "004_5798d0ceeceffe78.txt", check_dpo))

"""Qwen2.5 on an OpenAI-compatible platform (strict role order, no tools)."""

from datakit.formats import CHAT, CheckContext, Finding, Format, register
from datakit.formats._chat import Profile, no_tools, walk

# 002: system only first, first non-system is user, user/assistant alternate in pairs.
PROFILE = Profile("siliconflow", system_anywhere=False, first_user=True, alternate=True, tools=False)


def check(obj: dict, ctx: CheckContext) -> list[Finding]:
    out: list[Finding] = []
    if not isinstance(obj, dict):
        return out
    no_tools(obj, "", "siliconflow", out)
    walk(obj.get("messages"), "/messages", PROFILE, ctx, out)
    return out


register(Format("siliconflow", "SiliconFlow Qwen2.5 fine-tuning", CHAT,
                "002_2b7f8eacc6c5aff5.txt", check))

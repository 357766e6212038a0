"""Mistral default-instruct and function-calling format."""

from datakit.diagnostics import Severity
from datakit.formats import CHAT, CheckContext, Finding, Format, register
from datakit.formats._chat import Profile, walk
from datakit.rules.tools import tool_names

# mistral-common in fine-tuning mode, with the seed deciding where they differ
# (a trailing tool call with no reply is fine: the seed's own example ends so).
PROFILE = Profile(
    "mistral",
    transitions=True,
    mistral_ids=True,
    content_with_calls=False,
    tools_required=True,
    weights=True,
    empty_assistant_severity=Severity.ERROR,
)


def check(obj: dict, ctx: CheckContext) -> list[Finding]:
    out: list[Finding] = []
    if not isinstance(obj, dict):
        return out
    defined = tool_names(obj.get("tools"), "/tools", out) if "tools" in obj else None
    walk(obj.get("messages"), "/messages", PROFILE, ctx, out, defined=defined)
    return out


register(Format("mistral", "Mistral fine-tuning (instruct + function calling)", CHAT,
                "001_4bfe51fd4156bead.txt", check))

"""OpenAI chat and preference (DPO) formats."""

from datakit.diagnostics import Severity
from datakit.formats import CHAT, CheckContext, Finding, Format, register
from datakit.formats._chat import Profile, blank, check_call, walk
from datakit.rules.tools import tool_names

CHAT_PROFILE = Profile(
    "openai", end_severity=Severity.WARNING, weights=True, images="openai", legacy=True,
)
# The prompt of a preference example: the answers live outside `messages`.
PROMPT_PROFILE = Profile("openai-preference", end="user", need_assistant=False, images="openai")

OUTPUTS = ("preferred_output", "non_preferred_output")


def _defined(container: dict, base: str, out: list[Finding]) -> set[str] | None:
    if "tools" not in container:
        return None
    return tool_names(container.get("tools"), f"{base}/tools", out)


def check_chat(obj: dict, ctx: CheckContext) -> list[Finding]:
    out: list[Finding] = []
    if not isinstance(obj, dict):
        return out
    defined = _defined(obj, "", out)
    legacy_defined = None
    if "functions" in obj:
        out.append(Finding("T018", (
            "\"functions\" is deprecated; OpenAI expects \"tools\" "
            "([{\"type\": \"function\", \"function\": {...}}]) — datakit fix rewrites it"),
            "/functions"))
        legacy_defined = tool_names(obj.get("functions"), "/functions", out, legacy=True)
    walk(obj.get("messages"), "/messages", CHAT_PROFILE, ctx, out,
         defined=defined, legacy_defined=legacy_defined)
    return out


def check_preference(obj: dict, ctx: CheckContext) -> list[Finding]:
    out: list[Finding] = []
    if not isinstance(obj, dict):
        return out
    inp = obj.get("input")
    if isinstance(inp, dict):
        defined = _defined(inp, "/input", out)
        turns = walk(inp.get("messages"), "/input/messages", PROMPT_PROFILE, ctx, out,
                     defined=defined)
        msgs = inp.get("messages")
        if isinstance(msgs, list):
            for k, msg in enumerate(msgs):
                if isinstance(msg, dict) and "weight" in msg:
                    out.append(_preference_weight(f"input.messages[{k}]",
                                                  f"/input/messages/{k}/weight"))
        if turns.user > 1 or turns.assistant:
            out.append(Finding("R007", (
                f"input.messages has {turns.user} user and {turns.assistant} assistant turn(s); "
                "OpenAI preference fine-tuning is single-turn — keep the system prompt and the "
                "last user turn"), "/input/messages"))
    answers = []
    for key in OUTPUTS:
        val = obj.get(key)
        if not isinstance(val, list):
            continue  # missing or wrong type: the schema reports it
        if len(val) != 1:
            out.append(Finding("R006", (
                f"\"{key}\" has {len(val)} messages; OpenAI preference fine-tuning needs "
                "exactly one assistant message"), f"/{key}"))
        for k, msg in enumerate(val):
            if not isinstance(msg, dict):
                continue
            role = msg.get("role")
            if isinstance(role, str) and role != "assistant":
                out.append(Finding("R006", (
                    f"\"{key}\" message {k} has role \"{role}\"; the output must be an assistant "
                    "message"), f"/{key}/{k}/role"))
            if "weight" in msg:
                out.append(_preference_weight(f"\"{key}\" message {k}", f"/{key}/{k}/weight"))
            calls = msg.get("tool_calls")
            if isinstance(calls, list) and calls:
                for j, call in enumerate(calls):
                    check_call(call, f"/{key}/{k}/tool_calls/{j}", out)
            elif "content" in msg and blank(msg.get("content")) is True:
                out.append(Finding("R012", (
                    f"\"{key}\" message {k} has empty content; write the answer or drop the "
                    "example"), f"/{key}/{k}/content"))
        if len(val) == 1 and isinstance(val[0], dict):
            answers.append(val[0])
    if len(answers) == 2 and _same_answer(*answers):
        out.append(Finding("R014", (
            "preferred_output and non_preferred_output are identical, so the pair teaches "
            "nothing; supply a genuinely worse non-preferred answer or drop the example"),
            "/non_preferred_output/0"))
    return out


def _preference_weight(what: str, ptr: str) -> Finding:
    return Finding("R017", (
        f"{what} has a \"weight\"; preference fine-tuning learns from the two answers and has "
        "no per-message weight — remove it (datakit convert drops it, and reports weight 0 "
        "as C002)"), ptr)


def _same_answer(a: dict, b: dict) -> bool:
    return a.get("content") == b.get("content") and a.get("tool_calls") == b.get("tool_calls")


register(Format("openai", "OpenAI chat fine-tuning", CHAT, "003_277bd4c3bdc3ca44.txt", check_chat))
register(Format("openai-preference", "OpenAI preference (DPO) fine-tuning", "openai-preference",
                "beyond the seeds: OpenAI preference fine-tuning guide", check_preference))

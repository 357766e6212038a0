"""MiniMax abab5.5 ChatCompletion and ChatCompletion Pro formats."""

from typing import Any

from datakit.formats import CheckContext, Finding, Format, register
from datakit.formats._chat import blank, q

SENDER_TYPES = ("USER", "BOT")


def _bot_names(obj: dict, out: list[Finding]) -> set[str] | None:
    """``bot_setting`` names (R015 for a name defined twice); None when unusable."""
    setting = obj.get("bot_setting")
    if not isinstance(setting, list):
        return None
    names: set[str] = set()
    for k, bot in enumerate(setting):
        name = bot.get("bot_name") if isinstance(bot, dict) else None
        if isinstance(name, str):
            if name in names:
                out.append(Finding("R015", (
                    f"bot_name {q(name)} is defined twice in bot_setting (again at index {k}); "
                    "give each bot its own name"), f"/bot_setting/{k}/bot_name"))
            names.add(name)
    return names


def _check(obj: Any, pro: bool) -> list[Finding]:
    out: list[Finding] = []
    if not isinstance(obj, dict):
        return out
    bots: set[str] | None = None
    meta_bot = meta_user = None
    if pro:
        bots = _bot_names(obj, out)
    else:
        meta = obj.get("role_meta")
        if isinstance(meta, dict):
            meta_bot, meta_user = meta.get("bot_name"), meta.get("user_name")
            if isinstance(meta_bot, str) and meta_bot and meta_bot == meta_user:
                out.append(Finding("R015", (
                    f"role_meta gives the bot and the user the same name {q(meta_bot)}; the "
                    "model cannot tell the speakers apart — rename one"), "/role_meta"))
    msgs = obj.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return out
    fmt = "minimax-pro" if pro else "minimax"
    last_type: str | None = None
    last_name: Any = None
    last_idx = -1
    first = True
    n_bot = 0
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            last_type = None
            continue
        st = m.get("sender_type")
        if not isinstance(st, str) or st not in SENDER_TYPES:
            last_type = None  # the schema reports it
            continue
        name = m.get("sender_name")
        if first:
            first = False
            if st != "USER":
                out.append(Finding("R002", (
                    f"message {i} is the first message but has sender_type \"BOT\"; {fmt} "
                    "conversations start with the user — add the USER turn before it or remove "
                    "it"), f"/messages/{i}/sender_type"))
        elif st == last_type:
            group_chat = (pro and st == "BOT" and bots is not None and name in bots
                          and last_name in bots and name != last_name)
            if not group_chat:
                out.append(Finding("R003", (
                    f"message {i} has sender_type {q(st)} after {q(st)} (message {last_idx}); "
                    f"{fmt} requires USER and BOT to alternate — merge the turns (datakit convert "
                    "--merge-consecutive) or remove one"), f"/messages/{i}/sender_type"))
        if "text" in m and blank(m.get("text")) is True:
            code, who, fix = (("R012", "BOT", "write the answer") if st == "BOT"
                              else ("R013", "USER", "restore the prompt"))
            out.append(Finding(code, (
                f"message {i} ({who}) has empty text; {fix} or drop the example"),
                f"/messages/{i}/text"))
        if isinstance(name, str):
            ptr = f"/messages/{i}/sender_name"
            if pro and bots is not None:
                if st == "BOT" and name not in bots:
                    known = ", ".join(q(b) for b in sorted(bots)) or "none"
                    out.append(Finding("R015", (
                        f"message {i} is a BOT message from {q(name)}, which is not a bot_name "
                        f"of bot_setting ({known}); use the bot's name or add it to bot_setting"),
                        ptr))
                elif st == "USER" and name in bots:
                    out.append(Finding("R015", (
                        f"message {i} is a USER message under the bot name {q(name)}; give the "
                        "user a name of its own"), ptr))
            elif not pro:
                expected = meta_bot if st == "BOT" else meta_user
                if isinstance(expected, str) and name != expected:
                    key = "bot_name" if st == "BOT" else "user_name"
                    out.append(Finding("R015", (
                        f"message {i} has sender_name {q(name)} but role_meta.{key} is "
                        f"{q(expected)}; make them the same"), ptr))
        if st == "BOT":
            n_bot += 1
        last_type, last_name, last_idx = st, name, i
    last = msgs[-1]
    last_st = last.get("sender_type") if isinstance(last, dict) else None
    if n_bot == 0:
        out.append(Finding("R008", (
            "the example has no BOT message, so it trains nothing; add the bot's answer or drop "
            "the example"), "/messages"))
    elif last_st == "USER":
        out.append(Finding("R004", (
            f"the example ends on message {len(msgs) - 1} from the USER; {fmt} trains the BOT's "
            "answers — remove the trailing turn (datakit convert --trim-trailing) or add the "
            "answer"), f"/messages/{len(msgs) - 1}/sender_type"))
    return out


def check(obj: dict, ctx: CheckContext) -> list[Finding]:
    return _check(obj, pro=False)


def check_pro(obj: dict, ctx: CheckContext) -> list[Finding]:
    return _check(obj, pro=True)


register(Format("minimax", "MiniMax ChatCompletion", "minimax", "000_ea3691b77837ac4d.txt", check))
register(Format("minimax-pro", "MiniMax ChatCompletion Pro", "minimax-pro", "000_ea3691b77837ac4d.txt",
                check_pro))

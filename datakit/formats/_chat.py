"""The one pass over ``messages`` shared by the role-based chat formats.

Each format describes its rules as a :class:`Profile`; :func:`walk` visits every
message once and emits the R, T and M findings that profile asks for. The walk is
defensive (it runs on examples that failed the schema: any JSON value may appear
anywhere) and cheap on valid data: dictionary look-ups and ``isinstance`` per
message, pointers and messages built only when something is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from datakit.diagnostics import Severity
from datakit.formats import CheckContext
from datakit.rules.media import MAX_OPENAI_IMAGES, check_dashscope_image, check_openai_image_url
from datakit.rules.registry import Finding
from datakit.rules.tools import (
    FUNCTION_NAME,
    MISTRAL_ID,
    check_arguments,
    check_function_name,
)

_MISSING = object()
CHAT_ROLES = frozenset({"system", "user", "assistant", "tool"})

# mistral-common's transition table (MistralRequestValidator._validate_message_order),
# except after `tool`: the Mistral seed wants the assistant to answer a tool result
# (mistral-common also allows `user` there; the seed decides).
MISTRAL_NEXT: dict[str, frozenset[str]] = {
    "system": frozenset({"user", "assistant", "system"}),
    "user": frozenset({"assistant", "system", "user"}),
    "assistant": frozenset({"assistant", "user", "tool"}),
    "tool": frozenset({"assistant", "tool"}),
}


@dataclass(frozen=True, slots=True)
class Profile:
    """What one chat format requires of its ``messages``."""

    format_id: str
    system_anywhere: bool = True  # False: R001 for a system message after position 0
    first_user: bool = False  # R002
    alternate: bool = False  # R003
    end: str | None = "assistant"  # "assistant": R004; "user" (preference prompt): R005
    end_severity: Severity | None = None  # R004 severity override (openai: warning)
    need_assistant: bool = True  # R008
    transitions: bool = False  # R011, mistral-common's table
    tools: bool = True  # False: T017 for any tool data
    mistral_ids: bool = False  # T001: ids are [a-zA-Z0-9]{9}; else merely non-empty
    content_with_calls: bool = True  # False: T007/T008
    tools_required: bool = False  # T015 as an error even when `tools` is absent
    weights: bool = False  # R009, R010
    images: str | None = None  # "openai" (image_url parts) or "dashscope" ({"image": name})
    legacy: bool = False  # T018 for functions/function_call/function role
    empty_assistant_severity: Severity | None = None  # R012 override (mistral: error)


@dataclass(slots=True)
class Turns:
    """What a walk counted, for rules that look at the whole example."""

    user: int = 0
    assistant: int = 0


class _Group:
    """The tool calls of one assistant message, waiting for their results."""

    __slots__ = ("answered", "calls", "owner", "pending", "results")

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.pending: dict[str, int] = {}  # id -> call index
        self.answered: set[str] = set()
        self.calls = 0
        self.results = 0


def blank(content: Any) -> bool | None:
    """True when content is empty or whitespace (non-text parts count as content);
    None when it is not a content value at all (the schema reports that)."""
    if isinstance(content, str):
        return not content or content.isspace()
    if content is None:
        return True
    if isinstance(content, list):
        for part in content:
            if isinstance(part, str):
                if part and not part.isspace():
                    return False
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    if text and not text.isspace():
                        return False
                elif part and part.get("type", "image") != "text":
                    return False  # an image (or other non-text) part
        return True
    return None


def q(value: Any) -> str:
    """A short quoted rendering of a role or name for messages."""
    s = value if isinstance(value, str) else repr(value)
    if len(s) > 40:
        s = s[:39] + "…"
    return f'"{s}"'


def check_call(call: Any, ptr: str, out: list[Finding], *, legacy: bool = False) -> str | None:
    """T014 and T009–T013 on one tool call; returns the called name (or None).

    ``legacy``: ``call`` is a deprecated ``function_call`` object at ``ptr`` itself
    (its name and arguments sit directly in it, not under ``function``)."""
    if not isinstance(call, dict):
        return None
    fn, sub = (call, "") if legacy else (call.get("function"), "/function")
    if not isinstance(fn, dict):
        return None
    name = fn.get("name")
    if name.__class__ is not str or FUNCTION_NAME.fullmatch(name) is None:
        check_function_name(name, f"{ptr}{sub}/name", out)
    if "arguments" in fn:
        args = fn["arguments"]
        # the common case, JSON text of an object, without building a pointer
        if args.__class__ is not str or _decoded_class(args) is not dict:
            check_arguments(args, f"{ptr}{sub}/arguments", out)
    return name if isinstance(name, str) else None


def _decoded_class(text: str) -> type | None:
    try:
        return orjson.loads(text).__class__
    except orjson.JSONDecodeError:
        return None


def walk(
    msgs: Any,
    base: str,
    prof: Profile,
    ctx: CheckContext,
    out: list[Finding],
    *,
    defined: set[str] | None = None,
    legacy_defined: set[str] | None = None,
) -> Turns:
    """Check one ``messages`` list at JSON pointer ``base``.

    ``defined`` is the set of tool names of the example's ``tools`` (None when the key
    is absent); ``legacy_defined`` the same for OpenAI's deprecated ``functions``.
    """
    if msgs.__class__ is list and msgs:
        roles = _plain_roles(msgs)
        if roles is not None:
            return _plain_walk(roles, base, prof, ctx, out)
    return _walk_full(msgs, base, prof, ctx, out, defined=defined,
                      legacy_defined=legacy_defined)


def _walk_full(
    msgs: Any,
    base: str,
    prof: Profile,
    ctx: CheckContext,
    out: list[Finding],
    *,
    defined: set[str] | None = None,
    legacy_defined: set[str] | None = None,
) -> Turns:
    """The general walk: any JSON value may appear anywhere."""
    turns = Turns()
    if not isinstance(msgs, list) or not msgs:
        return turns  # the schema reports a missing or empty list
    fmt = prof.format_id
    images = ctx.images
    image_kind = prof.images

    prev: str | None = None  # role of the previous message (mistral-common transitions)
    last_ua: str | None = None  # last user/assistant role, for alternation
    last_ua_idx = -1
    seen_ua = False
    trained = 0
    n_images = 0
    eleventh_image = ""
    group: _Group | None = None
    seen_ids: dict[str, int] = {}  # call id -> message index, across the example
    called: list[tuple[str, str, int]] = []  # (name, pointer, message index)
    legacy_called: list[tuple[str, str, int]] = []

    def close(at: int | None, role: str = "") -> None:
        """The conversation moves on at message ``at`` (None: the example ends)."""
        assert group is not None
        if at is None and group.results == 0:
            return  # a trailing call with no reply: allowed (the Mistral seed ends so)
        if not group.pending and group.results >= group.calls:
            return
        why = f"before message {at} ({role})" if at is not None else "before the end of the example"
        if group.pending:
            for cid, j in group.pending.items():
                out.append(Finding("T006", (
                    f"tool call {q(cid)} of message {group.owner} has no tool result {why}; add a "
                    f"tool message with \"tool_call_id\": {q(cid)} right after the call, or "
                    "remove the call"), f"{base}/{group.owner}/tool_calls/{j}/id"))
        elif group.results < group.calls:
            out.append(Finding("T006", (
                f"message {group.owner} makes {group.calls} tool call(s) but only "
                f"{group.results} tool result(s) follow {why}; add the missing results"),
                f"{base}/{group.owner}/tool_calls"))

    n = len(msgs)
    for i, m in enumerate(msgs):
        if not isinstance(m, dict):
            prev = last_ua = None
            continue
        role = m.get("role")
        if not isinstance(role, str) or role not in CHAT_ROLES:
            if role == "function" and prof.legacy:
                out.append(Finding("T018", (
                    f"message {i} has the deprecated role \"function\"; use a \"tool\" message "
                    "with \"tool_call_id\" (datakit fix rewrites it)"), f"{base}/{i}/role"))
            prev = last_ua = None  # unknown role: the schema reports it; do not chain on it
            continue

        if "weight" in m and role != "assistant" and prof.weights:
            out.append(Finding("R010", (
                f"message {i} ({role}) has \"weight\"; weight applies to assistant "
                "messages only — remove it or move it to the assistant answer"),
                f"{base}/{i}/weight"))

        if prof.transitions and prev is not None and role != "tool" and role not in MISTRAL_NEXT[prev]:
            allowed = "/".join(sorted(MISTRAL_NEXT[prev]))
            why = (" (the Mistral seed: the assistant answers the tool result first)"
                   if prev == "tool" else "")
            out.append(Finding("R011", (
                f"message {i} has role {q(role)} right after {q(prev)}; {fmt} allows only "
                f"{allowed} after {prev}{why}"), f"{base}/{i}/role"))

        content = m.get("content", _MISSING)

        if role == "tool":
            if not prof.tools:
                out.append(Finding("T017", (
                    f"message {i} is a tool result, but {fmt} has no tool calling; convert the "
                    f"example (datakit convert --to {fmt} renders tool turns as text) or drop it"),
                    f"{base}/{i}/role"))
                last_ua = None
            elif group is None:
                before = msgs[i - 1].get("role") if i and isinstance(msgs[i - 1], dict) else None
                after = f" (previous message {i - 1} is {q(before)})" if i else ""
                out.append(Finding("T004", (
                    f"message {i} is a tool result that does not follow an assistant message "
                    f"with tool_calls{after}; add the call before it or remove it"),
                    f"{base}/{i}"))
            else:
                group.results += 1
                tcid = m.get("tool_call_id")
                if isinstance(tcid, str) and tcid in group.pending:
                    del group.pending[tcid]
                    group.answered.add(tcid)
                elif isinstance(tcid, str) and tcid in group.answered:
                    out.append(Finding("T005", (
                        f"message {i} is a second result for tool call {q(tcid)} of message "
                        f"{group.owner}; remove the duplicate"), f"{base}/{i}/tool_call_id"))
                elif group.results > group.calls:
                    out.append(Finding("T005", (
                        f"message {i} is tool result {group.results} after message "
                        f"{group.owner}, which made {group.calls} call(s); remove the extra "
                        "result"), f"{base}/{i}"))
                elif isinstance(tcid, str):
                    if tcid in seen_ids:
                        where = (f"answers a call of message {seen_ids[tcid]}, not of message "
                                 f"{group.owner} that it follows")
                    else:
                        ids = ", ".join(q(c) for c in group.pending) or "none left"
                        where = (f"matches no tool call of message {group.owner} (open ids: "
                                 f"{ids})")
                    out.append(Finding("T003", (
                        f"message {i} has tool_call_id {q(tcid)}, which {where}; use the id of "
                        "the call it answers"), f"{base}/{i}/tool_call_id"))
            prev = role
            if image_kind is not None and isinstance(content, list):
                n_images, eleventh_image = _images(content, i, role, base, prof, images, out,
                                                   n_images, eleventh_image)
            continue

        # system, user or assistant: the conversation moves on from any open tool calls.
        if group is not None:
            close(i, role)
            group = None

        if role == "system":
            if i > 0 and not prof.system_anywhere:
                out.append(Finding("R001", (
                    f"message {i} is a system message; {fmt} allows a system message only as "
                    "the first message — move it to the front or merge its text into the "
                    "first system or user message"), f"{base}/{i}/role"))
        else:
            if not seen_ua:
                seen_ua = True
                if prof.first_user and role != "user":
                    out.append(Finding("R002", (
                        f"message {i} is the first turn after the system prompt but has role "
                        f"{q(role)}; {fmt} requires the conversation to start with a user "
                        "message — add the user turn before it or remove it"), f"{base}/{i}/role"))
            elif prof.alternate and role == last_ua:
                out.append(Finding("R003", (
                    f"message {i} has role {q(role)} after {q(role)} (message {last_ua_idx}); "
                    f"{fmt} requires user and assistant to alternate — merge the turns "
                    "(datakit fix --merge-consecutive) or remove one"), f"{base}/{i}/role"))
            last_ua, last_ua_idx = role, i

        if role == "user":
            turns.user += 1
            if content is not _MISSING and blank(content) is True:
                out.append(Finding("R013", (
                    f"message {i} (user) has empty content; restore the prompt or drop the "
                    "example"), f"{base}/{i}/content"))
        elif role == "assistant":
            turns.assistant += 1
            weight = m.get("weight", 1)
            if weight != 0:
                trained += 1
            tc = m.get("tool_calls")
            fc = m.get("function_call")
            has_calls = isinstance(tc, list) and len(tc) > 0
            if not prof.tools:
                if has_calls or fc is not None:
                    key = "tool_calls" if has_calls else "function_call"
                    out.append(Finding("T017", (
                        f"message {i} makes a tool call, but {fmt} has no tool calling; convert "
                        f"the example (datakit convert --to {fmt} renders tool calls as text) or "
                        "drop it"), f"{base}/{i}/{key}"))
                    has_calls = True  # do not also call the content empty
                    last_ua = None
            else:
                if has_calls:
                    group = _Group(i)
                    for j, call in enumerate(tc):
                        group.calls += 1
                        cptr = f"{base}/{i}/tool_calls/{j}"
                        if not isinstance(call, dict):
                            continue
                        cid = call.get("id")
                        if isinstance(cid, str):
                            if prof.mistral_ids:
                                if MISTRAL_ID.fullmatch(cid) is None:
                                    out.append(Finding("T001", (
                                        f"tool call id {q(cid)} (message {i}, call {j}) must be "
                                        "exactly 9 characters of a-z, A-Z, 0-9 for Mistral; "
                                        "datakit fix remaps ids consistently in calls and "
                                        "results"), f"{cptr}/id"))
                            elif not cid:
                                out.append(Finding("T001", (
                                    f"tool call {j} of message {i} has an empty id; give every "
                                    "call a unique id and repeat it in its tool result"),
                                    f"{cptr}/id"))
                            if cid in group.pending:
                                out.append(Finding("T002", (
                                    f"tool call id {q(cid)} is used twice in message {i} (calls "
                                    f"{group.pending[cid]} and {j}); give each call its own id"),
                                    f"{cptr}/id"))
                            elif cid in seen_ids:
                                out.append(Finding("T002", (
                                    f"tool call id {q(cid)} in message {i} was already used in "
                                    f"message {seen_ids[cid]}; generate a fresh id per call"),
                                    f"{cptr}/id", severity=Severity.WARNING))
                            group.pending[cid] = j
                            seen_ids[cid] = i
                        name = check_call(call, cptr, out)
                        if name is not None:
                            called.append((name, cptr, i))
                if fc is not None:
                    if prof.legacy:
                        out.append(Finding("T018", (
                            f"message {i} uses the deprecated \"function_call\"; use "
                            "\"tool_calls\" (datakit fix rewrites it)"), f"{base}/{i}/function_call"))
                    if isinstance(fc, dict):
                        name = check_call(fc, f"{base}/{i}/function_call", out, legacy=True)
                        if name is not None:
                            legacy_called.append((name, f"{base}/{i}/function_call", i))
                        has_calls = True
            if has_calls:
                if not prof.content_with_calls and content is not _MISSING:
                    empty = blank(content)
                    if empty is False:
                        out.append(Finding("T007", (
                            f"message {i} has both content and tool_calls; {fmt} allows one or "
                            "the other — move the text to its own assistant turn or drop it"),
                            f"{base}/{i}/content"))
                    elif empty is True:
                        out.append(Finding("T008", (
                            f"message {i} has tool_calls and an empty \"content\"; the Mistral "
                            "format wants no content key beside tool_calls (datakit fix drops "
                            "it)"), f"{base}/{i}/content"))
            elif content is not _MISSING and blank(content) is True:
                sev = prof.empty_assistant_severity
                extra = (" (mistral-common rejects an assistant message with neither content "
                         "nor tool_calls)") if sev is Severity.ERROR else ""
                out.append(Finding("R012", (
                    f"message {i} (assistant) has empty content{extra}; write the answer or drop "
                    "the example"), f"{base}/{i}/content", severity=sev))

        prev = role
        if image_kind is not None and isinstance(content, list):
            n_images, eleventh_image = _images(content, i, role, base, prof, images, out,
                                               n_images, eleventh_image)

    if group is not None:
        close(None)

    # --- whole-example rules ------------------------------------------------------------
    if n_images > MAX_OPENAI_IMAGES and image_kind == "openai":
        out.append(Finding("M005", (
            f"the example has {n_images} images; OpenAI accepts at most {MAX_OPENAI_IMAGES} per "
            "example — split the conversation"), eleventh_image))

    last = msgs[-1]
    last_role = last.get("role") if isinstance(last, dict) else None
    known_last = isinstance(last_role, str) and last_role in CHAT_ROLES
    if prof.need_assistant and turns.assistant == 0:
        out.append(Finding("R008", (
            "the example has no assistant message, so it trains nothing; add the assistant's "
            "answer or drop the example"), base))
    elif prof.end == "assistant" and known_last and last_role != "assistant":
        if prof.end_severity is Severity.WARNING:
            why = (f"OpenAI trains only assistant messages, so the trailing {last_role} turn is "
                   "never learned")
        else:
            why = f"{fmt} requires the conversation to end on an assistant message"
        out.append(Finding("R004", (
            f"the example ends on message {n - 1} with role {q(last_role)}; {why} — remove the "
            "trailing turn (datakit fix --trim-trailing) or add the assistant's answer"),
            f"{base}/{n - 1}/role", severity=prof.end_severity))
    elif prof.end == "user" and known_last and last_role != "user":
        out.append(Finding("R005", (
            f"the prompt ends on message {n - 1} with role {q(last_role)}; the preferred and "
            "rejected answers must reply to a final user turn — remove the trailing turn or "
            "move it into the answers"), f"{base}/{n - 1}/role"))
    if prof.weights and turns.assistant and trained == 0:
        out.append(Finding("R009", (
            f"all {turns.assistant} assistant message(s) have \"weight\": 0, so the example "
            "trains nothing; set weight 1 on the turn to learn or drop the example"), base))

    if prof.tools:
        for name, call_ptr, i in called:
            ptr = f"{call_ptr}/function/name"
            if defined is None:
                if prof.tools_required:
                    out.append(Finding("T015", (
                        f"message {i} calls {q(name)} but the example has no \"tools\"; {fmt} "
                        "requires \"tools\" to define every tool called"), ptr))
            elif name not in defined:
                out.append(Finding("T015", (
                    f"message {i} calls {q(name)}, which \"tools\" does not define; add its "
                    "definition to \"tools\""), ptr,
                    severity=None if prof.tools_required else Severity.WARNING))
        if legacy_defined is not None:
            for name, call_ptr, i in legacy_called:
                ptr = f"{call_ptr}/name"
                if name not in legacy_defined:
                    out.append(Finding("T015", (
                        f"message {i} calls {q(name)}, which \"functions\" does not define; add "
                        "its definition"), ptr, severity=Severity.WARNING))
    return turns


# --- fast path ---------------------------------------------------------------------------
# Most lines of a real dataset are plain conversations: every message is exactly
# {"role": <str>, "content": <non-blank str>}. For those, every R/T/M finding of the walk
# depends only on the profile, the pointer base and the sequence of roles, and a dataset
# has few distinct sequences: walk one representative per sequence and reuse its findings.
_PLAIN: dict[tuple[int, str, tuple[str, ...]], tuple[Profile, tuple[Finding, ...], int, int]] = {}
_PLAIN_MAX = 4096


def _plain_roles(msgs: list) -> tuple[str, ...] | None:
    """The roles of a plain conversation, or None when any message is more than that."""
    roles = []
    for m in msgs:
        if m.__class__ is not dict or len(m) != 2:
            return None
        role = m.get("role")
        content = m.get("content")
        if role.__class__ is not str or content.__class__ is not str or not content \
                or content.isspace():
            return None
        roles.append(role)
    return tuple(roles)


def _plain_walk(roles: tuple[str, ...], base: str, prof: Profile, ctx: CheckContext,
                out: list[Finding]) -> Turns:
    key = (id(prof), base, roles)
    hit = _PLAIN.get(key)
    if hit is None or hit[0] is not prof:
        found: list[Finding] = []
        # No tool is called in a plain conversation, so `defined` does not matter.
        turns = _walk_full([{"role": r, "content": "x"} for r in roles], base, prof, ctx, found)
        if len(_PLAIN) >= _PLAIN_MAX:
            _PLAIN.clear()
        hit = _PLAIN[key] = (prof, tuple(found), turns.user, turns.assistant)
    out.extend(hit[1])
    return Turns(hit[2], hit[3])


def _images(content: list, i: int, role: str, base: str, prof: Profile,
            images: frozenset[str] | None, out: list[Finding], count: int,
            eleventh: str) -> tuple[int, str]:
    """Image parts of one message's content list (M001–M007)."""
    openai = prof.images == "openai"
    for k, part in enumerate(content):
        if not isinstance(part, dict):
            continue
        if openai:
            if part.get("type") != "image_url" and "image_url" not in part:
                continue
        elif "image" not in part:
            continue
        count += 1
        pptr = f"{base}/{i}/content/{k}"
        if count == MAX_OPENAI_IMAGES + 1:
            eleventh = pptr
        if role != "user":
            out.append(Finding("M002", (
                f"message {i} ({role}) contains an image; images may appear only in user "
                "messages — move it to the user turn"), pptr))
        if openai:
            iu = part.get("image_url")
            url = iu.get("url") if isinstance(iu, dict) else iu
            check_openai_image_url(url, f"{pptr}/image_url/url", out)
        else:
            check_dashscope_image(part.get("image"), f"{pptr}/image", images, out)
    return count, eleventh


def no_tools(obj: dict, base: str, fmt: str, out: list[Finding]) -> None:
    """T017 for top-level tool definitions in a format without tool calling."""
    for key in ("tools", "functions"):
        val = obj.get(key)
        if val:  # an empty list or null defines nothing; the schema judges the key itself
            out.append(Finding("T017", (
                f"\"{key}\" defines tools, but {fmt} has no tool calling; convert the example "
                f"(datakit convert --to {fmt} renders tool turns as text) or remove \"{key}\""),
                f"{base}/{key}"))

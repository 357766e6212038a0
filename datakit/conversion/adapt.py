"""Fit a :class:`~datakit.model.Conversation` to what a target format can carry.

Every step compares the conversation with the target's row of
:data:`~datakit.conversion.mapping.CAPS` and either keeps a thing, changes its
form without changing its meaning (a ``C05x`` change), removes it (a ``C00x``
loss) or gives up (a ``C02x``: no valid example of the target can be made).
Steps mutate the conversation in place; readers hand out fresh objects.

Losses are applied even when the policy will reject the example: the findings
are the same whatever the policy, and ``--on-loss warn`` writes exactly what
was reported.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from datakit.conversion import mapping as M
from datakit.conversion import pointers as P
from datakit.conversion.arguments import repair_arguments
from datakit.conversion.ids import remap_tool_ids
from datakit.model import ASSISTANT, IMAGE, SYSTEM, TEXT, TOOL, USER, Conversation, Message, Part
from datakit.rules.media import DASHSCOPE_IMAGE_EXTENSIONS as _DASHSCOPE_IMAGE_EXTENSIONS
from datakit.rules.media import OPENAI_IMAGE_TYPES as _OPENAI_IMAGE_TYPES  # lint's M004
from datakit.rules.media import check_dashscope_image, check_openai_image_url
from datakit.rules.registry import Finding
from datakit.rules.tools import parameters_problem

_FN_NAME = re.compile(M.FUNCTION_NAME_PATTERN)


class Media(Protocol):
    """Where image files named in a DashScope zip can be read (and written)."""

    def read(self, name: str) -> bytes | None: ...


@dataclass(slots=True)
class Options:
    target: str
    merge_consecutive: bool = False
    trim_trailing: bool = False
    bot_name: str | None = None
    user_name: str | None = None
    media: Media | None = None  # images of the source zip
    images_out: dict[str, bytes] | None = field(default=None)  # images for a target zip


def _f(out: list[Finding], code: str, msg: str, ptr: str = "") -> None:
    out.append(Finding(code, msg, ptr))


def _at(m: Message, i: int, rest: str = "") -> str:
    """Where ``rest`` of message ``m`` (number ``i`` of the list being checked) is in the
    source line; the model's address only for a message that has no source."""
    ptr = P.message(m, rest)
    if ptr is not None:
        return ptr
    return f"/messages/{i}/{rest}" if rest else f"/messages/{i}"


def _is_url(ref: str) -> bool:
    return ref.startswith("data:") or "://" in ref


def _data_url(name: str, data: bytes) -> str:
    ext = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    mime = M.IMAGE_MIME.get(ext, "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _data_url_type(url: str) -> str | None:
    """The media type of a data URL (lower case), None for anything else."""
    if not url.startswith("data:"):
        return None
    head = url[5:url.find(",", 5, 300)] if "," in url[:300] else ""
    return head.partition(";")[0].strip().lower() or None


def _decode_data_url(url: str) -> tuple[str, bytes] | None:
    """(file name derived from the content, bytes) of a base64 data URL."""
    head, sep, payload = url.partition(",")
    if not sep or not head.endswith(";base64"):
        return None
    mime = head[5:-7].lower()
    try:
        data = base64.b64decode(payload, validate=True)
    except (ValueError, base64.binascii.Error):
        return None
    name = "img_" + hashlib.blake2b(data, digest_size=8).hexdigest() + M.MIME_EXT.get(mime, ".bin")
    return name, data


def _all(conv: Conversation) -> list[Message]:
    extra = [m for m in (conv.chosen, conv.rejected) if m is not None]
    return conv.messages + extra if extra else conv.messages


# --------------------------------------------------------------------------- steps

def _preference(conv: Conversation, caps: M.Caps, out: list[Finding]) -> bool:
    if conv.is_preference:
        if caps.preference == "none":
            if conv.rejected is not None:
                _f(out, "C008", "the example is a preference pair; the target is supervised, so "
                                "the chosen answer becomes the last assistant turn and the "
                                "rejected answer is dropped",
                   P.message(conv.rejected) or "/rejected")
            if conv.chosen is not None:
                conv.messages.append(conv.chosen)
            conv.chosen = conv.rejected = None
        elif caps.preference == "single-turn":
            lead = 0
            while lead < len(conv.messages) and conv.messages[lead].role == SYSTEM:
                lead += 1
            rest = conv.messages[lead:]
            if len(rest) > 1:
                _f(out, "C004", f"the prompt has {len(rest)} turns but the target takes a single "
                                "user turn; the earlier turns are dropped",
                   P.container(conv, "messages"))
                conv.messages[lead:] = rest[-1:]
        return True
    if caps.preference != "none":
        _f(out, "C022", "the example has no chosen/rejected answers, which the target (a "
                        "preference format) requires; a rejected answer cannot be invented")
        return False
    return True


def _tools(conv: Conversation, caps: M.Caps, out: list[Finding]) -> None:
    if caps.tools:
        return
    calls = sum(len(m.tool_calls or ()) for m in _all(conv))
    results = sum(m.role == TOOL for m in conv.messages)
    defs = len(conv.tools or ())
    if not (calls or results or defs):
        return
    what = [f"{n} {w}" for n, w in ((calls, "tool call(s)"), (results, "tool result(s)"),
                                    (defs, "tool definition(s)")) if n]
    _f(out, "C001", f"the target cannot carry tools; {', '.join(what)} dropped",
       P.container(conv, "messages"))
    kept = []
    for m in conv.messages:
        if m.role == TOOL:
            continue
        if m.tool_calls:
            m.tool_calls = None
            if not m.has_text():
                continue
        kept.append(m)
    conv.messages[:] = kept
    for m in (conv.chosen, conv.rejected):
        if m is not None:
            m.tool_calls = None
    conv.tools = None
    conv.parallel_tool_calls = None


def _tool_text(conv: Conversation, caps: M.Caps, out: list[Finding]) -> None:
    if caps.tool_text or not caps.tools:
        return
    for i, m in enumerate(conv.messages):
        if m.tool_calls and m.has_text():
            _f(out, "C009", f"{P.label(m, i)} has text and tool calls; the target's tool-calling "
                            "turn has no text, so the text is dropped", _at(m, i, "content"))
            m.content = None


def _weights(conv: Conversation, caps: M.Caps, out: list[Finding]) -> None:
    zero = []
    msgs = _all(conv)
    for i, m in enumerate(msgs):
        if m.weight is None:
            continue
        if caps.weight and m.role in (ASSISTANT, USER, SYSTEM, TOOL):
            continue
        if m.weight == 0:
            zero.append(i)
        m.weight = None  # weight 1 is every format's default: dropping it changes nothing
    if zero:
        _f(out, "C002", f"weight 0 (not trained) on {', '.join(P.label(msgs[k], k) for k in zero)}; the "
                        "target trains every assistant turn", _at(msgs[zero[0]], zero[0], "weight"))


def _names(conv: Conversation, caps: M.Caps, opts: Options, out: list[Finding]) -> None:
    mode = caps.names
    msgs = _all(conv)
    if mode == "all":
        for m in msgs:
            if m.name is None:
                persona = conv.user_name if m.role == USER else (
                    conv.bot_name if m.role == ASSISTANT else None)
                m.name = persona
        conv.user_name = conv.bot_name = None
        for i, m in enumerate(msgs):
            if m.role == TOOL and m.name is not None:
                _drop_name(m, i, out)
        return
    if mode == "tool":
        dropped = [i for i, m in enumerate(msgs) if m.role != TOOL and m.name is not None]
        persona = [n for n in (conv.user_name, conv.bot_name) if n is not None]
        if dropped or persona:
            _f(out, "C006", "the target has no participant names (only tool results are "
                            f"named); dropped: {_name_list(msgs, dropped, persona)}",
               _at(msgs[dropped[0]], dropped[0], "name") if dropped else "")
            for i in dropped:
                msgs[i].name = None
            conv.user_name = conv.bot_name = None
        return
    if mode == "none":
        dropped = [i for i, m in enumerate(msgs) if m.name is not None]
        persona = [n for n in (conv.user_name, conv.bot_name) if n is not None]
        if dropped or persona:
            _f(out, "C006", f"the target has no participant names; dropped: "
                            f"{_name_list(msgs, dropped, persona)}",
               _at(msgs[dropped[0]], dropped[0], "name") if dropped else "")
            for i in dropped:
                msgs[i].name = None
            conv.user_name = conv.bot_name = None
        return
    # MiniMax: one name per role (persona) or one per message (sender).
    users = {m.name for m in msgs if m.role == USER and m.name is not None}
    bots = {m.name for m in msgs if m.role == ASSISTANT and m.name is not None}
    sys_names = [m.name for m in msgs if m.role == SYSTEM and m.name is not None]
    user = conv.user_name if conv.user_name is not None else (min(users) if len(users) == 1 else None)
    bot = conv.bot_name if conv.bot_name is not None else (
        min(bots) if len(bots) == 1 else (sys_names[0] if len(sys_names) == 1 and not bots else None))
    if mode == "persona":
        lost = sorted((users - {user}) | (bots - {bot}) | (set(sys_names) - {bot}))
        if lost:
            _f(out, "C006", "the target has one user name and one bot name (role_meta); dropped: "
                            + ", ".join(repr(n) for n in lost), P.container(conv, "messages"))
        for m in msgs:
            m.name = None
        if user is None and bot is None:
            conv.user_name = conv.bot_name = None
            return
        if user is None:
            user = _default(opts, "user", out)
        if bot is None:
            bot = _default(opts, "bot", out)
        conv.user_name, conv.bot_name = user, bot
        return
    # sender (minimax-pro): every message named; BOT names come from bot_setting.
    if bot is None:
        bot = min(bots) if bots else None
    filled_user = filled_bot = False
    for m in msgs:
        if m.role == USER and m.name is None:
            if user is None:
                user = _default(opts, "user", out)
            m.name, filled_user = user, True
        elif m.role == ASSISTANT and m.name is None:
            if bot is None:
                bot = _default(opts, "bot", out)
            m.name, filled_bot = bot, True
    systems = [m for m in conv.messages if m.role == SYSTEM]
    for m in systems:
        if m.name is None:
            if bot is None:
                bot = _default(opts, "bot", out)
            m.name = bot
    del filled_user, filled_bot
    conv.user_name = None
    conv.bot_name = None if systems else (bot if bot is not None else _default(opts, "bot", out))


def _drop_name(m: Message, i: int, out: list[Finding]) -> None:
    _f(out, "C006", f"{P.label(m, i)} is a tool result named {m.name!r}; the target does not name "
                    "tool results", _at(m, i, "name"))
    m.name = None


def _name_list(msgs: list[Message], idx: list[int], persona: list[str]) -> str:
    names = sorted({msgs[i].name for i in idx if msgs[i].name is not None} | set(persona))
    return ", ".join(repr(n) for n in names)


def _default(opts: Options, who: str, out: list[Finding]) -> str:
    if who == "user":
        name = opts.user_name or M.DEFAULT_USER_NAME
        flag = "--user-name"
    else:
        name = opts.bot_name or M.DEFAULT_BOT_NAME
        flag = "--bot-name"
    if not any(f.code == "C054" and flag in f.message for f in out):
        _f(out, "C054", f"the target needs a {who} name and the source has none; used {name!r} "
                        f"(set it with {flag})")
    return name


def _media(conv: Conversation, caps: M.Caps, opts: Options, out: list[Finding]) -> None:
    for i, m in enumerate(_all(conv)):
        c = m.content
        if not isinstance(c, list):
            continue
        kept: list[Part] = []
        for j, p in enumerate(c):
            ptr = _at(m, i, f"content/{j}")
            if p.kind == TEXT:
                if p.extra:
                    _f(out, "C005", f"text part keys {sorted(p.extra)} have no place in the target",
                       ptr)
                    p.extra = None
                kept.append(p)
                continue
            if p.kind != IMAGE:
                if opts.target in M.OPENAI_FAMILY and m.role == ASSISTANT and p.kind == "refusal":
                    kept.append(p)  # OpenAI's refusal part
                    continue
                _f(out, "C007", f"{P.label(m, i)} has a {p.kind!r} part the target cannot carry; "
                                "dropped", ptr)
                continue
            if caps.images == "none" or m.role != USER:
                why = "carries text only" if caps.images == "none" else \
                    f"allows images in user messages only (this is a {m.role} message)"
                _f(out, "C007", f"{P.label(m, i)} has an image; the target {why}; dropped", ptr)
                continue
            ref = p.value or ""
            if caps.images == "url":
                if not _is_url(ref):
                    data = opts.media.read(ref) if opts.media is not None else None
                    if data is None:
                        _f(out, "C010", f"image {ref!r} is not in the source archive, so it cannot "
                                        "be embedded as a data URL; dropped", ptr)
                        continue
                    p.value = _data_url(ref, data)
                    _f(out, "C057", f"image {ref!r} embedded as a data URL", ptr)
                mime = _data_url_type(p.value or "")
                if opts.target in M.OPENAI_FAMILY and mime is not None and \
                        mime not in _OPENAI_IMAGE_TYPES:
                    _f(out, "C010", f"image of type {mime} cannot go to the target, which accepts "
                                    "JPEG, PNG and WEBP (`datakit lint` M004); convert the image; "
                                    "dropped", ptr)
                    continue
                why = _url_problem(p.value or "", opts.target)
                if why is not None:
                    _f(out, "C010", f"image {(p.value or '')[:60]!r} cannot go to the target: "
                                    f"{why}; dropped", ptr)
                    continue
                extra = {k: v for k, v in (p.extra or {}).items() if k in ("detail", "url_string")}
                if p.extra and len(extra) != len(p.extra):
                    _f(out, "C005", "image part keys "
                                    f"{sorted(set(p.extra) - set(extra))} have no place in the "
                                    "target", ptr)
                p.extra = extra or None
                kept.append(p)
            else:  # "file": a member of the output zip
                if ref.startswith("data:"):
                    decoded = _decode_data_url(ref)
                    if decoded is None:
                        _f(out, "C010", "image data URL is not base64; dropped", ptr)
                        continue
                    name, data = decoded
                    if name.rsplit(".", 1)[-1] not in _DASHSCOPE_IMAGE_EXTENSIONS:
                        _f(out, "C010", f"data URL image of type {_data_url_type(ref)} has no "
                                        "file type the target accepts (`datakit lint` M004); "
                                        "convert the image; dropped", ptr)
                        continue
                    if opts.images_out is not None:
                        opts.images_out[name] = data
                    p.value = name
                    _f(out, "C057", f"data URL image written to the archive as {name!r}", ptr)
                elif _is_url(ref):
                    _f(out, "C010", f"image {ref[:80]!r} is a remote URL; the target needs the "
                                    "image file in its zip and datakit downloads nothing; dropped",
                       ptr)
                    continue
                else:
                    found: list[Finding] = []
                    if opts.media is not None:  # without an archive, names pass as they are
                        check_dashscope_image(ref, ptr, None, found)
                    if found:
                        _f(out, "C010", f"image {ref[:80]!r} cannot go into the target's zip: "
                                        f"{found[0].message} (`datakit lint` {found[0].code}); "
                                        "dropped", ptr)
                        continue
                    data = opts.media.read(ref) if opts.media is not None else None
                    if opts.media is not None and data is None:
                        _f(out, "C010", f"image {ref!r} is not in the source archive; dropped", ptr)
                        continue
                    if data is not None and opts.images_out is not None:
                        opts.images_out[ref] = data
                if p.extra:
                    _f(out, "C005", f"image part keys {sorted(p.extra)} have no place in the "
                                    "target", ptr)
                    p.extra = None
                kept.append(p)
        m.content = kept if caps.parts else M.PART_JOIN.join(p.value or "" for p in kept)


def _url_problem(url: str, target: str) -> str | None:
    """Why the target's linter would reject this image URL, or None. OpenAI: lint's own
    check (M004, M006, M007). Mistral's lint does not look inside image URLs, but a data
    URL that is not a base64 image is not an image at all."""
    if target in M.OPENAI_FAMILY:
        found: list[Finding] = []
        check_openai_image_url(url, "", found)
        return f"{found[0].message} (`datakit lint` {found[0].code})" if found else None
    if not url.startswith("data:"):
        return None
    head = url[5:url.find(",", 5, 300)] if "," in url[:300] else ""
    mime, _, encoding = head.partition(";")
    if not mime.strip().lower().startswith("image/") or encoding.strip().lower() != "base64":
        return "it is not a base64 image data URL (data:image/<type>;base64,...)"
    return None


def _extras(conv: Conversation, caps: M.Caps, target: str, out: list[Finding]) -> None:
    if not caps.msg_extra:
        for i, m in enumerate(_all(conv)):
            if m.extra:
                _f(out, "C005", f"{P.label(m, i)} keys {sorted(m.extra)} have no place in the target; "
                                "dropped", _at(m, i))
                m.extra = None
    if conv.parallel_tool_calls is not None and target not in M.OPENAI_FAMILY:
        if conv.parallel_tool_calls is False:
            _f(out, "C005", "`parallel_tool_calls: false` has no equivalent in the target; dropped",
               P.container(conv, "parallel_tool_calls"))
        conv.parallel_tool_calls = None


def _layout_extras(conv: Conversation, target: str, out: list[Finding]) -> None:
    """Unknown keys that only their own format's writer puts back: openai-preference's
    ``input`` object and MiniMax's ``role_meta`` (written only with a name in it)."""
    if not conv.layout:
        return
    ex = conv.hint("openai-preference.input_extra")
    if ex and target != "openai-preference":
        _f(out, "C005", f"`input` keys {sorted(ex)} have no place in the target; dropped",
           "/input")
        conv.layout.pop("openai-preference.input_extra", None)
    ex = conv.hint("minimax.role_meta_extra")
    if ex and (target != "minimax" or (conv.user_name is None and conv.bot_name is None)):
        _f(out, "C005", f"`role_meta` keys {sorted(ex)} have no place in the target; dropped",
           "/role_meta")
        conv.layout.pop("minimax.role_meta_extra", None)


def _top_collisions(conv: Conversation, target: str, out: list[Finding]) -> None:
    """An unknown top-level key that the target itself writes cannot be carried."""
    if not conv.extra:
        return
    from datakit.conversion.engine import TARGET_COLUMNS

    clash = sorted(k for k in conv.extra if k in TARGET_COLUMNS[target])
    if clash:
        _f(out, "C005", f"top-level key(s) {clash} are the target's own keys, so the source's "
                        "values cannot be carried; dropped", "/" + P.escape(clash[0]))
        conv.extra = {k: v for k, v in conv.extra.items() if k not in clash} or None


def _systems(conv: Conversation, caps: M.Caps, target: str, out: list[Finding]) -> None:
    msgs = conv.messages
    if caps.system == "any":
        return
    if caps.system == "mistral":
        kept, prev = [], None
        for i, m in enumerate(msgs):
            if m.role == SYSTEM and prev in (ASSISTANT, TOOL):
                _f(out, "C003", f"{P.label(m, i)} is a system message after an {prev} turn, which the "
                                "target does not allow; dropped", _at(m, i))
                continue
            kept.append(m)
            prev = m.role
        msgs[:] = kept
        return
    lead = 0
    while lead < len(msgs) and msgs[lead].role == SYSTEM:
        lead += 1
    late = [i for i in range(lead, len(msgs)) if msgs[i].role == SYSTEM]
    if late:
        _f(out, "C003", f"system message(s) after the first turn "
                        f"({', '.join(P.label(msgs[k], k) for k in late)}); "
                        "the target has one leading system prompt; dropped", _at(msgs[late[0]], late[0]))
        msgs[:] = [m for i, m in enumerate(msgs) if i < lead or m.role != SYSTEM]
    if lead > 1 and target not in M.MULTI_SYSTEM:
        joined = Message(SYSTEM, M.MERGE_JOIN.join(m.text() for m in msgs[:lead]),
                         name=msgs[0].name)
        names = {m.name for m in msgs[:lead]}
        joined.src, joined.src_fields = msgs[0].src, msgs[0].src_fields
        if len(names) > 1:
            joined.name = None
            k = next(k for k in range(lead) if msgs[k].name is not None)
            _f(out, "C006", "several named system prompts joined into one; their names are "
                            "dropped", _at(msgs[k], k, "name"))
        _f(out, "C052", f"{lead} leading system messages joined into one", _at(msgs[0], 0))
        msgs[:lead] = [joined]


def _mergeable(a: Message, b: Message) -> bool:
    return (a.role == b.role and a.role in (USER, ASSISTANT) and not a.tool_calls
            and not b.tool_calls and a.name == b.name and a.weight == b.weight
            and not a.extra and not b.extra)


def _merge(conv: Conversation, out: list[Finding]) -> None:
    msgs = conv.messages
    merged: list[Message] = []
    n = 0
    for m in msgs:
        if merged and _mergeable(merged[-1], m):
            prev = merged[-1]
            if isinstance(prev.content, list) or isinstance(m.content, list):
                a = prev.content if isinstance(prev.content, list) else [Part(TEXT, prev.text())]
                b = m.content if isinstance(m.content, list) else [Part(TEXT, m.text())]
                prev.content = a + b
            else:
                prev.content = M.MERGE_JOIN.join(t for t in (prev.text(), m.text()) if t)
            n += 1
            continue
        merged.append(m)
    if n:
        _f(out, "C052", f"{n} consecutive same-role turn(s) joined (--merge-consecutive)",
           P.container(conv, "messages"))
        msgs[:] = merged


def _trim(conv: Conversation, caps: M.Caps, out: list[Finding]) -> None:
    want = {"assistant": ASSISTANT, "user": USER}.get(caps.last)
    if want is None:
        return
    msgs = conv.messages
    end = len(msgs)
    while end > 0 and msgs[end - 1].role != want and msgs[end - 1].role != SYSTEM:
        end -= 1
    if end < len(msgs) and any(m.role == want for m in msgs[:end]):
        roles = ", ".join(m.role for m in msgs[end:])
        _f(out, "C053", f"trailing turn(s) after the last {want} turn removed ({roles}) "
                        "(--trim-trailing)", _at(msgs[end], end))
        del msgs[end:]


def _order(conv: Conversation, caps: M.Caps, out: list[Finding]) -> bool:
    body = [(i, m) for i, m in enumerate(conv.messages) if m.role != SYSTEM]
    if caps.order in ("alternate", "slots"):
        slot = (lambda r: 0 if r in (USER, TOOL) else 1) if caps.order == "slots" else \
            (lambda r: 0 if r == USER else 1)
        for k, (i, m) in enumerate(body):
            if slot(m.role) != k % 2:
                if k == 0:
                    msg = f"the conversation starts with {m.role} ({P.label(m, i)}); the target " \
                          "starts with a user turn"
                else:
                    msg = f"{P.label(m, i)} ({m.role}) follows another {body[k - 1][1].role} turn; " \
                          "the target requires user and assistant turns to alternate" + (
                              " (--merge-consecutive joins them)" if m.role in (USER, ASSISTANT)
                              else "")
                _f(out, "C023", msg, _at(m, i, "role"))
                return False
    want = {"assistant": ASSISTANT, "user": USER}.get(caps.last)
    if want is not None and body and body[-1][1].role != want:
        i, m = body[-1]
        hint = " (--trim-trailing removes it)" if any(x.role == want for _, x in body) else ""
        _f(out, "C024", f"the conversation ends on a {m.role} turn ({P.label(m, i)}); the target needs "
                        f"a final {want} turn{hint}", _at(m, i, "role"))
        return False
    return True


def _needs_answer(conv: Conversation, caps: M.Caps, out: list[Finding]) -> bool:
    if caps.needs_assistant and not any(m.role == ASSISTANT for m in conv.messages):
        _f(out, "C028", "no assistant turn is left after conversion, so the example trains nothing")
        return False
    if not [m for m in conv.messages if m.role != SYSTEM] and not conv.is_preference:
        _f(out, "C028", "no turn is left after conversion")
        return False
    return True


def _blank(content: Any) -> bool:
    """No text and no other part: empty content as `datakit lint` sees it (R012)."""
    if content is None:
        return True
    if isinstance(content, str):
        return not content or content.isspace()
    return not any(p.kind != TEXT or (p.value and not p.value.isspace()) for p in content)


def _answers(conv: Conversation, caps: M.Caps, out: list[Finding]) -> bool:
    if caps.empty_answer:
        return True
    for i, m in enumerate(conv.messages):
        if m.role == ASSISTANT and not m.tool_calls and _blank(m.content):
            _f(out, "C029", f"{P.label(m, i)} is an assistant turn with no text and no tool calls, "
                            "which the target rejects; write the answer or leave the example out",
               _at(m, i, "content"))
            return False
    return True


def _pair_tools(conv: Conversation, caps: M.Caps, out: list[Finding]) -> bool:
    """Pair every tool result with its call; give ids where the target needs them."""
    msgs = conv.messages
    if not any(m.tool_calls or m.role == TOOL for m in msgs):
        return True
    calls_by_key: dict[str, Any] = {}
    keys: list[str] = []  # one unique key per call, in order
    call_key: dict[int, str] = {}  # id(ToolCall) -> key
    result_key: dict[int, str] = {}  # message index -> key
    open_calls: list[Any] = []  # calls of the latest tool-calling turn not yet answered
    latest_by_id: dict[str, str] = {}
    seen_ids: dict[str, int] = {}
    positional = False
    for i, m in enumerate(msgs):
        if m.tool_calls:
            open_calls = []
            for j, c in enumerate(m.tool_calls):
                if c.id is None:
                    key = f"\x00{i}.{j}"
                    positional = True
                else:
                    n = seen_ids.get(c.id, 0)
                    seen_ids[c.id] = n + 1
                    key = c.id if n == 0 else f"{c.id}\x00{n}"
                    latest_by_id[c.id] = key
                keys.append(key)
                call_key[id(c)] = key
                calls_by_key[key] = c
                open_calls.append(c)
        elif m.role == TOOL:
            if m.tool_call_id is not None:
                key = latest_by_id.get(m.tool_call_id)
                if key is None:
                    _f(out, "C026", f"{P.label(m, i)} answers tool call {m.tool_call_id!r}, which no "
                                    "earlier assistant turn made", _at(m, i, "tool_call_id"))
                    return False
                open_calls = [c for c in open_calls if call_key[id(c)] != key]
            else:
                if not open_calls:
                    _f(out, "C026", f"{P.label(m, i)} is a tool result with no call left to answer",
                       _at(m, i))
                    return False
                key = call_key[id(open_calls.pop(0))]
            result_key[i] = key
    if caps.tool_ids == "none":
        return _positional(conv, call_key, result_key, out)
    if not _groups(msgs, call_key, result_key, out):
        return False
    # id-based targets
    if caps.tool_ids == "mistral":
        salt = _salt(conv)
        mapping = remap_tool_ids(keys, salt)
    else:
        mapping = {k: k for k in keys if not k.startswith("\x00") and "\x00" not in k}
        todo = [k for k in keys if k not in mapping]
        if todo:
            fresh = remap_tool_ids([*mapping, *todo], _salt(conv))
            mapping.update({k: fresh[k] for k in todo})
    changed = sum(1 for k in keys if mapping[k] != k)
    for c in (c for m in msgs for c in (m.tool_calls or ())):
        c.id = mapping[call_key[id(c)]]
    for i, key in result_key.items():
        msgs[i].tool_call_id = mapping[key]
    if changed:
        what = "generated (the source pairs calls by position)" if positional else \
            "remapped to the target's id pattern"
        _f(out, "C050", f"{changed} tool-call id(s) {what}", P.container(conv, "messages"))
    return True


def _groups(msgs: list[Message], call_key: dict[int, str], result_key: dict[int, str],
            out: list[Finding]) -> bool:
    """Id-paired targets (as `datakit lint` T003-T006 check them): the results right after
    a tool-calling turn answer that turn's calls, once each, and every call has its result
    before the conversation goes on. Only a last turn of calls may have no results."""
    group: list[str] | None = None  # call keys of the latest tool-calling turn
    owner = -1
    answered: set[str] = set()

    def unanswered(where: str) -> bool:
        _f(out, "C026", f"{P.label(msgs[owner], owner)} makes {len(group or ())} tool call(s) but "
                        f"{len(answered)} result(s) follow {where}; the target needs a result "
                        "for every call before the conversation goes on",
           _at(msgs[owner], owner, "tool_calls"))
        return False

    for i, m in enumerate(msgs):
        if m.role == TOOL:
            key = result_key[i]
            if group is None:
                _f(out, "C026", f"{P.label(m, i)} is a tool result that does not follow a "
                                "tool-calling turn", _at(m, i))
                return False
            if key not in group or key in answered:
                what = "a second result for" if key in answered else "the result of"
                _f(out, "C026", f"{P.label(m, i)} is {what} a call that is not open in "
                                f"{P.label(msgs[owner], owner)}, which it follows", _at(m, i, "tool_call_id"))
                return False
            answered.add(key)
            continue
        if group is not None and len(answered) < len(group):
            return unanswered(f"before {P.label(m, i)} ({m.role})")
        group = None
        if m.tool_calls:
            group = [call_key[id(c)] for c in m.tool_calls]
            owner, answered = i, set()
    if group is not None and answered and len(answered) < len(group):
        return unanswered("before the end of the example")
    return True


def _salt(conv: Conversation) -> str:
    """Ids depend on the calls themselves, so different conversations get different ids."""
    h = hashlib.blake2b(digest_size=8)
    for m in conv.messages:
        for c in m.tool_calls or ():
            h.update(c.name.encode("utf-8", "surrogatepass"))
            h.update(c.arguments.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _positional(conv: Conversation, call_key: dict[int, str], result_key: dict[int, str],
                out: list[Finding]) -> bool:
    """ShareGPT: results follow their calls directly, in call order; no ids."""
    msgs = conv.messages
    reordered = False
    i = 0
    while i < len(msgs):
        m = msgs[i]
        if m.tool_calls:
            order = [call_key[id(c)] for c in m.tool_calls]
            j = i + 1
            while j < len(msgs) and msgs[j].role == TOOL:
                j += 1
            block = list(range(i + 1, j))
            answered = [result_key[k] for k in block]
            if block and sorted(answered) != sorted(order):
                _f(out, "C026", f"{P.label(m, i)} makes {len(order)} tool call(s) answered by "
                                f"{len(block)} result(s) right after it; the target pairs calls and "
                                "results by position", _at(m, i))
                return False
            if not block and j < len(msgs):
                _f(out, "C026", f"{P.label(m, i)} makes tool call(s) with no result after it; the "
                                "target pairs calls and results by position", _at(m, i))
                return False
            if answered != order[:len(answered)]:
                rank = {k: n for n, k in enumerate(order)}
                msgs[i + 1:j] = [msgs[k] for k in sorted(block, key=lambda k: rank[result_key[k]])]
                reordered = True
            i = j
            continue
        if m.role == TOOL:
            _f(out, "C026", f"{P.label(m, i)} is a tool result that does not follow the calls it "
                            "answers", _at(m, i))
            return False
        i += 1
    for m in msgs:
        m.tool_call_id = None
        for c in m.tool_calls or ():
            c.id = None
    if reordered:
        _f(out, "C055", "tool results moved into the order of their calls",
           P.container(conv, "messages"))
    return True


def _arguments(conv: Conversation, out: list[Finding]) -> bool:
    ok = True
    for i, m in enumerate(_all(conv)):
        for j, c in enumerate(m.tool_calls or ()):
            ptr = _at(m, i, f"tool_calls/{j}/function/arguments")
            was_object = bool(c.extra and c.extra.pop("_object_arguments", None))
            if c.extra == {}:
                c.extra = None
            if c.arguments.strip() == "":
                c.arguments = "{}"
                _f(out, "C051", f"call {c.name!r} had empty arguments; written as {{}}", ptr)
                continue
            text, status = repair_arguments(c.arguments)
            if status == "ok":
                if was_object:
                    _f(out, "C051", f"call {c.name!r} held its arguments as an object; written as "
                                    "JSON text", ptr)
                continue
            if text is None:
                _f(out, "C025", f"call {c.name!r} has arguments that are not the JSON text of an "
                                f"object and cannot be repaired unambiguously: {c.arguments[:60]!r}",
                   ptr)
                ok = False
                continue
            _f(out, "C051", f"call {c.name!r}: arguments {status.replace('-', ' ')}", ptr)
            c.arguments = text
    return ok


def _definitions(conv: Conversation, caps: M.Caps, target: str, out: list[Finding]) -> bool:
    tools = conv.tools
    completed = 0
    where: list[int] | None = None  # source index of each kept definition
    if tools:
        fixed = []
        other = []
        for j, t in enumerate(tools):
            if t.get("type") not in (None, "function"):
                other.append(j)
                continue
            if (not (t.get("type") == "function" and isinstance(t.get("function"), dict))
                    and isinstance(t.get("name"), str)):
                t = {"type": "function", "function": t}
                completed += 1
            elif "type" not in t and isinstance(t.get("function"), dict):
                t = {"type": "function", **t}
                completed += 1
            fn = t.get("function")
            if caps.tools_defined and isinstance(fn, dict) and fn.get("parameters") is None:
                t = {**t, "function": {**fn, "parameters": dict(M.EMPTY_PARAMETERS)}}
                completed += 1
            fixed.append(t)
        if other:
            where = [j for j in range(len(tools)) if j not in other]
            kinds = sorted({str(tools[j].get("type")) for j in other})
            _f(out, "C001", f"{len(other)} tool definition(s) of type {', '.join(kinds)} dropped; "
                            "the target's tools are functions only", P.tool(conv, other[0]))
        conv.tools = fixed or None
    if completed:
        _f(out, "C056", f"{completed} tool definition(s) completed (type wrapper or empty "
                        "parameters added)", P.container(conv, "tools"))
    if caps.tool_ids != "none":  # OpenAI and Mistral lint every definition (T014, T016)
        for j, t in enumerate(conv.tools or ()):
            problem = _definition_problem(t)
            if problem is not None:
                _f(out, "C027", f"tool definition {j} {problem}",
                   P.tool(conv, where[j] if where is not None else j))
                return False
    called = [(m, i, j, c.name) for i, m in enumerate(conv.messages)
              for j, c in enumerate(m.tool_calls or ())]
    for m, i, j, name in called:
        if not _FN_NAME.fullmatch(name):
            _f(out, "C027", f"function name {name!r} does not match {M.FUNCTION_NAME_PATTERN}",
               _at(m, i, f"tool_calls/{j}/function/name"))
            return False
    if caps.tools_defined and called:
        defined = {t["function"].get("name") for t in conv.tools or ()
                   if isinstance(t.get("function"), dict)
                   and isinstance(t["function"].get("name"), str)}
        missing = sorted({n for *_, n in called} - defined)
        if missing:
            _f(out, "C027", f"function(s) {', '.join(map(repr, missing))} are called but not "
                            "defined in `tools`, which the target requires",
               P.container(conv, "tools"))
            return False
    return True


def _definition_problem(t: dict) -> str | None:
    fn = t.get("function")
    if t.get("type") != "function" or not isinstance(fn, dict):
        return "is not a function definition ({\"type\": \"function\", \"function\": {...}})"
    name = fn.get("name")
    if not isinstance(name, str):
        return "has no function name"
    if not _FN_NAME.fullmatch(name):
        return f"names the function {name[:80]!r}, which does not match {M.FUNCTION_NAME_PATTERN}"
    params = fn.get("parameters")
    if params is None:
        return None
    if not isinstance(params, dict):
        return f"({name!r}) has parameters that are not a JSON object"
    problem = parameters_problem(params)
    if problem is not None:
        return f"({name!r}) has parameters that are not a valid JSON Schema (Draft 7): {problem}"
    return None


# --------------------------------------------------------------------------- entry point

def adapt(conv: Conversation, opts: Options) -> list[Finding]:
    """Fit ``conv`` to ``opts.target`` in place; return what changed, was lost or blocks it."""
    caps = M.CAPS[opts.target]
    out: list[Finding] = []
    if not _preference(conv, caps, out):
        return out
    msgs = _all(conv)
    tools = conv.tools is not None or any(m.tool_calls or m.role == TOOL for m in msgs)
    if tools:
        _tools(conv, caps, out)
        _tool_text(conv, caps, out)
    if any(m.weight is not None for m in msgs):
        _weights(conv, caps, out)
    _extras(conv, caps, opts.target, out)
    if any(isinstance(m.content, list) for m in msgs):
        _media(conv, caps, opts, out)
    _systems(conv, caps, opts.target, out)
    _names(conv, caps, opts, out)
    _layout_extras(conv, opts.target, out)
    _top_collisions(conv, opts.target, out)
    if opts.merge_consecutive:
        _merge(conv, out)
    if opts.trim_trailing:
        _trim(conv, caps, out)
    if caps.tools and tools:
        if not _arguments(conv, out) or not _definitions(conv, caps, opts.target, out):
            return out
        if not _pair_tools(conv, caps, out):
            return out
        if caps.tool_ids == "none":
            _split_parallel(conv, out)
    if not _needs_answer(conv, caps, out) or not _order(conv, caps, out):
        return out
    _answers(conv, caps, out)
    return out


def _split_parallel(conv: Conversation, out: list[Finding]) -> None:
    """ShareGPT turns alternate, so n parallel calls and their n results (already in
    call order) become n call/result pairs."""
    msgs = conv.messages
    new: list[Message] = []
    split = 0
    i = 0
    while i < len(msgs):
        m = msgs[i]
        calls = m.tool_calls or []
        j = i + 1
        while j < len(msgs) and msgs[j].role == TOOL:
            j += 1
        results = msgs[i + 1:j]
        if len(calls) > 1 and len(results) == len(calls):
            for c, r in zip(calls, results):
                new.append(Message(ASSISTANT, None, tool_calls=[c], name=m.name, weight=m.weight,
                                   extra=m.extra, src=m.src, src_fields=m.src_fields))
                new.append(r)
            split += 1
            i = j
            continue
        new.append(m)
        i += 1
    if split:
        _f(out, "C058", f"{split} turn(s) of parallel tool calls written as one call/result pair "
                        "per call (ShareGPT turns alternate)",
           P.container(conv, "messages"))
        msgs[:] = new


__all__ = ["Media", "Options", "adapt"]

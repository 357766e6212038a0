"""Target checks on one example (tokens, special tokens) and on whole files.

Token limits are decided by a free bound first: a byte-level BPE token covers
at least one byte, and a JSON line is never shorter than the UTF-8 text it
holds, so ``len(line) + framing`` bounds the count. Only examples the bound
cannot decide are tokenized, so ``lint --target`` stays near plain lint speed.
"""

from __future__ import annotations

import re

from datakit.linter.chatview import views
from datakit.rules.registry import Finding

# Template tokens of the <|...|> family: OpenAI rejects examples containing them, and they
# are Qwen's ChatML (and Llama 3's) control tokens. Checked for every target.
SPECIAL_TOKENS = (
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|endofprompt|>", "<|fim_prefix|>",
    "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
    "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|begin_of_text|>",
    "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
)
# Mistral's instruct control tokens: part of the template only for Mistral targets.
MISTRAL_CONTROL_TOKENS = (
    "[INST]", "[/INST]", "[TOOL_CALLS]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]",
    "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]",
)
_SPECIAL_RE = re.compile("|".join(re.escape(t) for t in SPECIAL_TOKENS))
_MISTRAL_RE = re.compile("|".join(re.escape(t) for t in SPECIAL_TOKENS + MISTRAL_CONTROL_TOKENS))
# Cheap looks at the raw line decide whether the texts need a closer one: "|" is in every
# <|...|> token (also when "<" is JSON-escaped); each Mistral token ends in one of these.
_MISTRAL_HINTS = (b"INST]", b"TOOLS]", b"CALLS]", b"RESULTS]", b"PROMPT]")


# Formats whose chat view holds the line's own texts and roles (no renamed roles).
VERBATIM_VIEWS = frozenset({"openai", "mistral", "siliconflow", "dashscope-sft"})

PROVIDER_NAMES = {"openai": "OpenAI", "mistral": "Mistral", "siliconflow": "SiliconFlow",
                  "dashscope": "DashScope", "minimax": "MiniMax"}
CONSEQUENCE = {
    "truncate": "{provider} will truncate it by {over:,} tokens, losing the final assistant turn",
    "drop": "{provider} will drop it silently during training (it is {over:,} tokens over "
            "max_length); shorten it, or raise max_length and override max_tokens in "
            "[tool.datakit.targets]",
    "reject": "{provider} will reject it ({over:,} tokens over)",
}


def consequence(target, over: int) -> str:
    """What the provider does to an example ``over`` tokens over the limit."""
    provider = PROVIDER_NAMES.get(target.provider, target.provider)
    return CONSEQUENCE.get(target.overflow, CONSEQUENCE["reject"]).format(provider=provider, over=over)


def _texts(view: dict):
    for i, m in enumerate(view.get("messages") or []):
        if not isinstance(m, dict):
            continue
        c = m.get("content")
        if isinstance(c, str):
            yield i, c
        elif isinstance(c, list):
            for p in c:
                if isinstance(p, dict) and isinstance(p.get("text"), str):
                    yield i, p["text"]


def _may_hold_special_tokens(body: bytes, mistral: bool) -> bool:
    """Whether the raw line could hold a special token: ``|`` (in every ``<|...|>``
    token), which JSON can only escape as ``\\u007c``; for Mistral, its control words
    or any escape (they are letters and brackets, all of which may be escaped)."""
    if b"|" in body:
        return True
    if not mistral:  # one more scan, and only lines with such an escape look further
        return b"\\u007" in body and (b"\\u007c" in body or b"\\u007C" in body)
    if b"\\u00" in body:  # control words are ASCII: only \u00XX escapes can spell one
        return True
    # every Mistral control word ends with "]", which is rare in a line: look behind each
    end = body.find(b"]")
    while end >= 0:
        if body.endswith(_MISTRAL_HINTS, 0, end + 1):
            return True
        end = body.find(b"]", end + 1)
    return False


def _special_tokens(obj: dict, body: bytes, fmt: str, mistral: bool) -> list[Finding]:
    if not _may_hold_special_tokens(body, mistral):
        return []
    pattern = _MISTRAL_RE if mistral else _SPECIAL_RE
    out = []
    for view in views(obj, fmt):
        for i, text in _texts(view):
            m = pattern.search(text)
            if m:
                out.append(Finding("L004", f"message {i} contains the special token {m.group(0)!r}; "
                                           "providers reject or mis-train on template tokens in text; "
                                           "remove it", f"/messages/{i}/content"))
        if out:
            break
    return out


def _nothing_to_train(format_findings: list[Finding]) -> None:
    """Raise the format's R009 warning (every assistant turn has weight 0) to the target's
    L005 error, in place: one finding per example, not both."""
    for k, f in enumerate(format_findings):
        if f.code == "R009":
            format_findings[k] = Finding(
                "L005", f"{f.message.split(', so')[0]}: the example is billed but trains "
                        "nothing; set weight 1 on at least one assistant turn or drop it",
                f.pointer)


def check_example(rt, obj: dict, body: bytes, fmt: str, line_no: int, example: int,
                  schema_ok: bool, format_findings: list[Finding] | None = None) -> list[Finding]:
    """Target findings of one example. ``format_findings`` (the format's own findings for
    it) may be edited in place where the target decides a finding's rule."""
    t = rt.target
    if fmt not in t.formats:
        return []  # reported once per file by file_checks
    # cheap byte scans first (inside): most lines need neither check
    findings = _special_tokens(obj, body, fmt, rt.mistral)
    if format_findings:
        _nothing_to_train(format_findings)
    limit = t.max_tokens
    if not limit or not schema_ok:
        return findings
    # a GuardedCounter (targets.runtime_for): without its tokenizer, over_limit leaves the
    # undecided examples unchecked and counts them; file_checks reports them once (L002)
    counter = rt.counter
    try:
        # from the raw line alone (the common case), for formats whose view *is* the line
        quick = counter.line_bound(body, obj) if fmt in VERBATIM_VIEWS else None
        if quick is not None and quick <= limit:
            return findings
    except Exception:  # noqa: BLE001, S110 - fall through to the per-view bound
        pass
    vs = views(obj, fmt)
    try:
        # every counter (the MiniMax estimate too) obeys count <= content bytes + framing,
        # and the raw line is never shorter than its content's UTF-8 bytes
        if all(len(body) + counter.max_framing(v) <= limit for v in vs):
            return findings  # the bound decides: cannot be over the limit
    except Exception:  # noqa: BLE001, S110 - fall through to exact counting
        pass
    over = [c for c in (counter.over_limit(v, limit) for v in vs) if c is not None]
    worst = max(over, key=lambda c: c.total, default=None)
    if worst is not None:
        estimated = not (counter.exact and worst.exact)
        how = "an estimated " if estimated else ""
        label = "estimate: " if estimated else ""
        findings.append(Finding(
            "L001", f"example has {how}{worst.total:,} tokens ({label}{counter.name}), over "
                    f"the {limit:,}-token limit of {t.id}: "
                    f"{consequence(t, worst.total - limit)}", ""))
    return findings


def file_checks(path: str, res, target, fmt: str) -> list:
    from datakit.rules import registry

    out: list[Finding] = []
    if fmt not in target.formats:
        out.append(Finding("L003", f"{target.id} does not accept the {fmt} format (it takes "
                                   f"{', '.join(target.formats)}); convert with "
                                   f"`datakit convert {path} --to {target.formats[0]} -o OUT`"))
    if target.file_max_bytes and res.bytes > target.file_max_bytes:
        out.append(Finding("D001", f"file is {res.bytes / 1e6:,.1f} MB, over the {target.provider} limit "
                                   f"of {target.file_max_bytes / 1e6:,.0f} MB; split it with "
                                   f"`datakit chunk {path} --target {target.provider} -o DIR`"))
    elif target.file_warn_bytes and res.bytes > target.file_warn_bytes:
        out.append(Finding("D002", f"file is {res.bytes / 1e6:,.1f} MB: over the {target.file_warn_bytes / 1e6:,.0f} MB "
                                   "single-request upload limit; use the multi-part upload or "
                                   "`datakit chunk`"))
    if target.min_examples and 0 < res.examples < target.min_examples:
        out.append(Finding("D003", f"{res.examples} example(s); {target.id} needs at least "
                                   f"{target.min_examples}"))
    return [registry.diagnostic(f, path=path, line=None, example=None) for f in out]


__all__ = ["check_example", "file_checks"]

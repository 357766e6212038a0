"""Human formats: ``concise`` (one line per diagnostic) and ``full`` (with context)."""

from __future__ import annotations

from collections.abc import Iterator

from datakit.diagnostics import Diagnostic
from datakit.render import snippet
from datakit.render._common import (
    SEVERITY_STYLE,
    fixable_line,
    headline,
    paint,
    printable,
    rule_for,
    severity,
    summary_line,
)
from datakit.report import Report


def _close(lines: list[str], report: Report, show_fixes: bool) -> str:
    """The diagnostics, a blank line, the summary (and the fixable count if asked)."""
    if lines:
        lines.append("")
    lines.append(summary_line(report))
    if show_fixes and (fixes := fixable_line(report)):
        lines.append(fixes)
    return "\n".join(lines)


def render_concise(report: Report, *, color: bool = False, show_fixes: bool = False) -> str:
    return "".join(iter_concise(report, color=color, show_fixes=show_fixes))


def iter_concise(report: Report, *, color: bool = False,
                 show_fixes: bool = False) -> Iterator[str]:
    """:func:`render_concise` piece by piece, so that a report of millions of findings is
    written without ever being one string in memory."""
    for d in report.diagnostics:
        yield headline(d, color=color, show_fixes=show_fixes) + "\n"
    yield ("\n" if report.diagnostics else "") + _close([], report, show_fixes)


def _detail(d: Diagnostic, color: bool, show_fixes: bool) -> list[str]:
    """ruff-style block: headline, gutter with the source and a caret, then notes."""
    out = [headline(d, color=color, show_fixes=show_fixes)]
    pad = " " * (len(str(d.line)) + 1 if d.line is not None else 2)
    bar = paint("|", "blue", color)
    source = d.extra.get("source")
    if source is not None:
        text, caret = snippet.cut(source, d.column)
        number = str(d.line) if d.line is not None else ""
        out.append(f"{pad}{bar}")
        out.append(" " * (len(pad) - 1 - len(number)) + paint(number, "blue", color)
                   + f" {bar} {text}".rstrip())
        if caret is not None:
            style = SEVERITY_STYLE[severity(d)]
            out.append(f"{pad}{bar} {' ' * caret}{paint('^', style, color)} {paint(d.code, 'cyan', color)}")
        out.append(f"{pad}{bar}")
    rule = rule_for(d.code)
    about = f"{d.name} ({d.code})"
    if rule is not None:
        about += f": {rule.summary}"
    out.append(f"{pad}= rule: {about}")
    if d.pointer:
        out.append(f"{pad}= pointer: {printable(d.pointer)}")
    elif d.example is not None:
        out.append(f"{pad}= pointer: (the whole example)")
    if d.fix:
        out.append(f"{pad}= fix: {d.fix}")
    if rule is not None:
        out.append(f"{pad}= docs: {rule.url}")
    return out


def render_full(report: Report, *, color: bool = False, show_fixes: bool = False) -> str:
    lines: list[str] = []
    for i, d in enumerate(report.diagnostics):
        if i:
            lines.append("")
        lines.extend(_detail(d, color, show_fixes))
    return _close(lines, report, show_fixes)

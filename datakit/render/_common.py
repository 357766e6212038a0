"""Pieces shared by the renderers: rule lookup, colours, plurals, tallies, summary line."""

from __future__ import annotations

import re
from collections import Counter

from datakit.diagnostics import Diagnostic, Severity
from datakit.report import Report
from datakit.rules.registry import RULES, Rule

_ANSI = {"bold": "1", "red": "31", "yellow": "33", "blue": "34", "cyan": "36"}
SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}

# C0 controls, DEL and C1 controls. Messages quote untrusted dataset text, so an
# escape sequence in a dataset must not reach the terminal (or the CI log) raw.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def rule_for(code: str) -> Rule | None:
    """The registered rule for ``code``, or None for a code the registry lacks."""
    import datakit.rules  # noqa: F401  (first use registers every rule family)

    return RULES.get(code)


def severity(d: Diagnostic) -> Severity:
    return Severity(d.severity)


def paint(text: str, style: str, enabled: bool) -> str:
    if not enabled or not text:
        return text
    return f"\x1b[{_ANSI[style]}m{text}\x1b[0m"


def printable(text: str) -> str:
    """One printable line: control characters become ``\\n``, ``\\x1b`` and so on."""

    def escape(m: re.Match[str]) -> str:
        c = m.group()
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c, f"\\x{ord(c):02x}")

    return _CONTROL.sub(escape, text)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def location(d: Diagnostic, *, color: bool = False) -> str:
    """``path:line:col``, ``path:line`` or ``path``: whatever is known."""
    loc = paint(printable(d.path), "bold", color)
    if d.line is not None:
        loc += f":{d.line}"
        if d.column is not None:
            loc += f":{d.column}"
    return loc


def headline(d: Diagnostic, *, color: bool = False, show_fixes: bool = False) -> str:
    """The concise one-line form: ``path:line:col: CODE [severity] message``."""
    sev = severity(d)
    marker = "[*] " if show_fixes and d.fix else ""
    return (f"{location(d, color=color)}: {paint(d.code, 'cyan', color)} "
            f"[{paint(sev.value, SEVERITY_STYLE[sev], color)}] {marker}{printable(d.message)}")


def tally(report: Report) -> tuple[int, int, int]:
    """(errors, warnings, infos), hidden diagnostics included.

    The per-file counts are authoritative (they include what --max-per-rule hid);
    the visible diagnostics are a floor, for reports built without file results.
    """
    shown = Counter(severity(d) for d in report.diagnostics)
    return (
        max(report.errors, shown[Severity.ERROR]),
        max(report.warnings, shown[Severity.WARNING]),
        max(sum(f.infos for f in report.files), shown[Severity.INFO]),
    )


def file_count(report: Report) -> int:
    return len(report.files) or len({d.path for d in report.diagnostics})


def summary_line(report: Report) -> str:
    errors, warnings, infos = tally(report)
    examples = sum(f.examples for f in report.files)
    scope = f"{plural(examples, 'example')} across {plural(file_count(report), 'file')}"
    hidden = sum(report.hidden.values())
    if not (report.diagnostics or hidden or errors or warnings or infos):
        return f"All checks passed: {scope}."
    found = [plural(errors, "error"), plural(warnings, "warning")]
    if infos:
        found.append(plural(infos, "info"))
    line = f"Found {', '.join(found)} in {scope}."
    if hidden:
        line += f" ({hidden} hidden by --max-per-rule)"
    return line


def fixable_line(report: Report) -> str | None:
    """ruff's ``[*] N fixable`` closing line, or None when nothing shown is fixable."""
    n = sum(1 for d in report.diagnostics if d.fix)
    return f"[*] {n} fixable with `datakit fix`." if n else None

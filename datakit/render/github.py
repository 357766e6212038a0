"""GitHub Actions workflow commands, which the runner turns into annotations.

Escaping follows @actions/core (``toCommandValue`` / ``escapeData`` /
``escapeProperty``): ``%``, CR and LF in the message; those plus ``:`` and ``,``
in property values.
"""

from __future__ import annotations

from datakit.diagnostics import Severity
from datakit.render._common import severity
from datakit.report import Report

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, properties: dict[str, object], message: str) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def render_github(report: Report, *, color: bool = False, show_fixes: bool = False) -> str:
    lines = []
    for d in report.diagnostics:
        props: dict[str, object] = {"file": d.path.replace("\\", "/")}
        if d.line is not None:
            props["line"] = d.line
            if d.column is not None:
                props["col"] = d.column
        props["title"] = f"{d.code} {d.name}"
        lines.append(_command(COMMAND[severity(d)], props, d.message))
    hidden = sum(report.hidden.values())
    if hidden:
        lines.append(_command("notice", {"title": "datakit"},
                              f"{hidden} more diagnostics hidden by --max-per-rule"))
    return "\n".join(lines)

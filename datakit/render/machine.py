"""Machine formats: ``json`` (the whole report) and ``json-lines`` (one diagnostic a line)."""

from __future__ import annotations

import json

from datakit.report import Report


def render_json(report: Report, *, color: bool = False, show_fixes: bool = False) -> str:
    return report.to_json()


def render_json_lines(report: Report, *, color: bool = False, show_fixes: bool = False) -> str:
    return "\n".join(json.dumps(d.to_dict(), ensure_ascii=False) for d in report.diagnostics)

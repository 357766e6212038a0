"""Machine formats: ``json`` (the whole report) and ``json-lines`` (one diagnostic a line)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from datakit.report import Report


def render_json(report: Report, *, color: bool = False, show_fixes: bool = False) -> str:
    return report.to_json()


def render_json_lines(report: Report, *, color: bool = False, show_fixes: bool = False) -> str:
    return "".join(iter_json_lines(report))


def iter_json_lines(report: Report, *, color: bool = False,
                    show_fixes: bool = False) -> Iterator[str]:
    """:func:`render_json_lines` one diagnostic at a time."""
    for i, d in enumerate(report.diagnostics):
        yield ("\n" if i else "") + json.dumps(d.to_dict(), ensure_ascii=False)

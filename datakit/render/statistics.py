"""ruff's ``--statistics``: one row per code, most frequent first, hidden ones counted."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass

from datakit.render._common import SEVERITY_STYLE, paint, rule_for, severity, summary_line
from datakit.report import Report


@dataclass(frozen=True, slots=True)
class Row:
    count: int
    code: str
    name: str
    severity: str
    fixable: bool


def rows(report: Report) -> list[Row]:
    # report.counts already includes what --max-per-rule hid; visible + hidden is a
    # floor for hand-built reports whose counts were never filled in.
    seen = Counter(d.code for d in report.diagnostics) + report.hidden
    codes = set(seen) | set(report.counts)
    first = {}
    for d in report.diagnostics:
        first.setdefault(d.code, d)
    out = []
    for code in codes:
        count = max(report.counts.get(code, 0), seen[code])
        if not count:
            continue
        rule = rule_for(code)
        if rule is not None:
            out.append(Row(count, code, rule.name, rule.severity.value, rule.fixable))
        elif code in first:
            d = first[code]
            out.append(Row(count, code, d.name, severity(d).value, d.fix is not None))
        else:
            out.append(Row(count, code, code, "unknown", False))
    return sorted(out, key=lambda r: (-r.count, r.code))


def render_table(report: Report, *, color: bool = False) -> str:
    table = rows(report)
    if not table:
        return summary_line(report)
    count_w = max(len(str(r.count)) for r in table)
    code_w = max(len(r.code) for r in table)
    name_w = max(len(r.name) for r in table)
    sev_w = max(len(r.severity) for r in table)
    lines = []
    for r in table:
        style = {s.value: st for s, st in SEVERITY_STYLE.items()}.get(r.severity)
        sev = r.severity.ljust(sev_w)
        line = (f"{r.count:>{count_w}}  {paint(r.code, 'cyan', color)}{' ' * (code_w - len(r.code))}"
                f"  {r.name.ljust(name_w)}  {paint(sev, style, color) if style else sev}"
                f"  {'[*]' if r.fixable else ''}")
        lines.append(line.rstrip())
    return "\n".join([*lines, "", summary_line(report)])


def render_json(report: Report, *, lines: bool = False) -> str:
    data = [asdict(r) for r in rows(report)]
    if lines:
        return "\n".join(json.dumps(r, ensure_ascii=False) for r in data)
    return json.dumps(data, ensure_ascii=False, indent=2)

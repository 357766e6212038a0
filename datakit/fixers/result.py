"""What ``datakit fix`` reports: one :class:`Change` per touched input line, and the
:class:`FixResult` that counts fixes by code and carries the lint of the output
(what remains). Both display in notebooks and serialise to JSON."""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from datakit.diagnostics import Diagnostic
from datakit.report import Report
from datakit.rules import registry
from datakit.rules.fixes import FIXES


@dataclass(slots=True)
class Change:
    """What happened to one input line."""

    line: int  # 1-based input line (row number + 1 for in-memory data)
    out_line: int | None  # 1-based output line; None when the line was removed
    fixes: list[tuple[str, str]]  # (code, JSON pointer) per applied fix
    before: bytes | None = None
    after: bytes | None = None

    @property
    def codes(self) -> list[str]:
        return sorted({c for c, _ in self.fixes})

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"line": self.line, "out_line": self.out_line,
                             "fixes": [{"code": c, "name": registry.RULES[c].name, "pointer": p}
                                       for c, p in self.fixes]}
        if self.before is not None:
            d["before"] = self.before.decode("utf-8", errors="replace")
            d["after"] = None if self.after is None else self.after.decode("utf-8", errors="replace")
        return d


@dataclass(slots=True)
class FixResult:
    """What ``fix`` did (``fixed``, ``changes``) and what remains (``report``: the lint of
    the output, with the target's limits when one was given)."""

    source: str
    output: str | None
    format: str | None
    target: str | None
    fixed: Counter = field(default_factory=Counter)  # code -> fixes applied
    changes: list[Change] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    lines_in: int = 0
    lines_out: int = 0
    dry_run: bool = False
    backup: str | None = None
    data: Any = None  # the fixed records / DataFrame / Dataset for in-memory sources

    @property
    def remaining(self) -> list[Diagnostic]:
        """Every diagnostic of the fixed output: what the applied fixes left (a code with a
        fix can remain when the fix is on request, not selected, or declined as ambiguous)."""
        return self.report.diagnostics

    @property
    def ok(self) -> bool:
        """True when the output has no error-severity diagnostic."""
        return self.report.ok

    def __repr__(self) -> str:
        return (f"<FixResult {self.source}: {sum(self.fixed.values()):,} fix(es), "
                f"{self.changed_lines:,} line(s) changed, {self.removed_lines:,} removed; "
                f"{self.report.errors:,} error(s) remain>")

    @property
    def changed_lines(self) -> int:
        return sum(1 for c in self.changes if c.out_line is not None)

    @property
    def removed_lines(self) -> int:
        return sum(1 for c in self.changes if c.out_line is None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "output": self.output,
            "format": self.format,
            "target": self.target,
            "dry_run": self.dry_run,
            "backup": self.backup,
            "lines_in": self.lines_in,
            "lines_out": self.lines_out,
            "changed_lines": self.changed_lines,
            "removed_lines": self.removed_lines,
            "fixed": {c: {"count": n, "name": registry.RULES[c].name, "fix": FIXES[c]}
                      for c, n in sorted(self.fixed.items())},
            "changes": [c.to_dict() for c in self.changes],
            "remaining": [d.to_dict() for d in self.remaining],
            "ok": self.ok,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_pandas(self):
        """One row per applied fix (``status="fixed"``) and per remaining diagnostic
        (``status="remaining"``)."""
        import pandas as pd

        rows = []
        for c in self.changes:
            for code, ptr in c.fixes:
                rows.append({"status": "fixed", "line": c.line, "out_line": c.out_line,
                             "code": code, "name": registry.RULES[code].name,
                             "severity": registry.RULES[code].severity.value,
                             "message": FIXES[code], "pointer": ptr})
        for d in self.remaining:
            rows.append({"status": "remaining", "line": d.extra.get("input_line"),
                         "out_line": d.extra.get("output_line", d.line), "code": d.code,
                         "name": d.name,
                         "severity": d.severity.value, "message": d.message, "pointer": d.pointer})
        cols = ["status", "line", "out_line", "code", "name", "severity", "message", "pointer"]
        df = pd.DataFrame(rows, columns=cols)
        return df.astype({"line": "Int64", "out_line": "Int64"})  # removed lines: <NA>

    def summary_lines(self) -> list[str]:
        verb = "would fix" if self.dry_run else "fixed"
        n = sum(self.fixed.values())
        out = [(f"{verb} {n} problem(s): {self.changed_lines} line(s) changed, "
               f"{self.removed_lines} removed ({self.lines_in} in, {self.lines_out} out)")]
        for code, count in sorted(self.fixed.items()):
            out.append(f"  {count:>6}  {code}  {registry.RULES[code].name:<34} {FIXES[code]}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.summary_lines())

    def _repr_html_(self) -> str:
        s = self.report.summary
        status = "✅ output lints clean of errors" if self.ok else f"❌ {s['errors']} error(s) remain"
        head = (f"<p><b>datakit fix</b>: {sum(self.fixed.values())} fix(es) on "
                f"{self.changed_lines} line(s), {self.removed_lines} line(s) removed; {status}, "
                f"{s['warnings']} warning(s)</p>")
        rows = "".join(
            f"<tr><td><code>{c}</code></td><td>{html.escape(registry.RULES[c].name)}</td>"
            f"<td>{n}</td><td>{html.escape(FIXES[c])}</td></tr>"
            for c, n in sorted(self.fixed.items()))
        fixed = ("<table><thead><tr><th>code</th><th>name</th><th>fixed</th><th>what the fix "
                 "did</th></tr></thead><tbody>" + rows + "</tbody></table>") if rows else ""
        remaining = ""
        if self.remaining:
            remaining = "<p><b>Remaining</b> (what the applied fixes left)</p>" + \
                self.report._repr_html_().split("</p>", 1)[1]
        return head + fixed + remaining



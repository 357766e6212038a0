"""The result of a lint run: per-file summaries plus diagnostics."""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from datakit import __version__
from datakit.diagnostics import Diagnostic, Severity


@dataclass(slots=True)
class FileResult:
    path: str
    format: str | None
    examples: int = 0
    lines: int = 0
    bytes: int = 0
    errors: int = 0
    warnings: int = 0
    infos: int = 0
    target: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {"path": self.path, "format": self.format, "examples": self.examples,
             "errors": self.errors, "warnings": self.warnings}
        if self.target:
            d["target"] = self.target
        d.update(self.extra)
        return d


@dataclass(slots=True)
class Report:
    files: list[FileResult] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    hidden: Counter = field(default_factory=Counter)  # code -> diagnostics hidden by --max-per-rule
    counts: Counter = field(default_factory=Counter)  # code -> all diagnostics, hidden included

    @property
    def errors(self) -> int:
        return sum(f.errors for f in self.files)

    @property
    def warnings(self) -> int:
        return sum(f.warnings for f in self.files)

    @property
    def ok(self) -> bool:
        """True when there is no error-severity diagnostic (hidden ones included)."""
        return self.errors == 0

    def __repr__(self) -> str:
        examples = sum(f.examples for f in self.files)
        return (f"<Report {len(self.files):,} file(s), {examples:,} example(s): "
                f"{self.errors:,} error(s), {self.warnings:,} warning(s)>")

    @property
    def summary(self) -> dict[str, Any]:
        return {
            "files": len(self.files),
            "examples": sum(f.examples for f in self.files),
            "errors": self.errors,
            "warnings": self.warnings,
            "infos": sum(f.infos for f in self.files),
            "hidden": sum(self.hidden.values()),
            "by_code": dict(sorted(self.counts.items())),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "files": [f.to_dict() for f in self.files],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "summary": self.summary,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    def to_pandas(self):
        import pandas as pd

        cols = ["path", "line", "column", "example", "code", "name", "severity", "message", "pointer"]
        return pd.DataFrame([d.to_dict() for d in self.diagnostics], columns=cols)

    def __iter__(self):
        return iter(self.diagnostics)

    def __len__(self) -> int:
        return len(self.diagnostics)

    def __str__(self) -> str:
        from datakit.render import render

        return render(self, "concise", color=False)

    def _repr_html_(self) -> str:
        s = self.summary
        status = "✅ no errors" if self.ok else f"❌ {s['errors']} error(s)"
        head = (f"<p><b>datakit lint</b>: {status}, {s['warnings']} warning(s) in "
                f"{s['examples']} example(s) across {s['files']} file(s)"
                + (f"; {s['hidden']} hidden by --max-per-rule" if s["hidden"] else "") + "</p>")
        colors = {Severity.ERROR: "#c62828", Severity.WARNING: "#ef6c00", Severity.INFO: "#1565c0"}
        rows = []
        for d in self.diagnostics[:500]:
            rows.append(
                "<tr>"
                f"<td>{html.escape(d.path)}</td><td>{d.line or ''}</td><td>{d.column or ''}</td>"
                f"<td><code>{d.code}</code></td><td>{html.escape(d.name)}</td>"
                f"<td style='color:{colors[d.severity]}'>{d.severity.value}</td>"
                f"<td>{html.escape(d.message)}</td><td><code>{html.escape(d.pointer)}</code></td>"
                "</tr>"
            )
        more = (f"<p>… {len(self.diagnostics) - 500} more (use <code>.to_pandas()</code>)</p>"
                if len(self.diagnostics) > 500 else "")
        table = ("<table><thead><tr><th>path</th><th>line</th><th>col</th><th>code</th><th>name</th>"
                 "<th>severity</th><th>message</th><th>pointer</th></tr></thead><tbody>"
                 + "".join(rows) + "</tbody></table>") if rows else ""
        return head + table + more

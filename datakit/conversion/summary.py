"""What a conversion did, in numbers and in diagnostics."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from datakit.conversion.engine import Tally
from datakit.diagnostics import Diagnostic


@dataclass(slots=True)
class ConversionSummary:
    """Counts of one conversion run.

    ``rejected`` counts examples that were not written, by the code that blocked
    them; ``losses`` counts every loss code (also on examples written under
    ``on_loss="warn"``); ``changes`` counts the documented changes (new ids,
    repaired arguments, merged turns...). From files, ``diagnostics`` keeps the first
    1,000 of each code (the counts above are complete; the rejects file holds every
    rejected example with its reasons), so memory stays flat on large corpora.
    """

    target: str
    on_loss: str
    read: int = 0
    written: int = 0
    changed: int = 0
    lossy: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    losses: dict[str, int] = field(default_factory=dict)
    changes: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list, repr=False)
    output: str | None = None
    rejects: str | None = None
    committed: bool = True  # False: the output was not written (on_loss="error")
    files: int = 0
    hidden: dict[str, int] = field(default_factory=dict)  # diagnostics not printed, by code
    rejected_data: Any = field(default=None, repr=False)  # in-memory rejects (API)

    @classmethod
    def from_tally(cls, tally: Tally, target: str, on_loss: str, **kw: Any) -> ConversionSummary:
        return cls(target=target, on_loss=on_loss, read=tally.read, written=tally.written,
                   changed=tally.changed, lossy=tally.lossy, rejected=dict(tally.rejected),
                   losses=dict(tally.losses), changes=dict(tally.changes),
                   sources=dict(tally.sources), **kw)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def ok(self) -> bool:
        """True when every example read was written and nothing was lost."""
        return self.rejected_total == 0 and self.lossy == 0

    def rows(self) -> list[dict[str, Any]]:
        from datakit.rules import RULES

        out = []
        for what, table in (("rejected", self.rejected), ("loss", self.losses),
                            ("change", self.changes)):
            for code, n in sorted(table.items()):
                out.append({"kind": what, "code": code, "name": RULES[code].name, "examples": n})
        return out

    def to_pandas(self):
        """One row per (kind, code): rejected / loss / change counts."""
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=["kind", "code", "name", "examples"])

    def lines(self) -> list[str]:
        from datakit.rules import RULES

        head = (f"{self.read:,} read, {self.written:,} written ({self.changed:,} changed, "
                f"{self.lossy:,} with losses), {self.rejected_total:,} rejected")
        out = [head]
        for title, table in (("rejected", self.rejected), ("losses", self.losses),
                             ("changes", self.changes)):
            if table:
                items = ", ".join(f"{c} {RULES[c].name} {n:,}" for c, n in sorted(table.items()))
                out.append(f"  {title}: {items}")
        if self.output:
            state = "" if self.committed else " (NOT written: examples were rejected under " \
                                              "--on-loss error)"
            out.append(f"  output: {self.output}{state}")
        if self.rejects:
            out.append(f"  rejects: {self.rejects}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        return (f"<ConversionSummary to {self.target}: {self.read:,} read, {self.written:,} "
                f"written, {self.changed:,} changed, {self.lossy:,} with losses, "
                f"{self.rejected_total:,} rejected>")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(r['kind'])}</td><td>{r['code']}</td>"
            f"<td>{html.escape(r['name'])}</td><td style='text-align:right'>{r['examples']:,}</td>"
            "</tr>" for r in self.rows())
        table = (f"<table><thead><tr><th>kind</th><th>code</th><th>rule</th><th>examples</th>"
                 f"</tr></thead><tbody>{rows}</tbody></table>" if rows else "")
        return (f"<div><b>datakit convert → {html.escape(self.target)}</b>: "
                f"{self.read:,} read, {self.written:,} written ({self.changed:,} changed, "
                f"{self.lossy:,} with losses), {self.rejected_total:,} rejected{table}</div>")


__all__ = ["ConversionSummary"]

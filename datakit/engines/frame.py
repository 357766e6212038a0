"""pandas engine: lint a ``DataFrame`` into a ``DataFrame``.

    >>> checked = datakit.lint_frame(df, target="mistral")
    >>> checked[~checked.lint_ok]
    >>> checked.attrs["lint_report"]          # the whole Report, file-level findings too

The rows go through :func:`datakit.lint` (the same kernel as files, duplicates and
dataset-wide rules included); each row's findings come back as three columns,
``lint_ok``, ``lint_errors`` and ``lint_diagnostics`` (a list of dicts with the
fields of the Dataset engine's struct), in the frame's own row order and index.
"""

from __future__ import annotations

from typing import Any

from datakit.engines.arrow import DEFAULT_COLUMNS, LintColumns


def lint_frame(df: Any, format: str = "auto", target: str | None = None, *,
               columns: LintColumns = DEFAULT_COLUMNS, **lint_options: Any) -> Any:
    """Return a copy of ``df`` with the lint columns appended (replaced if present).

    Row ``i`` (0-based position, whatever the index) is example ``i + 1`` in the
    diagnostics, as line ``i + 1`` of the JSONL file the frame would write. Findings
    without a row (e.g. too few examples) are in ``.attrs["lint_report"]``, the
    full :class:`~datakit.report.Report`. ``lint_options`` are those of
    :func:`datakit.lint` (``select``, ``ignore``, ``max_per_rule``, ``workers``).
    """
    import pandas as pd

    from datakit.api import lint

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"lint_frame takes a pandas.DataFrame, not {type(df).__name__}; "
                        "use datakit.lint() for paths and lists of dicts, "
                        "datakit.lint_dataset() for a datasets.Dataset")
    mine = [c for c in (columns.ok, columns.errors, columns.diagnostics) if c in df.columns]
    own = df.drop(columns=mine)
    report = lint(own, format=format, target=target, name="<DataFrame>", **lint_options)
    per_row: list[list[dict]] = [[] for _ in range(len(own))]
    for d in report.diagnostics:
        if d.line is not None and 1 <= d.line <= len(own):
            per_row[d.line - 1].append({
                "line": d.line, "column": d.column, "code": d.code, "name": d.name,
                "severity": d.severity.value, "message": d.message, "pointer": d.pointer})
    errors = [sum(1 for x in row if x["severity"] == "error") for row in per_row]
    out = own  # drop() made a new frame: the caller's is left as it was
    out[columns.ok] = pd.Series([e == 0 for e in errors], index=own.index, dtype=bool)
    out[columns.errors] = pd.Series(errors, index=own.index, dtype="int64")
    out[columns.diagnostics] = pd.Series(per_row, index=own.index, dtype=object)
    out.attrs["lint_report"] = report
    return out

"""The lint kernel over an Arrow table of rows (one example per row).

Both dataframe engines hand batches to this function: Hugging Face ``datasets``
as ``pyarrow.Table`` batches (``with_format("arrow")``), Ray Data with
``batch_format="pyarrow"``. Each row is serialised to one JSONL line, the usual
:func:`~datakit.linter.kernel.lint_lines` kernel runs over the batch, and three
columns are appended: ``lint_ok``, ``lint_errors`` and ``lint_diagnostics`` (a
list of structs). The output schema is fixed, so batches whose rows are all
clean (empty lists) concatenate with the others.

Rules that need the whole dataset (duplicates, minimum examples, file size) are
not per-row facts; :func:`datakit.lint` on the same data reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from datakit import sources

DIAGNOSTIC_TYPE = pa.struct([
    ("line", pa.int64()),
    ("column", pa.int64()),
    ("code", pa.string()),
    ("name", pa.string()),
    ("severity", pa.string()),
    ("message", pa.string()),
    ("pointer", pa.string()),
])


@dataclass(frozen=True)
class LintColumns:
    """Names of the appended columns (change them if your data already has these)."""

    ok: str = "lint_ok"
    errors: str = "lint_errors"
    diagnostics: str = "lint_diagnostics"

    def schema_fields(self) -> list[pa.Field]:
        return [pa.field(self.ok, pa.bool_()), pa.field(self.errors, pa.int64()),
                pa.field(self.diagnostics, pa.list_(DIAGNOSTIC_TYPE))]


DEFAULT_COLUMNS = LintColumns()


def resolve_format(rows: list[dict], format: str = "auto", target: str | None = None) -> str:
    """The format of in-memory rows: the given id, or detected from the first rows.

    Raises ``ValueError`` with the J013 explanation when nothing is recognisable.
    """
    from datakit.linter.run import _chat_default, sniff

    head = list(sources.to_lines(sources.strip_nulls(r) for r in rows[:64]))
    s = sniff(head, format, _chat_default(target))
    if s.format is None:
        why = "; ".join(f.message for _, f in s.findings) or "no rows to detect a format from"
        raise ValueError(f"cannot lint these rows: {why}")
    return s.format


def lint_table(table: pa.Table, *, format: str, target: str | None = None,
               first_line: int = 1, path: str = "<rows>",
               columns: LintColumns = DEFAULT_COLUMNS, decode=None) -> pa.Table:
    """Lint every row of ``table`` as one example of ``format``; return the table with
    the lint columns appended. ``first_line`` numbers the rows (1-based) in messages.

    ``decode`` turns an Arrow row into the user's example (``datasets`` stores
    heterogeneous message dicts as JSON strings: its ``Features.decode_example``
    restores them)."""
    from datakit.linter.kernel import KernelConfig, lint_lines

    own = [c for c in table.column_names if c not in (columns.ok, columns.errors,
                                                       columns.diagnostics)]
    raw_rows = table.select(own).to_pylist()
    if decode is not None:
        raw_rows = [decode(r) for r in raw_rows]
    rows = [sources.strip_nulls(r) for r in raw_rows]
    lines = list(sources.to_lines(rows))
    cfg = KernelConfig(path=path, format=format, family=None, target=target,
                       check_duplicates=False)
    res = lint_lines(lines, cfg, at_file_start=False, at_file_end=False)
    per_row: list[list[dict]] = [[] for _ in rows]
    for d in res.diagnostics:
        if d.line is None or not 1 <= d.line <= len(rows):
            continue
        per_row[d.line - 1].append({
            "line": d.line - 1 + first_line, "column": d.column, "code": d.code,
            "name": d.name, "severity": d.severity.value, "message": d.message,
            "pointer": d.pointer})
    errors = [sum(1 for d in ds if d["severity"] == "error") for ds in per_row]
    ok_f, err_f, diag_f = columns.schema_fields()
    for name in (columns.ok, columns.errors, columns.diagnostics):
        if name in table.column_names:
            table = table.drop_columns([name])  # re-linting replaces the old verdict
    table = table.append_column(ok_f, pa.array([e == 0 for e in errors], pa.bool_()))
    table = table.append_column(err_f, pa.array(errors, pa.int64()))
    return table.append_column(diag_f, pa.array(per_row, pa.list_(DIAGNOSTIC_TYPE)))

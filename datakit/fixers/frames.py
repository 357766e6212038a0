"""Dataframe adapters for ``datakit.fix``: a ``pandas.DataFrame`` in gives a DataFrame
out, a ``datasets.Dataset`` in gives a Dataset out.

Rows become raw JSONL lines (the same serialisation ``datakit.lint`` uses) and go
through the same :class:`~datakit.fixing.LineFixer` as files. For a Dataset the
fixing runs inside ``Dataset.map(batched=True, num_proc=N)``; duplicates span
batches, so they are removed after the map, in row order.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from functools import partial
from typing import Any

from datakit import sources
from datakit.fixers.result import Change, FixResult
from datakit.fixers.tools import add_to_catalog
from datakit.fixing import (
    FixOptions,
    LineFixer,
    _digest,
    _format_of,
    _lint_lines_report,
    _needs_catalog,
    fix_records,
)


def fix_pandas(df: Any, opts: FixOptions) -> FixResult:
    import pandas as pd

    records = [sources.strip_nulls(r) for r in df.to_dict(orient="records")]
    result, kept, new_records = fix_records(records, opts, "<DataFrame>")
    # the input's columns first (those some row still has), then any a fix added (`tools`)
    present = {c for r in new_records for c in r}
    columns = [c for c in df.columns if c in present or not new_records]
    columns += list(dict.fromkeys(c for r in new_records for c in r if c not in df.columns))
    out = pd.DataFrame(new_records, index=df.index[kept], columns=columns)
    result.data = out
    return result


def _fix_batch(table, indices, *, fmt, opts, catalog):
    """``Dataset.map`` batch function: rows → raw lines → fixed lines (as text)."""
    rows = [sources.strip_nulls(r) for r in table.to_pylist()]
    lines = list(sources.to_lines(rows))
    first = (indices[0] + 1) if len(indices) else 1
    fixer = LineFixer(fmt, opts, path="<Dataset>", catalog=catalog, first_line=first,
                      dedupe=False)  # duplicates span batches: removed after the map
    out = fixer.feed(lines)
    fixes = {c.line: [f"{code} {ptr}" for code, ptr in c.fixes] for c in fixer.changes}
    return {
        "__datakit_line": [None if b is None else b.decode("utf-8") for b in out],
        "__datakit_fixes": [fixes.get(first + k, []) for k in range(len(out))],
    }


def fix_dataset(ds: Any, opts: FixOptions, num_proc: int | None, batch_size: int) -> FixResult:
    import datasets

    opts.resolve()
    head = list(sources.to_lines(sources.strip_nulls(r) for r in ds.select(range(min(64, len(ds))))))
    fmt = _format_of(head, opts)
    catalog: dict[str, Any] = {}
    if _needs_catalog(fmt, opts):
        for start in range(0, len(ds), 1000):
            chunk = ds.select(range(start, min(start + 1000, len(ds))))
            for r in chunk:
                add_to_catalog(catalog, sources.strip_nulls(r))
    fn = partial(_fix_batch, fmt=fmt, opts=opts, catalog=catalog)
    mapped = ds.with_format("arrow").map(
        fn, batched=True, batch_size=batch_size, with_indices=True, num_proc=num_proc,
        remove_columns=ds.column_names, desc=f"datakit fix ({fmt})",
        features=datasets.Features({"__datakit_line": datasets.Value("string"),
                                    "__datakit_fixes": datasets.Sequence(datasets.Value("string"))}))
    fixed: Counter = Counter()
    changes: list[Change] = []
    seen: set[bytes] = set()
    records, out_lines = [], []
    dedupe = "D004" in opts.enabled and fmt is not None
    mapped = mapped.with_format(None)
    col_lines = mapped["__datakit_line"]
    col_fixes = mapped["__datakit_fixes"]
    for i, (text, fx) in enumerate(zip(col_lines, col_fixes, strict=True)):
        applied = [tuple(s.split(" ", 1)) for s in fx]
        applied = [(a[0], a[1] if len(a) > 1 else "") for a in applied]
        if text is None:
            changes.append(Change(i + 1, None, applied))
            continue
        raw = text.encode("utf-8")
        if dedupe:
            digest = _digest(raw)
            if digest in seen:
                changes.append(Change(i + 1, None, applied + [("D004", "")]))
                continue
            seen.add(digest)
        out_lines.append(raw)
        records.append(json.loads(raw))
        if applied:
            changes.append(Change(i + 1, len(out_lines), applied))
    for c in changes:
        for code, _ in c.fixes:
            fixed[code] += 1
    out = datasets.Dataset.from_list(records) if records else datasets.Dataset.from_dict(
        {c: [] for c in ds.column_names})
    with contextlib.suppress(Exception):  # keep the input's feature types where they still fit
        if set(out.column_names) == set(ds.column_names):
            out = out.select_columns(ds.column_names).cast(ds.features)
    report = _lint_lines_report(out_lines, fmt, opts, "<Dataset>", changes)
    return FixResult(source="<Dataset>", output=None, format=fmt, target=opts.target,
                     fixed=fixed, changes=changes, report=report, lines_in=len(ds),
                     lines_out=len(out_lines), data=out)

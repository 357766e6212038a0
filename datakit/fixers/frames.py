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


def _json_columns(features: Any) -> frozenset[str]:
    """Columns held as ``Json`` features (at any list depth): their nulls are the data's own
    ``null``s (decoded from JSON text), not Arrow's fill for absent struct fields."""
    def has_json(feature: Any) -> bool:
        if type(feature).__name__ == "Json":
            return True
        inner = getattr(feature, "feature", None)  # List / Sequence / LargeList
        return inner is not None and has_json(inner)

    return frozenset(k for k, f in (features or {}).items() if has_json(f))


def _record(row: dict, json_columns: frozenset[str]) -> dict:
    """One decoded Dataset row as the record a JSONL line would hold."""
    return {k: v if k in json_columns else sources.strip_nulls(v)
            for k, v in row.items() if v is not None}


def _json_dataset(records: list[dict], features: Any) -> Any:
    """The fixed records under the input's features, with ``Json`` for any column a fix
    added: each value is stored as its JSON text, so a key a fix deleted stays deleted
    (inferring a struct would give every message every key back, filled with nulls)."""
    import datasets

    feats = datasets.Features(dict(features))
    for r in records:
        for k in r:
            if k not in feats:
                feats[k] = datasets.Json()
    return datasets.Dataset.from_list([{k: r.get(k) for k in feats} for r in records],
                                      features=feats)


def _fix_batch(batch, indices, *, fmt, opts, catalog, json_columns):
    """``Dataset.map`` batch function: decoded rows → raw lines → fixed lines (as text).

    The batch is in the Python format, so features are decoded (``Json`` columns become
    objects, as ``load_dataset("json")`` gives them) exactly as ``ds[i]`` would be."""
    names = list(batch)
    rows = [_record({k: batch[k][i] for k in names}, json_columns) for i in range(len(indices))]
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
    ds = ds.with_format(None)  # decoded Python rows, whatever format the caller set
    json_columns = _json_columns(ds.features)
    head = list(sources.to_lines(_record(r, json_columns)
                                 for r in ds.select(range(min(64, len(ds))))))
    fmt = _format_of(head, opts)
    catalog: dict[str, Any] = {}
    if _needs_catalog(fmt, opts):
        for start in range(0, len(ds), 1000):
            chunk = ds.select(range(start, min(start + 1000, len(ds))))
            for r in chunk:
                add_to_catalog(catalog, _record(r, json_columns))
    fn = partial(_fix_batch, fmt=fmt, opts=opts, catalog=catalog, json_columns=json_columns)
    mapped = ds.map(
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
    if json_columns and records:
        out = _json_dataset(records, ds.features)
    else:
        out = datasets.Dataset.from_list(records) if records else datasets.Dataset.from_dict(
            {c: [] for c in ds.column_names})
        with contextlib.suppress(Exception):  # keep the input's feature types where they fit
            if set(out.column_names) == set(ds.column_names):
                out = out.select_columns(ds.column_names).cast(ds.features)
    report = _lint_lines_report(out_lines, fmt, opts, "<Dataset>", changes)
    return FixResult(source="<Dataset>", output=None, format=fmt, target=opts.target,
                     fixed=fixed, changes=changes, report=report, lines_in=len(ds),
                     lines_out=len(out_lines), data=out)

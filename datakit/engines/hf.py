"""Hugging Face ``datasets`` engine: lint a ``Dataset`` into a ``Dataset``.

    >>> from datakit.engines.hf import lint_dataset
    >>> checked = lint_dataset(ds, target="mistral", num_proc=2)
    >>> checked.filter(lambda r: not r["lint_ok"])

Runs :func:`datakit.engines.arrow.lint_table` through ``Dataset.map(batched=True,
num_proc=N)``, so it scales like any other ``datasets`` transform and caches.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from datakit.engines.arrow import DEFAULT_COLUMNS, LintColumns, lint_table, resolve_format


def _lint_batch(table, indices, *, format, target, columns, features):
    first = (indices[0] + 1) if len(indices) else 1
    return lint_table(table, format=format, target=target, first_line=first, path="<Dataset>",
                      columns=columns, decode=features.decode_example)


def lint_dataset(ds: Any, format: str = "auto", target: str | None = None, *,
                 num_proc: int | None = None, batch_size: int = 1000,
                 columns: LintColumns = DEFAULT_COLUMNS) -> Any:
    """Return ``ds`` with ``lint_ok``, ``lint_errors`` and ``lint_diagnostics`` columns.

    ``format="auto"`` detects the format from the first rows. Rows are numbered from
    1 in their dataset order, like lines of a file.
    """
    if type(ds).__module__.startswith("pandas") and type(ds).__name__ == "DataFrame":
        from datakit.engines.frame import lint_frame

        return lint_frame(ds, format, target, columns=columns)  # a DataFrame in, one out
    import datasets

    if not isinstance(ds, datasets.Dataset):
        raise TypeError(f"lint_dataset takes a datasets.Dataset or a pandas.DataFrame, not "
                        f"{type(ds).__name__}; use datakit.lint() for paths and lists of "
                        "dicts")
    fmt = resolve_format(ds.select(range(min(64, len(ds)))).to_list(), format, target)
    features = datasets.Features({k: v for k, v in ds.features.items()
                                  if k not in (columns.ok, columns.errors, columns.diagnostics)})
    for field in columns.schema_fields():
        features[field.name] = datasets.Features.from_arrow_schema(
            __import__("pyarrow").schema([field]))[field.name]
    own = datasets.Features({k: v for k, v in ds.features.items() if k in features})
    fn = partial(_lint_batch, format=fmt, target=target, columns=columns,
                 features=datasets.Features({k: v for k, v in own.items()
                                             if k not in (columns.ok, columns.errors,
                                                          columns.diagnostics)}))
    out = ds.with_format("arrow").map(fn, batched=True, batch_size=batch_size, with_indices=True,
                                      num_proc=num_proc, features=features,
                                      desc=f"datakit lint ({fmt})")
    return out.with_format(ds.format["type"], columns=None)

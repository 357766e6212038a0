"""Ray Data engine: lint a ``ray.data.Dataset`` on a cluster.

    >>> import ray
    >>> from datakit.engines.ray import lint_ray
    >>> checked = lint_ray(ray.data.read_json("s3://bucket/train/"), target="openai")
    >>> checked.filter(lambda r: not r["lint_ok"]).take(10)

The same Arrow kernel as the ``datasets`` engine runs in ``map_batches`` with
``batch_format="pyarrow"``. Ray does not number rows across blocks, so the
``line`` of a diagnostic is the row's position within its batch; keep an id
column in your data to find the row again.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from datakit.engines.arrow import DEFAULT_COLUMNS, LintColumns, lint_table, resolve_format

INSTALL_HINT = "pip install 'datakit[ray]'"


def _require_ray():
    try:
        import ray.data  # noqa: F401
    except ImportError as e:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"the Ray engine needs Ray Data: {INSTALL_HINT}") from e


def _lint_batch(table, *, format, target, columns):
    return lint_table(table, format=format, target=target, path="<ray>", columns=columns)


def lint_ray(ds: Any, format: str = "auto", target: str | None = None, *,
             batch_size: int = 1000, columns: LintColumns = DEFAULT_COLUMNS) -> Any:
    """Return a lazy Ray dataset with the lint columns appended (see :mod:`.arrow`)."""
    _require_ray()
    fmt = resolve_format(ds.take(64), format, target)
    return ds.map_batches(partial(_lint_batch, format=fmt, target=target, columns=columns),
                          batch_format="pyarrow", batch_size=batch_size)

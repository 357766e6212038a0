"""In-memory sources (dicts, pandas, Hugging Face ``datasets``) as raw JSONL lines.

Everything in datakit works on raw lines, so in-memory data is serialised once
with orjson. Arrow-backed tables (pandas from parquet, ``datasets``) fill keys
that a row lacks with null to unify the schema (``"tool_calls": null`` on every
message); those nulls are not in the user's data, so they are removed here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from typing import Any

import orjson


def strip_nulls(value: Any) -> Any:
    """Drop dict keys whose value is None/NaN (Arrow's fill for absent fields)."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if not _is_null(v)}
    if isinstance(value, (list, tuple)):
        return [strip_nulls(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return strip_nulls(value.tolist())  # numpy arrays inside pandas cells
    return value


def _is_null(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def is_pathlike(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike))


def kind(source: Any) -> str:
    """'path', 'paths', 'pandas', 'datasets' or 'records'."""
    if is_pathlike(source):
        return "path"
    if isinstance(source, (list, tuple)) and source and all(is_pathlike(s) for s in source):
        return "paths"
    mod = type(source).__module__
    if mod.startswith("pandas"):
        return "pandas"
    if mod.startswith("datasets"):
        return "datasets"
    return "records"


def iter_records(source: Any, *, arrow_nulls: bool | None = None) -> Iterator[dict]:
    k = kind(source)
    if k == "pandas":
        for rec in source.to_dict(orient="records"):
            yield strip_nulls(rec)
    elif k == "datasets":
        for rec in source:
            yield strip_nulls(rec)
    else:
        for rec in source:
            yield strip_nulls(rec) if arrow_nulls else rec


def _default(o: Any) -> Any:
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def to_lines(records: Iterable[Any]) -> Iterator[bytes]:
    """Serialise records to JSONL lines; a record that cannot be serialised becomes a
    line the linter reports rather than an exception."""
    for rec in records:
        if isinstance(rec, (bytes, bytearray)):
            yield bytes(rec) if rec.endswith(b"\n") else bytes(rec) + b"\n"
            continue
        if isinstance(rec, str):
            yield rec.encode("utf-8", errors="surrogateescape") + (b"" if rec.endswith("\n") else b"\n")
            continue
        try:
            yield orjson.dumps(rec, default=_default, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n"
        except (TypeError, orjson.JSONEncodeError) as e:
            yield orjson.dumps({"__datakit_unserialisable__": str(e)}) + b"\n"

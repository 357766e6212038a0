"""Convert fine-tuning data between formats through one lossless model.

    >>> import datakit
    >>> summary = datakit.convert("corpus/", to="mistral", output="train.jsonl", on_loss="drop")
    >>> df2 = datakit.convert(df, to="dashscope-sft", on_loss="warn")   # DataFrame in, DataFrame out
    >>> ds2 = datakit.convert(ds, to="mistral", num_proc=2)             # datasets.Dataset

``reader → Conversation → adapt → writer``: readers (:mod:`.readers`) and writers
(:mod:`.writers`) only spell formats; everything a target cannot carry is decided
in :mod:`.adapt` from the table in :mod:`.mapping` and reported with a ``C`` code.
Submodules are imported on first use so that ``datakit.conversion.ids`` stays cheap.
"""

from __future__ import annotations

import os
from typing import Any

POLICIES = ("error", "warn", "drop")


def convert_batch(batch: Any, to: str, from_: str = "auto", on_loss: str = "drop",
                  **kwargs: Any) -> dict[str, list]:
    """Convert a batch (columns or a list of dicts) to columns of ``to``; usable as
    ``Dataset.map(convert_batch, batched=True, num_proc=N, fn_kwargs={"to": ...})``.
    See :func:`datakit.conversion.engine.convert_batch`."""
    from datakit.conversion.engine import convert_batch as _cb

    return _cb(batch, to, from_, on_loss, **kwargs)


def _check(to: str, from_: str, on_loss: str) -> None:
    from datakit.conversion.mapping import CAPS, FORMAT_IDS

    if to not in CAPS:
        raise ValueError(f"unknown target format {to!r}; choose one of: {', '.join(FORMAT_IDS)}")
    if from_ != "auto" and from_ not in CAPS:
        raise ValueError(f"unknown source format {from_!r}; choose auto or one of: "
                         f"{', '.join(FORMAT_IDS)}")
    if on_loss not in POLICIES:
        raise ValueError(f"on_loss must be one of {', '.join(POLICIES)}, got {on_loss!r}")


def convert(
    source: Any,
    to: str,
    from_: str = "auto",
    on_loss: str = "error",
    output: str | os.PathLike | None = None,
    *,
    rejects: str | os.PathLike | None = None,
    merge_consecutive: bool = False,
    trim_trailing: bool = False,
    bot_name: str | None = None,
    user_name: str | None = None,
    output_format: str | None = None,
    force: bool = False,
    workers: int | None = None,
    num_proc: int | None = None,
    progress: bool | None = False,
    return_summary: bool = False,
) -> Any:
    """Convert ``source`` to the format ``to``.

    ``source`` is a path, a list of paths, a directory or a glob (``output`` required:
    returns a :class:`ConversionSummary`); a list of dicts, or one dict as one example
    (returns a list of dicts); a ``pandas.DataFrame`` (returns a DataFrame, one row per
    converted example, with the summary in ``.attrs["conversion_summary"]``) or a
    ``datasets.Dataset`` (returns a Dataset, converted with
    ``Dataset.map(batched=True, num_proc=num_proc)``).

    ``on_loss``: ``"error"`` (default) raises :class:`ConversionError` for in-memory
    data and leaves the output file unwritten when any example cannot be converted
    without loss; ``"warn"`` writes lossy examples and reports them; ``"drop"`` leaves
    them out and records them (``rejects`` file, or ``summary.rejected_data``).
    ``return_summary=True`` returns ``(data, summary)`` for in-memory sources; with
    ``output`` they are also written there as JSON Lines (atomically, nulls that a
    DataFrame or Dataset fills in left out; ``force`` to overwrite).
    """
    from datakit import sources
    from datakit.conversion.engine import Settings

    _check(to, from_, on_loss)
    settings = Settings(to, from_, on_loss, merge_consecutive, trim_trailing, bot_name, user_name)
    k = sources.kind(source)
    if k == "records" and isinstance(source, dict):  # one example (as datakit.lint takes
        source = [source]                              # it), not the list of its keys
    if k in ("path", "paths"):
        if output is None:
            raise ValueError("converting files needs output=PATH (the converted file)")
        from datakit.conversion.files import FileJob, convert_files

        inputs = [os.fspath(source)] if k == "path" else [os.fspath(s) for s in source]
        return convert_files(FileJob(inputs, os.fspath(output), settings, output_format,
                                     None if rejects is None else os.fspath(rejects), force,
                                     workers, progress))
    if k == "datasets":
        data, summary = _convert_dataset(source, settings, num_proc or workers)
    else:
        records = list(sources.iter_records(source)) if k == "pandas" else list(source)
        rows, summary = _convert_records(records, settings)
        if k == "pandas":
            import pandas as pd

            data = pd.DataFrame(rows)
            data.attrs["conversion_summary"] = summary
        else:
            data = rows
    if on_loss == "error" and summary.rejected_total:
        raise _error(summary)
    if output is not None:
        summary.output = _write_jsonl(data, output, force)
    return (data, summary) if return_summary else data


def _write_jsonl(data: Any, output: str | os.PathLike, force: bool) -> str:
    """Write converted in-memory examples to ``output`` as JSON Lines, atomically: one
    compact UTF-8 line each, without the nulls that DataFrames and Datasets fill in for
    keys a row does not have (a target rejects `"tools": null`)."""
    import json

    import orjson

    from datakit import sources
    from datakit.io.atomic import atomic_write

    dest = os.fspath(output)
    with atomic_write(dest, overwrite=force) as fh:
        for obj in sources.iter_records(data):  # DataFrame/Dataset rows: nulls stripped
            try:
                fh.write(orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE))
            except TypeError:  # an integer beyond 64 bits: the stdlib keeps it exact
                fh.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
                         + b"\n")
    return dest


def _error(summary: Any) -> Exception:
    from datakit.conversion.engine import ConversionError

    first = summary.diagnostics[:3]
    detail = "; ".join(f"example {d.example}: {d.code} {d.message}" for d in first)
    return ConversionError(
        f"{summary.rejected_total} example(s) cannot be converted to {summary.target} without "
        f"loss ({detail}); pass on_loss='warn' to keep them with the losses or on_loss='drop' "
        "to leave them out", summary)


def _convert_records(records: list, settings: Any) -> tuple[list[dict], Any]:
    from datakit.conversion.engine import Tally, convert_object
    from datakit.conversion.summary import ConversionSummary
    from datakit.rules import registry
    from datakit.rules.conversion import kind
    from datakit.sources import strip_nulls

    tally = Tally()
    rows: list[dict] = []
    rejected: list[dict] = []
    diags = []
    for i, rec in enumerate(records):
        res = convert_object(strip_nulls(rec), settings)
        tally.count(res)
        for f in res.findings:
            if kind(f.code) != "change":
                diags.append(registry.diagnostic(f, path="<records>", line=None, example=i))
        if res.status == "written":
            rows.append(res.obj)
        else:
            rejected.append({"example": i, "reasons": [
                {"code": f.code, "message": f.message} for f in res.findings
                if kind(f.code) != "change"], "source": rec})
    summary = ConversionSummary.from_tally(tally, settings.target, settings.on_loss,
                                           diagnostics=diags, output=None)
    summary.rejected_data = rejected
    return rows, summary


STATUS = "__datakit_conversion__"
OUTCOME = "__datakit_outcome__"


def _convert_dataset(ds: Any, settings: Any, num_proc: int | None) -> tuple[Any, Any]:
    import json

    from datakit.conversion.engine import tally_outcomes
    from datakit.conversion.summary import ConversionSummary
    from datakit.rules import registry
    from datakit.rules.registry import Finding

    kwargs = {"to": settings.target, "from_": settings.source, "on_loss": settings.on_loss,
              "merge_consecutive": settings.merge_consecutive,
              "trim_trailing": settings.trim_trailing, "bot_name": settings.bot_name,
              "user_name": settings.user_name, "status_column": STATUS,
              "outcome_column": OUTCOME}
    if settings.on_loss == "error":
        kwargs["on_loss"] = "drop"  # collect every problem, then raise once
    mapped = _map_converted(ds, kwargs, num_proc, settings.target)
    status = mapped[STATUS]
    bad = [i for i, s in enumerate(status) if s]
    tally = tally_outcomes(mapped[OUTCOME])  # changes and losses too, as for files
    diags = []
    for i in bad:
        diags += [registry.diagnostic(Finding(r["code"], r["message"]), path="<Dataset>",
                                      line=None, example=i) for r in json.loads(status[i])]
    out = mapped.filter(lambda s: not s, input_columns=[STATUS]).remove_columns(
        [STATUS, OUTCOME])
    # A target key no converted row has (tools, parallel_tool_calls, …) is an all-null
    # Arrow column: drop it, or Dataset.to_json writes `"tools": null` on every line,
    # which the target rejects. Keys some rows have stay (Arrow needs one schema).
    empty = [c for c, f in out.features.items() if getattr(f, "dtype", None) == "null"]
    if empty:
        out = out.remove_columns(empty)
    summary = ConversionSummary.from_tally(tally, settings.target, settings.on_loss,
                                           diagnostics=diags)
    if bad:
        summary.rejected_data = ds.select(bad).add_column(STATUS, [status[i] for i in bad])
    return out, summary


ROW = "__datakit_row__"


def _convert_batch_json(batch: Any, **kwargs: Any) -> dict[str, list]:
    """``convert_batch`` with each row's converted columns as one JSON text (``ROW``): every
    shard of a multi-process ``Dataset.map`` then has the same three string columns,
    whatever the rows hold (inferred per shard, one shard's ``tools`` were all null and
    another's a list of structs, and the shards could not be joined)."""
    from datakit.conversion.engine import dumps

    cols = convert_batch(batch, **kwargs)
    names = [c for c in cols if c not in (STATUS, OUTCOME)]
    n = len(cols[STATUS])
    rows = [dumps({c: cols[c][i] for c in names}).decode("utf-8").rstrip("\n")
            for i in range(n)]
    return {ROW: rows, STATUS: cols[STATUS], OUTCOME: cols[OUTCOME]}


def _loads(text: str) -> Any:
    from datakit.conversion import jsontext

    return jsontext.loads(text)


def _decode_rows(batch: Any, columns: list[str], as_text: list[str]) -> dict[str, list]:
    rows = [_loads(t) for t in batch[ROW]]
    out: dict[str, list] = {}
    for c in columns:
        values = [r.get(c) for r in rows]
        if c in as_text:
            values = [None if v is None else json_text(v) for v in values]
        out[c] = values
    out[STATUS] = list(batch[STATUS])
    out[OUTCOME] = list(batch[OUTCOME])
    return out


def json_text(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _features(mapped: Any, columns: list[str]) -> tuple[Any, list[str]]:
    """Features of the converted columns, inferred over every row (not per shard or per
    batch): each column's Arrow types unified across chunks of rows. A column of objects,
    or whose values share no Arrow type, is ``Json()`` (each row exactly as converted);
    where this ``datasets`` has no ``Json`` feature, objects are Arrow structs and mixed
    values JSON text, with a warning."""
    import warnings

    import datasets
    import pyarrow as pa

    types: dict[str, Any] = {c: pa.null() for c in columns}
    mixed: set[str] = set()
    step = 4096
    for start in range(0, len(mapped), step):
        rows = [_loads(t) for t in mapped[start:start + step][ROW]]
        for c in columns:
            if c in mixed:
                continue
            try:
                t = pa.array([r.get(c) for r in rows]).type
                types[c] = pa.unify_schemas(
                    [pa.schema([(c, types[c])]), pa.schema([(c, t)])],
                    promote_options="permissive").field(c).type
            except (pa.ArrowException, OverflowError):
                mixed.add(c)
    feats = datasets.Features.from_arrow_schema(
        pa.schema([(c, pa.string() if c in mixed else types[c]) for c in columns]))
    as_text: list[str] = []
    json_feature = getattr(datasets, "Json", None)
    for c in columns:
        if json_feature is not None and (c in mixed or "struct<" in str(types[c])):
            # objects stay exactly as converted: an Arrow struct would give every message
            # the keys of all messages, as nulls, which Dataset.to_json then writes
            feats[c] = json_feature()
        elif c in mixed:
            as_text.append(c)
    if as_text:
        warnings.warn(f"column(s) {', '.join(as_text)} hold values of different types, which "
                      "this version of datasets cannot store as one type; they are stored as "
                      "JSON text (json.loads gives the values back; datasets>=4.7 keeps them "
                      "as objects)", stacklevel=3)
    feats[STATUS] = datasets.Value("string")
    feats[OUTCOME] = datasets.Value("string")
    return feats, as_text


def _map_converted(ds: Any, kwargs: dict, num_proc: int | None, target: str) -> Any:
    """Convert in two maps: the conversion itself (``num_proc`` processes) into JSON text
    of each row, then the rows decoded with features inferred over all of them, so the
    result does not depend on how the rows were split between processes or batches."""
    import datasets

    text = datasets.Value("string")
    converted = ds.map(_convert_batch_json, batched=True, num_proc=num_proc, fn_kwargs=kwargs,
                       remove_columns=ds.column_names,
                       features=datasets.Features({ROW: text, STATUS: text, OUTCOME: text}),
                       desc=f"datakit convert → {target}")
    empty = {c: [] for c in ds.column_names}
    columns = [c for c in convert_batch(empty, **kwargs) if c not in (STATUS, OUTCOME)]
    feats, as_text = _features(converted, columns)
    return converted.map(_decode_rows, batched=True, num_proc=num_proc, features=feats,
                         fn_kwargs={"columns": columns, "as_text": as_text},
                         remove_columns=converted.column_names, desc="datakit convert: rows")


def __getattr__(name: str) -> Any:
    if name == "ConversionSummary":
        from datakit.conversion.summary import ConversionSummary

        return ConversionSummary
    if name == "ConversionError":
        from datakit.conversion.engine import ConversionError

        return ConversionError
    raise AttributeError(f"module 'datakit.conversion' has no attribute {name!r}")


__all__ = ["POLICIES", "ConversionError", "ConversionSummary", "convert", "convert_batch"]

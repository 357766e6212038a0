"""``datakit stats``: exact token counts per example, and what a job will bill.

    >>> s = datakit.stats("train.jsonl", target="openai:gpt-4o-mini-2024-07-18")
    >>> s.summary()["tokens"]["p95"], s.billed_tokens
    >>> s.plot()          # histogram of tokens per example, limit drawn in red
    >>> s.to_pandas()     # one row per example

Counting runs over batches of raw lines, on a process pool for big files (one
tokenizer per process: tokenizer threads do not scale, see PERF.md). Percentiles
are true percentiles (linear interpolation between order statistics), not the
p10/p90 that some cookbooks print under the labels p5/p95. Figures from a
tokenizer that is only an estimate (MiniMax) say so everywhere they appear.
"""

from __future__ import annotations

import html
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from datakit import sources
from datakit.io import reader

PLOT_HINT = "pip install 'datakit[plot]'"
PARALLEL_MIN_BYTES = 8 << 20
SHARD_BYTES = 8 << 20
COLUMNS = ["path", "line", "example", "messages", "tokens", "trained_tokens", "over_limit"]


class StatsError(ValueError):
    """The input cannot be counted (unknown format, unreadable target)."""


@dataclass
class _Batch:
    rows: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    # (line, example, messages, tokens, trained)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line, why)
    bytes: int = 0
    lines: int = 0
    exact: bool = True


def _count_lines(lines: list[bytes], fmt: str, spec: str) -> _Batch:
    """Count every example of one batch (runs in a worker; one counter per process)."""
    from datakit.linter.chatview import views
    from datakit.targets import resolve
    from datakit.tokenizers import counter_for

    target = resolve(spec)
    counter = counter_for(target.tokenizer, target.model)
    out = _Batch(exact=counter.exact)
    example = -1
    for i, raw in enumerate(lines):
        out.bytes += len(raw)
        body = raw.strip()
        if body.startswith(b"\xef\xbb\xbf"):
            body = body[3:]
        if not body:
            continue
        example += 1
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            out.skipped.append((i + 1, "invalid JSON"))
            continue
        problem = _shape_problem(obj, fmt)
        vs: list[dict] = []
        if problem is None:
            try:
                vs = views(obj, fmt)
            except (TypeError, AttributeError, ValueError):
                problem = f"not a {fmt} example"
        if problem is None:
            problem = next((p for p in map(_view_problem, vs) if p), None) if vs else \
                f"not a {fmt} example"
        if problem is not None:
            out.skipped.append((i + 1, problem))
            continue
        try:
            counts = [counter.count(v) for v in vs]
        except Exception as e:  # noqa: BLE001 - a malformed example is skipped, with a reason
            out.skipped.append((i + 1, f"cannot count: {type(e).__name__}: {e}"))
            continue
        worst = max(counts, key=lambda c: c.total)
        out.exact = out.exact and all(c.exact for c in counts)
        n_msgs = max(len(v.get("messages") or []) for v in vs)
        out.rows.append((i + 1, example, n_msgs, worst.total, worst.trained))
    out.lines = len(lines)
    return out


# The list of objects each format keeps its turns in (its view drops what is not an object).
_TURNS = {"sharegpt": "conversations", "minimax": "messages", "minimax-pro": "messages",
          "dashscope-sft-image": "messages", "dashscope-dpo": "messages"}


def _shape_problem(obj: Any, fmt: str) -> str | None:
    """Why ``obj`` cannot be counted as a ``fmt`` example before it is viewed, or None.

    Only the shape the counters rely on is checked (``datakit lint`` checks the rest):
    an example that is miscounted silently would skew every figure.
    """
    if not isinstance(obj, dict):
        return f"not a {fmt} example: the line is a JSON {type(obj).__name__}, not an object"
    key = _TURNS.get(fmt)
    if key is not None:
        turns = obj.get(key)
        if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
            return f"not a {fmt} example: `{key}` must be a list of objects"
    if fmt == "alpaca":
        history = obj.get("history")
        if history is not None and not (isinstance(history, list) and all(
                isinstance(p, list) and len(p) == 2 for p in history)):
            return "not an alpaca example: `history` must be a list of [instruction, output] pairs"
    return None


def _view_problem(view: dict) -> str | None:
    """Why one OpenAI-style view cannot be counted, or None."""
    msgs = view.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return "`messages` must be a non-empty list of message objects"
    for n, m in enumerate(msgs):
        if not isinstance(m, dict):
            return f"message {n} is not an object"
        if not isinstance(m.get("role"), str):
            return f"message {n} has no string `role`"
        content = m.get("content")
        if content is not None and not isinstance(content, (str, list)):
            return f"message {n}: `content` must be a string or a list of parts"
        if isinstance(content, list) and not all(isinstance(p, (str, dict)) for p in content):
            return f"message {n}: every part of `content` must be an object"
        if m.get("tool_calls") is not None and not isinstance(m["tool_calls"], list):
            return f"message {n}: `tool_calls` must be a list"
    tools = view.get("tools")
    if tools is not None and not isinstance(tools, list):
        return "`tools` must be a list"
    return None


def _count_shard(args) -> _Batch:
    shard, fmt, spec = args
    return _count_lines(list(reader.iter_shard_lines(shard)), fmt, spec)


def _merge(total: _Batch, part: _Batch, line_off: int, ex_off: int) -> None:
    total.rows.extend((ln + line_off, ex + ex_off, m, t, tr) for ln, ex, m, t, tr in part.rows)
    total.skipped.extend((ln + line_off, why) for ln, why in part.skipped)
    total.bytes += part.bytes
    total.lines += part.lines
    total.exact = total.exact and part.exact


def _examples_in(part: _Batch) -> int:
    return len(part.rows) + len(part.skipped)


def _count_path(path: str, fmt: str, spec: str, workers: int) -> _Batch:
    from datakit.linter.run import _bar, _pool

    total = _Batch()
    size = os.path.getsize(path) if not reader.is_compressed(path) else -1
    if workers > 1 and size >= PARALLEL_MIN_BYTES:
        parts = reader.shards(path, SHARD_BYTES)
        with _pool(min(workers, len(parts))) as pool:
            for s, part in zip(parts, pool.imap(_count_shard, [(s, fmt, spec) for s in parts])):
                _merge(total, part, total.lines, _examples_in(total))
                _bar.tick(s.end - s.start)
        return total
    for batch in reader.iter_batches(reader.iter_lines(path)):
        part = _count_lines(batch, fmt, spec)
        _merge(total, part, total.lines, _examples_in(total))
        _bar.tick(part.bytes)
    return total


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {k: 0.0 for k in ("min", "mean", "p5", "p50", "p95", "max")}
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return {"min": float(values.min()), "mean": float(values.mean()), "p5": float(p5),
            "p50": float(p50), "p95": float(p95), "max": float(values.max())}


class Stats:
    """Token statistics of one or more files for one target.

    ``to_pandas()`` gives one row per example; ``summary()`` the aggregate figures;
    ``plot()`` a histogram of tokens per example with the target's limit.
    """

    def __init__(self, *, target, format: str, paths: list[str], table, skipped: list,
                 bytes: int, exact: bool, epochs: int, price_per_million: float | None,
                 counter_name: str, epochs_source: str = "", price_source: str = "",
                 empty: list[str] | None = None):
        self.target = target
        self.format = format
        self.paths = paths
        self._df = table
        self.skipped = skipped  # [(path, line, why)]: examples that could not be counted
        self.bytes = bytes
        self.exact = exact
        self.epochs = epochs
        self.price_per_million = price_per_million
        self.counter_name = counter_name
        self.epochs_source = epochs_source
        self.price_source = price_source
        self.empty = list(empty or [])  # input files with no example at all

    # ---------------------------------------------------------------- figures
    @property
    def limit(self) -> int | None:
        return self.target.max_tokens

    @property
    def examples(self) -> int:
        return len(self._df) + len(self.skipped)

    @property
    def over_limit(self):
        """The examples over the per-example limit (a DataFrame)."""
        return self._df[self._df["over_limit"]].reset_index(drop=True)

    @property
    def billed_tokens(self) -> int:
        """Σ min(tokens, limit) × epochs: what the provider charges for."""
        tokens = self._df["tokens"].to_numpy()
        if self.limit:
            tokens = np.minimum(tokens, self.limit)
        return int(tokens.sum()) * self.epochs

    @property
    def cost(self) -> float | None:
        if self.price_per_million is None:
            return None
        return self.billed_tokens / 1e6 * self.price_per_million

    @property
    def dropped(self) -> int | None:
        """Examples the provider would drop (DashScope drops those over max_length)."""
        if self.target.overflow != "drop":
            return None
        return int(self._df["over_limit"].sum())

    def summary(self) -> dict[str, Any]:
        df = self._df
        return {
            "target": self.target.id,
            "format": self.format,
            "tokenizer": self.counter_name,
            "exact": self.exact,
            "files": self.paths,
            "empty_files": self.empty,
            "bytes": self.bytes,
            "examples": self.examples,
            "counted": len(df),
            "skipped": len(self.skipped),
            "messages": _percentiles(df["messages"].to_numpy(dtype=float)),
            "tokens": _percentiles(df["tokens"].to_numpy(dtype=float)),
            "trained_tokens": _percentiles(df["trained_tokens"].to_numpy(dtype=float)),
            "total_tokens": int(df["tokens"].sum()),
            "total_trained_tokens": int(df["trained_tokens"].sum()),
            "limit": self.limit,
            "overflow": self.target.overflow,
            "over_limit": int(df["over_limit"].sum()),
            "dropped": self.dropped,
            "epochs": self.epochs,
            "epochs_source": self.epochs_source,
            "billed_tokens": self.billed_tokens,
            "price_per_million": self.price_per_million,
            "price_source": self.price_source if self.price_per_million is not None else None,
            "cost": self.cost,
        }

    to_dict = summary

    def to_json(self, indent: int | None = 2) -> str:
        doc = self.summary()
        doc["over_limit_examples"] = self.over_limit[["path", "line", "tokens"]].to_dict("records")
        doc["skipped_examples"] = [{"path": p, "line": ln, "reason": why}
                                   for p, ln, why in self.skipped]
        return json.dumps(doc, ensure_ascii=False, indent=indent)

    def to_pandas(self):
        """One row per counted example: path, line, example, messages, tokens,
        trained_tokens, over_limit."""
        return self._df.copy()

    def describe(self):
        """The percentile table (rows: messages, tokens, trained_tokens)."""
        import pandas as pd

        s = self.summary()
        return pd.DataFrame({k: s[k] for k in ("messages", "tokens", "trained_tokens")}).T

    # ---------------------------------------------------------------- display
    def _est(self) -> str:
        return "" if self.exact else " (estimate)"

    def render_text(self) -> str:
        s = self.summary()
        est = self._est()
        lines = [f"datakit stats: {s['target']} ({s['format']}, tokenizer {s['tokenizer']}{est})",
                 f"files: {', '.join(self.paths)}",
                 *([f"empty (nothing counted): {', '.join(self.empty)}"] if self.empty else []),
                 f"examples: {s['examples']:,}" + (f" ({s['counted']:,} counted, {s['skipped']:,} "
                                                    "skipped: not countable; run datakit lint)"
                                                    if s["skipped"] else ""),
                 *(f"  skipped {p}:{ln}: {why}" for p, ln, why in self.skipped[:5]),
                 *([f"  … and {s['skipped'] - 5:,} more skipped (--output-format json lists all)"]
                   if s["skipped"] > 5 else []),
                 "",
                 f"{'per example':<16}{'min':>10}{'mean':>10}{'p5':>10}{'p50':>10}{'p95':>10}{'max':>10}"]
        for key, label in (("messages", "messages"), ("tokens", "tokens" + ("*" if est else "")),
                           ("trained_tokens", "trained" + ("*" if est else ""))):
            p = s[key]
            lines.append(f"{label:<16}" + "".join(
                f"{p[k]:>10,.1f}" if k == "mean" else f"{p[k]:>10,.0f}"
                for k in ("min", "mean", "p5", "p50", "p95", "max")))
        lines.append("")
        lines.append(f"total tokens{est}: {s['total_tokens']:,} (trained: {s['total_trained_tokens']:,})")
        if s["limit"]:
            fate = {"truncate": " (the provider truncates them from the end)",
                    "drop": " (training drops them)",
                    "reject": " (the provider rejects them)"}.get(s["overflow"], "")
            lines.append(f"over the {s['limit']:,}-token limit{est}: {s['over_limit']:,} example(s)"
                         + (fate if s["over_limit"] else ""))
            for row in self.over_limit.head(10).itertuples():
                lines.append(f"  {row.path}:{row.line}: {row.tokens:,} tokens")
            if s["over_limit"] > 10:
                lines.append(f"  … and {s['over_limit'] - 10:,} more (--output-format json lists all)")
        if s["dropped"] is not None:
            lines.append(f"examples max_length would drop: {s['dropped']:,}")
        lines.append(f"billed tokens{est}: {s['billed_tokens']:,} "
                     f"(Σ min(tokens, limit) × {s['epochs']} epoch(s), {self.epochs_source})")
        if s["cost"] is not None:
            lines.append(f"estimated cost: {s['cost']:,.{2 if s['cost'] >= 1 else 6}f} at {s['price_per_million']:g} per "
                         f"million tokens ({self.price_source})")
        if est:
            lines.append("* estimate: this target's provider publishes no tokenizer; counts err high")
        return "\n".join(lines)

    __str__ = render_text

    def __repr__(self) -> str:
        return (f"<Stats {self.target.id}: {self.examples:,} examples, "
                f"{int(self._df['tokens'].sum()):,} tokens{self._est()}, "
                f"{int(self._df['over_limit'].sum()):,} over the limit>")

    def _repr_html_(self) -> str:
        s = self.summary()
        esc = html.escape
        head = (f"<b>datakit stats</b> — {esc(s['target'])} · {esc(s['format'])} · tokenizer "
                f"{esc(s['tokenizer'])}{esc(self._est())}<br>{s['examples']:,} examples, "
                f"{s['over_limit']:,} over the {s['limit'] or '—'} limit, billed tokens "
                f"{s['billed_tokens']:,} ({s['epochs']} epochs)")
        if s["cost"] is not None:
            head += f", cost {s['cost']:,.2f}"
        if s["dropped"] is not None:
            head += f", {s['dropped']:,} dropped by max_length"
        return f"<div>{head}</div>" + self.describe().to_html(float_format=lambda v: f"{v:,.1f}")

    def plot(self, ax=None, bins: int = 50, column: str = "tokens"):
        """Histogram of tokens per example, with the target's limit as a vertical line.

        Needs matplotlib (``pip install 'datakit[plot]'``). Returns the Axes.
        """
        try:
            import matplotlib

            if ax is None and not os.environ.get("DISPLAY") and "ipykernel" not in \
                    __import__("sys").modules:
                matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError(f"Stats.plot() needs matplotlib: {PLOT_HINT}") from e
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4))
        values = self._df[column].to_numpy()
        ax.hist(values, bins=bins, color="#4C72B0", edgecolor="white")
        if self.limit:
            ax.axvline(self.limit, color="#C44E52", linestyle="--", linewidth=2,
                       label=f"limit {self.limit:,} ({self.target.overflow})")
            ax.legend()
        ax.set_xlabel(f"{column.replace('_', ' ')} per example{self._est()}")
        ax.set_ylabel("examples")
        ax.set_title(f"{self.target.id}: {len(values):,} examples")
        return ax


def stats(source: Any, target: str | None = None, *, format: str = "auto",
          epochs: int | None = None, price_per_million: float | None = None,
          workers: int | None = None, progress: bool | None = False) -> Stats:
    """Exact token statistics of ``source`` for ``target``.

    ``source``: a path, a list of paths, a list of dicts, a ``pandas.DataFrame`` or a
    ``datasets.Dataset``. ``target`` defaults to ``[tool.datakit] target`` or OpenAI's
    default model. ``price_per_million`` defaults to ``[tool.datakit.prices]`` for the
    target (model id, then provider); datakit ships no prices because they change.
    ``progress``: a bar on stderr (``None``: when stderr is a terminal, as the CLI does).
    """
    from datakit import config as config_mod
    from datakit.linter.run import (
        SNIFF_LINES,
        _chat_default,
        _head,
        _later_sample,
        _lines_after,
        default_workers,
        expand_paths,
        sniff,
    )
    from datakit.targets import configure, resolve

    cfg = config_mod.load()
    configure(cfg.targets, cfg.path)
    spec = target or cfg.target or "openai"
    tgt = resolve(spec)
    spec = tgt.id
    epochs_source = "--epochs" if epochs is not None else f"{tgt.provider} default"
    if epochs is None:
        epochs = tgt.default_epochs or 1
    if epochs < 1:
        raise StatsError(f"epochs must be at least 1, not {epochs}")
    price_source = "--price-per-million"
    if price_per_million is None:
        for key in (tgt.id, tgt.provider):
            if key in cfg.prices:
                price_per_million, price_source = cfg.prices[key], f"[tool.datakit.prices] {key}"
                break
    if price_per_million is not None and (
            isinstance(price_per_million, bool) or not isinstance(price_per_million, (int, float))
            or not 0 <= price_per_million < math.inf):
        where = f"{cfg.path or 'pyproject.toml'}: {price_source}" \
            if price_source.startswith("[") else price_source
        raise StatsError(f"price per million tokens must be a finite non-negative number, not "
                         f"{price_per_million!r} ({where})")
    workers = workers or default_workers()

    k = sources.kind(source)
    jobs: list[tuple[str, Any]] = []  # (label, path or list of lines)
    if k in ("path", "paths"):
        paths = [os.fspath(source)] if k == "path" else [os.fspath(s) for s in source]
        for p in expand_paths(paths):
            jobs.append((p, None))
    else:
        label = {"pandas": "<DataFrame>", "datasets": "<Dataset>"}.get(k, "<records>")
        jobs.append((label, list(sources.to_lines(sources.iter_records(source)))))
    if not jobs:
        raise StatsError("no input files")

    frames, skipped, nbytes, exact, fmt_seen = [], [], 0, True, None
    from datakit.tokenizers import counter_for

    counter = counter_for(tgt.tokenizer, tgt.model)
    # Load the tokenizer now: a missing one fails here with its install hint (not once per
    # example in a worker), and forked workers inherit it instead of loading their own.
    counter.count({"messages": [{"role": "user", "content": "warm up"},
                                {"role": "assistant", "content": "ok"}]})
    empty: list[str] = []
    from datakit.linter.run import _bar

    _bar.start([label for label, lines in jobs if lines is None], progress, "stats")
    try:
        for label, lines in jobs:
            head = lines[:SNIFF_LINES] if lines is not None else _head(label)
            if not any(ln.strip().removeprefix(b"\xef\xbb\xbf").strip() for ln in head):
                # blank so far: the format comes from the first lines past the blank ones
                later = [] if len(head) < SNIFF_LINES else _later_sample(_lines_after(
                    label, None if lines is None else (lambda lines=lines: iter(lines)),
                    len(head)))
                if not later:
                    # an empty file has no format to recognise and nothing to count: say
                    # so, go on
                    empty.append(label)
                    continue
                head = later
            sn = sniff(head, format, _chat_default(spec))
            if sn.not_jsonl:
                what = reader.document_kind(next((ln for ln in head if ln.strip()), b""))
                raise StatsError(f"{label}: the file holds {what}, not JSON Lines; convert it "
                                 f"first: datakit convert {label} --to FORMAT -o OUT.jsonl")
            if sn.format is None:
                raise StatsError(f"{label}: cannot recognise the format; pass format=/--format")
            fmt_seen = fmt_seen or sn.format
            if lines is None:
                part = _count_path(label, sn.format, spec, workers)
            else:
                part = _Batch()
                for batch in reader.iter_batches(iter(lines)):
                    _merge(part, _count_lines(batch, sn.format, spec), part.lines, _examples_in(part))
            nbytes += part.bytes
            exact = exact and part.exact
            skipped += [(label, ln, why) for ln, why in part.skipped]
            arr = np.array(part.rows, dtype=np.int64).reshape(-1, 5)
            frames.append({
                "path": label, "line": arr[:, 0], "example": arr[:, 1], "messages": arr[:, 2],
                "tokens": arr[:, 3], "trained_tokens": arr[:, 4]})
    finally:
        _bar.close()
    if len(empty) == len(jobs):
        raise StatsError(f"nothing to count: {', '.join(empty)} "
                         f"{'is' if len(empty) == 1 else 'are'} empty")
    import pandas as pd  # imported late: a usage error should not wait for it

    df = pd.concat([pd.DataFrame(f) for f in frames], ignore_index=True)
    df["over_limit"] = df["tokens"] > tgt.max_tokens if tgt.max_tokens else False
    return Stats(target=tgt, format=fmt_seen or format, paths=[j[0] for j in jobs], table=df[COLUMNS],
                 skipped=skipped, bytes=nbytes, exact=exact, epochs=epochs,
                 price_per_million=price_per_million, counter_name=counter.name,
                 epochs_source=epochs_source, price_source=price_source, empty=empty)


__all__ = ["PLOT_HINT", "Stats", "StatsError", "stats"]

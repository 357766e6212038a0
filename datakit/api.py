"""The Python API that notebooks and scripts use."""

from __future__ import annotations

import itertools
import os
from typing import Any

from datakit import sources
from datakit.report import Report


def lint(
    source: Any,
    format: str = "auto",
    target: str | None = None,
    *,
    validation: Any = None,
    select: tuple[str, ...] | list[str] = (),
    ignore: tuple[str, ...] | list[str] = (),
    max_per_rule: int | None = None,
    workers: int | None = None,
    name: str | None = None,
) -> Report:
    """Lint a path (or paths, a directory, a glob), an iterable of dicts, a single
    dict (one example), JSONL bytes, a ``pandas.DataFrame`` (one example per row, e.g.
    a ``messages`` column) or a ``datasets.Dataset``. Returns a :class:`Report`;
    nothing is raised for bad data. :func:`datakit.lint_frame` and
    :func:`datakit.lint_dataset` return the frame or Dataset with per-row columns."""
    from datakit.linter.run import LintOptions, lint_paths

    opts = LintOptions(format=format, target=target, select=tuple(select), ignore=tuple(ignore),
                       max_per_rule=max_per_rule, workers=workers)
    if isinstance(source, dict):  # one example, not an iterable of its keys
        source = [source]
    elif isinstance(source, (bytes, bytearray, memoryview)):  # JSONL text in memory
        data = bytes(source)
        source = [ln + b"\n" for ln in data.split(b"\n")]
        if data.endswith(b"\n") or not data:
            source.pop()
    k = sources.kind(source)
    if k in ("path", "paths"):
        paths = [os.fspath(source)] if k == "path" else [os.fspath(s) for s in source]
        if validation is not None:
            opts.validation = os.fspath(validation)
        return lint_paths(paths, opts)
    label = name or {"pandas": "<DataFrame>", "datasets": "<Dataset>"}.get(k, "<records>")
    return lint_records(source, opts, label)


def lint_records(source: Any, opts, label: str) -> Report:
    """Lint in-memory data through the same kernel as files."""
    from datakit.linter.dataset import duplicate_checks
    from datakit.linter.kernel import KernelConfig
    from datakit.linter.run import _chat_default, build_report, run_kernel_on_lines, sniff
    from datakit.report import FileResult
    from datakit.rules import registry
    from datakit.rules.registry import Finding

    # Streamed like a file: only the first lines (for format detection) are held at once.
    lines = sources.to_lines(sources.iter_records(source))
    head = list(itertools.islice(lines, 64))
    s = sniff(head, opts.format, _chat_default(opts.target))
    cfg = KernelConfig(path=label, format=s.format, family=s.family, images=None,
                       target=opts.target if s.format else None)
    res = run_kernel_on_lines(itertools.chain(head, lines), cfg)
    diags = res.diagnostics + [registry.diagnostic(f, path=label, line=ln, example=None)
                               for ln, f in s.findings]
    if res.examples == 0:
        diags.append(registry.diagnostic(
            Finding("J010", f"{label} holds no examples; there is nothing to train on"), path=label, line=None, example=None))
    diags += duplicate_checks(label, res)
    if opts.target and s.format:
        from datakit.targets import file_checks

        diags += file_checks(label, res, opts.target, s.format)
    fr = FileResult(path=label, format=s.format, examples=res.examples, lines=res.lines,
                    bytes=res.bytes, target=opts.target)
    return build_report([(fr, diags)], opts)

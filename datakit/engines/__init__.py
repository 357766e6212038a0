"""Engines: where datakit's batch kernels run.

The kernels (lint, convert, split keys) are plain functions over batches of raw
JSONL lines. An engine only decides where the batches come from and where they run:

* **local** (the default): byte-range shards of a file on a ``multiprocessing``
  pool, one worker per core (:mod:`datakit.linter.run`);
* **Hugging Face** ``datasets`` (:mod:`datakit.engines.hf`): ``Dataset.map`` with
  ``batched=True`` and ``num_proc``;
* **Ray Data** (:mod:`datakit.engines.ray`): ``Dataset.map_batches`` on a cluster.

The two adapters share :func:`datakit.engines.arrow.lint_table`, a kernel over
one Arrow table of rows, so a row gets the same diagnostics on every engine.
"""

from datakit.engines.arrow import DIAGNOSTIC_TYPE, LintColumns, lint_table, resolve_format

__all__ = ["DIAGNOSTIC_TYPE", "LintColumns", "lint_table", "resolve_format"]

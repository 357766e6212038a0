"""datakit: lint, convert, split and chunk LLM fine-tuning datasets before upload.

    >>> import datakit
    >>> report = datakit.lint("train.jsonl", target="openai:gpt-4o-mini-2024-07-18")
    >>> report.ok, report.to_pandas()

The API functions are loaded on first use, so ``import datakit`` stays cheap (the
pre-commit hook imports it once per commit). Module names differ from function
names (``datakit.splitting`` holds ``split``) so that importing a submodule never
shadows a function.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

from datakit.api import lint
from datakit.report import Report

# public name -> (module, attribute)
_LAZY = {
    "stats": ("datakit.tokenstats", "stats"),
    "Stats": ("datakit.tokenstats", "Stats"),
    "convert": ("datakit.conversion", "convert"),
    "convert_batch": ("datakit.conversion", "convert_batch"),
    "ConversionSummary": ("datakit.conversion", "ConversionSummary"),
    "split": ("datakit.splitting", "split"),
    "check_split": ("datakit.splitting", "check_split"),
    "chunk": ("datakit.chunking", "chunk"),
    "verify": ("datakit.chunking", "verify"),
    "fix": ("datakit.fixing", "fix"),
    "lint_dataset": ("datakit.engines.hf", "lint_dataset"),
    "lint_frame": ("datakit.engines.frame", "lint_frame"),
}

__all__ = ["__version__", "lint", "Report", *_LAZY]  # noqa: PLE0604 - the lazy names


def __getattr__(name: str):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'datakit' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))

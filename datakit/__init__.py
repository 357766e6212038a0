"""datakit: lint, convert, split and chunk LLM fine-tuning datasets before upload.

    >>> import datakit
    >>> report = datakit.lint("train.jsonl", target="openai:gpt-4o-mini-2024-07-18")
    >>> report.ok, report.to_pandas()
"""

__version__ = "0.1.0"

from datakit.api import lint  # noqa: E402
from datakit.report import Report  # noqa: E402

__all__ = ["__version__", "lint", "Report"]

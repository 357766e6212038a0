"""Tokenizer ids (as used in the limits table) to counters."""

from __future__ import annotations

from functools import cache

from .base import BaseCounter

__all__ = ["TOKENIZER_IDS", "counter_for", "is_mistral_tokenizer", "is_tokenizer_id"]


def is_mistral_tokenizer(tokenizer_id: str) -> bool:
    """``mistral`` or ``mistral:<tokenizer>`` (Mistral's control tokens apply)."""
    return tokenizer_id == "mistral" or tokenizer_id.startswith("mistral:")

TOKENIZER_IDS: tuple[str, ...] = (
    "tiktoken:o200k_base",
    "tiktoken:cl100k_base",
    "qwen",
    "mistral",
    "minimax-estimate",
)


def is_tokenizer_id(value: object) -> bool:
    """One of ``TOKENIZER_IDS``, or ``mistral:<tokenizer key or known Mistral model>``."""
    if value in TOKENIZER_IDS:
        return True
    if not isinstance(value, str) or not value.startswith("mistral:"):
        return False
    from .mistral import MISTRAL_MODELS, MISTRAL_TOKENIZERS

    name = value.split(":", 1)[1]
    return name in MISTRAL_TOKENIZERS or name in MISTRAL_MODELS


@cache
def counter_for(tokenizer_id: str, model: str | None = None) -> BaseCounter:
    """The counter for a tokenizer id; ``model`` picks the Mistral tokenizer, unless the id
    names one: ``"mistral:<key or known model>"`` (``mistral:v3``, ``mistral:open-mistral-nemo``),
    for a model that ``MISTRAL_MODELS`` does not know.

    ``"tiktoken:o200k_base"``/``"tiktoken:cl100k_base"`` → :class:`OpenAIChatCounter`,
    ``"qwen"`` → :class:`QwenChatMLCounter`, ``"mistral"`` → :class:`MistralCounter`
    (``model`` defaults to open-mistral-7b), ``"minimax-estimate"`` →
    :class:`MiniMaxEstimateCounter`. Counters are cached, and load their vocabulary on
    first use.
    """
    # each counter's module is imported only when asked for (start-up of lint --target)
    if tokenizer_id.startswith("tiktoken:"):
        from .openai import OpenAIChatCounter

        return OpenAIChatCounter(tokenizer_id.split(":", 1)[1])
    if tokenizer_id == "qwen":
        from .qwen import QwenChatMLCounter

        return QwenChatMLCounter()
    if is_mistral_tokenizer(tokenizer_id):
        from .mistral import DEFAULT_MISTRAL_MODEL, MistralCounter

        tokenizer = tokenizer_id.partition(":")[2]  # "" for plain "mistral": from the model
        return MistralCounter(model or tokenizer or DEFAULT_MISTRAL_MODEL, tokenizer or None)
    if tokenizer_id == "minimax-estimate":
        from .minimax import MiniMaxEstimateCounter

        return MiniMaxEstimateCounter()
    raise ValueError(f"unknown tokenizer id {tokenizer_id!r}; known: {', '.join(TOKENIZER_IDS)}")

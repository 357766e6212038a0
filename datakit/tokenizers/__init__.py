"""Exact (or clearly labelled estimated) token counts for fine-tuning examples.

* :func:`load_encoding` — offline, checksummed ``tiktoken.Encoding`` for
  ``cl100k_base``, ``o200k_base`` and ``qwen``.
* Counters (all take a normalized OpenAI-style example, see :mod:`.base`):
  :class:`OpenAIChatCounter`, :class:`QwenChatMLCounter`, :class:`MistralCounter`,
  :class:`MiniMaxEstimateCounter`; :func:`counter_for` maps tokenizer ids to them.
* Bounds without tokenizing: ``count(ex).total <= content_bytes(ex) + max_framing(ex)``.
"""

from .base import (
    BaseCounter,
    TokenCount,
    TokenCounter,
    content_bytes,
    content_texts,
    is_trained,
    utf8_len,
)
from .factory import TOKENIZER_IDS, counter_for
from .vocab import VOCABULARIES, TokenizerUnavailable, VocabularyChecksumError, load_encoding

# The counters' modules load on first use (mistral-common and the Qwen template are not
# needed to lint against an OpenAI target): name -> submodule.
_LAZY = {
    "MiniMaxEstimateCounter": "minimax",
    "MISTRAL_MODELS": "mistral", "MISTRAL_TOKENIZERS": "mistral", "MistralCounter": "mistral",
    "mistral_tokenizer_for": "mistral",
    "OpenAIChatCounter": "openai", "render_functions_namespace": "openai",
    "QWEN25_DEFAULT_SYSTEM": "qwen", "QwenChatMLCounter": "qwen", "render_qwen25": "qwen",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

__all__ = [
    "MISTRAL_MODELS",
    "MISTRAL_TOKENIZERS",
    "QWEN25_DEFAULT_SYSTEM",
    "TOKENIZER_IDS",
    "VOCABULARIES",
    "BaseCounter",
    "MiniMaxEstimateCounter",
    "MistralCounter",
    "OpenAIChatCounter",
    "QwenChatMLCounter",
    "TokenCount",
    "TokenCounter",
    "TokenizerUnavailable",
    "VocabularyChecksumError",
    "content_bytes",
    "content_texts",
    "counter_for",
    "is_trained",
    "load_encoding",
    "mistral_tokenizer_for",
    "render_functions_namespace",
    "render_qwen25",
    "utf8_len",
]

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
from .minimax import MiniMaxEstimateCounter
from .mistral import MISTRAL_MODELS, MISTRAL_TOKENIZERS, MistralCounter, mistral_tokenizer_for
from .openai import OpenAIChatCounter, render_functions_namespace
from .qwen import QWEN25_DEFAULT_SYSTEM, QwenChatMLCounter, render_qwen25
from .vocab import VOCABULARIES, TokenizerUnavailable, VocabularyChecksumError, load_encoding

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

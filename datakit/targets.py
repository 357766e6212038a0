"""Targets: what a provider's model accepts and charges for, as one data table.

A *format* says what a line must look like; a *target* (``provider:model``)
adds the limits in SPEC.md §2: per-example tokens (counted exactly with the
model's own tokenizer, chat framing included), file size, minimum examples,
validation caps, and what the provider does to an over-long example. Users add
or override targets under ``[tool.datakit.targets."provider:model"]``.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

from datakit.rules.registry import Finding

MB = 1_000_000
MiB = 1 << 20


@dataclass(frozen=True, slots=True)
class Target:
    provider: str
    model: str
    formats: tuple[str, ...]  # accepted formats; the first is the default for chat data
    tokenizer: str  # id for datakit.tokenizers.counter_for
    max_tokens: int | None  # per example, chat template included
    overflow: str  # "truncate" (cut from the end), "drop" (silently skipped), "reject"
    file_max_bytes: int | None = None
    file_warn_bytes: int | None = None  # a softer, documented single-request limit
    min_examples: int | None = None
    val_max_ratio_of_train_bytes: float | None = None
    val_max_bytes: int | None = None
    val_max_examples: int | None = None
    val_default_ratio: float | None = None
    requires_validation: bool = False
    default_epochs: int | None = None
    source: str = ""
    notes: str = ""

    @property
    def id(self) -> str:
        return f"{self.provider}:{self.model}"

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _openai(model: str, enc: str, limit: int, note: str = "") -> Target:
    return Target("openai", model, ("openai", "openai-preference"), f"tiktoken:{enc}", limit,
                  "truncate", file_max_bytes=1 << 30, file_warn_bytes=512 * MB, min_examples=10,
                  default_epochs=3, source="003_277bd4c3bdc3ca44.txt; OpenAI fine-tuning guide",
                  notes=note or "n_epochs 'auto' is taken as 3 for cost estimates")


def _mistral(model: str, context: int) -> Target:
    return Target("mistral", model, ("mistral", "openai"), "mistral", context, "truncate",
                  file_max_bytes=512 * MB, val_max_ratio_of_train_bytes=0.05, val_max_bytes=1 * MB,
                  default_epochs=1, source="001_4bfe51fd4156bead.txt",
                  notes="per-example limit is the model context; files over ~500 MB get HTTP 413")


def _siliconflow(model: str) -> Target:
    return Target("siliconflow", model, ("siliconflow",), "qwen", 4096, "truncate",
                  val_default_ratio=0.1, default_epochs=3, source="002_2b7f8eacc6c5aff5.txt",
                  notes="Max Tokens 0-4096 (default 4096) is the training sequence length")


def _dashscope(model: str) -> Target:
    return Target("dashscope", model, ("dashscope-sft", "dashscope-sft-image", "dashscope-dpo"),
                  "qwen", 2048, "drop", file_max_bytes=300 * MB, val_max_examples=1000,
                  val_default_ratio=0.2, default_epochs=1, source="004_5798d0ceeceffe78.txt",
                  notes="max_length defaults to 2048 (8192 recommended); longer examples are "
                        "dropped silently by training. Override max_tokens in config if you "
                        "raise max_length.")


BUILTIN: tuple[Target, ...] = (
    _openai("gpt-4o-mini-2024-07-18", "o200k_base", 65536),
    _openai("gpt-4o-2024-08-06", "o200k_base", 65536),
    _openai("gpt-4.1-2025-04-14", "o200k_base", 65536),
    _openai("gpt-4.1-mini-2025-04-14", "o200k_base", 65536),
    _openai("gpt-4.1-nano-2025-04-14", "o200k_base", 32768),
    _openai("gpt-3.5-turbo-0125", "cl100k_base", 16385),
    _openai("gpt-3.5-turbo-1106", "cl100k_base", 16385),
    _openai("gpt-3.5-turbo-0613", "cl100k_base", 4096),
    _openai("gpt-4-0613", "cl100k_base", 8192, "limit is the model context (8,192)"),
    _mistral("open-mistral-nemo", 131072),
    _mistral("open-mistral-7b", 32768),
    _mistral("open-mixtral-8x7b", 32768),
    _mistral("open-mixtral-8x22b", 65536),
    _mistral("mistral-small-latest", 32768),
    _mistral("mistral-large-latest", 131072),
    _mistral("codestral-latest", 32768),
    _mistral("ministral-8b-latest", 131072),
    _mistral("ministral-3b-latest", 131072),
    _siliconflow("Qwen/Qwen2.5-7B-Instruct"),
    _siliconflow("Qwen/Qwen2.5-14B-Instruct"),
    _siliconflow("Qwen/Qwen2.5-32B-Instruct"),
    _siliconflow("Qwen/Qwen2.5-72B-Instruct"),
    _dashscope("qwen-turbo"),
    _dashscope("qwen-plus"),
    _dashscope("qwen2.5-7b-instruct"),
    _dashscope("qwen2.5-14b-instruct"),
    _dashscope("qwen2.5-32b-instruct"),
    _dashscope("qwen2.5-72b-instruct"),
    Target("minimax", "abab5.5-chat-1019", ("minimax", "minimax-pro"), "minimax-estimate", 16384,
           "reject", min_examples=10, requires_validation=True, default_epochs=5,
           source="000_ea3691b77837ac4d.txt",
           notes="no public tokenizer: counts are an over-counting estimate"),
)

DEFAULT_MODEL = {
    "openai": "gpt-4o-mini-2024-07-18",
    "mistral": "open-mistral-nemo",
    "siliconflow": "Qwen/Qwen2.5-7B-Instruct",
    "dashscope": "qwen-turbo",
    "minimax": "abab5.5-chat-1019",
}


class UnknownTarget(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


_USER_TARGETS: dict[str, dict[str, Any]] = {}
_USER_SOURCE: list[str | None] = [None]  # the file the user targets came from, if known


class TargetConfigError(UnknownTarget):
    """A ``[tool.datakit.targets]`` value of the wrong type or out of range."""


def configure(user_targets: dict[str, dict[str, Any]] | None, source: str | None = None) -> None:
    """Install ``[tool.datakit.targets]`` (add or override); clears caches.

    ``source`` is the configuration file, named by errors (default: the nearest
    ``pyproject.toml``, which is where the targets come from unless ``--config`` says).
    """
    _USER_TARGETS.clear()
    _USER_TARGETS.update(user_targets or {})
    _USER_SOURCE[0] = source
    table.cache_clear()
    runtime_for.cache_clear()


def _config_file() -> str:
    if _USER_SOURCE[0]:
        return _USER_SOURCE[0]
    from datakit.config import find_pyproject

    found = find_pyproject()
    return str(found) if found else "pyproject.toml"


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _positive_int(v: Any) -> bool:
    return _is_int(v) and v > 0


def _ratio(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 < v <= 1


def _format_ids() -> list[str]:
    from datakit import formats

    return sorted(formats.FORMATS)


def _tokenizer_ids() -> tuple[str, ...]:
    from datakit.tokenizers.factory import TOKENIZER_IDS

    return TOKENIZER_IDS


def _is_tokenizer_id(v: Any) -> bool:
    from datakit.tokenizers.factory import is_tokenizer_id

    return is_tokenizer_id(v)


def _mistral_ids() -> str:
    from datakit.tokenizers.mistral import tokenizer_ids

    return ", ".join(tokenizer_ids())




# field -> (check, what the user must give): every settable field of a Target
_FIELD_CHECKS: dict[str, tuple[Any, Any]] = {
    "formats": (lambda v: isinstance(v, list) and bool(v) and all(f in _format_ids() for f in v),
                lambda: f"a non-empty list of format ids from: {', '.join(_format_ids())}"),
    "tokenizer": (lambda v: _is_tokenizer_id(v),
                  lambda: f"one of: {', '.join(_tokenizer_ids())}, or mistral:<tokenizer> "
                          f"for a Mistral model datakit does not know ({_mistral_ids()})"),
    "max_tokens": (_positive_int, lambda: "a positive integer (tokens per example)"),
    "overflow": (lambda v: v in OVERFLOWS, lambda: f"one of: {', '.join(OVERFLOWS)}"),
    "file_max_bytes": (_positive_int, lambda: "a positive integer (bytes)"),
    "file_warn_bytes": (_positive_int, lambda: "a positive integer (bytes)"),
    "min_examples": (_positive_int, lambda: "a positive integer"),
    "val_max_ratio_of_train_bytes": (_ratio, lambda: "a number greater than 0, at most 1"),
    "val_max_bytes": (_positive_int, lambda: "a positive integer (bytes)"),
    "val_max_examples": (_positive_int, lambda: "a positive integer"),
    "val_default_ratio": (_ratio, lambda: "a number greater than 0, at most 1"),
    "requires_validation": (lambda v: isinstance(v, bool), lambda: "true or false"),
    "default_epochs": (_positive_int, lambda: "a positive integer"),
    "source": (lambda v: isinstance(v, str), lambda: "a string"),
    "notes": (lambda v: isinstance(v, str), lambda: "a string"),
}
OVERFLOWS = ("truncate", "drop", "reject")


def _toml(value: Any) -> str:
    """``value`` as the user wrote it in TOML (true, "text", inf), for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, (str, int, float)):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _check_user_target(key: str, spec: Any) -> dict[str, Any]:
    """``spec`` as Target fields, or a TargetConfigError naming the file, key and expectation."""
    where = f'{_config_file()}: [tool.datakit.targets."{key}"]'
    if not isinstance(spec, dict):
        raise TargetConfigError(f"{where} must be a table, not {spec!r}")
    spelled = {k.replace("-", "_"): k for k in spec}  # report keys as the user wrote them
    clean = {k.replace("-", "_"): v for k, v in spec.items()}
    if "format" in clean:  # shorthand for formats = [format]
        single = clean.pop("format")
        if "formats" in clean:
            raise TargetConfigError(f"{where}: give format or formats, not both")
        if single not in _format_ids():
            raise TargetConfigError(f"{where} format = {_toml(single)}: expected one of: "
                                    f"{', '.join(_format_ids())}")
        clean["formats"] = [single]
    for fixed in ("provider", "model"):
        if fixed in clean:
            raise TargetConfigError(f"{where} {spelled[fixed]}: the {fixed} comes from the "
                                    'table\'s key "provider:model"; remove it')
    bad = sorted(spelled[k] for k in set(clean) - set(_FIELD_CHECKS))
    if bad:
        raise TargetConfigError(f"{where} unknown keys: {', '.join(bad)}")
    for name, value in clean.items():
        ok, expected = _FIELD_CHECKS[name]
        if not ok(value):
            raise TargetConfigError(f"{where} {spelled[name]} = {_toml(value)}: expected {expected()}")
    if "formats" in clean:
        clean["formats"] = tuple(clean["formats"])
    return clean


@functools.lru_cache(maxsize=1)
def table() -> dict[str, Target]:
    out = {t.id: t for t in BUILTIN}
    for key, spec in _USER_TARGETS.items():
        provider, _, model = key.partition(":")
        if not model:
            raise UnknownTarget(f"[tool.datakit.targets] key {key!r} must be 'provider:model'")
        clean = _check_user_target(key, spec)
        if key in out:
            out[key] = replace(out[key], **clean)
        else:
            base = next((t for t in out.values() if t.provider == provider), None)
            if base is not None:
                out[key] = replace(base, model=model, **clean)
            else:
                missing = {"formats", "tokenizer", "max_tokens", "overflow"} - set(clean)
                if missing:
                    raise TargetConfigError(f"{_config_file()}: new target {key!r} needs: "
                                            f"{', '.join(sorted(missing))}")
                out[key] = Target(provider=provider, model=model, **clean)
    return out


def resolve(spec: str) -> Target:
    """``provider`` or ``provider:model`` → Target (provider alone → its default model)."""
    spec = spec.strip()
    t = table()
    if spec in t:
        return t[spec]
    provider, _, model = spec.partition(":")
    if not model:
        model = DEFAULT_MODEL.get(provider, "")
        if f"{provider}:{model}" in t:
            return t[f"{provider}:{model}"]
        user = [x for x in t.values() if x.provider == provider]
        if user:
            return user[0]
    known = sorted({x.provider for x in t.values()})
    models = sorted(x.model for x in t.values() if x.provider == provider)
    hint = (f"models for {provider}: {', '.join(models)}" if models
            else f"providers: {', '.join(known)}")
    raise UnknownTarget(f"unknown target {spec!r}; {hint} (see `datakit targets`)")


def default_format(spec: str) -> str:
    return resolve(spec).formats[0]


# --------------------------------------------------------------------------- runtime

@dataclass
class TargetRuntime:
    """Per-process state for checking examples against a target."""

    target: Target
    counter: Any = None  # a GuardedCounter (runtime_for)
    _framing: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        from datakit.tokenizers.factory import is_mistral_tokenizer

        self.mistral = is_mistral_tokenizer(self.target.tokenizer)  # its control tokens apply

    def check_example(self, obj: dict, body: bytes, fmt_id: str, stats: list, line_no: int,
                      example: int, schema_ok: bool,
                      format_findings: list[Finding] | None = None) -> list[Finding]:
        counter = self.counter
        before = getattr(counter, "unchecked", 0)
        found = _check_example()(self, obj, body, fmt_id, line_no, example, schema_ok,
                                 format_findings)
        if getattr(counter, "unchecked", 0) > before:
            # the tokenizer is missing: file_checks reports it once, with this count (the
            # error travels with the mark: workers' runtimes are not the main process's)
            stats.append((UNCHECKED_LIMIT, counter.error))
        return found


# Marks, in a batch's per-example target data, an example whose token limit went unchecked.
UNCHECKED_LIMIT = "unchecked-token-limit"


@functools.lru_cache(maxsize=1)
def _check_example():
    # imported on first use (not per example: an import statement per line costs 3 % of lint)
    from datakit.linter.target_checks import check_example

    return check_example


@functools.lru_cache(maxsize=32)
def runtime_for(spec: str) -> TargetRuntime:
    target = resolve(spec)
    rt = TargetRuntime(target)
    from datakit.tokenizers.guarded import GuardedCounter

    # Guarded: a missing vocabulary leaves undecided limits unchecked and counted, reported
    # once per file by file_checks, instead of one L002 per example.
    try:
        from datakit.tokenizers import counter_for

        rt.counter = GuardedCounter(counter_for(target.tokenizer, target.model))
    except Exception as e:  # noqa: BLE001 - reported as a warning, never a crash
        rt.counter = GuardedCounter(None, str(e))
    return rt


def file_checks(path: str, res, spec: str, fmt_id: str) -> list:
    from datakit.linter.target_checks import file_checks as _fc

    target = resolve(spec)
    out = _fc(path, res, target, fmt_id)
    marks = [s for s in res.stats if isinstance(s, tuple) and s[:1] == (UNCHECKED_LIMIT,)]
    if marks:
        from datakit.rules import registry
        from datakit.tokenizers.guarded import offline_hint

        error = marks[0][1] or f"the {target.tokenizer} tokenizer could not be loaded"
        out.append(registry.diagnostic(Finding(
            "L002", f"token limit ({target.max_tokens:,}) of {target.id} not checked on "
                    f"{len(marks):,} line{'s' if len(marks) > 1 else ''} in this file (examples "
                    f"the byte bound cannot decide): tokenizer {target.tokenizer} is unavailable: "
                    f"{error} ({offline_hint(target.tokenizer)})"),
            path=path, line=None, example=None))
    return out

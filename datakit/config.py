"""``[tool.datakit]`` in ``pyproject.toml``; command-line flags win over it.

    [tool.datakit]
    select = ["ALL"]
    ignore = ["J003"]
    max-per-rule = 50
    format = "auto"
    target = "openai:gpt-4o-mini-2024-07-18"

    [tool.datakit.per-file]          # first matching glob wins
    "data/mistral/*.jsonl" = { format = "mistral", target = "mistral:open-mistral-nemo" }

    [tool.datakit.targets."acme:my-model"]   # add or override a target
    format = "openai"
    tokenizer = "tiktoken:o200k_base"
    max_tokens = 32768
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(ValueError):
    """The configuration file is invalid."""


@dataclass(slots=True)
class Config:
    path: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    max_per_rule: int | None = None
    format: str = "auto"
    target: str | None = None
    per_file: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    prices: dict[str, float] = field(default_factory=dict)

    def for_file(self, path: str) -> dict[str, Any]:
        """The per-file overrides (format, target) for ``path``, if any glob matches.

        A glob is matched against the path as given, the absolute path and the path
        relative to the directory of the config file, so ``data/*.jsonl`` applies however
        the file was named on the command line. ``*`` matches any characters (``/``
        too); ``**/`` matches zero or more directories."""
        candidates = {_slashes(os.path.normpath(path)), _slashes(os.path.abspath(path))}
        if self.path:
            root = os.path.dirname(os.path.abspath(self.path))
            try:
                candidates.add(_slashes(os.path.relpath(os.path.abspath(path), root)))
            except ValueError:  # another drive (Windows)
                pass
        for pattern, settings in self.per_file:
            matcher = _glob_regex(pattern)
            if any(matcher.fullmatch(c) for c in candidates):
                return settings
        return {}


def _slashes(path: str) -> str:
    return path.replace(os.sep, "/")


@functools.cache
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """fnmatch's translation of a per-file glob, with ``**/`` also matching no directory."""
    pattern = _slashes(pattern)
    while pattern.startswith("./"):
        pattern = pattern[2:]
    inner = []
    for part in pattern.split("**/"):
        # fnmatch.translate gives `(?s:EXPR)\Z`: keep EXPR, to join the parts
        wrapped = re.fullmatch(r"\(\?s:(.*)\)\\[Zz]", fnmatch.translate(part), re.DOTALL)
        if wrapped is None:  # pragma: no cover - another Python's translation: plain fnmatch
            return re.compile(fnmatch.translate(pattern))
        inner.append(wrapped.group(1))
    return re.compile("(?s:" + "(?:.*/)?".join(inner) + ")")


def _as_codes(value: Any, key: str, where: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        codes = tuple(v.strip() for v in value.split(",") if v.strip())
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        codes = tuple(v.strip() for v in value if v.strip())
    else:
        raise ConfigError(f"{where}: [tool.datakit] {key} must be a list of rule codes")
    from datakit.rules import registry  # only when the config selects something

    unknown = registry.unknown_selectors(codes)
    if unknown:
        raise ConfigError(f"{where}: [tool.datakit] {key}: "
                          f"{registry.describe_unknown_selectors(unknown)}")
    return codes


def find_pyproject(start: str | os.PathLike | None = None) -> Path | None:
    here = Path(start or os.getcwd()).resolve()
    for d in (here, *here.parents):
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load(path: str | os.PathLike | None = None) -> Config:
    """Load ``[tool.datakit]`` from ``path`` or the nearest ``pyproject.toml``."""
    p = Path(path) if path else find_pyproject()
    if p is None or not p.is_file():
        return Config()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{p}: cannot read configuration: {e}") from None
    section = data.get("tool", {}).get("datakit")
    if section is None:
        return Config(path=str(p))
    if not isinstance(section, dict):
        raise ConfigError(f"{p}: [tool.datakit] must be a table")
    mpr = section.get("max-per-rule", section.get("max_per_rule"))
    if mpr is not None and (not isinstance(mpr, int) or mpr < 1):
        raise ConfigError(f"{p}: [tool.datakit] max-per-rule must be a positive integer")
    per_file_raw = section.get("per-file", section.get("per_file", {}))
    if not isinstance(per_file_raw, dict):
        raise ConfigError(f"{p}: [tool.datakit.per-file] must map globs to tables")
    per_file = []
    for glob, settings in per_file_raw.items():
        if isinstance(settings, str):
            settings = {"format": settings}
        if not isinstance(settings, dict):
            raise ConfigError(f"{p}: [tool.datakit.per-file] {glob!r} must be a table")
        per_file.append((glob, settings))
    targets = section.get("targets", {})
    if not isinstance(targets, dict):
        raise ConfigError(f"{p}: [tool.datakit.targets] must be a table")
    prices = section.get("prices", {})
    return Config(
        path=str(p),
        select=_as_codes(section.get("select"), "select", p),
        ignore=_as_codes(section.get("ignore"), "ignore", p),
        max_per_rule=mpr,
        format=str(section.get("format", "auto")),
        target=section.get("target"),
        per_file=per_file,
        targets=targets,
        prices=prices if isinstance(prices, dict) else {},
    )

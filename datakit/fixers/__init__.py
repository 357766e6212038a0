"""Example fixers: one small function per fixable rule code.

A fixer receives one parsed example, the JSON pointers at which the linter
reported its code, and a :class:`FixContext`. It repairs what it safely can,
in place, and returns the pointers it fixed (empty: it changed nothing). A
fixer never half-applies a repair: it decides first, then mutates.

*Structural* fixers (they add or remove messages, or move keys between
messages) invalidate the pointers of the other diagnostics on the line, so the
engine runs at most one of them per round and lints the line again before the
next round. The byte-level fixes (J002, J003, J004, J011) and duplicate
removal (D004) work on raw lines and live in :mod:`datakit.fixing`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

AMBIGUOUS = object()  # a tool name defined more than one way in the input


@dataclass(slots=True)
class FixContext:
    format: str
    # tool name -> its one `function` definition in the input, or AMBIGUOUS (T015)
    tool_catalog: dict[str, Any] = field(default_factory=dict)


FixerFn = Callable[[dict, list[str], FixContext], list[str]]


@dataclass(frozen=True, slots=True)
class Fixer:
    code: str
    fn: FixerFn
    structural: bool = False


FIXERS: dict[str, Fixer] = {}


def fixer(code: str, *, structural: bool = False) -> Callable[[FixerFn], FixerFn]:
    def register(fn: FixerFn) -> FixerFn:
        if code in FIXERS:
            raise ValueError(f"two fixers for {code}")
        FIXERS[code] = Fixer(code, fn, structural)
        return fn

    return register


from datakit.fixers import roles, tools  # noqa: F401  (registration)

__all__ = ["AMBIGUOUS", "FIXERS", "FixContext", "Fixer", "fixer"]

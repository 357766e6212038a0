"""The single table of rules.

Every rule has a code (family letter + three digits), a kebab-case name, a
severity, the formats it applies to and documentation in three sections
(*What it does*, *Why is this bad?*, *Example*). Checks elsewhere emit
:class:`Finding` objects that name a code; the registry turns them into
:class:`~datakit.diagnostics.Diagnostic` objects, so name and severity live in
exactly one place.
"""

from __future__ import annotations

import difflib
import sys
import textwrap
from dataclasses import dataclass
from typing import NamedTuple

from datakit.diagnostics import Diagnostic, Severity
from datakit.rules.fixes import FIXES

ALL_FORMATS = "*"

FAMILIES: dict[str, str] = {
    "J": "parse: bytes, encoding and JSON Lines framing",
    "S": "schema: the shape of one example against its format's JSON Schema",
    "R": "roles: message order and role rules",
    "T": "tools: tool calls, ids, results and definitions",
    "M": "media: images and other attachments",
    "L": "length: token and size limits of a target",
    "D": "dataset: whole-file and train/validation checks",
    "C": "conversion: what a conversion could not carry",
    "X": "internal: datakit itself",
}


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    severity: Severity
    formats: tuple[str, ...] | str
    doc: str
    fix: str | None = None  # what `datakit fix` does for it, if fixable (from rules/fixes.py)
    source: str = ""  # seed file or reference tool behind the rule

    @property
    def family(self) -> str:
        return self.code[0]

    @property
    def summary(self) -> str:
        """First sentence of *What it does*."""
        para: list[str] = []
        for line in self.doc.splitlines():
            line = line.strip()
            if line.startswith("#"):
                if para:
                    break
                continue
            if not line:
                if para:
                    break
                continue
            para.append(line)
        if not para:
            return self.name
        return " ".join(para).split(". ")[0].rstrip(".") + "."

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def applies_to(self, fmt: str) -> bool:
        return self.formats == ALL_FORMATS or fmt in self.formats

    @property
    def url(self) -> str:
        return f"https://datakit.dev/rules/{self.code}"


class Finding(NamedTuple):
    """What a check reports; the registry adds name and severity."""

    code: str
    message: str
    pointer: str = ""
    column: int | None = None
    severity: Severity | None = None  # override (e.g. a limit that cannot be checked exactly)


RULES: dict[str, Rule] = {}
_NAMES: dict[str, str] = {}


def define(
    code: str,
    name: str,
    severity: Severity | str,
    doc: str,
    *,
    formats: tuple[str, ...] | str = ALL_FORMATS,
    fix: str | None = None,
    source: str = "",
) -> Rule:
    """Register a rule. Codes and names are unique; docs must have three sections.

    Whether a rule is fixable, and how, comes from the declared-fix table
    (:data:`datakit.rules.fixes.FIXES`), not from ``fix``: a fix exists only where
    ``datakit fix`` implements one. ``fix`` is kept for the callers that pass it."""
    if code in RULES:
        raise ValueError(f"duplicate rule code {code}")
    if name in _NAMES:
        raise ValueError(f"duplicate rule name {name} ({_NAMES[name]}, {code})")
    if code[0] not in FAMILIES:
        raise ValueError(f"unknown rule family in {code}")
    doc = textwrap.dedent(doc).strip()
    for section in ("## What it does", "## Why is this bad?", "## Example"):
        if section not in doc:
            raise ValueError(f"rule {code} docs lack {section!r}")
    rule = Rule(code, name, Severity(severity), formats, doc, FIXES.get(code), source)
    RULES[code] = rule
    _NAMES[name] = code
    return rule


def get(code_or_name: str) -> Rule:
    key = code_or_name.strip()
    if key.upper() in RULES:
        return RULES[key.upper()]
    if key in _NAMES:
        return RULES[_NAMES[key]]
    raise KeyError(code_or_name)


def diagnostic(
    f: Finding,
    *,
    path: str,
    line: int | None,
    example: int | None,
) -> Diagnostic:
    rule = RULES[f.code]
    return Diagnostic(
        code=f.code,
        name=rule.name,
        severity=f.severity or rule.severity,
        # interned: a rule that fires on many lines often says the same thing at the same
        # place, and a report may hold millions of these (one shared string each, then)
        message=sys.intern(f.message),
        path=path,
        line=line,
        column=f.column,
        example=example,
        pointer=sys.intern(f.pointer),
        fix=rule.fix,
    )


def matches(code: str, selectors: tuple[str, ...]) -> bool:
    """ruff-style selection: ``T`` selects a family, ``T0`` a prefix, ``T001`` one code;
    rule names are accepted too; ``ALL`` selects everything."""
    name = RULES[code].name if code in RULES else ""
    for s in selectors:
        s = s.strip()
        if not s:
            continue
        if s.upper() == "ALL" or code.startswith(s.upper()) or s == name:
            return True
    return False


def unknown_selectors(selectors: tuple[str, ...]) -> list[str]:
    """The selectors (as :func:`matches` reads them) that select no registered rule."""
    return [s for s in selectors
            if s.strip() and not any(matches(code, (s,)) for code in RULES)]


def describe_unknown_selectors(unknown: list[str]) -> str:
    """Why ``unknown`` select nothing, what is valid instead, and near misses."""
    codes = sorted(RULES)
    ranges = []
    for family in sorted({c[0] for c in codes}):
        members = [c for c in codes if c[0] == family]
        ranges.append(members[0] if len(members) == 1 else f"{members[0]}-{members[-1]}")
    hints = []
    for s in unknown:
        near = difflib.get_close_matches(s.strip().upper(), codes, n=2, cutoff=0.7)
        near += difflib.get_close_matches(s.strip(), sorted(_NAMES), n=1, cutoff=0.8)
        if near:
            hints.append(f"{s!r}: did you mean {' or '.join(near)}?")
    shown = ", ".join(repr(s) for s in unknown)
    return (f"unknown rule code, prefix or name {shown} (it matches no rule)"
            + (f"; {'; '.join(hints)}" if hints else "")
            + f"; use ALL, a family ({', '.join(sorted({c[0] for c in codes}))}), a prefix "
              f"({', '.join(sorted({c[:2] for c in codes}))}), a code ({', '.join(ranges)}) "
              "or a rule name; `datakit rules` lists them")

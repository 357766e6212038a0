"""The one diagnostic shape every datakit check produces.

Modelled on pydantic's error shape (kind, location, message, link) plus the
file coordinates a linter needs: path, 1-based line, 1-based column (or None),
and the 0-based example index within the file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(slots=True)
class Diagnostic:
    """One finding. ``pointer`` is an RFC 6901 JSON pointer into the example."""

    code: str
    name: str
    severity: Severity
    message: str
    path: str = "<memory>"
    line: int | None = None
    column: int | None = None
    example: int | None = None
    pointer: str = ""
    fix: str | None = None  # human description of an available fix, if any
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "example": self.example,
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "pointer": self.pointer,
        }

    @property
    def sort_key(self) -> tuple:
        return (self.path, self.line or 0, self.column or 0, self.code)


def pointer(*parts: Any) -> str:
    """Build a JSON pointer from path parts, escaping ``~`` and ``/``."""
    out = []
    for p in parts:
        s = str(p).replace("~", "~0").replace("/", "~1")
        out.append(s)
    return "/" + "/".join(out) if out else ""


__all__ = ["Diagnostic", "Severity", "asdict", "pointer"]

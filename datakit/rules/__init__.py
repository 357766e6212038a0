"""Rule families. Importing this package registers every rule."""

from datakit.rules import (  # noqa: F401  (import for registration)
    conversion,
    corpus,
    dataset,
    length,
    media,
    parse,
    roles,
    schema,
    tools,
)
from datakit.rules.registry import RULES, Finding, Rule, define, diagnostic, get, matches

__all__ = ["RULES", "Finding", "Rule", "define", "diagnostic", "get", "matches"]

"""dataset rules (registered on import)."""

from datakit.rules.registry import define  # noqa: F401

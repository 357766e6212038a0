"""Exceptions every command shares, in a module that imports nothing, so that the CLI can
catch them without importing the linter, the config reader or the target table."""

from __future__ import annotations


class UsageError(Exception):
    """Bad arguments or unreadable paths: exit code 2."""


__all__ = ["UsageError"]

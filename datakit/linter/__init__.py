"""Linting: a pure kernel over batches of raw lines, and the drivers around it."""

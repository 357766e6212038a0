"""Byte-level input and atomic output."""

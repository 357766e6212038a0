"""Tool-call ids that every provider accepts: 9 characters of ``[a-zA-Z0-9]``.

Mistral requires exactly that (the seed and mistral-common); OpenAI accepts any
non-empty string, so a 9-character alphanumeric id is valid everywhere. The
ids are derived from the old id with a hash, so a conversion or a fix gives the
same output every time it runs.
"""

from __future__ import annotations

import hashlib
import re

VALID_ID = re.compile(r"[a-zA-Z0-9]{9}")
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _candidate(old: str, salt: str, attempt: int) -> str:
    digest = hashlib.blake2b(f"{salt}\x00{old}\x00{attempt}".encode("utf-8", "surrogatepass"),
                             digest_size=16).digest()
    n = int.from_bytes(digest, "big")
    chars = []
    for _ in range(9):
        n, r = divmod(n, 62)
        chars.append(_ALPHABET[r])
    return "".join(chars)


def remap_tool_ids(ids: list[str], salt: str = "") -> dict[str, str]:
    """Map every id in ``ids`` to a valid one: ids that already match
    ``^[a-zA-Z0-9]{9}$`` map to themselves, the others to a fresh id derived from
    the old one (and ``salt``), never equal to another id of the result.

    The same old id always gets the same new id within one call, so calls and the
    ``tool_call_id`` of their results stay paired when both go through the mapping.
    """
    mapping: dict[str, str] = {}
    used = {i for i in ids if isinstance(i, str) and VALID_ID.fullmatch(i)}
    for old in ids:
        if old in mapping:
            continue
        if old in used:
            mapping[old] = old
            continue
        attempt = 0
        new = _candidate(str(old), salt, attempt)
        while new in used:
            attempt += 1
            new = _candidate(str(old), salt, attempt)
        used.add(new)
        mapping[old] = new
    return mapping


__all__ = ["VALID_ID", "remap_tool_ids"]

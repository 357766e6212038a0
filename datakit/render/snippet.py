"""The source line under a diagnostic, cut to a window around its column, with a caret.

Widths are terminal cells: CJK and other wide characters take two, combining
marks none, so the caret lands under the right character.
"""

from __future__ import annotations

import unicodedata

WIDTH = 120  # cells of source shown at most
ELLIPSIS = "…"


def cell_width(c: str) -> int:
    if unicodedata.combining(c):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def _visible(c: str) -> str:
    """One visible character per source character, so column indexes still line up."""
    o = ord(c)
    if c == "\t":
        return " "
    if o < 0x20:
        return chr(0x2400 + o)  # U+2400 Control Pictures: NUL shows as ␀
    if o == 0x7F:
        return "\u2421"  # ␡
    if 0x80 <= o <= 0x9F or 0xD800 <= o <= 0xDFFF:
        return "\ufffd"
    return c


def cut(source: str | bytes, column: int | None, width: int = WIDTH) -> tuple[str, int | None]:
    """Return ``(text, caret)``: at most ``width`` cells of ``source`` around the
    1-based ``column`` and the caret's cell offset in ``text`` (None without a column).
    A column one past the end (a parser that wanted more input) points after the text.
    """
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    chars = [_visible(c) for c in source.rstrip("\r\n")]
    cells = [cell_width(c) for c in chars]
    n = len(chars)
    at = None if column is None else min(max(column - 1, 0), n)

    if sum(cells) <= width:
        left, right = 0, n
    else:
        width -= 2  # room for an ellipsis on either side
        left = right = at or 0
        used = 0
        # Take about half the window before the caret, then fill after it, then
        # give whatever the line's end left over back to the part before.
        while left > 0 and used + cells[left - 1] <= width // 2:
            left -= 1
            used += cells[left]
        while right < n and used + cells[right] <= width:
            used += cells[right]
            right += 1
        while left > 0 and used + cells[left - 1] <= width:
            left -= 1
            used += cells[left]

    head = ELLIPSIS if left > 0 else ""
    tail = ELLIPSIS if right < n else ""
    text = head + "".join(chars[left:right]) + tail
    caret = None if at is None else len(head) + sum(cells[left:at])
    return text, caret

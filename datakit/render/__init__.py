"""Output formats for a :class:`~datakit.report.Report`, chosen with ``--output-format``.

The names follow ruff: ``concise`` (the default), ``full``, ``json``,
``json-lines``, ``github``, ``sarif`` and ``junit``. Every renderer takes the
same report and returns one string without a trailing newline; the caller
prints it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator

from datakit.report import Report

Renderer = Callable[..., str]

# format -> (module, function); a renderer's module is imported on first use, so that
# `datakit lint` pays only for the renderer it prints with (junit pulls in xml.etree).
_RENDERER_SPECS: dict[str, tuple[str, str]] = {
    "concise": ("text", "render_concise"),
    "full": ("text", "render_full"),
    "json": ("machine", "render_json"),
    "json-lines": ("machine", "render_json_lines"),
    "github": ("github", "render_github"),
    "sarif": ("sarif", "render_sarif"),
    "junit": ("junit", "render_junit"),
}


def renderer(fmt: str) -> Renderer:
    """The render function of output format ``fmt``."""
    try:
        module, name = _RENDERER_SPECS[fmt]
    except KeyError:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}") from None
    return getattr(importlib.import_module(f"datakit.render.{module}"), name)


FORMATS: tuple[str, ...] = tuple(_RENDERER_SPECS)
DEFAULT_FORMAT = "concise"


def render(
    report: Report,
    fmt: str = DEFAULT_FORMAT,
    *,
    color: bool = False,
    show_fixes: bool = False,
    statistics: bool = False,
) -> str:
    """Render ``report`` in format ``fmt``.

    ``statistics=True`` replaces the list of diagnostics with per-code counts, as
    ruff's ``--statistics`` does: a JSON array for ``json``, one object a line for
    ``json-lines`` and a text table for every other format.
    """
    fn = renderer(fmt)
    if statistics:
        from datakit.render import statistics as _statistics

        if fmt in ("json", "json-lines"):
            return _statistics.render_json(report, lines=fmt == "json-lines")
        return _statistics.render_table(report, color=color)
    return fn(report, color=color, show_fixes=show_fixes)


# formats whose module also has ``iter_<name>`` beside ``render_<name>``: their text
# comes piece by piece (the others are one document)
_STREAMED = frozenset({"concise", "json-lines"})


def render_iter(
    report: Report,
    fmt: str = DEFAULT_FORMAT,
    *,
    color: bool = False,
    show_fixes: bool = False,
    statistics: bool = False,
) -> Iterator[str]:
    """:func:`render` as pieces whose concatenation is its result: the line formats come
    a diagnostic at a time, so writing a huge report never holds its whole text."""
    if statistics or fmt not in _STREAMED:
        yield render(report, fmt, color=color, show_fixes=show_fixes, statistics=statistics)
        return
    module, name = _RENDERER_SPECS[fmt]
    fn = getattr(importlib.import_module(f"datakit.render.{module}"),
                 "iter_" + name.removeprefix("render_"))
    yield from fn(report, color=color, show_fixes=show_fixes)


__all__ = ["DEFAULT_FORMAT", "FORMATS", "render", "render_iter", "renderer"]

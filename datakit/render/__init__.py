"""Output formats for a :class:`~datakit.report.Report`, chosen with ``--output-format``.

The names follow ruff: ``concise`` (the default), ``full``, ``json``,
``json-lines``, ``github``, ``sarif`` and ``junit``. Every renderer takes the
same report and returns one string without a trailing newline; the caller
prints it.
"""

from __future__ import annotations

from collections.abc import Callable

from datakit.render import statistics as _statistics
from datakit.render.github import render_github
from datakit.render.junit import render_junit
from datakit.render.machine import render_json, render_json_lines
from datakit.render.sarif import render_sarif
from datakit.render.text import render_concise, render_full
from datakit.report import Report

Renderer = Callable[..., str]

RENDERERS: dict[str, Renderer] = {
    "concise": render_concise,
    "full": render_full,
    "json": render_json,
    "json-lines": render_json_lines,
    "github": render_github,
    "sarif": render_sarif,
    "junit": render_junit,
}
FORMATS: tuple[str, ...] = tuple(RENDERERS)
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
    if fmt not in RENDERERS:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if statistics:
        if fmt in ("json", "json-lines"):
            return _statistics.render_json(report, lines=fmt == "json-lines")
        return _statistics.render_table(report, color=color)
    return RENDERERS[fmt](report, color=color, show_fixes=show_fixes)


__all__ = ["DEFAULT_FORMAT", "FORMATS", "RENDERERS", "render"]

"""SARIF 2.1.0, for GitHub code scanning and other static-analysis dashboards."""

from __future__ import annotations

import json
import posixpath
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from datakit import __version__
from datakit.diagnostics import Diagnostic, Severity
from datakit.render._common import rule_for, severity
from datakit.report import Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://datakit.dev"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def artifact_uri(path: str) -> str:
    """A relative path stays relative (forward slashes, percent-encoded);
    an absolute one becomes a ``file://`` URI."""
    if PureWindowsPath(path).is_absolute():
        return PureWindowsPath(path).as_uri()
    posix = path.replace("\\", "/")
    if PurePosixPath(posix).is_absolute():
        return PurePosixPath(posix).as_uri()
    return quote(posixpath.normpath(posix) if posix else posix, safe="/")


def _descriptor(code: str, example: Diagnostic) -> dict[str, Any]:
    rule = rule_for(code)
    if rule is None:  # a code the registry does not know: describe it from the diagnostic
        return {
            "id": code,
            "name": example.name,
            "shortDescription": {"text": example.name},
            "defaultConfiguration": {"level": LEVEL[severity(example)]},
        }
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.doc, "markdown": rule.doc},
        "help": {"text": rule.doc, "markdown": rule.doc},
        "helpUri": rule.url,
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {"fixable": rule.fixable},
    }


def _result(d: Diagnostic, index: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(d.path)}}
    if d.line is not None:
        region: dict[str, Any] = {"startLine": d.line}
        if d.column is not None:
            region["startColumn"] = d.column
        physical["region"] = region
    properties: dict[str, Any] = {"pointer": d.pointer}
    if d.example is not None:
        properties["example"] = d.example
    return {
        "ruleId": d.code,
        "ruleIndex": index,
        "level": LEVEL[severity(d)],
        "message": {"text": d.message},
        "locations": [{"physicalLocation": physical}],
        "properties": properties,
    }


def to_sarif(report: Report) -> dict[str, Any]:
    first: dict[str, Diagnostic] = {}
    for d in report.diagnostics:
        first.setdefault(d.code, d)
    codes = sorted(first)
    index = {code: i for i, code in enumerate(codes)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "datakit",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [_descriptor(code, first[code]) for code in codes],
            }
        },
        # Columns count characters, not the UTF-16 code units SARIF assumes by default.
        "columnKind": "unicodeCodePoints",
        "results": [_result(d, index[d.code]) for d in report.diagnostics],
    }
    if report.hidden:
        run["properties"] = {"hiddenByMaxPerRule": dict(sorted(report.hidden.items()))}
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(report: Report, *, color: bool = False, show_fixes: bool = False) -> str:
    return json.dumps(to_sarif(report), ensure_ascii=False, indent=2)

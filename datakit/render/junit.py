"""JUnit XML, which most CI systems show as a test report.

One ``testsuite`` per file. Each example with diagnostics is a failing
``testcase`` with one ``failure`` per diagnostic; diagnostics about a line that
is no example (it did not parse) or about the whole file get a testcase of
their own. A clean file is one passing testcase.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from datakit.diagnostics import Diagnostic
from datakit.render._common import headline, severity
from datakit.report import Report

# XML 1.0 cannot carry these even as character references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(s: str) -> str:
    return _NOT_XML.sub("\ufffd", s)


def _case_name(d: Diagnostic) -> str:
    if d.example is not None:
        return f"example {d.example}" + (f" (line {d.line})" if d.line is not None else "")
    if d.line is not None:
        return f"line {d.line}"
    return "file"


def _group(report: Report) -> dict[str, dict[str, list[Diagnostic]]]:
    """path -> testcase name -> diagnostics, files in report order."""
    groups: dict[str, dict[str, list[Diagnostic]]] = {f.path: {} for f in report.files}
    for d in report.diagnostics:
        groups.setdefault(d.path, {}).setdefault(_case_name(d), []).append(d)
    return groups


def render_junit(report: Report, *, color: bool = False, show_fixes: bool = False) -> str:
    groups = _group(report)
    tests = sum(len(cases) or 1 for cases in groups.values())
    failures = sum(len(cases) for cases in groups.values())
    root = ET.Element("testsuites", name="datakit", tests=str(tests),
                      failures=str(failures), errors="0")
    for path, cases in groups.items():
        suite = ET.SubElement(root, "testsuite", name=_xml_text(path), tests=str(len(cases) or 1),
                              failures=str(len(cases)), errors="0", skipped="0")
        if not cases:
            ET.SubElement(suite, "testcase", name="all checks passed", classname=_xml_text(path))
        for name, diagnostics in cases.items():
            case = ET.SubElement(suite, "testcase", name=name, classname=_xml_text(path),
                                 file=_xml_text(path))
            if diagnostics[0].line is not None:
                case.set("line", str(diagnostics[0].line))
            for d in diagnostics:
                failure = ET.SubElement(case, "failure", type=severity(d).value,
                                        message=_xml_text(f"{d.code} {d.name}: {d.message}"))
                body = headline(d)
                if d.pointer:
                    body += f"\npointer: {d.pointer}"
                failure.text = _xml_text(body)
    ET.indent(root, space="  ")
    xml = ET.tostring(root, encoding="unicode")
    hidden = sum(report.hidden.values())
    if hidden:
        # "--" may not appear inside an XML comment, hence no flag spelling here.
        xml += f"\n<!-- {hidden} more diagnostics hidden by the max-per-rule limit -->"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml

"""Snapshot tests for every output format, plus checks that do not depend on snapshots.

Snapshots live in tests/snapshots/. After an intended change, rewrite them with
``DATAKIT_UPDATE_SNAPSHOTS=1 pytest tests/test_render.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

import datakit.rules  # noqa: F401  (registers every rule)
from datakit import __version__
from datakit.diagnostics import Diagnostic, Severity
from datakit.render import FORMATS, render
from datakit.render.github import escape_data, escape_property
from datakit.render.sarif import artifact_uri
from datakit.render.snippet import cut
from datakit.report import FileResult, Report
from datakit.rules.registry import RULES, Finding, diagnostic

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("DATAKIT_UPDATE_SNAPSHOTS") == "1"
VERSION_FIELD = f'"version": "{__version__}"'

LONG_LINE = (
    '{"messages": [{"role": "system", "content": "' + "x" * 60 + '"}, '
    '{"role": "user", "content": "hi", "说明": "extra"}, '
    '{"role": "assistant", "content": "' + "y" * 80 + '"}]}'
)


def assert_snapshot(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    # The package version would churn every snapshot on a release.
    actual = actual.replace(VERSION_FIELD, '"version": "<datakit-version>"') + "\n"
    if UPDATE:
        path.write_text(actual, encoding="utf-8", newline="")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path}; create it with DATAKIT_UPDATE_SNAPSHOTS=1")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs; rerun with DATAKIT_UPDATE_SNAPSHOTS=1 if intended"


def _d(code: str, message: str, path: str, line: int | None, *, column: int | None = None,
       example: int | None = None, pointer: str = "", source: str | None = None) -> Diagnostic:
    d = diagnostic(Finding(code, message, pointer, column), path=path, line=line, example=example)
    if source is not None:
        d.extra["source"] = source
    return d


def make_report() -> Report:
    """Two files with diagnostics and one clean file; three S004 hidden by --max-per-rule."""
    diagnostics = [
        _d("J005", "Expecting ',' delimiter", "data/train.jsonl", 2, column=42,
           source='{"messages": [{"role": "user" "content": "你好"}]}\n'),
        _d("S001", "missing required field 'content'", "data/train.jsonl", 3,
           example=1, pointer="/messages/0"),
        _d("S004", "unexpected field '说明' in a message", "data/train.jsonl", 4,
           column=LONG_LINE.index('"说明"') + 1, example=2, pointer="/messages/1/说明",
           source=LONG_LINE),
        _d("J003", "line ends in CRLF", "data/train.jsonl", 5, column=50, example=3),
        _d("S004", "unexpected field 'weight' (100%, from\nan export)", "data/valid.jsonl", 1,
           column=15, example=0, pointer="/weight"),
        _d("J011", "file does not end in a newline", "data/valid.jsonl", None),
    ]
    return Report(
        files=[
            FileResult("data/train.jsonl", "openai", examples=4, lines=5, errors=6, warnings=1),
            FileResult("data/valid.jsonl", "openai", examples=2, lines=2, errors=1, warnings=1),
            FileResult("data/test.jsonl", "openai", examples=3, lines=3),
        ],
        diagnostics=diagnostics,
        hidden=Counter({"S004": 3}),
        counts=Counter({"J005": 1, "S001": 1, "S004": 5, "J003": 1, "J011": 1}),
    )


def clean_report() -> Report:
    return Report(files=[FileResult("data/train.jsonl", "openai", examples=4, lines=4)])


CASES = [
    ("concise.txt", "concise", {}),
    ("concise_color.txt", "concise", {"color": True}),
    ("concise_fixes.txt", "concise", {"show_fixes": True}),
    ("full.txt", "full", {}),
    ("json.json", "json", {}),
    ("json-lines.jsonl", "json-lines", {}),
    ("github.txt", "github", {}),
    ("sarif.sarif", "sarif", {}),
    ("junit.xml", "junit", {}),
    ("statistics.txt", "concise", {"statistics": True}),
    ("statistics.json", "json", {"statistics": True}),
]


@pytest.mark.parametrize(("snapshot", "fmt", "options"), CASES, ids=[c[0] for c in CASES])
def test_snapshot(snapshot: str, fmt: str, options: dict) -> None:
    assert_snapshot(snapshot, render(make_report(), fmt, **options))


@pytest.mark.parametrize("fmt", ["concise", "junit"])
def test_snapshot_clean(fmt: str) -> None:
    ext = {"concise": "txt", "junit": "xml"}[fmt]
    assert_snapshot(f"{fmt}_clean.{ext}", render(clean_report(), fmt))


def test_every_format_has_a_snapshot() -> None:
    assert {fmt for _, fmt, _ in CASES} == set(FORMATS)


def test_snapshot_rules_exist() -> None:
    for d in make_report():
        assert RULES[d.code].name == d.name


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="sarif"):
        render(make_report(), "xml")


def test_str_is_concise() -> None:
    report = make_report()
    assert str(report) == render(report, "concise")
    assert str(Report()) == "All checks passed: 0 examples across 0 files."


# --- concise ---------------------------------------------------------------


def test_concise_locations_and_summary() -> None:
    lines = render(make_report(), "concise").splitlines()
    assert lines[0] == "data/train.jsonl:2:42: J005 [error] Expecting ',' delimiter"
    assert lines[1] == "data/train.jsonl:3: S001 [error] missing required field 'content'"
    assert lines[5] == "data/valid.jsonl: J011 [warning] file does not end in a newline"
    # A newline in a message must not break the one-line-per-diagnostic promise.
    assert "from\\nan export" in lines[4]
    assert lines[-2] == ""
    assert lines[-1] == ("Found 7 errors, 2 warnings in 9 examples across 3 files. "
                         "(3 hidden by --max-per-rule)")


def test_concise_colour_only_when_asked() -> None:
    assert "\x1b[" not in render(make_report(), "concise")
    coloured = render(make_report(), "concise", color=True)
    assert "\x1b[31merror\x1b[0m" in coloured and "\x1b[33mwarning\x1b[0m" in coloured
    assert "\x1b[36mJ005\x1b[0m" in coloured and "\x1b[1mdata/train.jsonl\x1b[0m" in coloured


def test_concise_escapes_terminal_control_sequences() -> None:
    d = _d("J005", "bad \x1b[2J value", "x.jsonl", 1)
    out = render(Report(diagnostics=[d]), "concise")
    assert "\x1b" not in out and "\\x1b[2J" in out


def test_summary_counts_diagnostics_without_file_results() -> None:
    report = Report(diagnostics=[_d("J005", "bad", "x.jsonl", 1), _d("J003", "crlf", "x.jsonl", 2)])
    assert render(report, "concise").splitlines()[-1] == (
        "Found 1 error, 1 warning in 0 examples across 1 file.")


# --- full ------------------------------------------------------------------


def test_full_caret_under_column_with_wide_characters() -> None:
    text, caret = cut('{"a": "你好", "b" 1}', column=17)
    assert text[:caret].count("你") == 1  # the caret offset counts CJK as two cells
    prefix = '{"a": "你好", "b" '
    assert caret == len(prefix) + 2  # two wide characters, one extra cell each


def test_full_truncates_long_lines_around_the_column() -> None:
    column = LONG_LINE.index('"说明"') + 1
    text, caret = cut(LONG_LINE, column)
    assert text.startswith("…") and text.endswith("…")
    assert sum(2 if c in "说明" else 1 for c in text) <= 120
    assert text[caret:].startswith('"说明"') or text[caret - 2 :].startswith('"说明"') is False
    # Walk cells to the caret and check which character sits there.
    cells = 0
    for i, c in enumerate(text):
        if cells == caret:
            assert text[i:].startswith('"说明"')
            break
        cells += 2 if c in "说明" else 1
    else:
        pytest.fail("caret not on a character boundary")


def test_full_shows_rule_pointer_and_docs() -> None:
    out = render(make_report(), "full")
    assert "= rule: unexpected-field (S004): " + RULES["S004"].summary in out
    assert "= pointer: /messages/1/说明" in out
    assert "= docs: https://datakit.dev/rules/S004" in out
    assert "= fix: " in out  # J003 and J011 are fixable


# --- json / json-lines -----------------------------------------------------


def test_json_is_report_to_json_and_round_trips() -> None:
    report = make_report()
    out = render(report, "json")
    assert out == report.to_json()
    data = json.loads(out)
    assert set(data) == {"version", "files", "diagnostics", "summary"}
    assert data == json.loads(json.dumps(report.to_dict()))


def test_json_lines_one_object_per_diagnostic() -> None:
    report = make_report()
    lines = render(report, "json-lines").splitlines()
    assert [json.loads(line) for line in lines] == [d.to_dict() for d in report.diagnostics]
    assert render(Report(), "json-lines") == ""


# --- github ----------------------------------------------------------------


def test_github_commands_and_escaping() -> None:
    lines = render(make_report(), "github").splitlines()
    assert len(lines) == len(make_report()) + 1  # plus the hidden-count notice
    assert all(line.startswith("::") for line in lines)
    assert lines[0] == ("::error file=data/train.jsonl,line=2,col=42,"
                        "title=J005 invalid-json::Expecting ',' delimiter")
    assert lines[3].startswith("::warning ")
    assert "::unexpected field 'weight' (100%25, from%0Aan export)" in lines[4]
    assert lines[5] == ("::warning file=data/valid.jsonl,title=J011 missing-final-newline"
                        "::file does not end in a newline")
    assert escape_property("C:\\a,b\r\n%") == "C%3A\\a%2Cb%0D%0A%25"
    assert escape_data("a:b,c") == "a:b,c"


def test_github_info_is_notice() -> None:
    d = _d("J005", "m", "x.jsonl", 1)
    d.severity = Severity.INFO
    assert render(Report(diagnostics=[d]), "github").startswith("::notice ")


# --- sarif -----------------------------------------------------------------

LEVELS = {"none", "note", "warning", "error"}


def _message(m: object, where: str) -> None:
    # multiformatMessageString / message: "text" is required (message may use "id" instead).
    assert isinstance(m, dict) and isinstance(m.get("text", m.get("id")), str), where


def check_sarif_2_1_0(doc: dict) -> None:
    """The required keys and enums of SARIF 2.1.0 that datakit's output touches."""
    assert doc["version"] == "2.1.0"
    assert isinstance(doc.get("$schema"), str)
    assert isinstance(doc["runs"], list) and doc["runs"]
    for run in doc["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str) and driver["name"]
        rules = driver.get("rules", [])
        ids = [r["id"] for r in rules]
        assert len(ids) == len(set(ids)), "rule ids must be unique"
        for r in rules:
            assert isinstance(r["id"], str)
            for key in ("shortDescription", "fullDescription", "help"):
                if key in r:
                    _message(r[key], f"rule {r['id']} {key}")
            level = r.get("defaultConfiguration", {}).get("level", "warning")
            assert level in LEVELS
        assert run.get("columnKind", "utf16CodeUnits") in {"utf16CodeUnits", "unicodeCodePoints"}
        for res in run["results"]:
            _message(res["message"], "result message")
            assert res.get("level", "warning") in LEVELS
            if "ruleIndex" in res:
                assert 0 <= res["ruleIndex"] < len(rules)
                assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
            for loc in res.get("locations", []):
                phys = loc["physicalLocation"]
                assert "artifactLocation" in phys or "address" in phys
                uri = phys["artifactLocation"]["uri"]
                assert isinstance(uri, str) and "\\" not in uri and " " not in uri
                region = phys.get("region")
                if region is not None:
                    assert region["startLine"] >= 1
                    assert region.get("startColumn", 1) >= 1


def test_sarif_structure() -> None:
    report = make_report()
    doc = json.loads(render(report, "sarif"))
    check_sarif_2_1_0(doc)
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "datakit" and driver["version"] == __version__
    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == {d.code for d in report}
    for code, r in rules.items():
        rule = RULES[code]
        assert r["name"] == rule.name and r["helpUri"] == rule.url
        assert r["shortDescription"]["text"] == rule.summary
        assert r["help"]["markdown"] == rule.doc
    assert rules["J003"]["defaultConfiguration"]["level"] == "warning"
    assert rules["J005"]["defaultConfiguration"]["level"] == "error"
    results = run["results"]
    assert [r["ruleId"] for r in results] == [d.code for d in report]
    assert results[1]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    assert "region" not in results[5]["locations"][0]["physicalLocation"]
    assert results[2]["properties"]["pointer"] == "/messages/1/说明"


def test_sarif_info_is_note_and_uris() -> None:
    d = _d("J005", "m", "sub dir\\x.jsonl", 1)
    d.severity = Severity.INFO
    doc = json.loads(render(Report(diagnostics=[d]), "sarif"))
    check_sarif_2_1_0(doc)
    result = doc["runs"][0]["results"][0]
    assert result["level"] == "note"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "sub%20dir/x.jsonl"
    assert artifact_uri("./data/a.jsonl") == "data/a.jsonl"
    assert artifact_uri("/srv/data/a.jsonl") == "file:///srv/data/a.jsonl"
    assert artifact_uri("C:\\data\\a.jsonl") == "file:///C:/data/a.jsonl"


# --- junit -----------------------------------------------------------------


def test_junit_structure() -> None:
    root = ET.fromstring(render(make_report(), "junit"))
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["data/train.jsonl", "data/valid.jsonl", "data/test.jsonl"]
    train = [c.get("name") for c in suites["data/train.jsonl"].findall("testcase")]
    assert train == ["line 2", "example 1 (line 3)", "example 2 (line 4)", "example 3 (line 5)"]
    assert [c.get("name") for c in suites["data/valid.jsonl"]] == ["example 0 (line 1)", "file"]
    clean = suites["data/test.jsonl"].findall("testcase")
    assert len(clean) == 1 and not list(clean[0])
    assert root.get("tests") == "7" and root.get("failures") == "6"
    failures = root.findall(".//failure")
    assert len(failures) == len(make_report())
    assert failures[2].get("message") == "S004 unexpected-field: unexpected field '说明' in a message"


def test_junit_survives_characters_xml_cannot_carry() -> None:
    d = _d("J014", "NUL \x00 here", "x.jsonl", 1)
    ET.fromstring(render(Report(diagnostics=[d]), "junit"))


# --- statistics ------------------------------------------------------------


def test_statistics_counts_hidden_and_sorts() -> None:
    data = json.loads(render(make_report(), "json", statistics=True))
    assert data[0] == {"count": 5, "code": "S004", "name": "unexpected-field",
                       "severity": "error", "fixable": False}
    assert [r["code"] for r in data] == ["S004", "J003", "J005", "J011", "S001"]
    assert {r["code"]: r["fixable"] for r in data}["J003"] is True
    table = render(make_report(), "concise", statistics=True).splitlines()
    assert table[0].split() == ["5", "S004", "unexpected-field", "error"]
    assert table[1].split() == ["1", "J003", "crlf-line-ending", "warning", "[*]"]
    lines = render(make_report(), "json-lines", statistics=True).splitlines()
    assert [json.loads(line) for line in lines] == data


def test_statistics_without_counts_uses_visible_and_hidden() -> None:
    report = make_report()
    report.counts = Counter()
    data = json.loads(render(report, "json", statistics=True))
    assert data[0]["code"] == "S004" and data[0]["count"] == 5

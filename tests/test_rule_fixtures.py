"""Every rule's passing and failing cases, written as data in tests/rules/<family>.yaml.

A case is a mapping:

    rule:    the code under test
    format:  a format id, or ``auto``
    lines:   a list of lines (a JSON value is written with json.dumps, a string is
             written verbatim as one line), or one mapping for whole-file bytes:
             ``{raw: <exact text>}``, ``{raw_b64: <base64 bytes>}`` or
             ``{deep: N}`` (a valid line whose ``meta`` nests N arrays deep)
    expect:  [codes] that must all be reported (a failing case), or
    pass:    true (the rule must not fire)
    line / column / pointer: optional; where ``rule`` must be reported
    zip:     optional ``{images: [names]}``: pack the lines with these images in a .zip
    target:  optional target, e.g. ``openai:gpt-4o-mini-2024-07-18``
    crash:   optional; make the format's own checks raise (X001's failing case)
    xfail:   optional reason; documents a known gap and fails strictly once fixed

Each case is linted the way a user lints a file: written to disk and passed through
``datakit.lint`` (the same kernel as ``datakit lint``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import zipfile
from pathlib import Path

import pytest
import yaml

import datakit
from datakit import formats
from datakit.rules.registry import FAMILIES, RULES

HERE = Path(__file__).parent / "rules"
# Families whose cases live with the engineers who own them, not in tests/rules/.
COVERED_ELSEWHERE = {
    "L": "tests/test_stats.py and tests/test_limits_cli.py (token and size limits)",
    "D": "tests/test_split.py and tests/test_cli_lint.py (whole-file checks)",
    "C": "tests/test_convert*.py (what a conversion could not carry)",
}
# 1x1 PNG with real magic bytes, for zips
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
                       "AAAABJRU5ErkJggg==")
# Placeholders for values too big to keep in a YAML file.
PLACEHOLDERS = {"@png-data-url-14MB@": "data:image/png;base64," + "A" * (14 << 20)}
CASE_KEYS = {"rule", "format", "lines", "expect", "pass", "line", "column", "pointer", "zip",
             "target", "crash", "xfail"}


def load_cases() -> list:
    cases = []
    for f in sorted(HERE.glob("*.yaml")):
        for i, case in enumerate(yaml.safe_load(f.read_text(encoding="utf-8"))):
            kind = "fail" if "expect" in case else "pass"
            marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
            cases.append(pytest.param(case, id=f"{case['rule']}-{kind}-{f.stem}{i}", marks=marks))
    return cases


CASES = load_cases()


def content_bytes(lines) -> bytes:
    if isinstance(lines, list):
        text = "".join((item if isinstance(item, str) else json.dumps(item, ensure_ascii=False))
                       + "\n" for item in lines)
        for key, value in PLACEHOLDERS.items():
            text = text.replace(key, value)
        return text.encode("utf-8")
    if "raw" in lines:
        return lines["raw"].encode("utf-8")
    if "raw_b64" in lines:
        return base64.b64decode(lines["raw_b64"])
    if "deep" in lines:
        n = lines["deep"]
        return (b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", '
                b'"content": "a"}], "meta": ' + b"[" * n + b"]" * n + b"}\n")
    raise ValueError(f"unknown lines shape {lines!r}")


def write_case(tmp_path: Path, case: dict) -> Path:
    data = content_bytes(case["lines"])
    if "zip" in case:
        path = tmp_path / "images.zip"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("data.jsonl", data)
            for name in case["zip"].get("images", []):
                z.writestr(name, PNG)
        return path
    path = tmp_path / "case.jsonl"
    path.write_bytes(data)
    return path


def _crash(obj, ctx):
    raise RuntimeError("boom: a bug in a format check")


@pytest.mark.parametrize("case", CASES)
def test_rule_case(tmp_path, monkeypatch, case):
    assert set(case) <= CASE_KEYS, f"unknown keys {set(case) - CASE_KEYS}"
    assert ("expect" in case) != (case.get("pass") is True), "a case has expect: or pass: true"
    if case.get("crash"):
        fmt = formats.get(case["format"])
        monkeypatch.setitem(formats.FORMATS, fmt.id, dataclasses.replace(fmt, check=_crash))
    path = write_case(tmp_path, case)
    report = datakit.lint(path, format=case.get("format", "auto"), target=case.get("target"),
                          workers=1)
    shown = [(d.code, d.line, d.column, d.pointer, d.message) for d in report.diagnostics]
    got = {d.code for d in report.diagnostics}
    if "expect" in case:
        missing = [c for c in case["expect"] if c not in got]
        assert missing == [], shown
        hits = [d for d in report.diagnostics if d.code == case["rule"]]
        for key in ("line", "column", "pointer"):
            if key in case:
                assert case[key] in [getattr(d, key) for d in hits], (key, shown)
    else:
        assert case["rule"] not in got, shown
    # whatever the input, the linter reports; it never crashes (except where a case asks)
    if not case.get("crash"):
        assert "X001" not in got, shown


def test_every_rule_has_a_failing_and_a_passing_case():
    seen: dict[str, set[str]] = {}
    for p in CASES:
        (case,) = p.values
        assert case["rule"] in RULES, f"{case['rule']} is not a registered rule"
        if p.marks:  # an xfail case documents a gap; it covers nothing
            continue
        if "expect" in case:
            assert case["rule"] in case["expect"], f"{case['rule']} case expects {case['expect']}"
            seen.setdefault(case["rule"], set()).add("fail")
        else:
            seen.setdefault(case["rule"], set()).add("pass")
    families_here = {f for f in FAMILIES if f not in COVERED_ELSEWHERE}
    assert families_here == {"J", "S", "R", "T", "M", "X"}
    need = [code for code in RULES if code[0] in families_here]
    missing = {code: sorted({"pass", "fail"} - seen.get(code, set())) for code in need
               if seen.get(code, set()) != {"pass", "fail"}}
    assert missing == {}, f"rules without a failing and a passing case: {missing}"


def test_fixture_files_are_per_family():
    for f in HERE.glob("*.yaml"):
        assert f.stem in FAMILIES, f
        for case in yaml.safe_load(f.read_text(encoding="utf-8")):
            assert case["rule"].startswith(f.stem), (f.name, case["rule"])


def test_the_runner_notices_a_missing_code(tmp_path):
    """The harness itself can fail: a clean line does not produce what a case expects."""
    case = {"rule": "S003", "format": "openai", "expect": ["S003"],
            "lines": [{"messages": [{"role": "user", "content": "q"},
                                    {"role": "assistant", "content": "a"}]}]}
    with pytest.raises(AssertionError), pytest.MonkeyPatch.context() as mp:
        test_rule_case(tmp_path, mp, case)


# --------------------------------------------------------------------------- rule docs

KEBAB = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
SECTIONS = ("## What it does", "## Why is this bad?", "## Example")


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_metadata_and_docs(code):
    rule = RULES[code]
    assert re.fullmatch(r"[A-Z]\d{3}", code) and code[0] in FAMILIES
    assert KEBAB.fullmatch(rule.name), f"{code}: {rule.name!r} is not kebab-case"
    assert rule.severity.value in ("error", "warning", "info")
    assert rule.formats == "*" or (rule.formats and set(rule.formats) <= set(formats.FORMATS)), \
        rule.formats
    # the three sections, in order, each with text of its own
    at = [rule.doc.find(s) for s in SECTIONS]
    assert -1 not in at and at == sorted(at), f"{code}: sections missing or out of order"
    bodies = [rule.doc[a + len(s):b].strip() for s, a, b in
              zip(SECTIONS, at, at[1:] + [len(rule.doc)])]
    assert all(len(b) >= 15 for b in bodies), f"{code}: an empty section: {bodies}"


def test_rule_names_are_unique():
    names = [r.name for r in RULES.values()]
    assert len(names) == len(set(names))

"""Every rule's passing and failing cases, written as data in tests/rules/*.yaml.

Each case is linted the way a user lints a file: written to disk and passed through
`datakit.lint` (the same code as the CLI). A `fail` case must produce the rule's code
(at the given line/column/pointer when the case says so); a `pass` case must not
produce it. Cases with `xfail: <reason>` document known gaps and fail strictly once fixed.
"""

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest
import yaml

import datakit
from datakit.rules.registry import RULES

HERE = Path(__file__).parent / "rules"
COVERED_ELSEWHERE = {"L": "tests/test_stats.py, test_limits", "D": "tests/test_split.py and "
                     "test_cli_lint.py", "C": "tests/test_convert*.py"}
# 1x1 images with real magic bytes, for zips
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def load_cases():
    cases = []
    for f in sorted(HERE.glob("*.yaml")):
        for i, case in enumerate(yaml.safe_load(f.read_text(encoding="utf-8"))):
            kind = "fail" if "fail" in case else "pass"
            marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
            cases.append(pytest.param(case, kind, id=f"{case['rule']}-{kind}-{f.stem}{i}",
                                      marks=marks))
    return cases


CASES = load_cases()


# Placeholders for values too big to keep in a YAML file.
PLACEHOLDERS = {"@png-data-url-14MB@": "data:image/png;base64," + "A" * (14 << 20)}


def content_bytes(spec) -> bytes:
    if isinstance(spec, list):
        text = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in spec)
        for key, value in PLACEHOLDERS.items():
            text = text.replace(key, value)
        return text.encode()
    if "raw" in spec:
        return spec["raw"].encode("utf-8")
    if "raw_b64" in spec:
        return base64.b64decode(spec["raw_b64"])
    if "deep" in spec:
        n = spec["deep"]
        return (b'{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", '
                b'"content": "a"}], "meta": ' + b"[" * n + b"]" * n + b"}\n")
    raise ValueError(f"unknown case shape {spec!r}")


def write_case(tmp_path: Path, case: dict, kind: str) -> Path:
    data = content_bytes(case[kind])
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


@pytest.mark.parametrize("case,kind", CASES)
def test_rule_case(tmp_path, case, kind):
    path = write_case(tmp_path, case, kind)
    report = datakit.lint(path, format=case.get("format", "auto"), target=case.get("target"))
    hits = [d for d in report.diagnostics if d.code == case["rule"]]
    shown = [(d.code, d.line, d.pointer, d.message) for d in report.diagnostics]
    if kind == "pass":
        assert hits == [], shown
        return
    assert hits, shown
    for key in ("line", "column", "pointer"):
        if key in case:
            assert case[key] in [getattr(d, key) for d in hits], (key, shown)


def test_every_rule_has_a_failing_and_a_passing_case():
    seen: dict[str, set[str]] = {}
    for p in CASES:
        case, kind = p.values
        seen.setdefault(case["rule"], set()).add(kind)
        assert case["rule"] in RULES, f"{case['rule']} is not a registered rule"
    # X001 (internal error) has no triggering input by design: only passing cases
    need = {code: {"pass"} if code == "X001" else {"pass", "fail"} for code in RULES
            if code[0] not in COVERED_ELSEWHERE}
    missing = [code for code, kinds in need.items() if not kinds <= seen.get(code, set())]
    assert missing == [], f"rules without both a passing and a failing case: {missing}"

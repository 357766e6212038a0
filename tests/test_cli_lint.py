"""`datakit lint` as users run it: a subprocess, real files, real exit codes."""

import json
import re

from conftest import EXAMPLES, run_cli

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def test_clean_file_exits_0(write_jsonl):
    p = write_jsonl("ok.jsonl", [GOOD])
    r = run_cli("lint", p)
    assert r.returncode == 0, r.stderr
    assert "All checks passed" in r.stdout


def test_errors_exit_1_with_file_line_code(write_jsonl):
    p = write_jsonl("bad.jsonl", [GOOD, {"messages": [{"role": "bot", "content": "x"}]}])
    r = run_cli("lint", p)
    assert r.returncode == 1
    assert f"{p}:2:" in r.stdout and "S003" in r.stdout
    assert "Traceback" not in r.stderr


def test_usage_errors_exit_2_without_traceback(tmp_path, write_jsonl):
    p = write_jsonl("ok.jsonl", [GOOD])
    for args in (["lint", tmp_path / "missing.jsonl"], ["lint", p, "--format", "nope"],
                 ["lint", p, "--target", "nope:x"], ["lint", p, "--max-per-rule", "0"],
                 ["lint", p, "--output-format", "xml"], ["lint"], ["rule", "Z999"]):
        r = run_cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and "error" in r.stderr


def test_json_output_contract(write_jsonl):
    p = write_jsonl("bad.jsonl", [GOOD, {"messages": []}])
    r = run_cli("lint", p, "--output-format", "json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert set(doc) == {"version", "files", "diagnostics", "summary"}
    assert doc["files"] == [{"path": str(p), "format": "openai", "examples": 2, "errors": 1,
                             "warnings": 0}]
    d = doc["diagnostics"][0]
    assert set(d) == {"path", "line", "column", "example", "code", "name", "severity", "message",
                      "pointer"}
    assert (d["line"], d["example"], d["code"], d["pointer"]) == (2, 1, "S005", "/messages")


def test_select_ignore_max_per_rule_and_exit_zero(write_jsonl):
    rows = [{"messages": [{"role": "bot", "content": str(i)}]} for i in range(5)]
    p = write_jsonl("bad.jsonl", rows)
    r = run_cli("lint", p, "--output-format", "json", "--max-per-rule", "2")
    doc = json.loads(r.stdout)
    assert [d["code"] for d in doc["diagnostics"]].count("S003") == 2
    assert doc["summary"]["hidden"] >= 3 and doc["summary"]["by_code"]["S003"] == 5
    assert doc["summary"]["errors"] >= 5  # hidden ones still count
    r = run_cli("lint", p, "--ignore", "S")
    assert "S003" not in r.stdout
    r = run_cli("lint", p, "--select", "J")
    assert r.returncode == 0
    r = run_cli("lint", p, "--exit-zero")
    assert r.returncode == 0 and "S003" in r.stdout


def test_statistics(write_jsonl):
    p = write_jsonl("bad.jsonl", [{"messages": [{"role": "bot", "content": "x"}]}] * 3)
    r = run_cli("lint", p, "--statistics")
    assert "S003" in r.stdout and "3" in r.stdout


def test_directory_lints_every_jsonl_below(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jsonl").write_text(json.dumps(GOOD) + "\n")
    (tmp_path / "a" / "notes.txt").write_text("not data")
    (tmp_path / "y.jsonl").write_text("{broken\n")
    r = run_cli("lint", tmp_path, "--output-format", "json")
    doc = json.loads(r.stdout)
    assert sorted(f["path"] for f in doc["files"]) == sorted(
        [str(tmp_path / "a" / "x.jsonl"), str(tmp_path / "y.jsonl")])


def test_output_file_and_github_and_sarif(tmp_path, write_jsonl):
    p = write_jsonl("bad.jsonl", [{"messages": [{"role": "bot", "content": "x"}]}])
    out = tmp_path / "report.sarif"
    r = run_cli("lint", p, "--output-format", "sarif", "--output-file", out)
    assert r.returncode == 1 and r.stdout == ""
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    rule_ids = [res["ruleId"] for res in sarif["runs"][0]["results"]]
    assert "S003" in rule_ids  # "bot" is not a role
    assert all(res["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
               for res in sarif["runs"][0]["results"])
    r = run_cli("lint", p, "--output-format", "github")
    assert r.stdout.startswith("::error file=")


def test_config_from_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.datakit]\nignore = ["S003"]\n\n[tool.datakit.per-file]\n'
        '"data/*.jsonl" = { format = "siliconflow" }\n')
    (tmp_path / "data").mkdir()
    bad = {"messages": [{"role": "bot", "content": "x"}]}
    (tmp_path / "data" / "x.jsonl").write_text(json.dumps(bad) + "\n")
    r = run_cli("lint", "data/x.jsonl", "--output-format", "json", cwd=tmp_path)
    doc = json.loads(r.stdout)
    assert doc["files"][0]["format"] == "siliconflow"
    assert "S003" not in [d["code"] for d in doc["diagnostics"]]
    # command-line flags win over the config
    r = run_cli("lint", "data/x.jsonl", "--output-format", "json", "--ignore", "J", cwd=tmp_path)
    assert "S003" in [d["code"] for d in json.loads(r.stdout)["diagnostics"]]
    (tmp_path / "pyproject.toml").write_text("[tool.datakit\n")
    r = run_cli("lint", "data/x.jsonl", cwd=tmp_path)
    assert r.returncode == 2 and "pyproject.toml" in r.stderr


def test_rules_and_rule_docs():
    r = run_cli("rules")
    assert r.returncode == 0 and "J005" in r.stdout and "invalid-json" in r.stdout
    r = run_cli("rule", "J005")
    assert r.returncode == 0
    for section in ("## What it does", "## Why is this bad?", "## Example"):
        assert section in r.stdout
    assert run_cli("rule", "invalid-json").stdout == r.stdout


def test_bundled_examples_report_good_and_bad():
    r = run_cli("lint", EXAMPLES, "--output-format", "json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    by_path = {f["path"].rsplit("/", 1)[-1]: f for f in doc["files"]}
    assert by_path["openai-good.jsonl"]["errors"] == 0
    assert by_path["openai-bad.jsonl"]["errors"] > 0


def test_rules_lists_every_registered_rule():
    from datakit.rules.registry import RULES

    r = run_cli("rules", "--output-format", "json")
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    assert [x["code"] for x in listed] == sorted(RULES)
    assert {x["code"]: (x["name"], x["severity"]) for x in listed} == {
        c: (rule.name, rule.severity.value) for c, rule in RULES.items()}
    text = run_cli("rules").stdout
    for code, rule in RULES.items():
        assert re.search(rf"\b{code}\s+{re.escape(rule.name)}\s+{rule.severity.value}\b", text), code


def test_rule_prints_the_registered_docs_for_each_family():
    from datakit.rules.registry import RULES

    for family in sorted({c[0] for c in RULES}):
        code = min(c for c in RULES if c.startswith(family))
        r = run_cli("rule", code.lower())  # codes are case-insensitive
        assert r.returncode == 0, r.stderr
        assert RULES[code].name in r.stdout and RULES[code].doc in r.stdout


def test_lint_imports_only_what_linting_needs(write_jsonl):
    """Start-up: `datakit lint` builds only its own parser and one renderer, so the
    machinery of convert, chunk, split and fix is never imported."""
    import subprocess
    import sys

    path = write_jsonl("ok.jsonl", [{"messages": [{"role": "user", "content": "q"},
                                                 {"role": "assistant", "content": "a"}]}])
    code = ("import sys; from datakit.cli import main; "
            f"rc = main(['lint', {str(path)!r}, '--output-format', 'json', '--workers', '1']); "
            "print(rc, sorted(m for m in sys.modules if m.startswith(('datakit', 'multiprocessing', "
            "'xml'))), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    rc, _, mods = r.stderr.strip().splitlines()[-1].partition(" ")
    assert rc == "0", r.stderr
    for heavy in ("datakit.conversion", "datakit.chunking", "datakit.splitting", "datakit.fixing",
                  "datakit.render.junit", "datakit.render.sarif", "multiprocessing", "xml"):
        assert f"'{heavy}" not in mods, (heavy, mods)
    assert "'datakit.render.machine'" in mods


def test_every_command_is_listed_when_the_command_is_unknown():
    r = run_cli("no-such-command")
    assert r.returncode == 2
    for command in ("lint", "rules", "targets", "stats", "convert", "split", "check-split",
                    "chunk", "verify", "fix"):
        assert command in r.stderr
    assert "Traceback" not in r.stderr

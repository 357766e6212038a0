"""Regressions from the audit of `datakit lint`: each runs the CLI as a user does, as a
subprocess over real files, and checks what the user sees (codes, line:column, exit code)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

GOOD_LINE = ('{"messages": [{"role": "user", "content": "q"}, '
             '{"role": "assistant", "content": "a"}]}')
BAD_ROLE_LINE = ('{"messages": [{"role": "bot", "content": "q"}, '
                 '{"role": "assistant", "content": "a"}]}')


def lint(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "datakit", "lint", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300, check=False)


def lint_json(*args, cwd=None) -> tuple[subprocess.CompletedProcess, list[dict]]:
    r = lint(*args, "--output-format", "json", cwd=cwd)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    assert r.returncode in (0, 1), (r.returncode, r.stderr)
    return r, json.loads(r.stdout)["diagnostics"]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
    return path


def with_extra(value: str) -> str:
    """GOOD_LINE with one more key whose value is the raw JSON text ``value``."""
    return GOOD_LINE[:-1] + ', "n": ' + value + "}"


# --------------------------------------------------------------------------- 1. huge integers

def test_integer_of_thousands_of_digits_is_a_line_diagnostic_not_a_crash(tmp_path):
    huge = with_extra("7" * 5000)
    p = write_lines(tmp_path / "huge.jsonl", [GOOD_LINE, huge, BAD_ROLE_LINE])
    r, diags = lint_json(p, "--format", "openai")
    assert r.returncode == 1
    got = {(d["line"], d["code"]): d for d in diags}
    d = got[2, "J006"]
    assert d["column"] == huge.index("7777") + 1
    assert "5000 digits" in d["message"] and "string" in d["message"]  # what and how to fix
    assert (3, "S003") in got  # the rest of the file is still checked
    # the concise output a user reads has file:line:col
    text = lint(p, "--format", "openai").stdout
    assert f"{p}:2:{huge.index('7777') + 1}: J006" in text


# --------------------------------------------------------------------------- 2. misreported errors

def test_values_strict_parsers_refuse_get_an_accurate_code_and_message(tmp_path):
    surrogate = GOOD_LINE.replace('"content": "q"', '"content": "q\\ud800"')
    overflow = with_extra("1e999")
    big_int = with_extra("9" * 400)
    lone_low = GOOD_LINE.replace('"content": "a"', '"content": "\\ud83d\\ude00 \\udc01"')
    p = write_lines(tmp_path / "refused.jsonl", [surrogate, overflow, big_int, lone_low])
    _, diags = lint_json(p, "--format", "openai")
    by_line = {d["line"]: d for d in diags}
    assert all(d["code"] != "J008" for d in diags), diags

    assert by_line[1]["code"] == "J005"
    assert by_line[1]["column"] == surrogate.index("\\ud800") + 1
    assert "lone" in by_line[1]["message"] and "surrogate" in by_line[1]["message"]

    assert by_line[2]["code"] == "J006"
    assert by_line[2]["column"] == overflow.index("1e999") + 1
    assert "1e999" in by_line[2]["message"] and "infinity" in by_line[2]["message"]

    assert by_line[3]["code"] == "J006"
    assert by_line[3]["column"] == big_int.index("999") + 1
    assert "400 digits" in by_line[3]["message"]

    assert by_line[4]["code"] == "J005"  # a valid pair, then a lone low half
    assert by_line[4]["column"] == lone_low.index("\\udc01") + 1


def test_deep_nesting_is_still_j008(tmp_path):
    deep = GOOD_LINE[:-1] + ', "meta": ' + "[" * 3000 + "]" * 3000 + "}"
    p = write_lines(tmp_path / "deep.jsonl", [deep])
    _, diags = lint_json(p, "--format", "openai")
    assert [d["code"] for d in diags] == ["J008"]


# --------------------------------------------------------------------------- 3. NaN column

def test_nonfinite_column_points_at_the_bare_token_not_into_a_string(tmp_path):
    line = GOOD_LINE.replace('"content": "q"', '"content": "is it NaN or Infinity here"')
    line = line[:-1] + ', "score": NaN}'
    p = write_lines(tmp_path / "nan.jsonl", [line])
    _, diags = lint_json(p, "--format", "openai")
    (d,) = [d for d in diags if d["code"] == "J006"]
    assert d["column"] == line.rindex("NaN") + 1
    assert line[d["column"] - 1:] == "NaN}"  # the bare token, not the text in the string


# --------------------------------------------------------------------------- 4. --select / --ignore

def test_unknown_select_or_ignore_is_a_usage_error_not_a_silent_pass(tmp_path):
    p = write_lines(tmp_path / "bad.jsonl", [BAD_ROLE_LINE])
    for args, unknown in [(("--select", "J05"), "J05"), (("--select", "XYZ"), "XYZ"),
                          (("--ignore", "S,nope"), "nope"), (("--select", "S003,T9"), "T9")]:
        r = lint(p, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and r.stdout == ""
        assert repr(unknown) in r.stderr, r.stderr  # names the unknown selector
        assert "J001-J014" in r.stderr and "J0" in r.stderr  # lists what is valid
    r = lint(p, "--select", "J05")
    assert "did you mean J005" in r.stderr
    # what worked before still works: a family, a prefix, a code, a name, ALL, any case
    for sel in ("S", "S0", "S003", "invalid-value", "ALL", "s003"):
        r = lint(p, "--select", sel, "--format", "openai")
        assert r.returncode == 1 and "S003" in r.stdout, (sel, r.stdout, r.stderr)
    r = lint(p, "--ignore", "S0", "--format", "openai")
    assert r.returncode == 0, r.stdout


def test_unknown_select_in_the_config_file_is_a_usage_error(tmp_path):
    p = write_lines(tmp_path / "bad.jsonl", [BAD_ROLE_LINE])
    (tmp_path / "pyproject.toml").write_text('[tool.datakit]\nselect = ["J05"]\n', encoding="utf-8")
    r = lint(p.name, cwd=tmp_path)
    assert r.returncode == 2 and "'J05'" in r.stderr and "select" in r.stderr, r.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.datakit]\nignore = "J003, XYZ"\n',
                                             encoding="utf-8")
    r = lint(p.name, cwd=tmp_path)
    assert r.returncode == 2 and "'XYZ'" in r.stderr and "ignore" in r.stderr, r.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.datakit]\nignore = ["S"]\n', encoding="utf-8")
    r = lint(p.name, cwd=tmp_path)
    assert r.returncode == 0, (r.stdout, r.stderr)


def test_fix_only_with_an_unknown_code_lists_the_valid_ones(tmp_path):
    p = write_lines(tmp_path / "in.jsonl", [GOOD_LINE])
    r = subprocess.run([sys.executable, "-m", "datakit", "fix", str(p), "-o",
                        str(tmp_path / "out.jsonl"), "--only", "J0X"],
                       capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 2 and "'J0X'" in r.stderr and "J001-J014" in r.stderr, r.stderr


# --------------------------------------------------------------------------- 5. per-file globs

def test_per_file_globs_resolve_against_the_config_directory_however_the_path_is_given(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.datakit.per-file]\n'
        '"data/**/*.jsonl" = { format = "siliconflow" }\n'
        '"./extra/*.jsonl" = "dashscope-sft"\n', encoding="utf-8")
    for sub in ("data/deep/er", "other", "extra"):
        (tmp_path / sub).mkdir(parents=True)
    top = write_lines(tmp_path / "data" / "top.jsonl", [GOOD_LINE])
    deep = write_lines(tmp_path / "data" / "deep" / "er" / "deep.jsonl", [GOOD_LINE])
    other = write_lines(tmp_path / "other" / "o.jsonl", [GOOD_LINE])
    extra = write_lines(tmp_path / "extra" / "e.jsonl", [GOOD_LINE])

    def format_of(path, cwd):
        r = lint(path, "--output-format", "json", cwd=cwd)
        assert r.returncode in (0, 1), r.stderr
        return json.loads(r.stdout)["files"][0]["format"]

    # `**/` matches zero directories too, relative to the config file's directory
    assert format_of("data/top.jsonl", tmp_path) == "siliconflow"
    assert format_of("data/deep/er/deep.jsonl", tmp_path) == "siliconflow"
    # an absolute path, or one relative to another working directory, resolves the same
    assert format_of(deep, tmp_path / "other") == "siliconflow"
    assert format_of("../top.jsonl", tmp_path / "data" / "deep") == "siliconflow"
    assert format_of(top.name, tmp_path / "data") == "siliconflow"
    assert format_of(extra, tmp_path) == "dashscope-sft"
    assert format_of("./extra/e.jsonl", tmp_path) == "dashscope-sft"
    # no glob matches: auto-detection, as before
    assert format_of(other, tmp_path) == "openai"
    # a --format flag still wins over the per-file config
    r = lint("data/top.jsonl", "--format", "openai", "--output-format", "json", cwd=tmp_path)
    assert json.loads(r.stdout)["files"][0]["format"] == "openai"


# --------------------------------------------------------------------------- 6. not-JSONL, unknown heads

def test_json_array_file_still_gets_per_line_diagnostics(tmp_path):
    good, bad = GOOD_LINE, BAD_ROLE_LINE
    p = tmp_path / "train.json"
    p.write_text(f"[\n{good},\n{bad},\n{good}\n]\n", encoding="utf-8")
    _, diags = lint_json(p)
    got = {(d["line"], d["code"]) for d in diags}
    assert (1, "J009") in got
    assert (3, "S003") in got  # the element on line 3 was checked
    (j009,) = [d for d in diags if d["code"] == "J009"]
    assert "datakit convert" in j009["message"] and "checked" in j009["message"]
    # a stray `[` above JSON Lines: every line below is still checked
    p = write_lines(tmp_path / "stray.jsonl", ["[", good, bad, bad.replace("bot", "robot")])
    _, diags = lint_json(p)
    got = {(d["line"], d["code"]) for d in diags}
    assert {(1, "J009"), (3, "S003"), (4, "S003")} <= got


def test_pretty_printed_array_says_exactly_what_was_not_checked(tmp_path):
    rows = [json.loads(GOOD_LINE), json.loads(BAD_ROLE_LINE)]
    text = json.dumps(rows, indent=2) + "\n"
    p = tmp_path / "pretty.json"
    p.write_text(text, encoding="utf-8")
    r, diags = lint_json(p)
    assert [d["code"] for d in diags] == ["J009"]
    n = text.count("\n")
    fragments = sum(1 for ln in text.splitlines() if ln.strip() not in ("[", "]", "],", ""))
    assert f"{fragments:,} of {n:,} lines" in diags[0]["message"]
    assert "not checked" in diags[0]["message"] and "datakit convert" in diags[0]["message"]
    assert json.loads(r.stdout)["files"][0]["examples"] == 0  # pieces are not examples


def test_unrecognised_first_lines_do_not_leave_the_rest_unchecked(tmp_path):
    junk = [json.dumps({"text": f"pre-training line {i}"}) for i in range(70)]
    p = write_lines(tmp_path / "late.jsonl", [*junk, GOOD_LINE, BAD_ROLE_LINE])
    r, diags = lint_json(p)
    got = {(d["line"], d["code"]) for d in diags}
    assert (72, "S003") in got, got  # found the format past the first 64 lines
    assert (1, "S001") in got and (70, "S001") in got  # the junk lines are reported one by one
    assert json.loads(r.stdout)["files"][0]["format"] == "openai"
    # lines that do not parse at the start: same
    p = write_lines(tmp_path / "late2.jsonl", [f"not json {i}" for i in range(70)]
                    + [GOOD_LINE, BAD_ROLE_LINE])
    _, diags = lint_json(p)
    got = {(d["line"], d["code"]) for d in diags}
    assert (72, "S003") in got and (1, "J005") in got and (70, "J005") in got
    # nothing recognisable anywhere: one J013 that says the whole file was looked at
    p = write_lines(tmp_path / "text.jsonl", junk)
    _, diags = lint_json(p)
    assert [d["code"] for d in diags] == ["J013"]
    assert "any line" in diags[0]["message"] and "--format" in diags[0]["message"]


# --------------------------------------------------------------------------- 7. dashscope-dpo

def test_dpo_line_missing_rejected_is_a_schema_error_not_another_format(tmp_path):
    def dpo(q, **answers):
        return json.dumps({"messages": [{"role": "user", "content": q}],
                           **{k: {"role": "assistant", "content": v} for k, v in answers.items()}})

    lines = [dpo("q1", chosen="a", rejected="b"), dpo("q2", chosen="a", rejected="b"),
             dpo("q3", chosen="a"), dpo("q4", rejected="b"), GOOD_LINE]
    p = write_lines(tmp_path / "dpo.jsonl", lines)
    for args in ((), ("--format", "dashscope-dpo")):
        r, diags = lint_json(p, *args)
        got = {(d["line"], d["code"]): d["message"] for d in diags}
        assert json.loads(r.stdout)["files"][0]["format"] == "dashscope-dpo"
        assert "`rejected`" in got[3, "S001"] and "`chosen`" in got[4, "S001"], got
        assert (3, "J012") not in got and (4, "J012") not in got
        assert (5, "J012") in got  # a plain chat line is still another format

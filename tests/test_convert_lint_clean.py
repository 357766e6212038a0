"""`datakit convert` never writes what `datakit lint` (for the target) rejects.

Each case converts through the CLI, then lints the output with the CLI: the output
must be clean (no errors), and what could not be carried must be reported with its
C code (on stderr and in the rejects file), not dropped or written silently.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"

GOOD_SHAREGPT = {"conversations": [{"from": "human", "value": "Hi"},
                                   {"from": "gpt", "value": "Hello!"}]}
GOOD_OPENAI = {"messages": [{"role": "user", "content": "Hi"},
                            {"role": "assistant", "content": "Hello!"}]}
EMPTY_PARAMS = {"type": "object", "properties": {}}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "datakit", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def _convert(tmp_path: Path, rows: list[dict], src: str, to: str, on_loss: str = "drop",
             suffix: str = ".jsonl") -> tuple[subprocess.CompletedProcess, Path, list[dict]]:
    inp = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / f"out{suffix}"
    rejects = tmp_path / "rejects.jsonl"
    proc = _run("convert", str(inp), "--from", src, "--to", to, "-o", str(out),
                "--on-loss", on_loss, "--rejects", str(rejects), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    rejected = [json.loads(x) for x in rejects.read_text(encoding="utf-8").splitlines()] \
        if rejects.exists() else []
    return proc, out, rejected


def _assert_lints_clean(out: Path, fmt: str) -> None:
    proc = _run("lint", "--format", fmt, "--workers", "1", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 errors" in proc.stdout or "All checks passed" in proc.stdout, proc.stdout


def _codes(rejected: list[dict]) -> list[str]:
    return [r["code"] for rec in rejected for r in rec["reasons"]]


def _check(tmp_path: Path, rows: list[dict], src: str, code: str, to: str = "mistral",
           written: int = 1) -> list[dict]:
    """Convert with --on-loss drop: the bad example is reported with ``code`` and goes to
    the rejects file, the rest is written and lints clean."""
    proc, out, rejected = _convert(tmp_path, rows, src, to)
    assert f": {code} [" in proc.stderr, proc.stderr
    assert code in _codes(rejected)
    assert len(out.read_text(encoding="utf-8").splitlines()) == written
    _assert_lints_clean(out, to)
    return rejected


# --------------------------------------------------------------------------- 1: empty answers

@pytest.mark.parametrize("value", ["", "   \n"])
def test_empty_sharegpt_answer_is_c029_not_r012(tmp_path, value):
    bad = {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": value}]}
    rejected = _check(tmp_path, [bad, GOOD_SHAREGPT], "sharegpt", "C029")
    assert rejected[0]["example"] == bad


def test_empty_answer_between_answers_is_c029(tmp_path):
    bad = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": ""},
                        {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}]}
    _check(tmp_path, [bad, GOOD_OPENAI], "openai", "C029")


def test_empty_answer_is_fine_where_the_target_allows_it(tmp_path):
    bad = {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": ""}]}
    proc, out, rejected = _convert(tmp_path, [bad], "sharegpt", "openai", on_loss="error")
    assert rejected == [] and "C029" not in proc.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["messages"][1]["content"] == ""


# --------------------------------------------------------------------------- 2: tools

def _sharegpt_call(name: str, tools: list[dict], result: bool = True) -> dict:
    turns = [{"from": "human", "value": "Weather?"},
             {"from": "function_call", "value": json.dumps({"name": name, "arguments": {}})}]
    if result:
        turns += [{"from": "observation", "value": "20C"}, {"from": "gpt", "value": "20C."}]
    return {"conversations": turns, "tools": json.dumps(tools)}


def test_invalid_parameters_schema_is_c027(tmp_path):
    bad = _sharegpt_call("get_weather", [{"name": "get_weather",
                                          "parameters": {"type": "str"}}])
    _check(tmp_path, [bad, GOOD_SHAREGPT], "sharegpt", "C027")


def test_draft3_required_flag_is_c027(tmp_path):
    params = {"type": "object", "properties": {"city": {"type": "string", "required": True}}}
    bad = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
           "tools": [{"type": "function", "function": {"name": "f", "parameters": params}}]}
    _check(tmp_path, [bad, GOOD_OPENAI], "openai", "C027")


@pytest.mark.parametrize("name", ["x" * 65, "get weather", "get.weather", "ok\n"])
def test_function_name_mistral_rejects_is_c027(tmp_path, name):
    bad = _sharegpt_call(name, [{"name": name, "parameters": EMPTY_PARAMS}])
    _check(tmp_path, [bad, GOOD_SHAREGPT], "sharegpt", "C027")


def test_uncalled_definition_with_a_bad_name_is_c027(tmp_path):
    bad = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
           "tools": [{"type": "function", "function": {"name": "y" * 70,
                                                       "parameters": EMPTY_PARAMS}}]}
    _check(tmp_path, [bad, GOOD_OPENAI], "openai", "C027")


def test_retrieval_tools_are_a_c001_loss(tmp_path):
    bad = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
           "tools": [{"type": "retrieval"}, {"type": "code_interpreter"},
                     {"type": "function", "function": {"name": "f", "parameters": EMPTY_PARAMS}}]}
    _check(tmp_path, [bad, GOOD_OPENAI], "openai", "C001")
    # --on-loss warn: written without them, still clean
    warn = tmp_path / "warn"
    warn.mkdir()
    proc, out, rejected = _convert(warn, [bad], "openai", "mistral", on_loss="warn")
    assert ": C001 [" in proc.stderr and rejected == []
    tools = json.loads(out.read_text(encoding="utf-8"))["tools"]
    assert [t["function"]["name"] for t in tools] == ["f"]
    _assert_lints_clean(out, "mistral")


@pytest.mark.parametrize("src,bad", [
    ("sharegpt", {"conversations": [
        {"from": "human", "value": "Weather?"},
        {"from": "function_call", "value": json.dumps({"name": "f", "arguments": {}})},
        {"from": "human", "value": "Never mind."}, {"from": "gpt", "value": "OK."}],
        "tools": json.dumps([{"name": "f", "parameters": EMPTY_PARAMS}])}),
    ("openai", {"messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "c2", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "20C"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": EMPTY_PARAMS}}]}),
    ("openai", {"messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "20C"},
        {"role": "assistant", "content": "20C."},
        {"role": "tool", "tool_call_id": "c1", "content": "again"},
        {"role": "assistant", "content": "Still 20C."}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": EMPTY_PARAMS}}]}),
], ids=["moves-on", "answered-in-part", "result-after-answer"])
def test_unanswered_or_misplaced_tool_results_are_c026(tmp_path, src, bad):
    good = GOOD_SHAREGPT if src == "sharegpt" else GOOD_OPENAI
    _check(tmp_path, [bad, good], src, "C026")


def test_a_last_call_without_result_is_still_written(tmp_path):
    """The Mistral seed's own example ends on a tool call with no reply."""
    ex = _sharegpt_call("f", [{"name": "f", "parameters": EMPTY_PARAMS}], result=False)
    proc, out, rejected = _convert(tmp_path, [ex], "sharegpt", "mistral", on_loss="error")
    assert rejected == [] and "C026" not in proc.stderr
    _assert_lints_clean(out, "mistral")


# --------------------------------------------------------------------------- 3: data URLs

def _image_example(url: str) -> dict:
    return {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": url}}]},
        {"role": "assistant", "content": "A document."}]}


PDF = "data:application/pdf;base64,JVBERi0xLjQK"


@pytest.mark.parametrize("to,url", [
    ("mistral", PDF),
    ("mistral", "data:text/plain,hello"),
    ("openai", PDF),
    ("openai", "data:;base64,iVBORw0KGgo="),
    ("openai", "data:image/png;base64,iVBO-w0K_go="),
])
def test_non_image_data_url_is_c010(tmp_path, to, url):
    _check(tmp_path, [_image_example(url), GOOD_OPENAI], "openai", "C010", to=to)


def test_non_image_data_url_is_not_written_into_a_dashscope_zip(tmp_path):
    png = "data:image/png;base64,iVBORw0KGgo="
    rows = [_image_example(PDF), _image_example(png)]
    proc, out, rejected = _convert(tmp_path, rows, "openai", "dashscope-sft-image",
                                   suffix=".zip")
    assert ": C010 [" in proc.stderr and _codes(rejected) == ["C010"]
    names = zipfile.ZipFile(out).namelist()
    assert not [n for n in names if n.endswith(".bin")], names
    assert len([n for n in names if n.endswith(".png")]) == 1, names
    _assert_lints_clean(out, "dashscope-sft-image")


# --------------------------------------------------------------------------- every fixture

FIXTURE_FILES = sorted([*(FIXTURES / "seeds").glob("*.jsonl"), *(FIXTURES / "corpora").glob("*")])


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_example_converts_to_lint_clean_mistral(tmp_path, path):
    """Each example of the convert fixtures is either written (and the output lints clean
    as mistral) or reported with a C code in the rejects file."""
    out = tmp_path / "out.jsonl"
    rejects = tmp_path / "rejects.jsonl"
    proc = _run("convert", str(path), "--to", "mistral", "-o", str(out), "--on-loss", "drop",
                "--rejects", str(rejects), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    rejected = [json.loads(x) for x in rejects.read_text(encoding="utf-8").splitlines()] \
        if rejects.exists() else []
    for rec in rejected:
        assert rec["reasons"] and all(r["code"].startswith("C") for r in rec["reasons"]), rec
    written = out.read_text(encoding="utf-8").splitlines() if out.exists() else []
    if path.suffix == ".json":
        n = len(json.loads(path.read_text(encoding="utf-8")))
    else:
        n = len([x for x in path.read_text(encoding="utf-8").splitlines() if x.strip()])
    assert len(written) + len(rejected) == n
    if written:
        _assert_lints_clean(out, "mistral")

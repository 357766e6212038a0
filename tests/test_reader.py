"""The streaming reader and kernel: every framing problem is a diagnostic on its line."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datakit
from datakit.linter.kernel import KernelConfig, lint_lines
from datakit.linter.run import LintOptions, lint_paths

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
GOOD_LINE = json.dumps(GOOD).encode()


def lint_bytes(tmp_path, data: bytes, name="t.jsonl", **kw):
    p = tmp_path / name
    p.write_bytes(data)
    return lint_paths([str(p)], LintOptions(**kw))


def codes(report):
    return [(d.line, d.code) for d in report.diagnostics]


def test_clean_file_has_no_diagnostics(tmp_path):
    r = lint_bytes(tmp_path, GOOD_LINE + b"\n" + GOOD_LINE.replace(b"hi", b"yo") + b"\n")
    assert r.ok and r.diagnostics == []
    assert r.files[0].examples == 2 and r.files[0].format == "openai"


def test_invalid_utf8_reports_column(tmp_path):
    line = b'{"messages": [{"role": "user", "content": "caf\xe9"}]}'
    r = lint_bytes(tmp_path, GOOD_LINE + b"\n" + line + b"\n")
    d = [d for d in r.diagnostics if d.code == "J001"][0]
    assert d.line == 2 and d.column == line.index(b"\xe9") + 1


def test_bom_crlf_blank_and_missing_newline(tmp_path):
    data = b"\xef\xbb\xbf" + GOOD_LINE + b"\r\n\r\n" + GOOD_LINE.replace(b"hi", b"x") + b"\r\n   \n" \
        + GOOD_LINE.replace(b"hi", b"z")
    r = lint_bytes(tmp_path, data)
    got = codes(r)
    assert (1, "J002") in got and (1, "J003") in got
    assert (2, "J004") in got and (4, "J004") in got
    assert (5, "J011") in got
    # CRLF is reported once per file, with the count
    j003 = [d for d in r.diagnostics if d.code == "J003"]
    assert len(j003) == 1 and "3 lines" in j003[0].message
    assert r.files[0].examples == 3


def test_invalid_json_column_and_run_continues(tmp_path):
    bad = b'{"messages": [{"role": "user" "content": "x"}]}'
    r = lint_bytes(tmp_path, bad + b"\n" + GOOD_LINE + b"\n" + bad + b"\n")
    j = [d for d in r.diagnostics if d.code == "J005"]
    assert [d.line for d in j] == [1, 3]
    assert j[0].column == bad.index(b'"content"') + 1


def test_nan_infinity_not_object_deep_nesting(tmp_path):
    nan = b'{"messages": [], "x": NaN}'
    inf = b'{"messages": [], "x": -Infinity}'
    arr = b'[1, 2]'
    deep = b"[" * 5000 + b"]" * 5000
    r = lint_bytes(tmp_path, b"\n".join([GOOD_LINE, nan, inf, arr, deep, b'"str"']) + b"\n")
    got = codes(r)
    assert (2, "J006") in got and (3, "J006") in got
    assert (4, "J007") in got and (6, "J007") in got
    assert (5, "J008") in got


def test_json_array_file_and_pretty_printed(tmp_path):
    arr = json.dumps([GOOD, GOOD], indent=2).encode()
    r = lint_bytes(tmp_path, arr + b"\n", name="a.jsonl")
    assert [d.code for d in r.diagnostics] == ["J009"]
    pretty = json.dumps(GOOD, indent=2).encode()
    r = lint_bytes(tmp_path, pretty + b"\n", name="b.jsonl")
    assert [d.code for d in r.diagnostics] == ["J009"]
    assert not r.ok


def test_empty_file(tmp_path):
    r = lint_bytes(tmp_path, b"")
    assert [d.code for d in r.diagnostics] == ["J010"]
    r = lint_bytes(tmp_path, b"\n\n", name="blank.jsonl")
    assert {d.code for d in r.diagnostics} == {"J004", "J010"}


def test_mixed_formats(tmp_path):
    sg = json.dumps({"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]})
    r = lint_bytes(tmp_path, (GOOD_LINE.decode() + "\n" + GOOD_LINE.decode().replace("hi", "q") + "\n"
                              + sg + "\n").encode())
    assert codes(r) == [(3, "J012")]


def test_parallel_engine_matches_sequential(tmp_path):
    """Byte-range shards in a process pool give the same diagnostics, with global line numbers."""
    lines = []
    for i in range(60_000):
        if i % 997 == 0:
            lines.append(b'{"messages": [{"role": "user", "content": "x"}')  # broken
        elif i % 1999 == 0:
            lines.append(b"")
        else:
            lines.append(json.dumps({"messages": [{"role": "user", "content": f"q{i}" * 20},
                                                  {"role": "assistant", "content": "a" * 80}]}).encode())
    p = tmp_path / "big.jsonl"
    p.write_bytes(b"\n".join(lines) + b"\n")
    assert p.stat().st_size > 8 << 20
    seq = lint_paths([str(p)], LintOptions(workers=1))
    par = lint_paths([str(p)], LintOptions(workers=2))
    assert codes(seq) == codes(par)
    assert [d.example for d in seq.diagnostics] == [d.example for d in par.diagnostics]
    assert sorted({ln for ln, c in codes(seq) if c == "J005"}) == [i + 1 for i in range(0, 60_000, 997)]
    assert seq.files[0].examples == par.files[0].examples


# --------------------------------------------------------------------------- properties

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=200), max_size=20))
def test_reader_never_raises_on_random_bytes(chunks):
    raw = [c + b"\n" for c in chunks]
    res = lint_lines(raw, KernelConfig(path="x", format="openai", family="chat"))
    for d in res.diagnostics:
        assert 1 <= d.line <= max(1, len(raw))
        assert d.column is None or d.column >= 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["messages", "role", "content", "tool_calls", "weight",
                                       "conversations", "from", "value", "tools", "id", "name"]),
                      children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_values, min_size=1, max_size=8),
       st.sampled_from(["openai", "mistral", "siliconflow", "dashscope-sft", "dashscope-dpo",
                        "openai-preference", "minimax", "minimax-pro", "sharegpt", "alpaca",
                        "dashscope-sft-image"]))
def test_any_json_gets_diagnostics_not_exceptions(values, fmt):
    raw = [json.dumps(v).encode() + b"\n" for v in values]
    res = lint_lines(raw, KernelConfig(path="x", format=fmt, family=None))
    assert res.examples == len(values)
    for d in res.diagnostics:
        assert 1 <= d.line <= len(raw)
        assert d.code != "X001", d.message  # no internal errors on any JSON


def test_api_lint_accepts_records_and_never_raises():
    r = datakit.lint([{"messages": "nope"}, {"x": float("inf")}, GOOD])
    assert not r.ok
    assert all(d.line in (1, 2, 3) for d in r.diagnostics)

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
    d = next(d for d in r.diagnostics if d.code == "J001")
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


# --------------------------------------------------------------------------- every edge case, one file

BAD_ROLE = json.dumps({"messages": [{"role": "bot", "content": "x"},
                                    {"role": "assistant", "content": "y"}]}).encode()
# (bytes of one line without its newline, the code it must get, the bytes at which its
# 1-based column points or None). Every line here is ASCII before that point, so the
# column is the byte offset + 1.
EDGE_LINES = [
    (b'{"messages": [{"role": "user", "content": "caf\xe9"}]}', "J001", b"\xe9"),
    (b'{"messages": [{"role": "user" "content": "x"}]}', "J005", b'"content"'),
    (b'{"messages": [], "x": NaN}', "J006", b"NaN"),
    (b'{"messages": [], "x": -Infinity}', "J006", b"-Infinity"),
    (b'["not", "an", "object"]', "J007", b"["),
    (b"[" * 3000 + b"]" * 3000, "J008", None),
    (b'{"messages": [{"role": "user", "content": "x"}]}\x00', "J014", b"\x00"),
    (b"{", "J005", None),
    (b"   ", "J004", None),
]


def column_of(raw: bytes, marker: bytes | None) -> int | None:
    return None if marker is None else raw.index(marker) + 1


def test_each_edge_case_is_reported_on_its_line_and_the_run_continues(tmp_path):
    """Every broken line gets its own diagnostic at its 1-based line (and column); the line
    after it, with a schema error, is still checked: nothing stops the run."""
    body = [GOOD_LINE]
    expected = []
    for raw, code, marker in EDGE_LINES:
        body.append(raw)
        expected.append((len(body), code, column_of(raw, marker)))
        body.append(BAD_ROLE)
        expected.append((len(body), "S003", None))
    r = lint_bytes(tmp_path, b"\n".join(body) + b"\n", format="openai")
    got = {(d.line, d.code): d for d in r.diagnostics}
    for line, code, col in expected:
        assert (line, code) in got, (line, code, codes(r))
        if col is not None:
            assert got[line, code].column == col, (line, code, got[line, code].column)
    assert all(1 <= d.line <= len(body) for d in r.diagnostics if d.line is not None)
    assert "X001" not in {d.code for d in r.diagnostics}


def test_crlf_bom_and_missing_newline_do_not_hide_later_lines(tmp_path):
    data = (b"\xef\xbb\xbf" + GOOD_LINE + b"\r\n" + BAD_ROLE + b"\r\n\r\n" + BAD_ROLE)
    r = lint_bytes(tmp_path, data)
    got = codes(r)
    assert (1, "J002") in got and (2, "S003") in got and (3, "J004") in got
    assert (4, "S003") in got and (4, "J011") in got
    assert sum(1 for _, c in got if c == "J003") == 1  # once per file, with a count


def test_single_line_json_array_file(tmp_path):
    r = lint_bytes(tmp_path, json.dumps([GOOD, GOOD]).encode() + b"\n")
    assert [d.code for d in r.diagnostics] == ["J009"] and not r.ok


def test_cli_on_a_file_of_every_edge_case_exits_1_without_traceback(tmp_path):
    from conftest import run_cli

    body = [raw for raw, _, _ in EDGE_LINES] + [GOOD_LINE]
    p = tmp_path / "edges.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(body))  # BOM, CRLF, no final newline
    r = run_cli("lint", p, "--output-format", "json", "--format", "openai")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    doc = json.loads(r.stdout)
    by_line = {}
    for d in doc["diagnostics"]:
        by_line.setdefault(d["line"], set()).add(d["code"])
    for i, (_, code, _) in enumerate(EDGE_LINES, start=1):
        assert code in by_line.get(i, set()), (i, code, by_line)
    assert "J002" in by_line[1] and "J011" in by_line[len(body)]
    assert any(d["code"] == "J003" for d in doc["diagnostics"])


# --------------------------------------------------------------------------- properties through the file reader

@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.binary(max_size=80),
                          json_values.map(lambda v: json.dumps(v).encode()),
                          st.sampled_from([b"\xef\xbb\xbf", b"\r", b"", b"NaN", b"[", b"{}"])),
                max_size=12),
       st.sampled_from([b"\n", b"\r\n"]), st.booleans())
def test_file_reader_never_raises_and_lines_are_valid(tmp_path, parts, eol, final_newline):
    """Random bytes and random JSON, written to a real file and read back by the streaming
    reader: no exception, no internal error, every line number inside the file."""
    data = eol.join(parts) + (eol if final_newline and parts else b"")
    r = lint_bytes(tmp_path, data, name="prop.jsonl")
    n_lines = max(1, data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1))
    for d in r.diagnostics:
        assert d.line is None or 1 <= d.line <= n_lines, (d.line, n_lines, d.code)
        assert d.column is None or d.column >= 1
        assert d.code != "X001", d.message

"""JSON-array inputs are streamed (memory holds one element, not the document), their
errors name the element and the line it starts on, and integers beyond 64 bits keep
every digit through a conversion (orjson alone turns them into floats)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import run_cli

ROW = {"instruction": "Translate to French: " + "hello world " * 40, "input": "",
       "output": "bonjour le monde " * 40}


def _convert_rss(src, out) -> tuple[float, int]:
    """Peak RSS (MiB) and exit status of `datakit convert` run as a child process."""
    p = subprocess.Popen([sys.executable, "-m", "datakit", "convert", str(src), "--to",
                          "sharegpt", "-o", str(out), "--force", "--quiet"])
    _, status, usage = os.wait4(p.pid, 0)
    return usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def test_json_array_is_streamed_in_bounded_memory(tmp_path):
    big, tiny = tmp_path / "big.json", tmp_path / "tiny.json"
    n = 25000
    with open(big, "w", encoding="utf-8") as f:  # pretty-printed: elements span lines
        f.write("[\n")
        f.writelines(json.dumps(ROW | {"i": i}, indent=2) + (",\n" if i < n - 1 else "\n") for i in range(n))
        f.write("]\n")
    tiny.write_text(json.dumps([ROW]), encoding="utf-8")
    size_mb = big.stat().st_size / 2**20
    assert size_mb > 25
    base, rc = _convert_rss(tiny, tmp_path / "tiny.jsonl")
    assert rc == 0
    peak, rc = _convert_rss(big, tmp_path / "big.jsonl")
    assert rc == 0
    # loading the document whole costs its size several times over (text + objects)
    assert peak < base + 0.6 * size_mb, (peak, base, size_mb)
    lines = (tmp_path / "big.jsonl").read_bytes().splitlines()
    assert len(lines) == n
    assert [json.loads(ln)["i"] for ln in lines[:3]] == [0, 1, 2]


def test_json_array_gives_what_the_same_examples_as_jsonl_give(tmp_path):
    rows = [ROW | {"i": i, "note": "a [bracket], a \"quote\", a \\ backslash"} for i in range(50)]
    arr, jsonl = tmp_path / "a.json", tmp_path / "a.jsonl"
    arr.write_text("\ufeff" + json.dumps(rows, indent=1, ensure_ascii=False), encoding="utf-8")
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                     encoding="utf-8")
    for src in (arr, jsonl):
        r = run_cli("convert", src, "--to", "openai", "-o", tmp_path / f"{src.name}.out",
                    "--quiet")
        assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.json.out").read_bytes() == (tmp_path / "a.jsonl.out").read_bytes()


@pytest.mark.parametrize("text, message", [
    ('[{"instruction": "a", "output": "b"},\n\n {"instruction": bad}]',
     ":3: element 2 is not valid JSON"),
    ('[{"instruction": "a", "output": "b"}, {"x": NaN}]', ":1: element 2 is not valid JSON"),
    ('[{"instruction": "a", "output": "b"},\n{"instruction": "c"', "the file ends"),
    ('[{"instruction": "a", "output": "b"}] trailing', "text after the closing ']'"),
    ('[{"instruction": "a", "output": "b"} {"instruction": "c"}]',
     "expected ',' or ']' after element 1"),
])
def test_json_array_errors_name_the_element_and_line(tmp_path, text, message):
    src = tmp_path / "bad.json"
    src.write_text(text, encoding="utf-8")
    r = run_cli("convert", src, "--to", "sharegpt", "-o", tmp_path / "out.jsonl")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{src}" in r.stderr and message in r.stderr, r.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_integers_beyond_64_bits_keep_every_digit(tmp_path):
    line = ('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", '
            '"content": "a"}], "id": 123456789012345678901234567890, '
            '"neg": -9223372036854775809, "max": 18446744073709551615, "f": 1.5}')
    src = tmp_path / "big.jsonl"
    src.write_text(line + "\n", encoding="utf-8")
    arr = tmp_path / "big.json"
    arr.write_text("[" + line + "]", encoding="utf-8")
    for source in (src, arr):
        for to in ("mistral", "sharegpt"):
            out = tmp_path / f"{source.name}.{to}.jsonl"
            r = run_cli("convert", source, "--to", to, "-o", out, "--quiet")
            assert r.returncode == 0, r.stderr
            text = out.read_text(encoding="utf-8")
            for digits in ("123456789012345678901234567890", "-9223372036854775809",
                           "18446744073709551615"):
                assert digits in text, (source.name, to, text)
            assert "e+" not in text and "e2" not in text

"""The line formats are written piece by piece; the pieces make exactly the rendered text."""

import json
import subprocess
import sys

import pytest

import datakit
from datakit.render import FORMATS, render, render_iter


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    src = tmp_path_factory.mktemp("r") / "d.jsonl"
    rows = [json.dumps({"messages": [{"role": "user", "content": "q"},
                                     {"role": "assistant", "content": ""}]}),
            "{bad", json.dumps({"messages": [{"role": "bot", "content": "x"}]}), ""]
    src.write_text("\n".join(rows) + "\n")
    return datakit.lint(src, workers=1)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("statistics", [False, True])
@pytest.mark.parametrize("show_fixes", [False, True])
def test_pieces_concatenate_to_the_rendered_text(report, fmt, statistics, show_fixes):
    assert report.diagnostics
    whole = render(report, fmt, statistics=statistics, show_fixes=show_fixes)
    assert "".join(render_iter(report, fmt, statistics=statistics,
                               show_fixes=show_fixes)) == whole


def test_a_large_report_is_written_whole_to_a_file_and_to_stdout(tmp_path):
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                    {"role": "assistant", "content": ""}]})
                           + "\n" for i in range(5000)))
    out = tmp_path / "report.txt"
    cmd = [sys.executable, "-m", "datakit", "lint", str(src), "--workers", "1"]
    r = subprocess.run([*cmd, "--output-file", str(out)], capture_output=True, text=True,
                       check=False, timeout=120)
    s = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    assert r.returncode == s.returncode == 0  # warnings only
    text = out.read_text()
    assert text == s.stdout and text.endswith("warnings in 5000 examples across 1 file.\n")
    assert text.count(" R012 [warning] ") == 5000
    assert text.splitlines()[4999].startswith(f"{src}:5000: R012")

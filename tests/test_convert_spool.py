"""Worker processes spool their output to part files beside the output; the parent
appends them in order. Nothing of the spool may outlive the run, interrupted or not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import run_cli, write_big_sharegpt


def _leftovers(d: Path) -> list[str]:
    return sorted(x.name for x in d.iterdir()
                  if x.name.startswith(".datakit-convert-") or x.name.endswith(".part"))


def test_spooled_output_equals_one_process_and_leaves_nothing(tmp_path):
    src = tmp_path / "in.jsonl"
    write_big_sharegpt(src, 9)
    before = src.read_bytes()
    outs = {}
    for w in ("1", "2"):
        out = tmp_path / f"out{w}.jsonl"
        r = run_cli("convert", src, "--from", "sharegpt", "--to", "mistral", "-o", out,
                    "--on-loss", "drop", "--workers", w, "--quiet")
        assert r.returncode == 0, r.stderr
        outs[w] = out.read_bytes()
    assert outs["1"] == outs["2"] and outs["1"].count(b"\n") == before.count(b"\n")
    assert src.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_interrupt_while_workers_spool_leaves_nothing(tmp_path):
    src = tmp_path / "in.jsonl"
    write_big_sharegpt(src, 60)
    out = tmp_path / "out.jsonl"
    env = dict(os.environ, DATAKIT_WORKERS="2")
    p = subprocess.Popen([sys.executable, "-m", "datakit", "convert", str(src), "--from",
                          "sharegpt", "--to", "mistral", "-o", str(out), "--quiet"],
                         stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 60
    while time.time() < deadline and p.poll() is None and not any(
            x.name.startswith(".datakit-convert-") for x in tmp_path.iterdir()):
        time.sleep(0.005)
    interrupted = p.poll() is None
    if interrupted:
        p.send_signal(signal.SIGINT)
    p.wait(timeout=60)
    err = p.stderr.read().decode()
    assert "Traceback" not in err
    if interrupted and p.returncode != 0:
        assert not out.exists()
    print("interrupted" if interrupted else "finished first", p.returncode)
    assert _leftovers(tmp_path) == []


def test_bad_blank_and_crlf_lines_across_shards_match_one_process(tmp_path):
    src = tmp_path / "in.jsonl"
    write_big_sharegpt(src, 9)
    data = bytearray(src.read_bytes())
    lines = bytes(data).split(b"\n")
    for k, bad in ((5, b'{"conversations": ['), (len(lines) // 2, b""),
                   (len(lines) // 2 + 3, b"\xef\xbb\xbf" + lines[0]),
                   (len(lines) - 40, lines[1] + b"\r")):
        lines[k] = bad
    src.write_bytes(b"\n".join(lines))
    res = {}
    for w in ("1", "2"):
        out, rej = tmp_path / f"o{w}.jsonl", tmp_path / f"r{w}.jsonl"
        r = run_cli("convert", src, "--from", "sharegpt", "--to", "mistral", "-o", out,
                    "--on-loss", "drop", "--rejects", rej, "--workers", w, "--quiet")
        assert r.returncode == 0, r.stderr
        res[w] = (out.read_bytes(), rej.read_bytes(), r.stderr)
    assert res["1"] == res["2"]
    assert b'"line":6' in res["2"][1] and ":6: C020" in res["2"][2]
    assert _leftovers(tmp_path) == []


def test_summary_keeps_a_bounded_number_of_diagnostics_per_code(tmp_path, monkeypatch):
    """A corpus whose every example has the same problem must not hold a diagnostic per
    example in memory: the summary keeps the first KEPT_PER_CODE; counts stay exact."""
    import json

    import datakit
    from datakit.conversion import files

    monkeypatch.setattr(files, "KEPT_PER_CODE", 5)
    src = tmp_path / "in.jsonl"
    row = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    src.write_text("".join(json.dumps(row) + "\n" for _ in range(30)))
    summary = datakit.convert(src, to="openai-preference", output=tmp_path / "out.jsonl",
                              on_loss="drop", rejects=tmp_path / "rejects.jsonl")
    assert summary.rejected == {"C022": 30}
    assert [d.code for d in summary.diagnostics] == ["C022"] * 5
    assert summary.hidden == {"C022": 30 - files.MAX_PRINTED_PER_CODE}
    assert len((tmp_path / "rejects.jsonl").read_text().splitlines()) == 30

"""`-` reads standard input for lint and stats (e.g. `zcat big.jsonl.gz | datakit lint -`);
it is named `-` in every output and error, and nothing is left in the temp directory."""

import gzip
import json
import os
import subprocess
import sys

GOOD = {"messages": [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "hi"}]}
BAD = {"messages": [{"role": "user", "content": "no answer"}]}


def _run(args, data: bytes, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))  # to see that the spool is removed
    return subprocess.run([sys.executable, "-m", "datakit", *args], input=data,
                          capture_output=True, env=env, timeout=120, check=False)


def _jsonl(*rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def test_lint_reads_plain_and_gzip_standard_input(tmp_path):
    data = _jsonl(GOOD, BAD, GOOD)
    for payload in (data, gzip.compress(data)):
        r = _run(["lint", "-", "--output-format", "json"], payload, tmp_path)
        assert r.returncode == 1, r.stderr
        report = json.loads(r.stdout)
        assert [f["path"] for f in report["files"]] == ["-"]
        assert {(d["path"], d["line"], d["code"]) for d in report["diagnostics"]} >= {
            ("-", 2, "R008")}
        assert b"datakit-stdin" not in r.stdout + r.stderr
    assert os.listdir(tmp_path) == []
    # the same findings as the file
    src = tmp_path / "d.jsonl"
    src.write_bytes(data)
    plain = _run(["lint", "-"], data, tmp_path).stdout.decode()
    from_file = _run(["lint", str(src)], b"", tmp_path).stdout.decode()
    assert plain.replace("-:", "X:") == from_file.replace(f"{src}:", "X:")


def test_stats_reads_standard_input(tmp_path):
    r = _run(["stats", "-", "--output-format", "json"], _jsonl(GOOD, GOOD), tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["examples"] == 2 and b"datakit-stdin" not in r.stdout
    assert os.listdir(tmp_path) == []


def test_stdin_errors_name_it_dash(tmp_path):
    r = _run(["lint", "-"], b"\x1f\x8b\x08garbage", tmp_path)
    assert r.returncode == 2 and b"Traceback" not in r.stderr
    assert b"-: " in r.stderr and b"datakit-stdin" not in r.stderr
    r = _run(["lint", "-", "-"], b"", tmp_path)
    assert r.returncode == 2 and b"can be given once" in r.stderr
    r = _run(["lint", "-"], b"", tmp_path)
    assert r.returncode == 1 and b"-: J010" in r.stdout
    assert os.listdir(tmp_path) == []


def test_convert_from_standard_input_to_standard_output(tmp_path):
    data = _jsonl(GOOD, GOOD)
    r = _run(["convert", "-", "--from", "openai", "--to", "sharegpt", "-o", "-"], data, tmp_path)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert rows == [{"conversations": [{"from": "human", "value": "你好"},
                                       {"from": "gpt", "value": "hi"}]}] * 2
    assert b"output: -" in r.stderr and b"datakit-std" not in r.stderr
    # all or nothing, as with a file: a rejected example under --on-loss error writes nothing
    r = _run(["convert", "-", "--from", "openai", "--to", "sharegpt", "-o", "-"],
             _jsonl(GOOD, BAD), tmp_path)
    assert r.returncode == 1 and r.stdout == b""
    assert b"-:2: C028" in r.stderr and b"datakit-std" not in r.stderr
    # a file in, standard output out; standard input into a file
    src = tmp_path / "in.jsonl"
    src.write_bytes(data)
    r = _run(["convert", str(src), "--to", "mistral", "-o", "-", "--quiet"], b"", tmp_path)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2
    out = tmp_path / "out.jsonl"
    r = _run(["convert", "-", "--to", "sharegpt", "-o", str(out), "--quiet"], data, tmp_path)
    assert r.returncode == 0 and len(out.read_bytes().splitlines()) == 2
    src.unlink()
    out.unlink()
    assert os.listdir(tmp_path) == []


def test_standard_output_with_drop_needs_a_rejects_file(tmp_path):
    """The default rejects file sits beside the output; for -o - there is none, so the
    examples left out would be recorded nowhere."""
    data = _jsonl(GOOD, BAD)
    r = _run(["convert", "-", "--from", "openai", "--to", "sharegpt", "-o", "-",
              "--on-loss", "drop"], data, tmp_path)
    assert r.returncode == 2 and r.stdout == b"" and b"--rejects FILE" in r.stderr
    r = _run(["convert", "-", "--to", "sharegpt", "-o", "-", "--rejects", "-"], data, tmp_path)
    assert r.returncode == 2 and b"--rejects needs a file name" in r.stderr
    rejects = tmp_path / "rejects.jsonl"
    r = _run(["convert", "-", "--from", "openai", "--to", "sharegpt", "-o", "-", "--on-loss",
              "drop", "--rejects", str(rejects)], data, tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1 and len(rejects.read_bytes().splitlines()) == 1
    rejects.unlink()
    assert os.listdir(tmp_path) == []

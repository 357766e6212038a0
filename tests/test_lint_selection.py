"""--select/--ignore are applied as diagnostics arrive, so an ignored rule that fires on
every line of a large file is never held in memory; the report is the same."""

import json
import subprocess
import sys

import pytest

import datakit
from datakit.linter import run

EMPTY_ANSWER = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]}
GOOD = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


def _mixed(path):
    rows = []
    for i in range(300):
        kind = i % 5
        if kind == 0:
            rows.append(json.dumps(EMPTY_ANSWER) + "\r\n")  # R012 + J003
        elif kind == 1:
            rows.append('{"messages": [{"role": "bot", "content": "x"}]}\n')  # S003 ...
        elif kind == 2:
            rows.append("{bad json\n")  # J005
        else:
            rows.append(json.dumps({"messages": [{"role": "user", "content": f"q{i % 7}"},
                                                 {"role": "assistant", "content": "a"}]}) + "\n")
    path.write_text("".join(rows))


@pytest.mark.parametrize("select,ignore", [
    ((), ("R012",)), (("J",), ()), (("R", "S"), ("R012",)), ((), ("J003", "D004")),
    (("ALL",), ("J005",)),
])
def test_early_selection_gives_the_same_report(tmp_path, select, ignore, monkeypatch):
    src = tmp_path / "d.jsonl"
    _mixed(src)
    early = datakit.lint(src, select=select, ignore=ignore, workers=1)
    monkeypatch.setattr(run._selection, "set", lambda *a: None)  # filter at the end only
    late = datakit.lint(src, select=select, ignore=ignore, workers=1)
    assert early.to_dict() == late.to_dict()
    assert early.diagnostics  # the cases keep something to compare


@pytest.mark.parametrize("flags", [("--ignore", "R012"), ("--max-per-rule", "10")])
def test_a_rule_on_every_line_is_not_held_when_the_report_cannot_show_it(tmp_path, flags):
    """With --ignore R012 (or --max-per-rule 10), linting lines that each raise R012 peaks
    the same on 400,000 lines as on 100,000: only one read batch of them exists at a time
    (holding them all took ~530 bytes each, ~160 MB more on the larger file)."""
    def write(path, n):
        with open(path, "w") as fh:
            fh.writelines(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                   {"role": "assistant", "content": ""}]})
                          + "\n" for i in range(n))

    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    write(small, 100_000)
    write(large, 400_000)
    script = ("import resource, sys\nfrom datakit.cli import main\n"
              "code = main(sys.argv[1:])\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
              "sys.exit(code)\n")

    def peak_kib(src):
        r = subprocess.run([sys.executable, "-c", script, "lint", str(src), "--workers", "1",
                            *flags, "--output-format", "json",
                            "--output-file", str(tmp_path / "r.json")],
                           capture_output=True, text=True, check=False, timeout=300)
        assert r.returncode in (0, 1), r.stderr
        return int(r.stderr.strip().splitlines()[-1])

    on_small, on_large = peak_kib(small), peak_kib(large)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["files"][0]["examples"] == 400_000
    if flags[0] == "--ignore":
        assert report["summary"]["warnings"] == 0 and report["diagnostics"] == []
    else:  # every one counted, ten shown
        assert report["summary"]["warnings"] == 400_000
        assert len(report["diagnostics"]) == 10 and report["summary"]["hidden"] == 399_990
    # the digests for duplicates (24 bytes a line) are the only growth: ~7 MB here
    assert on_large < on_small + 25_000, (on_small, on_large)  # KiB


def test_threads_linting_at_once_keep_their_own_selection(tmp_path):
    """The early selection is per thread: two lints at once, one ignoring R012 and one
    not, each get the report they asked for."""
    from concurrent.futures import ThreadPoolExecutor

    src = tmp_path / "d.jsonl"
    _mixed(src)
    alone = {ig: datakit.lint(src, ignore=ig, workers=1).to_dict() for ig in ((), ("R012",))}
    with ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda ig: (ig, datakit.lint(src, ignore=ig, workers=1).to_dict()),
                             [(), ("R012",)] * 6))
    for ig, got in runs:
        assert got == alone[ig]


def _late_only(monkeypatch):
    """Make the engine keep everything: select/ignore/--max-per-rule only in the report."""
    real = run._Selection.set
    monkeypatch.setattr(run._Selection, "set", lambda self, s, i, cap=None: real(self, (), ()))


@pytest.mark.parametrize("cap", [0, 1, 2, 7, 40])
@pytest.mark.parametrize("ignore", [(), ("J005",)])
def test_max_per_rule_while_merging_gives_the_same_report(tmp_path, cap, ignore, monkeypatch):
    a, b, val = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "val.jsonl"
    _mixed(a)
    _mixed(b)
    val.write_text("".join(json.dumps(GOOD) + "\n" for _ in range(3)) + "{bad\n")
    args = {"ignore": ignore, "max_per_rule": cap, "workers": 1, "validation": val}
    early = datakit.lint([a, b], **args).to_dict()
    _late_only(monkeypatch)
    late = datakit.lint([a, b], **args).to_dict()
    assert early == late
    assert early["diagnostics"] or cap == 0


def test_max_per_rule_while_merging_with_sharded_workers(tmp_path, monkeypatch):
    src = tmp_path / "big.jsonl"
    with open(src, "w") as fh:  # over PARALLEL_MIN_BYTES: sharded over 2 workers
        fh.writelines((json.dumps(EMPTY_ANSWER) if i % 3 else '{"messages": 1, "pad": "%s"}'
                       % ("x" * 40)) + "\n" for i in range(140_000))
    assert src.stat().st_size > run.PARALLEL_MIN_BYTES
    early = datakit.lint(src, max_per_rule=5, workers=2).to_dict()
    _late_only(monkeypatch)
    late = datakit.lint(src, max_per_rule=5, workers=2).to_dict()
    assert early == late
    assert early["summary"]["hidden"] > 100_000


def test_diagnostics_of_a_rule_that_repeats_share_their_strings(tmp_path):
    """A report may hold millions of diagnostics of one rule: equal messages and pointers
    are one string object (500,000 R012 lines: 334 MB peak, was 436 MB)."""
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                    {"role": "assistant", "content": ""}]})
                           + "\n" for i in range(50)))
    r12 = [d for d in datakit.lint(src, workers=1).diagnostics if d.code == "R012"]
    assert len(r12) == 50
    assert len({id(d.message) for d in r12}) == 1 and len({id(d.pointer) for d in r12}) == 1

"""The tutorial notebook runs top to bottom in a scratch copy, and what it shows is
what the Python API says about the same data.

The notebook is executed once per test module with ``nbclient`` on a kernel that
runs this very interpreter (a kernelspec written into a temporary JUPYTER_PATH,
so nothing is registered globally and no other kernel can shadow it). Network
access is made to fail fast through a dead proxy: the tutorial must work offline.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import datakit

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TUTORIAL = NOTEBOOKS / "tutorial.ipynb"
CORPUS = NOTEBOOKS / "data" / "support_chats.jsonl"
KERNEL = "datakit-tutorial-test"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- helpers

def _write_kernelspec(jupyter_dir: Path) -> None:
    spec = jupyter_dir / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "datakit tutorial test", "language": "python"}))


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.output_type == "stream" and o.get("name") == "stdout")


def _cell_with(nb, needle: str):
    found = [c for c in _code_cells(nb) if needle in c.source]
    assert len(found) == 1, f"expected one code cell containing {needle!r}, found {len(found)}"
    return found[0]


def _mime(cell, mime: str) -> list:
    return [o["data"][mime] for o in cell.get("outputs", [])
            if o.output_type in ("display_data", "execute_result") and mime in o.get("data", {})]


class Run:
    """An executed copy of the tutorial: the notebook, its directory and its counts."""

    def __init__(self, nb, workdir: Path, out: Path, seconds: float):
        self.nb = nb
        self.workdir = workdir
        self.out = out
        self.seconds = seconds
        lines = [ln for c in _code_cells(nb) for ln in _stdout(c).splitlines()
                 if ln.startswith("COUNTS ")]
        assert len(lines) == 1, "the notebook prints its counts once, as `COUNTS {json}`"
        self.counts = json.loads(lines[0][len("COUNTS "):])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    import time

    work = tmp_path_factory.mktemp("tutorial")
    shutil.copytree(NOTEBOOKS / "data", work / "data",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(TUTORIAL, work / "tutorial.ipynb")
    _write_kernelspec(work / "jupyter")
    env = {
        "JUPYTER_PATH": str(work / "jupyter"),
        "HF_HOME": str(work / "hf-home"),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "DATAKIT_TUTORIAL_OUT": "upload",  # relative: inside the notebook's working dir
        # any HTTP(S) request from the notebook fails at once
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "", "no_proxy": "",
    }
    nb = nbformat.read(work / "tutorial.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name=KERNEL,
                                     resources={"metadata": {"path": str(work)}})
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        mp.delenv("DATAKIT_WORKERS", raising=False)
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    nbformat.write(nb, work / "tutorial.executed.ipynb")
    return Run(nb, work, work / "upload", seconds)


# --------------------------------------------------------------------------- in git

def test_committed_notebooks_are_stripped():
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert TUTORIAL in notebooks
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in _code_cells(nb):
            assert cell.outputs == [], f"{path.name}: a code cell has outputs; run strip_outputs.py"
            assert cell.execution_count is None, f"{path.name}: execution counts are not stripped"
        assert "widgets" not in nb.metadata


# --------------------------------------------------------------------------- executed

pytestmark = pytest.mark.slow


def test_runs_offline_and_quickly(run):
    assert run.seconds < 90, f"the tutorial took {run.seconds:.1f} s"
    for cell in _code_cells(run.nb):
        assert not [o for o in cell.outputs if o.output_type == "error"]


def test_lint_counts_match_the_api(run):
    report = datakit.lint(CORPUS)
    c = run.counts
    assert c["examples"] == report.summary["examples"]
    assert c["examples"] == sum(1 for ln in CORPUS.read_bytes().splitlines() if ln.strip())
    assert c["errors_before_fix"] == report.errors > 0
    assert c["warnings_before_fix"] == report.warnings
    # lint_dataset's per-row verdict agrees with the file lint: rows with an error that
    # belongs to the example itself (not the file's bytes, not the dataset as a whole)
    per_row = {d.line for d in report.diagnostics
               if d.severity.value == "error" and d.code[0] not in "JD"}
    assert per_row and c["rows_with_errors"] == len(per_row)


def test_lint_table_shows_rule_codes(run):
    cell = _cell_with(run.nb, "raw_report = datakit.lint(DATA)")
    html = "".join(_mime(cell, "text/html"))
    codes = {d.code for d in datakit.lint(CORPUS).diagnostics}
    assert codes
    for code in codes:
        assert f"<code>{code}</code>" in html, code
    assert "<table" in html


def _plot_pngs(run) -> list[bytes]:
    cell = _cell_with(run.nb, ".plot(")
    pngs = [base64.b64decode(p) for p in _mime(cell, "image/png")]
    assert pngs, "the stats cell drew no image"
    return pngs


def test_stats_cell_draws_the_token_histogram(run):
    import matplotlib.image

    (png,) = _plot_pngs(run)
    assert png.startswith(PNG_MAGIC)
    img = matplotlib.image.imread(__import__("io").BytesIO(png), format="png")
    height, width = img.shape[:2]
    assert width >= 300 and height >= 150
    # the limit line is drawn in its own colour (#C44E52-ish red): some pixels are red
    rgb = img[..., :3]
    red = (rgb[..., 0] > 0.6) & (rgb[..., 1] < 0.45) & (rgb[..., 2] < 0.45)
    assert red.sum() > 50, "no limit line in the histogram"


def test_rendered_html_contains_the_histogram(run, tmp_path):
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(run.nb)
    (tmp_path / "tutorial.html").write_text(body, encoding="utf-8")
    images = re.findall(r'<img\b[^>]*\bsrc="data:image/png;base64,([A-Za-z0-9+/=\s]+)"', body)
    assert images, "no inline PNG in the rendered notebook"
    (png,) = _plot_pngs(run)
    assert png in [base64.b64decode(i) for i in images], "the histogram is not in the HTML"
    for heading in ("Lint the file", "Fix what can be fixed", "Split"):
        assert heading in body


PLAIN_SCRIPT = textwrap.dedent("""
    import json, sys
    import pandas as pd
    import datakit

    corpus, out = sys.argv[1], sys.argv[2]
    result = {}
    result["lint_errors"] = datakit.lint(corpus).errors
    fixed = datakit.fix(corpus, output=out + "/fixed.jsonl")
    result["fix_errors"] = fixed.report.errors
    df = pd.read_json(out + "/fixed.jsonl", lines=True, dtype=False)
    unfixable = {d.line for d in fixed.remaining if d.severity.value == "error"}
    df = df.drop(index=[n - 1 for n in unfixable]).reset_index(drop=True)
    for_mistral = datakit.convert(df, to="mistral")
    result["mistral_errors"] = datakit.lint(for_mistral, format="mistral").errors
    converted = datakit.convert(df, to="dashscope-sft", on_loss="drop")
    st = datakit.stats(converted, target="dashscope:qwen-turbo")
    result["over_limit"] = int(st.to_pandas()["over_limit"].sum())
    st.plot().figure.savefig(out + "/hist.png")
    result["html"] = "<table" in st._repr_html_()
    sp = datakit.split(converted, target="dashscope:qwen-turbo", seed=7)
    result["split"] = [len(sp.train), len(sp.val)]
    result["ipython"] = sorted(m for m in sys.modules if m.split(".")[0] in ("IPython", "ipykernel"))
    print(json.dumps(result))
""")


def _convert_both(clean):
    """Section 5 of the tutorial, with the API: convert to Mistral (every example; tool-call
    ids remapped) and to DashScope SFT (no tools: such examples dropped, with reasons)."""
    for_mistral, mistral = datakit.convert(clean, to="mistral", return_summary=True)
    for_dashscope, dashscope = datakit.convert(clean, to="dashscope-sft", on_loss="drop",
                                               return_summary=True)
    return for_mistral, mistral, for_dashscope, dashscope


def _expected_counts(tmp: Path) -> dict:
    """The tutorial's pipeline, recomputed here with the Python API on the same corpus."""
    import pandas as pd

    raw = datakit.lint(CORPUS)
    fixed = datakit.fix(CORPUS, output=tmp / "fixed.jsonl")
    unfixable = sorted({d.line for d in fixed.remaining if d.severity.value == "error"})
    df = pd.read_json(tmp / "fixed.jsonl", lines=True, dtype=False)
    clean = df.drop(index=[n - 1 for n in unfixable]).reset_index(drop=True)
    for_mistral, mistral, for_dashscope, dashscope = _convert_both(clean)
    over = datakit.stats(for_dashscope, target="dashscope:qwen-turbo").to_pandas()["over_limit"]
    dash_ready = for_dashscope[~over.to_numpy()].reset_index(drop=True)
    counts = {
        "examples": raw.summary["examples"],
        "errors_before_fix": raw.errors,
        "warnings_before_fix": raw.warnings,
        "errors_after_fix": fixed.report.errors,
        "duplicates_removed": fixed.fixed["D004"],
        "dropped_unfixable": len(unfixable),
        "clean_examples": len(clean),
        "errors_in_clean": datakit.lint(clean).errors,
        "over_limit_dashscope": int(over.sum()),
        "mistral_examples": len(for_mistral),
        "mistral_ids_remapped": mistral.changes.get("C050", 0),
        "dashscope_examples": len(for_dashscope),
        "tool_examples_not_for_dashscope": dashscope.rejected_total,
    }
    for name, rows, target in [("mistral", for_mistral, "mistral"),
                               ("dashscope", dash_ready, "dashscope:qwen-turbo")]:
        sp = datakit.split(rows, target=target, seed=7, progress=False)
        counts[f"{name}_train"], counts[f"{name}_validation"] = len(sp.train), len(sp.val)
    return counts


def test_pipeline_counts_match_the_api(run, tmp_path):
    expected = _expected_counts(tmp_path)
    printed = {k: run.counts[k] for k in expected}
    assert printed == expected
    # and the story the numbers tell holds
    c = run.counts
    assert c["errors_after_fix"] < c["errors_before_fix"] and c["errors_in_clean"] == 0
    assert c["clean_examples"] == c["examples"] - c["duplicates_removed"] - c["dropped_unfixable"]
    assert c["over_limit_dashscope"] > 0
    assert c["mistral_final_errors"] == 0 and c["dashscope_final_errors"] == 0
    # convert carried every example to Mistral, remapping ids, and left out of DashScope
    # exactly the examples with tools, each counted
    assert c["mistral_examples"] == c["clean_examples"] and c["mistral_ids_remapped"] > 0
    assert c["tool_examples_not_for_dashscope"] > 0
    assert c["dashscope_examples"] + c["tool_examples_not_for_dashscope"] == c["clean_examples"]


def test_conversion_cells_show_the_summary_and_the_reasons(run):
    mistral_cell = _cell_with(run.nb, 'to="mistral"')
    html = "".join(_mime(mistral_cell, "text/html"))
    assert "<table" in html and "C050" in html  # the summary renders as a table
    dash_cell = _cell_with(run.nb, 'to="dashscope-sft"')
    assert "rejected" in _stdout(dash_cell)
    table = "".join(_mime(dash_cell, "text/html"))
    assert table.count("C001") == run.counts["tool_examples_not_for_dashscope"]


UPLOADS = ["mistral/train.jsonl", "mistral/validation.jsonl",
           "dashscope/train.jsonl", "dashscope/validation.jsonl"]


def _lines(path: Path) -> int:
    return sum(1 for ln in path.read_bytes().splitlines() if ln.strip())


def test_upload_files_are_written_and_lint_clean_with_the_cli(run, cli):
    for rel in UPLOADS:
        assert (run.out / rel).is_file(), rel
    c = run.counts
    for name, target, fmt in [("mistral", "mistral", "mistral"),
                              ("dashscope", "dashscope:qwen-turbo", "dashscope-sft")]:
        train, val = run.out / name / "train.jsonl", run.out / name / "validation.jsonl"
        assert _lines(train) == c[f"{name}_train"] > 0
        assert _lines(val) == c[f"{name}_validation"] > 0
        res = cli("lint", train, "--target", target, "--validation", val,
                  "--output-format", "json")
        assert res.returncode == 0, res.stdout + res.stderr
        doc = json.loads(res.stdout)
        assert doc["summary"]["errors"] == 0
        assert {f["format"] for f in doc["files"]} == {fmt}
        res = cli("lint", val, "--target", target)
        assert res.returncode == 0, res.stdout + res.stderr


def test_same_api_in_a_plain_script_without_ipython(tmp_path):
    """Nothing in lint / fix / stats (plot included) / split needs IPython."""
    script = tmp_path / "pipeline.py"
    script.write_text(PLAIN_SCRIPT, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY")}
    res = subprocess.run([sys.executable, str(script), str(CORPUS), str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path, check=False)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["ipython"] == []
    assert got["lint_errors"] == datakit.lint(CORPUS).errors > 0
    assert got["fix_errors"] < got["lint_errors"] and got["mistral_errors"] == 0
    assert got["over_limit"] > 0 and got["html"] is True
    assert sum(got["split"]) > 0 and min(got["split"]) > 0
    assert (tmp_path / "hist.png").read_bytes().startswith(PNG_MAGIC)

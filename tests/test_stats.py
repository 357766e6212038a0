"""`datakit stats` and `datakit.stats()`: exact counts, true percentiles, billing."""

import json

import numpy as np
import pytest

import datakit
from conftest import run_cli
from datakit.targets import resolve
from datakit.tokenizers import counter_for


def chat(i: int) -> dict:
    return {"messages": [{"role": "system", "content": "你是助手。"},
                         {"role": "user", "content": "question " * i + "问题" * (i % 7)},
                         {"role": "assistant", "content": "answer " * (2 * i), "weight": 1}]}


ROWS = [chat(i) for i in range(1, 61)]


@pytest.fixture()
def train(write_jsonl):
    return write_jsonl("train.jsonl", ROWS)


def reference_counts(rows, spec):
    t = resolve(spec)
    c = counter_for(t.tokenizer, t.model)
    return np.array([c.count(r).total for r in rows]), np.array([c.count(r).trained for r in rows])


def test_percentiles_and_billing_match_an_independent_computation(train):
    s = datakit.stats(train, target="openai:gpt-4o-mini-2024-07-18")
    total, trained = reference_counts(ROWS, "openai:gpt-4o-mini-2024-07-18")
    summ = s.summary()
    assert summ["examples"] == 60 and summ["exact"] is True
    for key, values in (("tokens", total), ("trained_tokens", trained)):
        p5, p50, p95 = np.percentile(values, [5, 50, 95])
        assert summ[key]["p5"] == pytest.approx(p5)
        assert summ[key]["p50"] == pytest.approx(p50)
        assert summ[key]["p95"] == pytest.approx(p95)
        assert summ[key]["min"] == values.min() and summ[key]["max"] == values.max()
    # a true p5 interpolates; the cookbook's mislabelled p10 would differ
    assert summ["tokens"]["p5"] != pytest.approx(np.percentile(total, 10))
    assert summ["billed_tokens"] == total.sum() * 3  # OpenAI's default 3 epochs
    assert list(s.to_pandas()["tokens"]) == list(total)
    assert list(s.to_pandas()["line"]) == list(range(1, 61))


def test_limit_epochs_price_and_over_limit(tmp_path, train):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.datakit.targets."openai:tiny"]\nformat = "openai"\n'
        'tokenizer = "tiktoken:o200k_base"\nmax_tokens = 100\n')
    r = run_cli("stats", train, "--target", "openai:tiny", "--epochs", "2",
                "--price-per-million", "8", "--output-format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    total, _ = reference_counts(ROWS, "openai:gpt-4o-mini-2024-07-18")
    assert doc["limit"] == 100 and doc["epochs"] == 2
    assert doc["over_limit"] == int((total > 100).sum()) > 0
    assert doc["billed_tokens"] == int(np.minimum(total, 100).sum()) * 2
    assert doc["cost"] == pytest.approx(doc["billed_tokens"] / 1e6 * 8)
    assert {e["line"] for e in doc["over_limit_examples"]} == {
        i + 1 for i, t in enumerate(total) if t > 100}


def test_dashscope_reports_what_max_length_drops(write_jsonl):
    rows = [{"messages": [{"role": "user", "content": "字" * n},
                          {"role": "assistant", "content": "好"}]} for n in (10, 3000, 5000)]
    p = write_jsonl("ds.jsonl", rows)
    s = datakit.stats(p, target="dashscope:qwen-turbo")
    total, _ = reference_counts(rows, "dashscope:qwen-turbo")
    assert s.dropped == int((total > 2048).sum()) >= 1
    r = run_cli("stats", p, "--target", "dashscope")
    assert r.returncode == 0 and "max_length would drop" in r.stdout


def test_minimax_figures_are_labelled_estimates(write_jsonl):
    p = write_jsonl("mm.jsonl", [{"prompt": "你是MM智能助理", "role_meta": {"user_name": "用户",
                                  "bot_name": "MM智能助理"},
                                  "messages": [{"sender_type": "USER", "text": "你好"},
                                               {"sender_type": "BOT", "text": "你好！"}]}] * 3)
    r = run_cli("stats", p, "--target", "minimax")
    assert r.returncode == 0, r.stderr
    assert "(estimate)" in r.stdout and "billed tokens (estimate)" in r.stdout
    s = datakit.stats(p, target="minimax")
    assert s.exact is False and "estimate" in repr(s)


def test_in_memory_sources_and_display(train):
    import pandas as pd

    from_path = datakit.stats(train, target="mistral")
    from_df = datakit.stats(pd.DataFrame(ROWS), target="mistral")
    assert list(from_df.to_pandas()["tokens"]) == list(from_path.to_pandas()["tokens"])
    html = from_df._repr_html_()
    assert "open-mistral-nemo" in html and "<table" in html and "p95" in html


def test_plot_draws_the_histogram_and_the_limit(tmp_path, write_jsonl):
    pytest.importorskip("matplotlib")
    rows = [{"messages": [{"role": "user", "content": "x " * n},
                          {"role": "assistant", "content": "y"}]} for n in range(50, 4000, 80)]
    s = datakit.stats(rows, target="siliconflow")
    ax = s.plot()
    assert sum(p.get_height() for p in ax.patches) == len(rows)  # every example in a bar
    limits = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [4096, 4096]]
    assert limits, "the limit line must be drawn"
    ax.figure.savefig(tmp_path / "hist.png")
    assert (tmp_path / "hist.png").stat().st_size > 1000


def test_usage_errors_exit_2(train):
    for args in (["nope.jsonl"], [train, "--target", "acme:x"], [train, "--epochs", "0"]):
        r = run_cli("stats", *args)
        assert r.returncode == 2 and "Traceback" not in r.stderr and "error" in r.stderr


def test_unparseable_lines_are_skipped_and_counted(tmp_path):
    p = tmp_path / "mixed.jsonl"
    p.write_text(json.dumps(ROWS[0]) + "\n{oops\n" + json.dumps(ROWS[1]) + "\n")
    r = run_cli("stats", p, "--output-format", "json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["examples"] == 3 and doc["counted"] == 2
    assert doc["skipped_examples"] == [{"path": str(p), "line": 2, "reason": "invalid JSON"}]

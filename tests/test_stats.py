"""`datakit stats` and `datakit.stats()`: exact counts, true percentiles, billing."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import run_cli

import datakit
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


def test_prices_come_from_config_and_bad_ones_are_usage_errors(tmp_path, train):
    (tmp_path / "pyproject.toml").write_text('[tool.datakit.prices]\nopenai = 2.5\n')
    r = run_cli("stats", train, "--target", "openai", "--output-format", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["price_per_million"] == 2.5 and "[tool.datakit.prices] openai" in doc["price_source"]
    assert doc["cost"] == pytest.approx(doc["billed_tokens"] * 2.5 / 1e6)
    # the command line wins over the config
    r = run_cli("stats", train, "--target", "openai", "--price-per-million", "10",
                "--output-format", "json", cwd=tmp_path)
    assert json.loads(r.stdout)["cost"] == pytest.approx(doc["billed_tokens"] * 10 / 1e6)
    # no price anywhere: no cost, never a built-in one
    r = run_cli("stats", train, "--target", "openai", "--output-format", "json")
    assert json.loads(r.stdout)["cost"] is None
    (tmp_path / "pyproject.toml").write_text('[tool.datakit.prices]\nopenai = "cheap"\n')
    r = run_cli("stats", train, "--target", "openai", cwd=tmp_path)
    assert r.returncode == 2 and "non-negative number" in r.stderr and "Traceback" not in r.stderr


def test_epochs_default_to_the_provider_and_can_be_given(train):
    total, _ = reference_counts(ROWS, "mistral")
    assert datakit.stats(train, target="minimax", format="openai").epochs == 5
    s = datakit.stats(train, target="mistral", epochs=4)
    assert s.billed_tokens == int(total.sum()) * 4 and s.summary()["epochs_source"] == "--epochs"
    r = run_cli("stats", train, "--target", "mistral")
    assert "× 1 epoch(s), mistral default" in r.stdout


def test_datasets_and_several_files(train, write_jsonl):
    from datasets import Dataset

    from_ds = datakit.stats(Dataset.from_list(ROWS), target="siliconflow")
    from_path = datakit.stats(train, target="siliconflow")
    assert list(from_ds.to_pandas()["tokens"]) == list(from_path.to_pandas()["tokens"])
    other = write_jsonl("more.jsonl", ROWS[:7])
    both = datakit.stats([train, other], target="siliconflow")
    df = both.to_pandas()
    assert both.examples == 67 and list(df["path"].unique()) == [str(train), str(other)]
    assert list(df["tokens"][60:]) == list(from_path.to_pandas()["tokens"][:7])


def test_both_cores_count_the_same_as_one(monkeypatch, write_jsonl):
    import datakit.tokenstats as ts

    rows = [chat(i) for i in range(1, 400)]
    p = write_jsonl("big.jsonl", rows)
    one = datakit.stats(p, target="openai", workers=1).to_pandas()
    monkeypatch.setattr(ts, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(ts, "SHARD_BYTES", 20_000)
    two = datakit.stats(p, target="openai", workers=2).to_pandas()
    assert one.equals(two) and len(two) == 399 and list(two["line"]) == list(range(1, 400))


def test_plot_without_matplotlib_names_the_install(train):
    code = ("import sys; sys.modules['matplotlib'] = None\nimport datakit\n"
            f"s = datakit.stats({str(train)!r}, target='openai')\n"
            "try:\n    s.plot()\nexcept ImportError as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert "pip install 'datakit[plot]'" in r.stdout


def test_text_output_labels_every_figure(train):
    r = run_cli("stats", train, "--target", "openai:gpt-4o-mini-2024-07-18", "--price-per-million", "3")
    assert r.returncode == 0, r.stderr
    for label in ("p5", "p50", "p95", "messages", "trained", "65,536-token limit",
                  "billed tokens", "cost", "o200k_base"):
        assert label in r.stdout
    assert "estimate" not in r.stdout.replace("estimated cost", "")


def test_missing_tokenizer_is_a_usage_error_naming_the_install(train, tmp_path):
    stub = tmp_path / "stub" / "bpe_openai"  # a bpe_openai without its vocabulary files
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("")
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    r = run_cli("stats", train, "--target", "openai",
                env={"PYTHONPATH": str(stub.parent), "TIKTOKEN_CACHE_DIR": str(cache)})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "pip install bpe-openai" in r.stderr

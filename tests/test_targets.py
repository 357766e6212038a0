"""The target table, provider-only targets, config overrides and `datakit targets`."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli

from datakit import targets
from datakit.tokenizers import MISTRAL_MODELS, TOKENIZER_IDS, counter_for

MB = 1_000_000


@pytest.fixture(autouse=True)
def _clean_table():
    targets.configure(None)
    yield
    targets.configure(None)


def test_every_target_is_complete_and_its_tokenizer_loads():
    table = targets.table()
    assert {t.provider for t in table.values()} == {"openai", "mistral", "siliconflow",
                                                     "dashscope", "minimax"}
    for t in table.values():
        assert t.formats and t.tokenizer in TOKENIZER_IDS, t.id
        assert t.overflow in ("truncate", "drop", "reject"), t.id
        assert t.max_tokens and t.max_tokens > 0, t.id
        assert t.default_epochs and t.default_epochs >= 1, t.id
        if t.provider == "mistral":
            assert t.model in MISTRAL_MODELS, t.id
        counter = counter_for(t.tokenizer, t.model)
        assert counter.count({"messages": [{"role": "user", "content": "hi"},
                                           {"role": "assistant", "content": "hello"}]}).total > 2


@pytest.mark.parametrize("model,limit,encoding", [
    ("gpt-4o-mini-2024-07-18", 65536, "o200k_base"),
    ("gpt-4o-2024-08-06", 65536, "o200k_base"),
    ("gpt-4.1-nano-2025-04-14", 32768, "o200k_base"),
    ("gpt-3.5-turbo-0125", 16385, "cl100k_base"),
    ("gpt-3.5-turbo-1106", 16385, "cl100k_base"),
    ("gpt-3.5-turbo-0613", 4096, "cl100k_base"),
])
def test_openai_limits_and_tokenizers_follow_the_spec(model, limit, encoding):
    t = targets.resolve(f"openai:{model}")
    assert (t.max_tokens, t.tokenizer, t.overflow) == (limit, f"tiktoken:{encoding}", "truncate")
    assert t.min_examples == 10 and t.file_max_bytes == 1 << 30


def test_provider_limits_follow_the_spec():
    ds = targets.resolve("dashscope:qwen-turbo")
    assert (ds.max_tokens, ds.overflow, ds.file_max_bytes, ds.val_max_examples) == \
        (2048, "drop", 300 * MB, 1000)
    mi = targets.resolve("mistral:open-mistral-nemo")
    assert (mi.file_max_bytes, mi.val_max_bytes, mi.val_max_ratio_of_train_bytes) == \
        (512 * MB, 1 * MB, 0.05)
    sf = targets.resolve("siliconflow:Qwen/Qwen2.5-72B-Instruct")
    assert (sf.max_tokens, sf.tokenizer, sf.formats) == (4096, "qwen", ("siliconflow",))
    mm = targets.resolve("minimax:abab5.5-chat-1019")
    assert (mm.max_tokens, mm.min_examples, mm.requires_validation, mm.tokenizer) == \
        (16384, 10, True, "minimax-estimate")


@pytest.mark.parametrize("provider", sorted(targets.DEFAULT_MODEL))
def test_a_provider_alone_means_its_default_model(provider):
    t = targets.resolve(provider)
    assert t.provider == provider and t.model == targets.DEFAULT_MODEL[provider]


def test_unknown_targets_list_what_exists():
    with pytest.raises(targets.UnknownTarget, match="models for openai: .*gpt-4o-mini"):
        targets.resolve("openai:gpt-5-imaginary")
    with pytest.raises(targets.UnknownTarget, match="providers: dashscope, minimax, mistral"):
        targets.resolve("acme")


def test_config_overrides_and_adds_targets(tmp_path):
    from datakit import config

    (tmp_path / "pyproject.toml").write_text(
        '[tool.datakit.targets."dashscope:qwen-turbo"]\nmax_tokens = 8192\n\n'
        '[tool.datakit.targets."openai:ft-company-model"]\nmax-tokens = 1000\n\n'
        '[tool.datakit.targets."acme:chat-1"]\nformat = "openai"\n'
        'tokenizer = "tiktoken:o200k_base"\nmax_tokens = 32000\noverflow = "reject"\n')
    targets.configure(config.load(tmp_path / "pyproject.toml").targets)
    assert targets.resolve("dashscope").max_tokens == 8192  # overridden, rest kept
    assert targets.resolve("dashscope").overflow == "drop"
    ft = targets.resolve("openai:ft-company-model")  # new model of a known provider
    assert (ft.max_tokens, ft.tokenizer, ft.provider) == (1000, "tiktoken:o200k_base", "openai")
    acme = targets.resolve("acme")  # a new provider: its only target is its default
    assert (acme.formats, acme.max_tokens) == (("openai",), 32000)


def test_bad_config_targets_are_clear_errors(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.datakit.targets."acme:x"]\nmax_tokens = 10\n')
    r = run_cli("targets", cwd=tmp_path)
    assert r.returncode == 2 and "needs: formats, overflow, tokenizer" in r.stderr
    (tmp_path / "pyproject.toml").write_text(
        '[tool.datakit.targets."openai:gpt-4o-mini-2024-07-18"]\nmax_tokenz = 10\n')
    r = run_cli("targets", cwd=tmp_path)
    assert r.returncode == 2 and "unknown keys: max_tokenz" in r.stderr
    assert "Traceback" not in r.stderr


def test_datakit_targets_lists_the_table(tmp_path):
    r = run_cli("targets", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for t in targets.table().values():
        assert t.id in r.stdout
    assert "openai:gpt-4o-mini-2024-07-18 (default)" in r.stdout
    row = next(ln for ln in r.stdout.splitlines() if ln.startswith("dashscope:qwen-turbo"))
    assert "2,048" in row and "drop" in row
    doc = json.loads(run_cli("targets", "--output-format", "json", cwd=tmp_path).stdout)
    assert len(doc) == len(targets.table())
    assert {"provider", "model", "max_tokens", "tokenizer", "overflow", "file_max_bytes"} <= set(doc[0])


def test_datakit_targets_shows_config_overrides(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.datakit.targets."dashscope:qwen-turbo"]\nmax_tokens = 8192\n')
    r = run_cli("targets", "--output-format", "json", cwd=tmp_path)
    doc = {t["provider"] + ":" + t["model"]: t for t in json.loads(r.stdout)}
    assert doc["dashscope:qwen-turbo"]["max_tokens"] == 8192


def test_lint_accepts_a_provider_only_target_and_rejects_unknown_ones(write_jsonl):
    rows = [{"messages": [{"role": "user", "content": f"q{i}"},
                          {"role": "assistant", "content": f"a{i}"}]} for i in range(12)]
    path = write_jsonl("train.jsonl", rows)
    ok = run_cli("lint", path, "--target", "mistral")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = run_cli("lint", path, "--target", "mistral:not-a-model")
    assert bad.returncode == 2 and "models for mistral" in bad.stderr
    assert "Traceback" not in bad.stderr

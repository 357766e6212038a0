"""`datakit split` / `check-split`: a deterministic, leakage-free partition within caps."""

import hashlib
import json
import random
import re

import pytest
from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datakit
from datakit.splitting import group_key, split


def example(system: str, user: str, answer: str, **extra) -> dict:
    msgs = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return {"messages": msgs, **extra}


def line(obj) -> bytes:
    return (json.dumps(obj, ensure_ascii=False) + "\n").encode()


def corpus(n: int, seed: int = 1) -> list[bytes]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        q = rnd.randrange(n // 2 + 1)  # repeated first turns: groups of several examples
        out.append(line(example(f"sys {q % 4}", f"问题 {q}", "答" * rnd.randint(1, 300),
                                meta={"task": ["qa", "code", "chat"][q % 3], "id": i})))
    return out


def read_lines(p) -> list[bytes]:
    return p.read_bytes().splitlines(keepends=True)


def keys(lines) -> set[str]:
    return {group_key(json.loads(b), b)[0] for b in lines}


def do_split(tmp_path, lines, name="in.jsonl", **kw):
    src = tmp_path / name
    src.write_bytes(b"".join(lines))
    t, v = tmp_path / f"{name}.train", tmp_path / f"{name}.val"
    res = split(src, t, v, force=True, **kw)
    return res, read_lines(t), read_lines(v)


lines_strategy = st.lists(
    st.builds(lambda s, u, a: line(example(s, u, a)),
              st.sampled_from(["", "sys A", "Sys  a", "系统"]),
              st.text(min_size=1, max_size=8), st.text(max_size=30)),
    min_size=1, max_size=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=lines_strategy, ratio=st.floats(0, 0.9), seed=st.integers(0, 5), data=st.data())
def test_partition_stable_under_shuffle_and_append_and_no_shared_group(tmp_path, lines, ratio,
                                                                       seed, data):
    res, train, val = do_split(tmp_path, lines, val_ratio=ratio, seed=seed)
    # a partition: every line exactly once, byte for byte
    assert sorted(train + val) == sorted(lines)
    assert res.train_examples == len(train) and res.val_examples == len(val)
    # no group key on both sides (exact duplicates included)
    assert not keys(train) & keys(val)
    # shuffling the input changes no assignment
    shuffled = data.draw(st.permutations(lines))
    _, t2, v2 = do_split(tmp_path, shuffled, name="shuffled.jsonl", val_ratio=ratio, seed=seed)
    assert sorted(t2) == sorted(train) and sorted(v2) == sorted(val)
    # appending never moves an old example
    extra = data.draw(lines_strategy)
    _, t3, v3 = do_split(tmp_path, lines + extra, name="appended.jsonl", val_ratio=ratio,
                         seed=seed)
    for ln in lines:
        assert (ln in t3) == (ln in train) and (ln in v3) == (ln in val)


def test_near_copies_and_duplicates_stay_together(tmp_path):
    base = [line(example("You are  Helpful", "How do I reset?", f"answer {i}")) for i in range(5)]
    variants = [line(example("you are helpful", "how do i  RESET?", "other"))]  # normalised
    others = corpus(200)
    _res, train, val = do_split(tmp_path, base + variants + base[:2] + others, val_ratio=0.5)
    group = set(base + variants)
    assert group <= set(train) or group <= set(val)


@pytest.mark.parametrize("spec,check", [
    ("mistral", lambda r: r.val_bytes <= min(1_000_000, 0.05 * r.train_bytes)),
    ("dashscope", lambda r: r.val_examples <= 1000),
    ("minimax", lambda r: r.val_examples >= 10 and r.train_examples >= 10),
])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ratio=st.floats(0, 0.6), n=st.integers(25, 400))
def test_target_caps_hold(tmp_path, spec, check, ratio, n):
    res, _train, val = do_split(tmp_path, corpus(n, seed=n), target=spec, val_ratio=ratio)
    assert res.ok and check(res), str(res)
    assert sum(map(len, val)) == res.val_bytes and len(val) == res.val_examples
    assert res.caps and all(c.ok for c in res.caps)


def test_dashscope_cap_on_a_big_set_moves_whole_groups(tmp_path):
    res, train, val = do_split(tmp_path, corpus(6000), target="dashscope")  # 20 % default
    assert res.val_examples <= 1000 and res.moved_by_caps > 0
    assert not keys(train) & keys(val)


def test_defaults_follow_the_target(tmp_path):
    res, _, _ = do_split(tmp_path, corpus(2000), target="siliconflow")
    assert 0.07 < res.val_examples / res.examples < 0.13  # 10 % by default


def test_stratify_keeps_proportions(tmp_path):
    res, train, val = do_split(tmp_path, corpus(900), val_ratio=0.2, stratify_by="meta.task")
    for task, (t, v) in res.strata.items():
        assert abs(v / (t + v) - 0.2) < 0.05, (task, t, v)
    assert not keys(train) & keys(val)


def test_val_count_and_group_by(tmp_path):
    res, _, val = do_split(tmp_path, corpus(300), val_count=30)
    assert abs(len(val) - 30) <= 3  # whole groups: within one group of the count
    res, _train, val = do_split(tmp_path, corpus(300), val_ratio=0.3, group_by="meta.id")
    assert res.groups == 300 and not res.findings
    res2, _, val2 = do_split(tmp_path, corpus(300), val_ratio=0.3, group_by="/meta/id")
    assert res2.groups == 300 and sorted(val2) == sorted(val)  # a JSON pointer works too
    res, _, _ = do_split(tmp_path, corpus(50), group_by="meta.nope")
    assert [d.code for d in res.findings] == ["D103"]


def test_minimax_too_small_is_reported(tmp_path):
    res, _, _ = do_split(tmp_path, corpus(12), target="minimax")
    assert not res.ok and "D102" in [d.code for d in res.findings]


def test_cli_copies_bytes_and_never_touches_input(tmp_path):
    src = tmp_path / "in.jsonl"
    raw = b"".join(corpus(100)).replace(b"\n", b"\r\n", 3) + b"\n" + line(example("", "x", "y"))[:-1]
    src.write_bytes(raw)
    before = hashlib.sha256(raw).hexdigest()
    r = run_cli("split", src, "-o", tmp_path / "t.jsonl", tmp_path / "v.jsonl",
                "--output-format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    got = read_lines(tmp_path / "t.jsonl") + read_lines(tmp_path / "v.jsonl")
    want = [ln for ln in raw.splitlines(keepends=True) if ln.strip()]
    assert sorted(got) == sorted(want)  # CRLF lines and the unterminated last line intact
    assert doc["blank_lines"] == 1 and doc["examples"] == 101
    # existing outputs are not overwritten without --force
    r = run_cli("split", src, "-o", tmp_path / "t.jsonl", tmp_path / "v.jsonl")
    assert r.returncode == 2 and "--force" in r.stderr
    r = run_cli("split", src, "-o", tmp_path / "t.jsonl", tmp_path / "v.jsonl", "--force",
                "--val-ratio", "1.5")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_check_split_reports_leaks_on_the_validation_line(tmp_path, write_jsonl):
    a, b = example("s", "shared question", "one"), example("s", "shared question", "two")
    train = write_jsonl("train.jsonl", [example("s", "q1", "x"), a])
    val = write_jsonl("val.jsonl", [example("s", "q2", "y"), b, a])
    r = run_cli("check-split", train, val, "--output-format", "json")
    assert r.returncode == 1
    leaks = json.loads(r.stdout)["leaks"]
    assert [(d["line"], d["code"]) for d in leaks] == [(2, "D101"), (3, "D101")]
    assert "line 2" in leaks[0]["message"] and "exact copy" in leaks[1]["message"]
    clean = write_jsonl("val2.jsonl", [example("s", "q3", "z")])
    assert run_cli("check-split", train, clean).returncode == 0


def test_dataframe_and_dataset_sources():
    import pandas as pd

    rows = [json.loads(b) for b in corpus(200)]
    df = pd.DataFrame(rows)
    res = datakit.split(df, val_ratio=0.25)
    assert isinstance(res.train, pd.DataFrame) and len(res.train) + len(res.val) == 200
    assert set(res.train["meta"].map(lambda m: m["id"])).isdisjoint(
        res.val["meta"].map(lambda m: m["id"]))
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_list(rows)
    res2 = datakit.split(ds, val_ratio=0.25)
    assert isinstance(res2.val, datasets.Dataset)
    assert sorted(r["meta"]["id"] for r in res2.val) == sorted(res.val["meta"].map(lambda m: m["id"]))
    assert "<table" in res2._repr_html_()


def test_lint_with_validation_reports_group_leakage(write_jsonl):
    train = write_jsonl("t.jsonl", [example("s", "shared", "one"), example("s", "q", "x")])
    val = write_jsonl("v.jsonl", [example("s", "shared", "two"), example("s", "q", "x")])
    r = run_cli("lint", train, "--validation", val, "--output-format", "json")
    codes = [(d["path"].endswith("v.jsonl"), d["line"], d["code"])
             for d in json.loads(r.stdout)["diagnostics"] if d["code"] in ("D006", "D101")]
    assert sorted(codes) == [(True, 1, "D101"), (True, 2, "D006")]


@pytest.mark.parametrize("a,b", [
    ({"conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "Q?"},
                        {"from": "gpt", "value": "one"}]},
     {"conversations": [{"from": "system", "value": "s"}, {"from": "human", "value": " q? "},
                        {"from": "gpt", "value": "two"}, {"from": "human", "value": "more"}]}),
    ({"instruction": "Translate", "input": "猫", "output": "cat", "system": "S"},
     {"instruction": "translate", "input": "猫", "output": "a cat", "system": "S"}),
    ({"prompt": "你是助手", "role_meta": {"bot_name": "B", "user_name": "U"},
      "messages": [{"sender_type": "USER", "text": "Q"}, {"sender_type": "BOT", "text": "1"}]},
     {"prompt": "你是助手", "role_meta": {"bot_name": "B", "user_name": "U"},
      "messages": [{"sender_type": "USER", "text": "q"}, {"sender_type": "BOT", "text": "2"}]}),
    ({"bot_setting": [{"bot_name": "B", "content": "P"}],
      "messages": [{"sender_type": "USER", "sender_name": "u", "text": "Q"},
                   {"sender_type": "BOT", "sender_name": "B", "text": "1"}]},
     {"bot_setting": [{"bot_name": "B", "content": "P"}],
      "messages": [{"sender_type": "USER", "sender_name": "u", "text": "Q"},
                   {"sender_type": "BOT", "sender_name": "B", "text": "2"}]}),
    ({"messages": [{"role": "user", "content": "Q"}], "chosen": {"role": "assistant", "content": "1"},
      "rejected": {"role": "assistant", "content": "2"}},
     {"messages": [{"role": "user", "content": "Q"}], "chosen": {"role": "assistant", "content": "3"},
      "rejected": {"role": "assistant", "content": "4"}}),
    ({"input": {"messages": [{"role": "user", "content": "Q"}]},
      "preferred_output": [{"role": "assistant", "content": "1"}],
      "non_preferred_output": [{"role": "assistant", "content": "2"}]},
     {"input": {"messages": [{"role": "user", "content": [{"type": "text", "text": "Q"}]}]},
      "preferred_output": [{"role": "assistant", "content": "3"}],
      "non_preferred_output": [{"role": "assistant", "content": "4"}]}),
    ({"prompt": "Q ->", "completion": " 1"}, {"prompt": "q  ->", "completion": " 2"}),
])
def test_default_key_groups_near_copies_in_every_format(a, b):
    ka, kb = group_key(a, line(a))[0], group_key(b, line(b))[0]
    assert ka == kb and ka.startswith("d:")  # recognised, not the whole-line fallback
    # change the first user turn only: another group
    other = json.loads(re.sub(r'"\s*[Qq]', '"other q', json.dumps(b, ensure_ascii=False))
                       .replace('"猫"', '"狗"'))
    assert group_key(other, line(other))[0] != ka


def test_small_inputs_and_compressed_input(tmp_path):
    import gzip

    raw = b"".join(corpus(40))
    gz = tmp_path / "c.jsonl.gz"
    gz.write_bytes(gzip.compress(raw))
    res = split(gz, tmp_path / "t", tmp_path / "v", val_ratio=0.3)
    got = read_lines(tmp_path / "t") + read_lines(tmp_path / "v")
    assert sorted(got) == sorted(lines_of := raw.splitlines(keepends=True)) and len(lines_of) == 40
    assert res.val_examples == len(read_lines(tmp_path / "v")) > 0
    # an empty input gives two empty files; a tiny one an empty validation set, with a warning
    (tmp_path / "e.jsonl").write_bytes(b"")
    res = split(tmp_path / "e.jsonl", tmp_path / "et", tmp_path / "ev")
    assert res.examples == 0 and (tmp_path / "et").read_bytes() == b"" == (tmp_path / "ev").read_bytes()
    res, _train, val = do_split(tmp_path, corpus(3, seed=7), name="tiny.jsonl", val_ratio=0.01)
    assert res.ok and not val and [(d.code, d.severity.value) for d in res.findings] == [
        ("D102", "warning")]


def test_cli_sizes_groups_and_strata(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(corpus(600)))
    t, v = tmp_path / "t.jsonl", tmp_path / "v.jsonl"
    r = run_cli("split", src, "-o", t, v, "--val-bytes", "20kB", "--output-format", "json")
    assert r.returncode == 0 and r.stderr == ""  # no progress bar when stderr is not a terminal
    doc = json.loads(r.stdout)
    assert 0 < doc["val_bytes"] <= 20_000
    assert v.stat().st_size == doc["val_bytes"]
    r = run_cli("split", src, "-o", t, v, "--force", "--val-ratio", "0.25", "--stratify-by",
                "meta.task", "--group-by", "meta.id", "--seed", "7", "--output-format", "json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["groups"] == 600
    for task, counts in doc["strata"].items():
        share = counts["validation"] / (counts["train"] + counts["validation"])
        assert abs(share - 0.25) < 0.01, (task, counts)
    res = split(src, t, v, force=True, target="siliconflow")
    assert "siliconflow validation share" in str(res) and res.caps[0].ok
    res = split(src, t, v, force=True, target="dashscope", val_count=50)
    assert "dashscope validation examples" in str(res) and 0 < res.val_examples <= 50
    r = run_cli("split", src, "-o", t, v, "--force", "--val-ratio", "0.2", "--val-count", "3")
    assert r.returncode == 2 and "not allowed with" in r.stderr


def test_parallel_pass_one_gives_the_same_split(tmp_path, monkeypatch):
    from datakit import splitting

    lines = corpus(400, seed=3)
    lines[0] = b"\xef\xbb\xbf" + lines[0]  # a BOM, a blank line, a bad line, no final newline
    lines[5] = b"\n"
    lines[9] = b"{not json\n"
    lines[-1] = lines[-1].rstrip(b"\n")
    one = do_split(tmp_path, lines, name="one.jsonl", val_ratio=0.2, stratify_by="meta.task")
    monkeypatch.setattr(splitting, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(splitting, "SHARD_BYTES", 2000)
    monkeypatch.setenv("DATAKIT_WORKERS", "2")
    two = do_split(tmp_path, lines, name="two.jsonl", val_ratio=0.2, stratify_by="meta.task")
    assert one[1] == two[1] and one[2] == two[2]
    def report(res):
        d = res.to_dict()
        d["findings"] = [(f["code"], f["message"]) for f in d["findings"]]
        return d | {"source": "", "train": "", "validation": ""}

    assert report(one[0]) == report(two[0]) and one[0].invalid_lines == 1


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ratio=st.floats(0.01, 0.6), n=st.integers(30, 3000), spec=st.sampled_from(["mistral", "dashscope"]))
def test_caps_only_take_from_what_the_ratio_gives(tmp_path_factory, ratio, n, spec):
    tmp = tmp_path_factory.mktemp("caps")
    lines = corpus(n, seed=n)
    res, _, capped = do_split(tmp, lines, target=spec, val_ratio=ratio)
    _, _, free = do_split(tmp, lines, name="free.jsonl", val_ratio=ratio)
    assert set(capped) <= set(free)  # caps move groups out of validation, never in
    assert res.moved_by_caps == len(free) - len(capped)


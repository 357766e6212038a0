"""`datakit lint TRAIN --validation VAL`: training-set rules stay on the training side."""

import json

from conftest import run_cli


def chat(i: int) -> dict:
    return {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]}


def test_minimum_examples_is_not_applied_to_the_validation_file(write_jsonl):
    train = write_jsonl("t.jsonl", [chat(i) for i in range(12)])
    val = write_jsonl("v.jsonl", [chat(100)])
    r = run_cli("lint", train, "--validation", val, "--target", "openai", "--output-format", "json")
    assert "D003" not in [d["code"] for d in json.loads(r.stdout)["diagnostics"]]
    r = run_cli("lint", val, "--target", "openai", "--output-format", "json")
    assert "D003" in [d["code"] for d in json.loads(r.stdout)["diagnostics"]]  # linted as training

"""Malformed examples get a diagnostic, never an exception.

Every seed and corpus example, with one value somewhere inside replaced by a
value of another JSON type, is converted from its own format (and from
``auto``) into every target. Each run must end in an Outcome: written, or
rejected with codes. (A list where a role name belongs once crashed the
readers: ``unhashable type: 'list'``.)
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import orjson
import pytest

from datakit.conversion import mapping as M
from datakit.conversion.engine import Settings, convert_lines, convert_object

ROOT = Path(__file__).resolve().parent / "fixtures"


def _examples() -> list[tuple[str, dict]]:
    out = []
    for p in sorted((ROOT / "seeds").glob("*.jsonl")):
        out += [(p.stem, orjson.loads(x)) for x in p.read_bytes().splitlines() if x.strip()]
    out += [("sharegpt", orjson.loads(x))
            for x in (ROOT / "corpora" / "sharegpt.jsonl").read_bytes().splitlines() if x.strip()]
    out += [("alpaca", o) for o in json.loads((ROOT / "corpora" / "alpaca.json").read_text("utf-8"))]
    return out


EXAMPLES = _examples()
ODD_VALUES = [None, 0, 1.5, True, "", "x", [], ["user"], {}, {"a": [1]}, [[1]],
              "{\"name\": [1]}", "[1, 2]"]


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


def _replace(obj, path, value):
    if not path:
        return value
    obj = copy.deepcopy(obj)
    cur = obj
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return obj


def _mutations(obj):
    """Every value of ``obj`` (each path, the whole example included) replaced by each
    odd value in turn: the whole space, not a sample of it."""
    for path in _paths(obj):
        for value in ODD_VALUES:
            yield path, _replace(obj, path, value)


@pytest.mark.parametrize("index", range(len(EXAMPLES)),
                         ids=[f"{fmt}-{i}" for i, (fmt, _) in enumerate(EXAMPLES)])
def test_mutated_examples_never_raise(index):
    """Exhaustive (about 150,000 conversions in all, ~15 s): a fuzz test that samples this
    space found a crash only on some runs, which made CI flaky."""
    fmt, obj = EXAMPLES[index]
    for path, mutated in _mutations(obj):
        line = orjson.dumps(mutated) + b"\n"
        for src in (fmt, "auto"):
            for target in M.FORMAT_IDS:
                out = convert_object(copy.deepcopy(mutated), Settings(target, src, "drop"))
                assert out.status in ("written", "rejected"), (path, src, target)
                if out.status == "rejected":
                    assert out.codes
            for target in ("mistral", "openai", "siliconflow", "dashscope-sft"):
                res = convert_lines([line], Settings(target, src, "drop"))
                assert res.tally.read == 1, (path, src, target)
                assert res.tally.written + res.tally.rejected_examples == 1, (path, src, target)

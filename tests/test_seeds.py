"""Every example in the seed documents validates under its own format and fails,
with the right rule code, under a format it does not belong to."""

import json
import re
from pathlib import Path

import pytest

from datakit.formats import FORMATS, detect_family
from datakit.linter.kernel import KernelConfig, lint_lines

SEEDS = Path(__file__).parent / "fixtures" / "seeds"
CASES = [(p.stem, i, line) for p in sorted(SEEDS.glob("*.jsonl"))
         for i, line in enumerate(p.read_bytes().splitlines(keepends=True))]


# The DashScope image seed names its images with placeholders ("<图像文件名1>");
# give them real file names so M004 (file type) judges a line a user could write.
PLACEHOLDER = re.compile(br'"<[^"<>]*>"')


def realistic(line: bytes) -> bytes:
    return PLACEHOLDER.sub(b'"image.png"', line)


def lint_one(line: bytes, fmt: str):
    return lint_lines([line], KernelConfig(path="seed", format=fmt, family=None)).diagnostics


def test_every_format_has_seed_examples():
    assert {p.stem for p in SEEDS.glob("*.jsonl")} == set(FORMATS)


@pytest.mark.parametrize("fmt,index,line", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_seed_example_is_clean_under_its_own_format(fmt, index, line):
    diags = lint_one(realistic(line) if fmt == "dashscope-sft-image" else line, fmt)
    assert [d for d in diags if d.severity.value == "error"] == [], [d.message for d in diags]


# A wrong format and the code family that must catch it (S: shape; R: roles).
WRONG = {
    "openai": ("minimax", "S"),
    "openai-preference": ("openai", "S"),
    "mistral": ("sharegpt", "S"),
    "siliconflow": ("alpaca", "S"),
    "dashscope-sft": ("minimax-pro", "S"),
    "dashscope-sft-image": ("dashscope-sft", "S"),
    "dashscope-dpo": ("siliconflow", "R"),
    "minimax": ("openai", "S"),
    "minimax-pro": ("minimax", "S"),
    "sharegpt": ("openai", "S"),
    "alpaca": ("sharegpt", "S"),
}


@pytest.mark.parametrize("fmt,index,line", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_seed_example_fails_under_a_wrong_format(fmt, index, line):
    wrong, family = WRONG[fmt]
    codes = {d.code for d in lint_one(line, wrong) if d.severity.value == "error"}
    assert any(c.startswith(family) for c in codes), (wrong, codes)


@pytest.mark.parametrize("fmt,index,line", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_seed_example_is_detected(fmt, index, line):
    fam = detect_family(json.loads(line))
    assert fam == FORMATS[fmt].family

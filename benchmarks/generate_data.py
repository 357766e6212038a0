"""Generate a benchmark input and, with ``--check``, profile and validate it.

    python benchmarks/generate_data.py openai --size-mb 5 -o /tmp/openai-5.jsonl --check
    python benchmarks/generate_data.py sharegpt --size-mb 5 -o /tmp/sharegpt-5.jsonl --check

The check parses every line with orjson, verifies that each example is a valid
fine-tuning example of its format (independently of datakit, so that the
generator can be trusted before datakit exists), and prints the measured
shares: tool lines, Chinese lines, weight-0 lines, line and message lengths.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import GENERATORS, MB, percentile, print_table

_CJK = re.compile(r"[\u4e00-\u9fff]")
_ID = re.compile(r"^[A-Za-z0-9]{9}$")
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _check_openai(obj: dict[str, Any]) -> list[str]:
    """Problems with one OpenAI chat fine-tuning example (empty list when valid)."""
    errs: list[str] = []
    msgs = obj.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return ["messages missing or empty"]
    tool_names = {t["function"]["name"] for t in obj.get("tools", [])}
    for t in obj.get("tools", []):
        if t.get("type") != "function" or not _NAME.match(t["function"]["name"]):
            errs.append("bad tool definition")
        if t["function"]["parameters"].get("type") != "object":
            errs.append("tool parameters not an object schema")
    i = 0
    if msgs[0]["role"] == "system":
        i = 1
    expect = "user"
    open_calls: set[str] = set()
    seen_ids: set[str] = set()
    for m in msgs[i:]:
        role = m["role"]
        if role == "system":
            errs.append("system message not first")
        if "weight" in m and (
            role != "assistant" or m["weight"] not in (0, 1) or type(m["weight"]) is not int
        ):
            errs.append("bad weight")
        if role == "tool":
            if m.get("tool_call_id") not in open_calls:
                errs.append("tool reply without a matching call")
            open_calls.discard(m.get("tool_call_id"))
            if not isinstance(m.get("content"), str):
                errs.append("tool content not a string")
            if not open_calls:
                expect = "assistant"
            continue
        if open_calls:
            errs.append("tool calls left without replies")
        if role != expect:
            errs.append(f"expected {expect}, got {role}")
        if role == "assistant" and "tool_calls" in m:
            if "content" in m:
                errs.append("assistant with both content and tool_calls")
            for c in m["tool_calls"]:
                if not _ID.match(c["id"]) or c["id"] in seen_ids:
                    errs.append("bad or duplicate tool call id")
                seen_ids.add(c["id"])
                open_calls.add(c["id"])
                if c["function"]["name"] not in tool_names:
                    errs.append("call to an undefined tool")
                if not isinstance(orjson.loads(c["function"]["arguments"]), dict):
                    errs.append("arguments not a JSON object")
            expect = "tool"
            continue
        if not isinstance(m.get("content"), str) or not m["content"]:
            errs.append("content missing or empty")
        expect = "assistant" if role == "user" else "user"
    if msgs[-1]["role"] != "assistant" or "tool_calls" in msgs[-1]:
        errs.append("does not end on an assistant answer")
    return errs


def _check_sharegpt(obj: dict[str, Any]) -> list[str]:
    errs: list[str] = []
    conv = obj.get("conversations")
    if not isinstance(conv, list) or not conv:
        return ["conversations missing or empty"]
    names = {f["name"] for f in orjson.loads(obj["tools"])} if "tools" in obj else set()
    turns = conv[1:] if conv[0]["from"] == "system" else conv
    for k, t in enumerate(turns):
        allowed = ("human", "observation") if k % 2 == 0 else ("gpt", "function_call")
        if t["from"] not in allowed:
            errs.append(f"turn {k}: {t['from']} where {allowed} expected")
        if not isinstance(t.get("value"), str) or not t["value"]:
            errs.append("value missing or empty")
        if t["from"] == "function_call":
            call = orjson.loads(t["value"])
            if call["name"] not in names or not isinstance(call["arguments"], dict):
                errs.append("bad function_call")
    if turns[-1]["from"] != "gpt":
        errs.append("does not end on gpt")
    return errs


def _texts(obj: dict[str, Any]) -> list[str]:
    if "messages" in obj:
        return [m["content"] for m in obj["messages"] if isinstance(m.get("content"), str)]
    return [t["value"] for t in obj["conversations"]]


def profile(path: Path, kind: str) -> int:
    check = _check_openai if kind == "openai" else _check_sharegpt
    n = tools = cjk = weight0 = system = multi = bad = 0
    line_bytes: list[int] = []
    msg_chars: list[int] = []
    first_errors: list[str] = []
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, 1):
            obj = orjson.loads(line)  # raises on any invalid line
            n += 1
            line_bytes.append(len(line))
            texts = _texts(obj)
            msg_chars.extend(len(t) for t in texts)
            if "tools" in obj:
                tools += 1
            if any(_CJK.search(t) for t in texts):
                cjk += 1
            if b'"weight": 0' in line:
                weight0 += 1
            if b'"role": "system"' in line or b'"from": "system"' in line:
                system += 1
            if sum(1 for t in texts) > (3 if "tools" in obj else 2):
                multi += 1
            errs = check(obj)
            if errs:
                bad += 1
                if len(first_errors) < 5:
                    first_errors.append(f"line {lineno}: {sorted(set(errs))}")
    size = sum(line_bytes)
    print(
        f"{path}: {size / MB:.2f} MB, {n:,} lines (≈ {n * 100 * MB / size:,.0f} lines per 100 MB)"
    )
    rows = [
        ["lines with tools", f"{tools / n:.1%}", "≈ 20 %"],
        ["lines with Chinese", f"{cjk / n:.1%}", "≈ 30 %"],
        ["lines with a system prompt", f"{system / n:.1%}", "some"],
        ["lines with several turns", f"{multi / n:.1%}", "some"],
        ["lines with weight 0", f"{weight0 / n:.1%}", "a few"],
        ["invalid examples", f"{bad:,}", "0"],
    ]
    print_table(["property", "measured", "wanted"], rows)
    print()
    print_table(
        ["length", "min", "p50", "p90", "p99", "max", "mean"],
        [
            ["line bytes"]
            + [f"{percentile(line_bytes, q):,}" for q in (0, 0.5, 0.9, 0.99, 1)]
            + [f"{size / n:,.0f}"],
            ["message chars"]
            + [f"{percentile(msg_chars, q):,}" for q in (0, 0.5, 0.9, 0.99, 1)]
            + [f"{sum(msg_chars) / len(msg_chars):,.0f}"],
        ],
    )
    for e in first_errors:
        print("  ", e)
    return 1 if bad else 0


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("kind", choices=sorted(GENERATORS))
    p.add_argument("--size-mb", type=float, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--check", action="store_true", help="profile and validate the generated file")
    args = p.parse_args()
    t0 = time.perf_counter()
    lines = GENERATORS[args.kind](args.output, args.size_mb, args.seed)
    dt = time.perf_counter() - t0
    size = args.output.stat().st_size
    print(
        f"generated {lines:,} lines, {size / MB:.2f} MB in {dt:.2f} s ({size / MB / dt:.1f} MB/s)"
    )
    return profile(args.output, args.kind) if args.check else 0


if __name__ == "__main__":
    sys.exit(main())

"""`datakit stats` (exact o200k token counts) against a tokenizer floor.

Measures, each in a fresh subprocess, interleaved over ``--runs`` runs, on a
realistic OpenAI-format file (default 100 MB):

* ``datakit stats FILE --target openai:gpt-4o-mini-2024-07-18 --output-format json``
  (default workers);
* floor (batch): parse every line with orjson and tokenise every content string
  (message ``content`` and tool-call ``arguments``) with tiktoken's
  ``encode_ordinary_batch`` on o200k_base, in batches of 1,000 lines;
* floor (1 thread): the same with ``encode_ordinary`` string by string, which
  PERF.md found faster than the threaded batch call.

The encoding comes from ``datakit.tokenizers.load_encoding("o200k_base")``
(tiktoken cannot download vocabularies here); until that module exists the
floor falls back to the vocabulary that ``bpe-openai`` ships, and says so.
No pass/fail target: PERF.md expects about 1.4x the one-thread floor from two
processes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    BENCH_DIR,
    DataStore,
    Spec,
    common_parser,
    datakit_cmd,
    describe_input,
    env_with,
    measure,
    python_cmd,
    report,
    results_json,
    write_json,
)

TARGET = "openai:gpt-4o-mini-2024-07-18"

# argv: FILE MODE BENCH_DIR; prints one JSON object.
FLOOR_CODE = """
import json, sys, orjson
path, mode, bench_dir = sys.argv[1:4]
try:
    from datakit.tokenizers import load_encoding
    enc = load_encoding("o200k_base")
    source = "datakit.tokenizers"
except ImportError:
    sys.path.insert(0, bench_dir)
    from _common import load_o200k_fallback
    enc = load_o200k_fallback()
    source = "bpe-openai vocabulary (benchmarks fallback)"

def strings(obj):
    for m in obj.get("messages", ()):
        c = m.get("content")
        if isinstance(c, str):
            yield c
        elif isinstance(c, list):
            for part in c:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    yield part["text"]
        for call in m.get("tool_calls") or ():
            yield call["function"]["arguments"]

loads = orjson.loads
tokens = lines = n_strings = 0
batch = []

def flush():
    global tokens
    if mode == "batch":
        tokens += sum(map(len, enc.encode_ordinary_batch(batch)))
    else:
        encode = enc.encode_ordinary
        tokens += sum(len(encode(s)) for s in batch)
    batch.clear()

with open(path, "rb") as f:
    for line in f:
        batch.extend(strings(loads(line)))
        lines += 1
        if lines % 1000 == 0:
            n_strings += len(batch)
            flush()
n_strings += len(batch)
flush()
print(json.dumps({"lines": lines, "strings": n_strings, "tokens": tokens, "encoding": source}))
"""


def main() -> int:
    p = common_parser(__doc__.split("\n\n")[0])
    p.add_argument(
        "--workers", type=int, help="set DATAKIT_WORKERS for datakit (default: datakit's default)"
    )
    args = p.parse_args()

    with DataStore(args.keep, args.data_dir, args.seed, args.bytecode_cache) as store:
        path = store.dataset("openai", args.size_mb)
        size = describe_input(path)
        stats = datakit_cmd("stats", str(path), "--target", TARGET, "--output-format", "json")
        specs = [
            Spec(
                "floor: parse + encode_ordinary_batch",
                python_cmd(FLOOR_CODE, str(path), "batch", str(BENCH_DIR)),
                size,
                sample_tree=True,
            ),
            Spec(
                "floor: parse + encode_ordinary, 1 thread",
                python_cmd(FLOOR_CODE, str(path), "single", str(BENCH_DIR)),
                size,
            ),
            Spec(
                f"datakit stats --target {TARGET}",
                stats,
                size,
                env=env_with(args.workers),
                sample_tree=True,
            ),
        ]
        results = measure(specs, args.runs)
        batch, single, dk = results
        print()
        report(results, batch, baseline_name="batch floor")

        extra: dict[str, object] = {}
        for floor in (batch, single):
            if floor.ok:
                info = json.loads(floor.last_stdout)
                extra[floor.spec.label] = info
        if extra:
            info = next(iter(extra.values()))
            print(
                f"\nfloor counted {info['tokens']:,} o200k tokens in {info['strings']:,} strings "
                f"of {info['lines']:,} lines (content and tool-call arguments only, no chat template);"
                f"\nencoding from {info['encoding']}"
            )
        if dk.ok and single.ok:
            print(
                f"datakit stats vs the one-thread floor: {single.seconds / dk.seconds:.2f}× (PERF.md: about 1.4×)"
            )
            try:
                out = json.loads(dk.last_stdout)
                keys = ", ".join(list(out)[:12]) if isinstance(out, dict) else type(out).__name__
                print(f"datakit stats JSON output: {keys}")
            except ValueError:
                print("datakit stats printed no JSON object on stdout")
        write_json(args.json, results_json(results, [], benchmark="stats", floors=extra))
        return 0 if all(r.ok for r in results) else 2


if __name__ == "__main__":
    sys.exit(main())

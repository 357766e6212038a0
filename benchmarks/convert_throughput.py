"""Throughput of ``datakit convert`` (ShareGPT → Mistral) against the parse + serialise floor.

    .venv/bin/python benchmarks/convert_throughput.py [--mb 100] [--runs 3] [--workers 2]

Writes a realistic ShareGPT corpus (about 20 % tool use with parallel calls, 30 %
Chinese or mixed text, 50 to 20k characters per message) once into a temporary
directory, then per run measures:

* floor: read the file, ``orjson.loads`` every line and ``orjson.dumps`` it back to
  a file, one process: the least any converter must do;
* convert: ``datakit.convert(..., to="mistral")`` with ``--workers`` processes,
  including reading, the model, id remapping, writing and the atomic rename.

Prints MB/s for both and the ratio convert / floor, per run and as medians.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EN = ("the of and to in is that for it with as was on be by this are or at from an but not "
      "have which they you were all one can we there their been has more if will would").split()
ZH = list("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经")
EMOJI = ["😀", "👍🏽", "🌧️", "🚀", "✅"]
TOOLS = [{"name": n, "description": f"{n} tool",
          "parameters": {"type": "object", "properties": {"q": {"type": "string"},
                                                          "n": {"type": "integer"}},
                         "required": ["q"]}} for n in ("search", "get_weather", "lookup_order")]


def _text(rng: random.Random, chinese: bool) -> str:
    n = int(min(20_000, max(50, rng.lognormvariate(6.2, 1.1))))
    if chinese:
        s = "".join(rng.choice(ZH) for _ in range(n // 2))
    else:
        out, size = [], 0
        while size < n:
            w = rng.choice(EN)
            out.append(w)
            size += len(w) + 1
        s = " ".join(out)
    if rng.random() < 0.1:
        s += rng.choice(EMOJI)
    return s


def _example(rng: random.Random) -> dict:
    zh = rng.random() < 0.3
    turns = []
    tools = rng.random() < 0.2
    for _ in range(rng.randint(1, 3)):
        turns.append({"from": "human", "value": _text(rng, zh)})
        if tools and rng.random() < 0.7:
            k = rng.choice([1, 1, 2])
            calls = [{"name": rng.choice(TOOLS)["name"],
                      "arguments": {"q": _text(rng, zh)[:60], "n": rng.randint(1, 9)}}
                     for _ in range(k)]
            turns.append({"from": "function_call",
                          "value": orjson.dumps(calls[0] if k == 1 else calls).decode()})
            results = [_text(rng, zh)[:400] for _ in range(k)]
            turns.append({"from": "observation",
                          "value": results[0] if k == 1 else orjson.dumps(results).decode()})
        turns.append({"from": "gpt", "value": _text(rng, zh)})
    ex: dict = {"conversations": turns}
    if rng.random() < 0.5:
        ex["system"] = _text(rng, zh)[:300]
    if tools:
        ex["tools"] = orjson.dumps(TOOLS).decode()
    return ex


def make_corpus(path: Path, mb: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    target = mb << 20
    size = 0
    with open(path, "wb") as fh:
        while size < target:
            line = orjson.dumps(_example(rng)) + b"\n"
            fh.write(line)
            size += len(line)


def floor(src: Path, dst: Path) -> float:
    t = time.perf_counter()
    loads, dumps = orjson.loads, orjson.dumps
    with open(src, "rb", buffering=1 << 20) as fh, open(dst, "wb", buffering=1 << 20) as out:
        for line in fh:
            out.write(dumps(loads(line)) + b"\n")
    return time.perf_counter() - t


def convert(src: Path, dst: Path, workers: int) -> tuple[float, object]:
    import datakit

    t = time.perf_counter()
    summary = datakit.convert(str(src), to="mistral", from_="sharegpt", output=str(dst),
                              on_loss="drop", force=True, workers=workers, progress=False)
    return time.perf_counter() - t, summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dir", default=None, help="where to write the corpus (default: a temp dir)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        src = Path(d) / "sharegpt.jsonl"
        make_corpus(src, args.mb)
        mb = os.path.getsize(src) / (1 << 20)
        print(f"corpus: {mb:.1f} MiB, {sum(1 for _ in open(src, 'rb')):,} lines; "
              f"workers={args.workers}, cpus={os.cpu_count()}")
        floors, convs = [], []
        for run in range(args.runs):
            f = floor(src, Path(d) / "floor.jsonl")
            c, s = convert(src, Path(d) / "mistral.jsonl", args.workers)
            floors.append(mb / f)
            convs.append(mb / c)
            print(f"run {run + 1}: floor {mb / f:7.1f} MB/s   convert {mb / c:7.1f} MB/s   "
                  f"ratio {f / c:5.2f}   ({s.written:,} written, {s.rejected_total:,} rejected, "
                  f"changes {dict(s.changes)})")
        mf, mc = statistics.median(floors), statistics.median(convs)
        print(f"median: floor {mf:.1f} MB/s, convert {mc:.1f} MB/s, ratio {mc / mf:.2f} "
              f"(target >= 0.50)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`datakit convert` ShareGPT -> Mistral against a parse + serialise floor.

Measures, each in a fresh subprocess, interleaved over ``--runs`` runs, on a
realistic ShareGPT file (default 100 MB, ~20 % of lines with
function_call/observation turns):

* ``datakit convert FILE --from sharegpt --to mistral -o OUT --quiet``
  (default workers: both cores);
* floor: read every line, ``orjson.loads`` it, ``orjson.dumps`` it back and
  write it to an output file, in one process.

The output is removed before every run (untimed).

Target: convert reaches ≥ 50 % of the floor's MB/s (input MB).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    MB,
    DataStore,
    Spec,
    common_parser,
    datakit_cmd,
    describe_input,
    env_with,
    measure,
    print_verdicts,
    python_cmd,
    report,
    results_json,
    speed_verdict,
    startup_spec,
    write_json,
)

MIN_RATIO = 0.50

FLOOR_CODE = """
import sys, orjson
loads, dumps, opt = orjson.loads, orjson.dumps, orjson.OPT_APPEND_NEWLINE
with open(sys.argv[1], "rb") as src, open(sys.argv[2], "wb") as out:
    write = out.write
    for line in src:
        write(dumps(loads(line), option=opt))
"""


def _count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
    return n


def main() -> int:
    p = common_parser(__doc__.split("\n\n")[0])
    p.add_argument(
        "--workers", type=int, help="set DATAKIT_WORKERS for datakit (default: datakit's default)"
    )
    args = p.parse_args()

    with DataStore(args.keep, args.data_dir, args.seed) as store:
        path = store.dataset("sharegpt", args.size_mb)
        size = describe_input(path)
        floor_out = store.scratch / "floor.jsonl"
        dk_out = store.scratch / "converted.mistral.jsonl"
        cmd = datakit_cmd(
            "convert",
            str(path),
            "--from",
            "sharegpt",
            "--to",
            "mistral",
            "-o",
            str(dk_out),
            "--quiet",
        )
        specs = [
            Spec(
                "floor: orjson loads + dumps per line",
                python_cmd(FLOOR_CODE, str(path), str(floor_out)),
                size,
                before=lambda: floor_out.unlink(missing_ok=True),
            ),
            Spec(
                "datakit convert sharegpt -> mistral",
                cmd,
                size,
                env=env_with(args.workers),
                sample_tree=True,
                before=lambda: dk_out.unlink(missing_ok=True),
            ),
            startup_spec(),
        ]
        results = measure(specs, args.runs)
        floor, dk, _startup = results
        print()
        report(results, floor)
        if dk.ok:
            if dk_out.exists():
                print(
                    f"\ndatakit output: {dk_out.stat().st_size / MB:.1f} MB, {_count_lines(dk_out):,} lines "
                    f"(input {_count_lines(path):,} lines)"
                )
            else:
                print(f"\n!! datakit convert exited 0 but wrote no {dk_out}")
        verdict = speed_verdict("convert sharegpt -> mistral throughput", dk, floor, MIN_RATIO)
        status = print_verdicts([verdict])
        write_json(args.json, results_json(results, [verdict], benchmark="convert"))
        return status


if __name__ == "__main__":
    sys.exit(main())

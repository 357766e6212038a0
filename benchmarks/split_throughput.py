"""`datakit split` against a one-pass hash-split floor.

Measures, each in a fresh subprocess, interleaved over ``--runs`` runs, on a
realistic OpenAI-format file (default 100 MB):

* ``datakit split FILE --target mistral -o TRAIN VAL --force`` (two passes: group
  keys, normalisation, caps; then a byte-for-byte copy);
* floor: one pass that parses every line with ``orjson`` and writes it to one of
  two files by a hash of the raw line (no group key, no caps, no report).

The issue sets no speed target for split: the ratio is reported for tracking,
with peak RSS (split keeps 12 bytes per line between its passes). Exit status 0
unless a command fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DataStore,
    Spec,
    common_parser,
    datakit_cmd,
    describe_input,
    measure,
    python_cmd,
    report,
    results_json,
    startup_spec,
    write_json,
)

FLOOR_CODE = """
import sys, zlib, orjson
loads = orjson.loads
with open(sys.argv[1], "rb") as src, open(sys.argv[2], "wb") as t, open(sys.argv[3], "wb") as v:
    for line in src:
        loads(line)
        (v if zlib.crc32(line) % 20 == 0 else t).write(line)
"""


def main() -> int:
    p = common_parser(__doc__.split("\n\n")[0])
    args = p.parse_args()
    with DataStore(args.keep, args.data_dir, args.seed, args.bytecode_cache) as store:
        path = store.dataset("openai", args.size_mb)
        size = describe_input(path)
        out = store.scratch
        ft, fv = out / "floor.train.jsonl", out / "floor.val.jsonl"
        dt, dv = out / "train.jsonl", out / "val.jsonl"
        specs = [
            Spec("floor: orjson parse + hash split, one pass",
                 python_cmd(FLOOR_CODE, str(path), str(ft), str(fv)), size),
            Spec("datakit split --target mistral",
                 datakit_cmd("split", str(path), "--target", "mistral", "-o", str(dt), str(dv),
                             "--force", "--no-progress"), size),
            startup_spec(),
        ]
        results = measure(specs, args.runs)
        print()
        report(results, results[0])
        write_json(args.json, results_json(results, [], benchmark="split"))
        return 0 if all(r.ok for r in results) else 2


if __name__ == "__main__":
    sys.exit(main())

"""`datakit convert` (ShareGPT → Mistral) throughput against the parse + serialise floor.

Measures, each in a fresh subprocess, interleaved over ``--runs`` runs, on the
suite's realistic ShareGPT file (default 100 MB; ~20 % tool use with parallel
calls, ~30 % Chinese or mixed text):

* floor: read the file line by line (binary), ``orjson.loads`` every line and
  write ``orjson.dumps`` of it to a file, one process: the least any converter
  must do;
* ``datakit convert FILE --from sharegpt --to mistral -o OUT --on-loss drop
  --force --quiet`` with ``--workers`` (default: datakit's default, both cores).

Every output is deleted and dirty pages are flushed with ``sync`` before each
run (untimed), so that no command pays for another's write-back or for
unlinking an old output.

Byte code: every command runs with a scratch byte-code cache, as an installed
package has (see ``_common.use_bytecode_cache``); ``--no-bytecode-cache`` turns
it off.

Target: datakit convert reaches ≥ 50 % of the floor's MB/s.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
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

FLOOR_CODE = """
import sys, orjson
loads, dumps = orjson.loads, orjson.dumps
with open(sys.argv[1], "rb", buffering=1 << 20) as f, open(sys.argv[2], "wb", buffering=1 << 20) as out:
    for line in f:
        out.write(dumps(loads(line)) + b"\\n")
"""

MIN_RATIO = 0.50


def _fresh(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    os.sync()


def main() -> int:
    p = common_parser(__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=None,
                   help="DATAKIT_WORKERS for datakit convert (default: datakit's default)")
    args = p.parse_args()

    with DataStore(args.keep, args.data_dir, args.seed, args.bytecode_cache) as store:
        path = store.dataset("sharegpt", args.size_mb)
        size = describe_input(path)
        floor_out = store.scratch / "floor.jsonl"
        dk_out = store.scratch / "mistral.jsonl"
        dk_rejects = store.scratch / "mistral.rejects.jsonl"
        cmd = datakit_cmd("convert", str(path), "--from", "sharegpt", "--to", "mistral",
                          "-o", str(dk_out), "--on-loss", "drop", "--rejects", str(dk_rejects),
                          "--force", "--quiet")
        env = env_with(workers=args.workers)
        specs = [
            Spec("floor: orjson.loads + dumps per line", python_cmd(FLOOR_CODE, str(path),
                                                                    str(floor_out)),
                 size, before=lambda: _fresh(floor_out)),
            Spec("datakit convert sharegpt -> mistral", cmd, size,
                 env=env, sample_tree=True,
                 before=lambda: _fresh(dk_out, dk_rejects)),
            startup_spec(),
        ]
        results = measure(specs, args.runs)
        floor, dk, _startup = results
        print()
        report(results, floor)
        print()
        if dk.ok:
            print(f"datakit output: {dk_out.stat().st_size / 1e6:.1f} MB; "
                  f"rejects: {dk_rejects.stat().st_size if dk_rejects.exists() else 0} bytes")
        verdict = speed_verdict("convert sharegpt -> mistral throughput", dk, floor, MIN_RATIO)
        status = print_verdicts([verdict])
        write_json(args.json, results_json(results, [verdict], benchmark="convert"))
        return status


if __name__ == "__main__":
    sys.exit(main())

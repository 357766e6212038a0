"""The cost of a target's limits in `datakit lint`.

Measures, each in a fresh subprocess, interleaved over ``--runs`` runs, on a
realistic OpenAI-format file (default 100 MB):

* ``datakit lint FILE --target T`` (default ``openai:gpt-4o-mini-2024-07-18``; any
  target of ``datakit targets`` with ``--target``, e.g. ``mistral:open-mistral-7b``):
  token limits decided with byte bounds, exact counts only for lines near the limit;
* ``datakit lint FILE`` (no target) on the same file;
* for context only, the parse floor (``orjson.loads`` of every line).

Both lint runs add ``--output-format json --output-file /dev/null --exit-zero``
so that rendering and the exit status do not enter the comparison.

Target: linting with the target takes ≤ 1.5× the time of linting without it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DataStore,
    Spec,
    Verdict,
    common_parser,
    datakit_cmd,
    describe_input,
    env_with,
    measure,
    print_verdicts,
    python_cmd,
    report,
    results_json,
    startup_spec,
    write_json,
)
from lint_throughput import FLOOR_CODE

TARGET = "openai:gpt-4o-mini-2024-07-18"
MAX_SLOWDOWN = 1.5
QUIET = ("--output-format", "json", "--output-file", "/dev/null", "--exit-zero")


def main() -> int:
    p = common_parser(__doc__.split("\n\n")[0])
    p.add_argument(
        "--workers",
        type=int,
        help="set DATAKIT_WORKERS for both lint runs (default: datakit's default)",
    )
    p.add_argument(
        "--target",
        default=TARGET,
        help=f"the target to lint against (default: {TARGET}); see `datakit targets`",
    )
    args = p.parse_args()
    target = args.target

    with DataStore(args.keep, args.data_dir, args.seed, args.bytecode_cache) as store:
        path = store.dataset("openai", args.size_mb)
        size = describe_input(path)
        env = env_with(args.workers)
        specs = [
            Spec("datakit lint (no target)", datakit_cmd("lint", str(path), *QUIET), size, env=env),
            Spec(
                f"datakit lint --target {target}",
                datakit_cmd("lint", str(path), "--target", target, *QUIET),
                size,
                env=env,
            ),
            Spec("floor: orjson.loads per line (context)", python_cmd(FLOOR_CODE, str(path)), size),
            startup_spec(),
        ]
        results = measure(specs, args.runs)
        plain, targeted, _floor, _startup = results
        print()
        report(results, plain, baseline_name="no target")

        name = "lint --target time vs lint without target"
        if plain.ok and targeted.ok:
            slowdown = targeted.seconds / plain.seconds
            verdict = Verdict(
                name,
                slowdown <= MAX_SLOWDOWN,
                f"{slowdown:.2f}× the time ({targeted.seconds:.2f} s vs {plain.seconds:.2f} s), "
                f"target ≤ {MAX_SLOWDOWN}×",
            )
        else:
            verdict = Verdict(name, None, "not measured (a command failed)")
        status = print_verdicts([verdict])
        write_json(args.json, results_json(results, [verdict], benchmark="lint-target", target=target))
        return status


if __name__ == "__main__":
    sys.exit(main())

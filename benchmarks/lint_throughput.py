"""`datakit lint` throughput and peak RSS against the parse floor.

Generates a realistic OpenAI-format file (default 100 MB) and measures, each in
a fresh subprocess, interleaved over ``--runs`` runs:

* floor: read the file line by line (binary) and ``orjson.loads`` every line;
* ``datakit lint FILE --output-format json --output-file /dev/null --exit-zero``
  (no token counting) with ``DATAKIT_WORKERS=1`` (one core) and with the
  default number of workers.

Targets: one worker reaches ≥ 40 % of the floor's MB/s; peak RSS < 150 MB and
independent of the file size (checked on a 2× file unless ``--no-rss-scale``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    MB,
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
    speed_verdict,
    startup_spec,
    write_json,
)

FLOOR_CODE = """
import sys, orjson
loads = orjson.loads
n = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        loads(line)
        n += 1
print(n)
"""

MIN_RATIO = 0.40
MAX_RSS_MB = 150.0
# "Independent of file size": the 2x file may cost at most this much more.
RSS_GROWTH_TOLERANCE = 1.10
RSS_GROWTH_SLACK_MB = 5.0


def lint_cmd(path: Path) -> list[str]:
    return datakit_cmd(
        "lint", str(path), "--output-format", "json", "--output-file", "/dev/null", "--exit-zero"
    )


def main() -> int:
    p = common_parser(__doc__.split("\n\n")[0])
    p.add_argument(
        "--rss-scale",
        action="store_true",
        default=True,
        help="also lint a 2x file (one worker) and compare peak RSS (default: on)",
    )
    p.add_argument("--no-rss-scale", dest="rss_scale", action="store_false")
    args = p.parse_args()

    with DataStore(args.keep, args.data_dir, args.seed, args.bytecode_cache) as store:
        path = store.dataset("openai", args.size_mb)
        size = describe_input(path)
        specs = [
            Spec("floor: orjson.loads per line", python_cmd(FLOOR_CODE, str(path)), size),
            Spec("datakit lint, 1 worker", lint_cmd(path), size, env=env_with(workers=1)),
            Spec(
                "datakit lint, default workers",
                lint_cmd(path),
                size,
                env=env_with(),
                sample_tree=True,
            ),
            startup_spec(),
        ]
        results = measure(specs, args.runs)
        floor, one, default, _startup = results
        print()
        report(results, floor)

        verdicts = [
            speed_verdict("lint, 1 worker, throughput", one, floor, MIN_RATIO),
            _rss_verdict("lint, 1 worker, peak RSS", one.peak_rss_mb if one.ok else None),
            _rss_verdict(
                "lint, default workers, peak RSS per process",
                default.peak_rss_mb if default.ok else None,
            ),
        ]
        if default.ok and default.tree_rss_mb is not None:
            print(
                f"\ndefault workers: summed RSS of the process tree peaks at {default.tree_rss_mb:.0f} MB (sampled)"
            )

        scaled = None
        if args.rss_scale and one.ok:
            big = store.dataset("openai", args.size_mb * 2)
            big_size = describe_input(big)
            scaled_spec = Spec(
                "datakit lint, 1 worker, 2x file", lint_cmd(big), big_size, env=env_with(workers=1)
            )
            scaled = measure([scaled_spec], args.runs)[0]
            print()
            report([scaled], one, baseline_name="1x file")
            if scaled.ok:
                small_rss, big_rss = one.peak_rss_mb, scaled.peak_rss_mb
                limit = small_rss * RSS_GROWTH_TOLERANCE + RSS_GROWTH_SLACK_MB
                print(
                    f"\npeak RSS, 1 worker: {small_rss:.0f} MB on {size / MB:.0f} MB, {big_rss:.0f} MB on {big_size / MB:.0f} MB"
                )
                verdicts.append(
                    Verdict(
                        "lint peak RSS independent of file size",
                        big_rss <= limit and big_rss < MAX_RSS_MB,
                        f"{small_rss:.0f} MB -> {big_rss:.0f} MB on the 2x file (allowed ≤ {limit:.0f} MB)",
                    )
                )
        if args.rss_scale and (scaled is None or not scaled.ok):
            verdicts.append(
                Verdict(
                    "lint peak RSS independent of file size",
                    None,
                    "not measured (a command failed)",
                )
            )

        status = print_verdicts(verdicts)
        write_json(
            args.json,
            results_json(results + ([scaled] if scaled else []), verdicts, benchmark="lint"),
        )
        return status


def _rss_verdict(name: str, rss: float | None) -> Verdict:
    if rss is None:
        return Verdict(name, None, "not measured (a command failed)")
    return Verdict(name, rss < MAX_RSS_MB, f"{rss:.0f} MB, target < {MAX_RSS_MB:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())

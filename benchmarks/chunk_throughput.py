"""`datakit chunk` against GNU `split -C`.

Measures, each in a fresh subprocess, interleaved over ``--runs`` runs, on a
realistic OpenAI-format file (default 100 MB):

* ``datakit chunk FILE --max-bytes 20MB -o DIR --force``;
* baseline: ``split -C 20M FILE DIR/part-`` (GNU coreutils: whole lines, at
  most 20 MiB per piece).

Each output directory is emptied, and dirty pages are flushed with ``sync``,
before every run (untimed): otherwise each command pays for the write-back of
the other's output. Use ``--size-mb 1000``: on 100 MB the interpreter start-up
(see the context row) weighs on the ratio.

Target: datakit chunk reaches ≥ 50 % of split's MB/s.
"""

from __future__ import annotations

import os
import shutil
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
    measure,
    print_verdicts,
    report,
    results_json,
    speed_verdict,
    startup_spec,
    write_json,
)

MIN_RATIO = 0.50


def _fresh_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    # Untimed: flush the previous run's output to disk, so that no command pays for
    # the kernel writing back the gigabyte the other one has just written.
    os.sync()


def _describe_output(label: str, directory: Path) -> None:
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    sizes = [p.stat().st_size for p in files]
    if not files:
        print(f"{label}: no files in {directory}")
        return
    print(
        f"{label}: {len(files)} files, {sum(sizes) / MB:.1f} MB in all, "
        f"largest {max(sizes) / MB:.2f} MB ({max(sizes) / 2**20:.2f} MiB)"
    )


def main() -> int:
    p = common_parser(__doc__.split("\n\n")[0])
    args = p.parse_args()

    split = shutil.which("split")
    with DataStore(args.keep, args.data_dir, args.seed, args.bytecode_cache) as store:
        path = store.dataset("openai", args.size_mb)
        size = describe_input(path)
        split_dir = store.scratch / "split"
        dk_dir = store.scratch / "chunks"
        specs = [
            Spec(
                "baseline: split -C 20M",
                [split or "split", "-C", "20M", str(path), str(split_dir / "part-")],
                size,
                before=lambda: _fresh_dir(split_dir),
            ),
            Spec(
                "datakit chunk --max-bytes 20MB",
                datakit_cmd(
                    "chunk", str(path), "--max-bytes", "20MB", "-o", str(dk_dir), "--force"
                ),
                size,
                before=lambda: _fresh_dir(dk_dir),
            ),
            startup_spec(),
        ]
        if split is None:
            print("!! GNU split not found: no baseline", file=sys.stderr)
        results = measure(specs, args.runs)
        baseline, dk, _startup = results
        print()
        report(results, baseline, baseline_name="split")
        print()
        if baseline.ok:
            _describe_output("split output", split_dir)
        if dk.ok:
            _describe_output("datakit output", dk_dir)
        verdict = speed_verdict(
            "chunk throughput vs split", dk, baseline, MIN_RATIO, floor_name="split"
        )
        status = print_verdicts([verdict])
        write_json(args.json, results_json(results, [verdict], benchmark="chunk"))
        return status


if __name__ == "__main__":
    sys.exit(main())

"""`datakit lint` peak RSS and time on a file of many short lines.

What lint keeps per line (duplicate detection, diagnostics) shows best on short
lines: 1,000,000 of them (default ``--lines``) are only ~100 MB, so the fixed
cost of reading and parsing is small beside it. Measures, each in a fresh
subprocess, interleaved over ``--runs`` runs:

* ``datakit lint FILE --output-format json --output-file /dev/null --exit-zero``
  on distinct, valid short lines with ``DATAKIT_WORKERS=1`` and with the default
  number of workers;
* the same lines ending in CRLF (J003 on every line, shown once per file), one
  worker;
* the same lines with an empty assistant answer (an R012 warning on every line,
  every one of them in the report), one worker, concise text output: the cost of
  one diagnostic held by the report.

Target: peak RSS < 150 MB on the clean file with one worker (the target of
lint_throughput.py). For each file the cost per line is printed too: its peak
RSS above that of linting the first 1,000 clean lines (the fixed cost of the
interpreter, the imports and one batch), divided by the number of lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    DataStore,
    Result,
    Spec,
    Verdict,
    common_parser,
    datakit_cmd,
    describe_input,
    env_with,
    measure,
    print_table,
    print_verdicts,
    report,
    results_json,
    startup_spec,
    write_json,
)

MAX_RSS_MB = 150.0
BASE_LINES = 1_000

# One short chat example; {n} keeps every line distinct (no D004 in the clean file).
LINE = '{{"messages":[{{"role":"user","content":"question {n}"}},{{"role":"assistant","content":"{a}"}}]}}'
KINDS = {
    "clean": ("answer", b"\n"),
    "crlf": ("answer", b"\r\n"),
    "warning": ("", b"\n"),  # empty assistant content: R012 (warning) on every line
}


def short_lines(store: DataStore, kind: str, lines: int) -> Path:
    """A file of ``lines`` distinct short examples of ``kind``, cached like the other data."""
    path = store.data_dir / f"short-{kind}-{lines}-lines.jsonl"
    if path.exists():
        print(f"[data] reusing {path}", file=sys.stderr)
        return path
    answer, end = KINDS[kind]
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as f:
        block: list[bytes] = []
        for n in range(lines):
            block.append(LINE.format(n=n, a=answer).encode() + end)
            if len(block) == 10_000:
                f.writelines(block)
                block.clear()
        f.writelines(block)
    partial.replace(path)
    return path


def lint_cmd(path: Path, output: str = "json") -> list[str]:
    return datakit_cmd(
        "lint", str(path), "--output-format", output, "--output-file", "/dev/null", "--exit-zero"
    )


def main() -> int:
    p = common_parser(__doc__.split("\n\n")[0])
    p.add_argument(
        "--lines", type=int, default=1_000_000, help="lines per generated file (default 1,000,000)"
    )
    args = p.parse_args()

    with DataStore(args.keep, args.data_dir, args.seed, args.bytecode_cache) as store:
        clean = short_lines(store, "clean", args.lines)
        size = describe_input(clean)
        crlf = short_lines(store, "crlf", args.lines)
        crlf_size = describe_input(crlf)
        warned = short_lines(store, "warning", args.lines)
        warned_size = describe_input(warned)
        head = short_lines(store, "clean", BASE_LINES)
        one = env_with(workers=1)
        specs = [
            Spec(f"context: lint, clean, {BASE_LINES:,} lines", lint_cmd(head),
                 head.stat().st_size, env=one),
            Spec("lint, clean, 1 worker", lint_cmd(clean), size, env=one),
            Spec("lint, clean, default workers", lint_cmd(clean), size, env=env_with()),
            Spec("lint, CRLF (J003 every line), 1 worker", lint_cmd(crlf), crlf_size, env=one),
            Spec(
                "lint, R012 every line, concise, 1 worker",
                lint_cmd(warned, "concise"),
                warned_size,
                env=one,
            ),
            startup_spec(),
        ]
        results = measure(specs, args.runs)
        print()
        report(results, None)
        print()
        _per_line_table(results[1:-1], results[0], args.lines)

        clean_one = results[1]
        verdicts = [
            Verdict("lint, clean, 1 worker, peak RSS", None, "not measured (a command failed)")
            if not clean_one.ok
            else Verdict(
                "lint, clean, 1 worker, peak RSS",
                clean_one.peak_rss_mb < MAX_RSS_MB,
                f"{clean_one.peak_rss_mb:.0f} MB on {args.lines:,} lines, "
                f"target < {MAX_RSS_MB:.0f} MB",
            )
        ]
        status = print_verdicts(verdicts)
        write_json(
            args.json,
            results_json(results, verdicts, benchmark="lint_memory", lines=args.lines),
        )
        return status


def _per_line_table(results: list[Result], base_result: Result, lines: int) -> None:
    """Peak RSS above the fixed cost (a lint of BASE_LINES lines), in bytes per line."""
    base = base_result.peak_rss_mb if base_result.ok else 0.0
    rows = []
    for r in results:
        if not r.ok:
            rows.append([r.spec.label, "-"])
            continue
        per_line = (r.peak_rss_mb - base) * 1024 * 1024 / lines
        rows.append([r.spec.label, f"{per_line:.0f}"])
    print_table(["measurement", f"bytes/line above the {BASE_LINES:,}-line lint"], rows)


if __name__ == "__main__":
    sys.exit(main())

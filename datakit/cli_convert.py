"""``datakit convert``: convert files between fine-tuning formats, reporting every loss.

Exit codes: 0 everything converted (or recorded in the rejects file), 1 examples
could not be converted without loss under ``--on-loss error`` (the output is then
not written) or were lost without a rejects file, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from datakit.cli import STDIN, shown_as_stdin, stdin_spooled


def add_parsers(sub) -> None:
    from datakit.conversion.mapping import FORMAT_IDS

    p = sub.add_parser(
        "convert", help="convert files between formats (every loss reported)",
        description="Convert JSONL/JSON/Parquet files (or DashScope image zips) to another "
                    "fine-tuning format through one lossless model. Whatever the target cannot "
                    "carry is reported with a C code (`datakit rules` lists them).")
    p.add_argument("inputs", nargs="+", metavar="IN",
                   help="files, directories or globs (.jsonl, .jsonl.gz, .jsonl.zst, .json "
                        "arrays, .parquet, DashScope .zip); - for standard input")
    p.add_argument("--to", required=True, choices=FORMAT_IDS, metavar="FORMAT",
                   help="target format: " + ", ".join(FORMAT_IDS))
    p.add_argument("--from", dest="from_", default="auto", choices=("auto", *FORMAT_IDS),
                   metavar="FORMAT", help="source format (default: auto, detected per example)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file (.jsonl, .jsonl.gz, .jsonl.zst, .parquet; .zip for "
                        "dashscope-sft-image), or a directory (an existing one, or a path "
                        "ending in /): one output per input, mirroring each input's path "
                        "under its directory or glob root (rejects beside each output); - for "
                        "standard output (JSON Lines, written only once complete)")
    p.add_argument("--on-loss", choices=("error", "warn", "drop"), default="error",
                   help="an example the target cannot hold fully: error (default; nothing is "
                        "written), warn (write it without what is lost) or drop (leave it out, "
                        "record it in the rejects file)")
    p.add_argument("--rejects", metavar="FILE", default=None,
                   help="write each rejected example with its reasons here (default with "
                        "--on-loss drop: OUT.rejects.jsonl)")
    p.add_argument("--merge-consecutive", action="store_true",
                   help="join consecutive turns of the same role (C052)")
    p.add_argument("--trim-trailing", action="store_true",
                   help="drop turns after the last assistant turn (C053)")
    p.add_argument("--bot-name", default=None, metavar="NAME",
                   help="bot name for MiniMax targets when the source has none")
    p.add_argument("--user-name", default=None, metavar="NAME",
                   help="user name for MiniMax targets when the source has none")
    p.add_argument("--output-format", choices=("jsonl", "parquet"), default=None,
                   help="default: from the output's suffix (.parquet) or jsonl")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="processes (default: all cores; env DATAKIT_WORKERS)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar and no summary; problems are still printed")
    p.set_defaults(handler=run)


def _print_diag(d) -> None:
    where = f"{d.path}:{d.line}" if d.line is not None else d.path
    ptr = f" at {d.pointer}" if d.pointer else ""
    print(shown_as_stdin(f"{where}: {d.code} [{d.name}] {d.message}{ptr}"), file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    import contextlib
    import os
    import shutil
    import tempfile

    from datakit.conversion.engine import Settings
    from datakit.conversion.files import FileJob, convert_files, is_dir_output
    from datakit.errors import UsageError
    from datakit.io.atomic import temp_name

    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.rejects is not None and args.on_loss == "warn":
        pass  # fatal examples (C02x) still go there
    settings = Settings(args.to, args.from_, args.on_loss, args.merge_consecutive,
                        args.trim_trailing, args.bot_name, args.user_name)
    to_stdout = args.output == STDIN
    if to_stdout and args.output_format == "parquet":
        raise UsageError("-o - writes JSON Lines; give a .parquet file name for Parquet")
    if args.rejects == STDIN:
        raise UsageError("--rejects needs a file name; standard output is for -o -")
    if to_stdout and args.on_loss == "drop" and args.rejects is None:
        # the default rejects file sits beside the output: there is none to sit beside
        raise UsageError("-o - with --on-loss drop needs --rejects FILE, or the examples left "
                         "out would be recorded nowhere")
    with stdin_spooled(args.inputs) as inputs, contextlib.ExitStack() as stack:
        output = args.output
        if to_stdout:  # converted into a private file, then copied out if committed
            folder = temp_name(tempfile.gettempdir(), "datakit-stdout-")
            stack.callback(shutil.rmtree, folder, True)  # registered before it exists
            os.mkdir(folder, 0o700)
            output = os.path.join(folder, "stdout.jsonl")
        job = FileJob(inputs, output, settings, args.output_format, args.rejects,
                      args.force, args.workers, False if args.quiet else None, _print_diag)
        if is_dir_output(output):
            return _run_tree(job, args)
        summary = convert_files(job)
        if to_stdout and summary.committed:
            with open(output, "rb") as fh:
                shutil.copyfileobj(fh, sys.stdout.buffer, 1 << 20)
            sys.stdout.buffer.flush()
    for code, n in sorted(summary.hidden.items()):
        print(f"... and {n:,} more {code}" + (f" (see {summary.rejects})" if summary.rejects
                                              else ""), file=sys.stderr)
    if not args.quiet:
        lines = "\n".join(summary.lines())
        if to_stdout:
            lines = lines.replace(output, STDIN)
        print("datakit convert: " + shown_as_stdin(lines), file=sys.stderr)
    if not summary.committed:
        print(f"datakit convert: {args.output} was not written: {summary.rejected_total:,} "
              "example(s) cannot be converted without loss. Rerun with --on-loss warn to write "
              "them without what is lost, or --on-loss drop to leave them out (they go to the "
              "rejects file).", file=sys.stderr)
        return 1
    if summary.rejected_total and not summary.rejects:
        return 1  # examples left out with no record of them
    return 0


def _run_tree(job, args: argparse.Namespace) -> int:
    """``-o DIR``: one output per input; a line per file, then the total."""
    from datakit.conversion.files import convert_tree

    total, per_file = convert_tree(job)
    if not args.quiet:
        for one in per_file:
            state = "" if one.committed else "  NOT written (--on-loss error)"
            print(f"  {one.output}: {one.read:,} read, {one.written:,} written, "
                  f"{one.rejected_total:,} rejected{state}", file=sys.stderr)
        written = sum(one.committed for one in per_file)
        print("datakit convert: " + "\n".join(total.lines()) +
              f"\n  outputs: {written:,} of {len(per_file):,} file(s) written under "
              f"{args.output}", file=sys.stderr)
    for code, n in sorted(total.hidden.items()):
        print(f"... and {n:,} more {code}", file=sys.stderr)
    unwritten = [one.output for one in per_file if not one.committed]
    if unwritten:
        print(f"datakit convert: {len(unwritten)} of {len(per_file)} output(s) were not written: "
              "their examples cannot be converted without loss. Rerun with --on-loss warn or "
              "--on-loss drop.", file=sys.stderr)
        return 1
    return 0


__all__ = ["add_parsers", "run"]

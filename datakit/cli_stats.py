"""``datakit stats``: exact token statistics and billed tokens for a target.

Exit codes: 0 statistics printed, 2 usage error (unknown target, unreadable or
unrecognisable input). Over-limit examples are reported, not failed on: that is
``datakit lint --target``'s job.
"""

from __future__ import annotations

import math
import sys

from datakit.errors import UsageError


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "stats", help="token statistics, over-limit examples and billed tokens for a target",
        description="Count the tokens of every example exactly, as the target's model sees it "
                    "(chat template, tools and names included), and print per-example "
                    "percentiles, the examples over the limit and the billed tokens.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="files, directories or globs; - for standard input")
    p.add_argument("--target", default=None, metavar="PROVIDER[:MODEL]",
                   help="provider target (default: [tool.datakit] target, else openai)")
    p.add_argument("--format", default="auto", metavar="ID|auto")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs for billed tokens (default: the provider's default)")
    p.add_argument("--price-per-million", type=float, default=None, metavar="PRICE",
                   help="price per million training tokens, for a cost estimate "
                        "(or [tool.datakit.prices]); datakit ships no prices")
    p.add_argument("--output-format", choices=("text", "json"), default="text")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--no-progress", action="store_true",
                   help="never draw a progress bar (drawn on stderr only when it is a terminal)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from datakit.tokenizers import TokenizerUnavailable
    from datakit.tokenstats import StatsError, stats

    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, not {args.epochs}")
    if args.price_per_million is not None and not 0 <= args.price_per_million < math.inf:
        raise UsageError("--price-per-million must be a finite non-negative number, not "
                         f"{args.price_per_million}")
    from datakit.cli import shown_as_stdin, stdin_spooled

    with stdin_spooled(args.paths) as paths:
        try:
            s = stats(paths, target=args.target, format=args.format, epochs=args.epochs,
                      price_per_million=args.price_per_million, workers=args.workers,
                      progress=False if args.no_progress else None)
        except (StatsError, TokenizerUnavailable) as e:
            raise UsageError(shown_as_stdin(str(e))) from None
        text = s.to_json() if args.output_format == "json" else s.render_text()
        print(shown_as_stdin(text))
    for path in s.empty:
        print(f"datakit stats: {shown_as_stdin(path)}: the file is empty; nothing "
              "counted", file=sys.stderr)
    if s.skipped:
        print(f"datakit stats: {len(s.skipped):,} example(s) could not be counted; "
              "`datakit lint` says why", file=sys.stderr)
    return 0

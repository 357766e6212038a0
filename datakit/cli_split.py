"""``datakit split`` and ``datakit check-split``.

Exit codes: 0 done and every cap met / no leakage, 1 a cap cannot be met or
leakage found, 2 usage error.
"""

from __future__ import annotations

import argparse
import json

from datakit.errors import UsageError


def _size(text: str) -> int:
    from datakit.chunking import parse_size

    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "split", help="deterministic, leakage-free train/validation split within provider caps",
        description="Assign each example by a seeded hash of its group key (default: the "
                    "normalised system prompt + first user turn), so the split is reproducible, "
                    "independent of line order and stable when examples are appended. Lines are "
                    "copied byte for byte.")
    p.add_argument("path", metavar="IN")
    p.add_argument("-o", "--output", nargs=2, required=True, metavar=("TRAIN", "VAL"))
    p.add_argument("--target", default=None, metavar="PROVIDER[:MODEL]",
                   help="apply the provider's validation caps (mistral, dashscope, siliconflow, "
                        "minimax…) after assignment")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--val-ratio", type=float, default=None, metavar="R",
                      help="share of examples for validation (default: the target's, else 0.1)")
    size.add_argument("--val-count", type=int, default=None, metavar="N")
    size.add_argument("--val-bytes", type=_size, default=None, metavar="B",
                      help="validation size in bytes (500KB, 1MB…)")
    p.add_argument("--seed", default="0", help="hash seed (default 0)")
    p.add_argument("--group-by", default=None, metavar="KEY",
                   help="field path of the group key: meta.conversation_id or the JSON "
                        "pointer /meta/conversation_id")
    p.add_argument("--stratify-by", default=None, metavar="KEY",
                   help="field path whose proportions both sides keep, e.g. meta.task")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    p.add_argument("--output-format", choices=("text", "json"), default="text")
    p.set_defaults(handler=run_split)

    c = sub.add_parser("check-split", help="report leakage between existing train and "
                                           "validation files",
                       description="Flag validation examples that share a group key or are "
                                   "exact copies of training examples (D101).")
    c.add_argument("train", metavar="TRAIN")
    c.add_argument("val", metavar="VAL")
    c.add_argument("--group-by", default=None, metavar="KEY")
    c.add_argument("--output-format", choices=("text", "json"), default="text")
    c.set_defaults(handler=run_check)


def run_split(args) -> int:
    from datakit.splitting import SplitError, split

    try:
        res = split(args.path, args.output[0], args.output[1], target=args.target,
                    val_ratio=args.val_ratio, val_count=args.val_count, val_bytes=args.val_bytes,
                    seed=args.seed, group_by=args.group_by, stratify_by=args.stratify_by,
                    force=args.force, progress=False if args.no_progress else None)
    except SplitError as e:
        raise UsageError(str(e)) from None
    print(json.dumps(res.to_dict(), ensure_ascii=False, indent=2)
          if args.output_format == "json" else str(res))
    return 0 if res.ok else 1


def run_check(args) -> int:
    from datakit.splitting import SplitError, check_split

    try:
        res = check_split(args.train, args.val, group_by=args.group_by)
    except SplitError as e:
        raise UsageError(str(e)) from None
    print(json.dumps(res.to_dict(), ensure_ascii=False, indent=2)
          if args.output_format == "json" else str(res))
    return 0 if res.ok else 1

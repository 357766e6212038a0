"""``datakit chunk`` and ``datakit verify``.

Exit codes: 0 chunks written / manifest verified, 1 a line is over the limit
(no chunking can hold it) or verification failed, 2 usage error (bad size,
unknown target, unreadable input or manifest, existing outputs without --force).
"""

from __future__ import annotations

import argparse
import json
import sys

from datakit.errors import UsageError


def _size(text: str) -> int:
    from datakit.chunking import parse_size

    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _progress(args) -> bool | None:
    return False if args.no_progress else None  # None: a bar only when stderr is a terminal


def add_parsers(sub) -> None:
    from datakit.chunking import CHUNK_TARGETS, MODES

    targets = ", ".join(f"{k} {v // 1_000_000} MB" for k, v in CHUNK_TARGETS.items())
    p = sub.add_parser(
        "chunk", help="split a file over an upload limit into byte-exact chunks, with a manifest",
        description="Copy raw lines, byte for byte, into chunks named "
                    "{stem}-{i:05d}-of-{n:05d}.jsonl under a size or line limit; a line is "
                    "never split. A manifest records each chunk's lines, bytes and sha256 and "
                    "the source's; `datakit verify MANIFEST` proves the chunks hold exactly "
                    "the source's lines.")
    p.add_argument("path", metavar="IN", help="a JSONL file (.gz/.zst read transparently)")
    limit = p.add_mutually_exclusive_group()
    limit.add_argument("--max-bytes", type=_size, default=None, metavar="SIZE",
                       help="at most SIZE per chunk: 500MB (10^6), 480MiB (2^20) or bytes")
    limit.add_argument("--target", default=None, metavar="PROVIDER",
                       help=f"a provider's upload limit with a safety margin ({targets})")
    p.add_argument("--max-lines", type=_positive, default=None, metavar="N",
                   help="at most N lines per chunk (alone or with a byte limit)")
    p.add_argument("--mode", choices=MODES, default="contiguous",
                   help="contiguous: in source order, concatenation = the source (default); "
                        "round-robin: line i to chunk i mod n; balanced: each line to the "
                        "lightest chunk")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output directory")
    p.add_argument("--stem", default=None, help="chunk name prefix (default: the input's stem)")
    p.add_argument("--force", action="store_true", help="overwrite existing chunks and manifest")
    p.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    p.add_argument("--output-format", choices=("text", "json"), default="text")
    p.set_defaults(handler=run_chunk)

    v = sub.add_parser(
        "verify", help="prove that chunks hold exactly the lines of their source",
        description="Re-read every chunk named in a manifest written by `datakit chunk`: each "
                    "chunk's lines, bytes and sha256, the limit, and that together they hold the "
                    "source's lines (contiguous: byte for byte in name order; other modes: the "
                    "same multiset of lines). The source is re-checked when it still exists.")
    v.add_argument("manifest", metavar="MANIFEST")
    v.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    v.add_argument("--output-format", choices=("text", "json"), default="text")
    v.set_defaults(handler=run_verify)


def run_chunk(args) -> int:
    from datakit.chunking import ChunkError, LineOverLimit, chunk

    if args.max_bytes is None and args.target is None and args.max_lines is None:
        raise UsageError("give a limit: --max-bytes SIZE, --target PROVIDER or --max-lines N")
    try:
        res = chunk(args.path, args.output, max_bytes=args.max_bytes, target=args.target,
                    max_lines=args.max_lines, mode=args.mode, stem=args.stem, force=args.force,
                    progress=_progress(args))
    except LineOverLimit as e:
        print(f"datakit chunk: error: {e}", file=sys.stderr)
        return 1
    except (ChunkError, FileNotFoundError, IsADirectoryError) as e:
        raise UsageError(str(e)) from None
    print(json.dumps(res.to_dict(), ensure_ascii=False, indent=2)
          if args.output_format == "json" else str(res))
    return 0


def run_verify(args) -> int:
    from datakit.chunking import ManifestError, verify

    try:
        res = verify(args.manifest, progress=_progress(args))
    except ManifestError as e:
        raise UsageError(str(e)) from None
    print(json.dumps(res.to_dict(), ensure_ascii=False, indent=2)
          if args.output_format == "json" else str(res))
    return 0 if res.ok else 1

"""``datakit fix``: the command line over :func:`datakit.fixing.fix_file`.

Exit codes: 0 the output lints clean of errors, 1 errors remain that no fix can
repair (listed, each with its diagnostic), 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from datakit.cli import _codes, _load_config
from datakit.errors import UsageError


def add_parsers(sub) -> None:
    p = sub.add_parser(
        "fix", help="apply the safe, declared fixes to a JSONL file",
        description="Repair what can be repaired without guessing (every rule marked [fix] in "
                    "`datakit rules`), write the result atomically, and list what remains. "
                    "Lines nothing changes are copied byte for byte.")
    p.add_argument("path", metavar="IN", help="the .jsonl file to fix (.gz and .zst are read too)")
    p.add_argument("-o", "--output", default=None, metavar="OUT",
                   help="where to write the fixed file (refuses to overwrite without --force)")
    p.add_argument("--target", default=None, metavar="PROVIDER[:MODEL]",
                   help="the provider target: picks the chat format (mistral ids…) and checks "
                        "its limits in the final lint")
    p.add_argument("--format", default="auto", metavar="ID|auto",
                   help="format of the file (default: auto, detected like `datakit lint`)")
    p.add_argument("--only", type=_codes, default=None, metavar="CODES",
                   help="comma-separated codes, prefixes or rule names to fix (default: all)")
    p.add_argument("--diff", action="store_true",
                   help="print a unified diff hunk per changed line")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would change and what would remain; write nothing")
    p.add_argument("--in-place", action="store_true",
                   help="replace IN (atomically), keeping the original as IN.bak")
    p.add_argument("--merge-consecutive", action="store_true",
                   help="also merge consecutive same-role turns (R003)")
    p.add_argument("--trim-trailing", action="store_true",
                   help="also delete the turns after the last assistant turn (R004)")
    p.add_argument("--keep-duplicates", action="store_true",
                   help="do not remove exact duplicate lines (D004)")
    p.add_argument("--force", action="store_true",
                   help="overwrite an existing OUT (or IN.bak with --in-place)")
    p.add_argument("--output-format", choices=("text", "json"), default="text")
    p.set_defaults(handler=run)


def _diff(result, out_label: str) -> list[str]:
    """One unified-diff hunk per changed line, with the fixed codes after the ``@@``."""
    lines = [f"--- {result.source}", f"+++ {out_label}"]
    removed = 0
    for c in result.changes:
        codes = ", ".join(c.codes)
        before = (c.before or b"").decode("utf-8", errors="replace")
        if c.out_line is None:
            # a deletion: "+N,0" names the output line after which the line was
            lines.append(f"@@ -{c.line} +{c.line - 1 - removed},0 @@ {codes}")
            removed += 1
        else:
            lines.append(f"@@ -{c.line} +{c.out_line} @@ {codes}")
        for mark, text in (("-", before), ("+", None if c.after is None else
                                            c.after.decode("utf-8", errors="replace"))):
            if text is None:
                continue
            body = text.removesuffix("\n")
            lines.append(f"{mark}{body}")
            if not text.endswith("\n"):
                lines.append("\\ No newline at end of file")
    return lines


def _dry_run_lines(result) -> list[str]:
    from datakit.rules.fixes import FIXES

    out = []
    for c in result.changes:
        where = "removed" if c.out_line is None else f"→ line {c.out_line}"
        for code, ptr in c.fixes:
            at = f" at {ptr}" if ptr else ""
            out.append(f"{result.source}:{c.line}: {code}{at}: {FIXES[code]} ({where})")
    return out


def _fixable_notes(result, opts) -> list[str]:
    """Why a remaining code that has a fix was not fixed: the summary must not call it
    unfixable."""
    from datakit.rules.fixes import FIXES, ON_REQUEST

    codes = sorted({d.code for d in result.remaining if d.code in FIXES})
    if not codes:
        return []
    out = ["of these, datakit fix has a fix for:"]
    for code in codes:
        if code in ON_REQUEST and not getattr(opts, ON_REQUEST[code]):
            why = f"applied only on request: add --{ON_REQUEST[code].replace('_', '-')}"
        elif code == "D004" and not opts.dedupe:
            why = "not applied with --keep-duplicates"
        elif code not in opts.enabled:
            why = "not selected by --only"
        else:
            why = "the fix did not apply here (the repair would be ambiguous); repair it by hand"
        out.append(f"  {code}: {why}")
    return out


def run(args: argparse.Namespace) -> int:
    from datakit.fixing import FixOptions, fix_file
    from datakit.render import render

    if args.target:
        from datakit.targets import resolve

        # the target may be one the user added or overrode in [tool.datakit.targets]
        _load_config(None)
        resolve(args.target)
    opts = FixOptions(format=args.format, target=args.target, only=args.only,
                      merge_consecutive=args.merge_consecutive, trim_trailing=args.trim_trailing,
                      dedupe=not args.keep_duplicates, keep_text=args.diff or args.dry_run)
    result = fix_file(args.path, args.output, opts, in_place=args.in_place, force=args.force,
                      dry_run=args.dry_run)
    if args.output_format == "json":
        print(result.to_json())
        return 0 if result.ok else 1
    out: list[str] = []
    if args.diff and result.changes:
        out += _diff(result, result.output or f"{args.path} (fixed)")
    if args.dry_run:
        out += _dry_run_lines(result)
    dest = "nothing written (dry run)" if args.dry_run else f"wrote {result.output}"
    if result.backup:
        dest += f", original kept as {result.backup}"
    out.append(f"datakit fix: {args.path} ({result.format or 'unknown format'}"
               f"{', target ' + args.target if args.target else ''}): {dest}")
    out += result.summary_lines()
    if result.remaining:
        s = result.report.summary
        notes = _fixable_notes(result, opts)
        out.append(f"remaining in the output: {s['errors']} error(s), {s['warnings']} warning(s)"
                   + (":" if notes else " that no fix repairs:"))
        out.append(render(result.report, "concise", color=False))
        out += notes
    else:
        out.append("the output lints clean")
    sys.stdout.write("\n".join(out) + "\n")
    return 0 if result.ok else 1


__all__ = ["UsageError", "add_parsers", "run"]

"""Checks across examples: duplicates in a file, train/validation caps and leakage."""

from __future__ import annotations

from datakit.diagnostics import Diagnostic
from datakit.rules import registry
from datakit.rules.registry import Finding


def duplicate_checks(path: str, res) -> list[Diagnostic]:
    # only the entries of repeated digests can be duplicates: the same duplicates, and the
    # same first occurrences, without a dict of every example
    first: dict[bytes, int] = {}
    out = []
    for line, example, digest in res.digests.repeated():
        prev = first.setdefault(digest, line)
        if prev != line:
            out.append(registry.diagnostic(
                Finding("D004", f"exact duplicate of line {prev}; remove it (duplicates are "
                                "trained twice and leak into validation)"),
                path=path, line=line, example=example))
    return out


def validation_checks(train: list, val: tuple, target_spec: str | None) -> list[Diagnostic]:
    """Cross-file checks for a validation file linted beside training file(s)."""
    val_fr, val_res = val
    out: list[Finding] = []
    lines: list[tuple[int, int, Finding]] = []
    train_digests: dict[bytes, tuple[str, int]] = {}
    for fr, res in train:
        # leakage needs only the training examples whose digest the validation file has
        for line, _, digest in res.digests.matching(val_res.digests):
            train_digests.setdefault(digest, (fr.path, line))
    for line, example, digest in val_res.digests:
        hit = train_digests.get(digest)
        if hit:
            lines.append((line, example, Finding(
                "D006", f"this validation example is also line {hit[1]} of {hit[0]}; remove it from "
                        "one side (leakage)")))
    if target_spec:
        from datakit.targets import resolve

        t = resolve(target_spec)
        train_bytes = sum(res.bytes for _, res in train)
        if t.val_max_ratio_of_train_bytes is not None or t.val_max_bytes is not None:
            caps: list[tuple[int, str]] = []
            if t.val_max_bytes is not None:
                caps.append((t.val_max_bytes, f"{t.val_max_bytes:,} bytes"))
            if t.val_max_ratio_of_train_bytes is not None:
                share = int(t.val_max_ratio_of_train_bytes * train_bytes)
                caps.append((share, (f"{t.val_max_ratio_of_train_bytes:.0%} of the {train_bytes:,} "
                                     f"training bytes = {share:,}")))
            cap = min(c for c, _ in caps)
            if val_res.bytes > cap:
                rule = (f"the smaller of {caps[0][1]} and {caps[1][1]}" if len(caps) > 1
                        else caps[0][1])
                out.append(Finding(
                    "D005", f"validation file is {val_res.bytes:,} bytes; {t.provider} allows at most "
                            f"{cap:,} bytes ({rule}); re-split with "
                            f"`datakit split --target {t.provider}`"))
        if t.val_max_examples is not None and val_res.examples > t.val_max_examples:
            out.append(Finding(
                "D005", f"validation file has {val_res.examples:,} examples; {t.provider} uses at most "
                        f"{t.val_max_examples:,}; re-split with `datakit split --target {t.provider}`"))
    diags = [registry.diagnostic(f, path=val_fr.path, line=None, example=None) for f in out]
    diags += [registry.diagnostic(f, path=val_fr.path, line=ln, example=ex) for ln, ex, f in lines]
    return diags

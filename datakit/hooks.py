"""The pre-commit hooks datakit ships, as one catalog.

``.pre-commit-hooks.yaml`` is generated from this list (``python -m
datakit.hooks > .pre-commit-hooks.yaml``) and a test checks that they agree
and that each hook's ``files`` pattern matches realistic paths.
"""

from __future__ import annotations

HOOKS = [
    {
        "id": "datakit-lint",
        "name": "datakit lint (fine-tuning JSONL)",
        "description": "Check fine-tuning datasets against their format and provider limits.",
        "entry": "datakit lint",
        "language": "python",
        "files": r"\.jsonl(\.gz|\.zst|\.zstd)?$",
        "require_serial": False,
        "args": ["--output-format", "concise"],
    },
    {
        # opt-in: a repository's other .zip files (releases, fixtures) are no datasets
        "id": "datakit-lint-zip",
        "name": "datakit lint (DashScope image zips)",
        "description": "Check DashScope image-understanding datasets (.zip with a .jsonl "
                       "and its images). Add it only where every committed .zip is one.",
        "entry": "datakit lint",
        "language": "python",
        "files": r"\.zip$",
        "require_serial": False,
        "args": ["--output-format", "concise"],
    },
]


def render_yaml() -> str:
    import json

    lines = ["# Generated from datakit/hooks.py; do not edit by hand."]
    for hook in HOOKS:
        first = True
        for key, value in hook.items():
            prefix = "- " if first else "  "
            first = False
            lines.append(f"{prefix}{key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_yaml(), end="")

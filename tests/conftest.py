import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"


def run_cli(*args, cwd=None, input=None, env=None, timeout=300):
    """Run the real CLI as a subprocess (python -m datakit)."""
    e = dict(os.environ)
    e.pop("DATAKIT_WORKERS", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "datakit", *map(str, args)], cwd=cwd,
                          input=input, capture_output=True, text=True, env=e, timeout=timeout, check=False)


def write_big_sharegpt(path: Path, mb: int) -> None:
    """A ShareGPT file of about ``mb`` MiB: the bundled corpus repeated."""
    lines = [x + b"\n" for x in (FIXTURES / "corpora" / "sharegpt.jsonl").read_bytes().splitlines()
             if x]
    block = b"".join(lines)
    with open(path, "wb") as fh:
        fh.writelines(block for _ in range(mb * (1 << 20) // len(block) + 1))


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def write_jsonl(tmp_path):
    import json

    def _write(name, rows, *, raw=None):
        p = tmp_path / name
        if raw is not None:
            p.write_bytes(raw)
        else:
            p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                         encoding="utf-8")
        return p

    return _write

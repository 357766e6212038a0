"""The built wheel carries the schemas and runs `datakit lint` from a fresh venv."""

import json
import subprocess
import sys
import sysconfig
import venv
import zipfile

from conftest import ROOT

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def test_wheel_installs_and_lints(tmp_path):
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "-w", str(dist), str(ROOT)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = next(dist.glob("datakit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    schemas = [n for n in names if n.startswith("datakit/schemas/") and n.endswith(".schema.json")]
    assert len(schemas) == 11, names
    # every module of the source tree ships (pyproject lists the packages explicitly)
    source = {str(p.relative_to(ROOT)) for p in (ROOT / "datakit").rglob("*.py")}
    assert source - set(names) == set(), "add the missing packages to pyproject.toml"
    # A fresh venv; the heavy dependencies come from this interpreter's site-packages
    # through a path entry (not a site dir, so no editable finder of this checkout leaks in).
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=False).stdout.strip()
    with open(f"{site}/_deps.pth", "w") as fh:
        fh.write(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    data = tmp_path / "work"
    data.mkdir()
    (data / "ok.jsonl").write_text(json.dumps(GOOD) + "\n")
    (data / "bad.jsonl").write_text('{"messages": [{"role": "bot"}]}\n')
    probe = subprocess.run([str(py), "-c", "import datakit, sys; print(datakit.__file__)"],
                           cwd=data, capture_output=True, text=True, check=False)
    assert str(env_dir) in probe.stdout, probe.stdout + probe.stderr
    exe = env_dir / "bin" / "datakit"
    r = subprocess.run([str(exe), "lint", "ok.jsonl"], cwd=data, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([str(exe), "lint", "bad.jsonl", "--output-format", "json"], cwd=data,
                       capture_output=True, text=True, check=False)
    assert r.returncode == 1
    assert "S003" in {d["code"] for d in json.loads(r.stdout)["diagnostics"]}

"""The shipped pre-commit hook, run by the real `pre-commit` in a throwaway git repo."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from datakit.hooks import HOOKS, render_yaml

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
BAD = {"messages": [{"role": "bot", "content": "hello"}]}


def test_hooks_file_is_generated_from_the_catalog():
    assert (ROOT / ".pre-commit-hooks.yaml").read_text() == render_yaml()
    assert yaml.safe_load(render_yaml()) == HOOKS


@pytest.mark.parametrize("path,matches", [
    ("train.jsonl", True), ("data/openai/train.jsonl", True), ("train.jsonl.gz", True),
    ("train.jsonl.zst", True), ("images.zip", False), ("release-1.0.zip", False),
    ("notes.json", False), ("train.jsonl.bak", False), ("README.md", False),
])
def test_hook_files_pattern(path, matches):
    pattern = HOOKS[0]["files"]
    assert bool(re.search(pattern, path)) is matches


@pytest.mark.parametrize("path,matches", [
    ("images.zip", True), ("data/vl/train.zip", True), ("train.jsonl", False),
    ("archive.zip.bak", False),
])
def test_zip_hook_is_separate_and_opt_in(path, matches):
    """A repository's other .zip files (releases, fixtures) must not fail every commit:
    DashScope image zips have their own hook, added only where it applies."""
    (zip_hook,) = [h for h in HOOKS if h["id"] == "datakit-lint-zip"]
    assert bool(re.search(zip_hook["files"], path)) is matches
    assert zip_hook["entry"] == HOOKS[0]["entry"]


def _git(cwd, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)


def test_real_pre_commit_rejects_bad_and_accepts_good(tmp_path):
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
    if pre_commit is None:
        pytest.fail("pre-commit is a dev dependency and must be installed")
    datakit_bin = Path(sys.executable).parent / "datakit"
    hook = dict(HOOKS[0])
    # repo: local runs the hook exactly as declared, with the datakit installed here
    hook.update(language="system", entry=f"{datakit_bin} lint")
    (tmp_path / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]}))
    assert _git(tmp_path, "init", "-q").returncode == 0
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / ".cache"))
    r = subprocess.run([pre_commit, "install"], cwd=tmp_path, capture_output=True, text=True, env=env, check=False)
    assert r.returncode == 0, r.stderr
    _git(tmp_path, "add", ".pre-commit-config.yaml")
    (tmp_path / "train.jsonl").write_text(json.dumps(GOOD) + "\n" + json.dumps(BAD) + "\n")
    _git(tmp_path, "add", "train.jsonl")
    r = subprocess.run(["git", "commit", "-m", "bad data"], cwd=tmp_path, capture_output=True,
                       text=True, env=dict(env, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e.com",
                                           GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e.com"), check=False)
    assert r.returncode != 0, r.stdout
    out = r.stdout + r.stderr
    assert "train.jsonl:2:" in out and "S003" in out
    (tmp_path / "train.jsonl").write_text(json.dumps(GOOD) + "\n")
    _git(tmp_path, "add", "train.jsonl")
    r = subprocess.run(["git", "commit", "-m", "good data"], cwd=tmp_path, capture_output=True,
                       text=True, env=dict(env, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@e.com",
                                           GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@e.com"), check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Passed" in r.stdout + r.stderr

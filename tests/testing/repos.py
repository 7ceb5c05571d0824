"""Real git repositories with a bare origin, built in temporary folders for tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from champion.cli import main

DEFAULT_CONFIG = """\
stages: [staging, prod]
gate_stage: prod
models:
  churn:
    path: models/churn.bin
    description: Churn classifier
    labels: [tabular]
"""


def isolate(mp: pytest.MonkeyPatch, base: Path) -> None:
    """No user or system git config leaks in and every commit and tag has a fixed identity; DVC
    sends no analytics and keeps its site cache in `base`; nothing of a GitHub Actions run the
    tests may run in (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_REPOSITORY ...) is seen."""
    mp.setenv("GIT_CONFIG_GLOBAL", str(base / "gitconfig"))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        mp.setenv(f"GIT_{who}_NAME", "Test User")
        mp.setenv(f"GIT_{who}_EMAIL", "test@example.com")
    mp.setenv("DVC_NO_ANALYTICS", "1")
    mp.setenv("DVC_SITE_CACHE_DIR", str(base / "dvc-site-cache"))
    for var in [v for v in os.environ if v.startswith("GITHUB_")]:
        mp.delenv(var)


@contextmanager
def isolated(base: Path) -> Iterator[pytest.MonkeyPatch]:
    """`isolate` for a module- or session-scoped fixture, which cannot use tests/conftest.py's
    autouse fixture (nor `monkeypatch`)."""
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, base)
        yield mp


def git(cwd: Path, *args: str, input: str | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, input=input, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


@dataclass
class Repo:
    path: Path
    origin: Path

    def git(self, *args: str) -> str:
        return git(self.path, *args)

    def commit_artifact(
        self, content: str | bytes, path: str = "models/churn.bin", message: str = "train"
    ) -> str:
        target = self.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        target.write_bytes(content)
        self.git("add", path)
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def tags(self) -> list[str]:
        return sorted(self.git("tag", "-l").split())

    def remote_tags(self) -> list[str]:
        out = git(self.origin, "tag", "-l")
        return sorted(out.split())

    def clone(self, dest: Path) -> Repo:
        git(dest.parent, "clone", "-q", str(self.origin), str(dest))
        return Repo(dest, self.origin)


def make_repo(tmp_path: Path, config: str | None = DEFAULT_CONFIG, commit: bool = True) -> Repo:
    """A work repository with `champion.yaml` (and one artifact) committed and pushed to a bare
    origin next to it."""
    origin = tmp_path / "origin.git"
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "init", "-q", "-b", "main", str(work))
    repo = Repo(work, origin)
    repo.git("remote", "add", "origin", str(origin))
    if config is not None:
        (work / "champion.yaml").write_text(config)
    if commit:
        if config is not None:
            repo.git("add", "champion.yaml")
        repo.commit_artifact("model v1")
        repo.git("push", "-q", "origin", "main")
    return repo


def copy_project(template: Path, dest: Path) -> Repo:
    """A copy of every folder of `template` (work, origin.git, pointers, dvc-remote ...) in
    `dest`, its origin pointing at the copy. DVC's site cache stays behind: it remembers what the
    template's DVC remote held, and a test that deletes from the copy's remote must not be told
    otherwise (a fresh CI machine has none)."""
    for part in template.iterdir():
        if part.is_dir() and part.name != "dvc-site-cache":
            shutil.copytree(part, dest / part.name, symlinks=True)
    repo = Repo(dest / "work", dest / "origin.git")
    repo.git("remote", "set-url", "origin", str(repo.origin))
    return repo


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], cwd: Path, *args: str) -> Result:
    """Runs the CLI in-process, as `champion -C cwd ARGS`, and captures what it printed."""
    capsys.readouterr()
    try:
        code = main(["-C", str(cwd), *args])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 2
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)

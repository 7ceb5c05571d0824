"""Projects for the publish, canary and dispatch tests: built once per module in a template folder
(git, a bare origin, registered versions, optionally DVC with a local remote), then copied for each
test. Every path inside a template is relative, so a copy stands alone."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from champion.cli import main
from champion.pointer import ArtifactRef, Pointer
from testing.repos import Repo, Result, make_repo, run_cli

MODEL = "models/churn.bin"

GIT_CONFIG = f"""\
stages: [staging, prod]
models:
  churn:
    path: {MODEL}
    pointer: ../pointers
"""


@contextmanager
def isolated(base: Path) -> Iterator[pytest.MonkeyPatch]:
    """The isolation of tests/conftest.py's autouse fixture, for module-scoped fixtures (which
    cannot use it)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GIT_CONFIG_GLOBAL", str(base / "gitconfig"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for who in ("AUTHOR", "COMMITTER"):
            mp.setenv(f"GIT_{who}_NAME", "Test User")
            mp.setenv(f"GIT_{who}_EMAIL", "test@example.com")
        mp.setenv("DVC_NO_ANALYTICS", "1")
        mp.setenv("DVC_SITE_CACHE_DIR", str(base / "dvc-site-cache"))
        for var in ("GITHUB_RUN_ID", "GITHUB_ACTOR", "GITHUB_REPOSITORY", "GITHUB_OUTPUT"):
            mp.delenv(var, raising=False)
        yield mp


def quiet_dvc(mp: pytest.MonkeyPatch) -> None:
    """`import dvc` binds its log handlers to the sys.stdout and sys.stderr of that moment: in a
    test run, perhaps an earlier test's capture, closed since, which DVC's next log line would
    write to. Without them, DVC's records go to the root logger (pytest's log capture)."""
    for name in ("dvc", "dvc_objects", "dvc_data"):
        mp.setattr(logging.getLogger(name), "handlers", [])


def cli(repo: Repo, *args: str) -> None:
    """Runs champion in a fixture (which has no capsys); it must succeed."""
    assert main(["-C", str(repo.path), *args]) == 0, args


def build_git_project(
    base: Path, config: str = GIT_CONFIG, versions: int = 3, promote: bool = True
) -> Repo:
    """Versions 0.1.0 .. 0.N.0 of a git-tracked artifact (content b"model N"), registered and
    pushed; 0.1.0 promoted to prod with --push, so ../pointers/prod.json names it."""
    repo = make_repo(base, config, commit=False)
    repo.git("add", "champion.yaml")
    repo.git("commit", "-q", "-m", "config")
    for n in range(1, versions + 1):
        repo.commit_artifact(f"model {n}", MODEL, message=f"train {n}")
        repo.git("push", "-q", "origin", "main")
        cli(repo, "register", "churn", "--version", f"0.{n}.0", "--push")
    if promote:
        cli(repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    return repo


def build_dvc_project(base: Path, config: str = GIT_CONFIG, versions: int = 2) -> Repo:
    """The same with the artifact tracked by DVC and pushed to a local DVC remote (../dvc-remote),
    nothing promoted. DVC runs in-process: its CLI takes seconds to start each time."""

    repo = make_repo(base, config, commit=False)
    with pytest.MonkeyPatch.context() as mp:
        quiet_dvc(mp)
        _add_dvc_versions(repo, versions)
    return repo


def _add_dvc_versions(repo: Repo, versions: int) -> None:
    from dvc.repo import Repo as DvcRepo

    DvcRepo.init(str(repo.path))
    # What `dvc remote add -d local ../dvc-remote` writes: a path relative to .dvc/.
    (repo.path / ".dvc" / "config").write_text(
        "[core]\n    remote = local\n['remote \"local\"']\n    url = ../../dvc-remote\n"
    )
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "dvc")
    for n in range(1, versions + 1):
        (repo.path / "models").mkdir(exist_ok=True)
        (repo.path / MODEL).write_bytes(f"model {n}".encode())
        with DvcRepo(str(repo.path)) as dvc_repo:
            target = str(repo.path / MODEL)  # DVC resolves relative targets against the cwd
            dvc_repo.add(target)
            dvc_repo.push(targets=[target])
        repo.git("add", f"{MODEL}.dvc", "models/.gitignore")
        repo.git("commit", "-q", "-m", f"train {n}")
        repo.git("push", "-q", "origin", "main")
        cli(repo, "register", "churn", "--version", f"0.{n}.0", "--push")


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


def run(capsys: pytest.CaptureFixture[str], repo: Repo, *args: str) -> Result:
    return run_cli(capsys, repo.path, *args)


def ok(result: Result) -> str:
    assert result.code == 0, f"exit {result.code}: {result.out}{result.err}"
    assert "Traceback" not in result.err
    return result.out


def read_pointer(folder: Path, stage: str = "prod") -> dict[str, Any]:
    data = json.loads((folder / f"{stage}.json").read_text())
    assert isinstance(data, dict)
    return data


def folder_state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below `folder`: bytes and mtime, to show that nothing was touched."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def make_pointer(counter: int, version: str | None = None, stage: str = "prod") -> Pointer:
    """A valid pointer for `counter` (naming version 1.COUNTER.0 unless told)."""
    sha = "a" * 64
    return Pointer(
        model="churn",
        stage=stage,
        version=version or f"1.{counter}.0",
        tag=f"churn#{stage}#{counter}",
        commit="c" * 40,
        artifact=ArtifactRef(MODEL, sha, 7, f"/artifacts/{sha}", "joblib"),
        counter=counter,
        updated_at="2026-11-22T10:00:00Z",
    )

"""Projects for the publish, canary, dispatch, rollback and watch tests: built once per module in a
template folder (git, a bare origin, registered versions, optionally DVC with a local remote), then
copied for each test (tests/conftest.py's `template` and `project`). Every path inside a template
is relative, so a copy stands alone."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from champion.cli import main
from champion.deploy.pointer import ArtifactRef, Pointer
from testing.releases import dvc
from testing.repos import Repo, Result, make_repo, run_cli
from testing.tools import GitClock

MODEL = "models/churn.bin"

GIT_CONFIG = f"""\
stages: [staging, prod]
models:
  churn:
    path: {MODEL}
    pointer: ../pointers
"""


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


def commit_dvc_version(repo: Repo, content: bytes) -> None:
    """Commits `content` as the DVC-tracked artifact, pushed to the DVC remote and to origin."""
    (repo.path / "models").mkdir(exist_ok=True)
    (repo.path / MODEL).write_bytes(content)
    dvc(repo, "add", "-q", MODEL)
    dvc(repo, "push", "-q", MODEL)
    repo.git("add", f"{MODEL}.dvc", "models/.gitignore")
    repo.git("commit", "-q", "-m", f"train {content.decode()}")
    repo.git("push", "-q", "origin", "main")


def build_dvc_registry(
    base: Path, mp: pytest.MonkeyPatch, versions: int, start: int
) -> tuple[Repo, GitClock]:
    """A DVC repository (`dvc init`, the local remote ../dvc-remote, churn declared in dvc.yaml so
    that DVC's and GTO's readers see it) whose versions 0.1.0 .. 0.N.0 (content b"model N"), each
    DVC-tracked and pushed, are registered and promoted to prod in turn, the pointer published by
    each promotion. git dates them a second apart from `start`; the clock is returned to go on."""
    repo = make_repo(base, GIT_CONFIG, commit=False)
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "local", "../dvc-remote")
    (repo.path / "dvc.yaml").write_text(
        f"artifacts:\n  churn:\n    path: {MODEL}\n    type: model\n"
    )
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "dvc")
    clock = GitClock(mp, start=start, step=1)
    for n in range(1, versions + 1):
        clock.tick()
        commit_dvc_version(repo, f"model {n}".encode())
        cli(repo, "register", "churn", "--bump", "minor", "--push")
        cli(repo, "promote", "churn", f"0.{n}.0", "--stage", "prod", "--push")
    return repo, clock


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

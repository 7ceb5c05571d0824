"""A registry built once for the watch tests (DVC is slow to start) and copied for each test:
churn 0.1.0 then 0.2.0 live in prod, 0.2.0 the only version ever live in staging, each artifact
DVC-tracked and in a local DVC remote, the pointer published. Every tag is dated two hours ago, so
a default cooldown (30m) lets a rollback through and a longer one does not."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import champion.registry.registry as registry
from champion.cli import main
from champion.registry import ModelState
from testing.releases import Capsys, dvc
from testing.repos import Repo, make_repo
from testing.tools import GitClock

MODEL = "models/churn.bin"
CONFIG = f"""\
stages: [staging, prod]
models:
  churn:
    path: {MODEL}
    pointer: ../pointers
"""


AGO = 7200


def _two_hours_ago(state: ModelState) -> int:
    newest = max((e.timestamp or 0 for e in state.history), default=0)
    return max(int(time.time()) - AGO, newest + 1)


def commit_version(repo: Repo, content: bytes) -> None:
    (repo.path / "models").mkdir(exist_ok=True)
    (repo.path / MODEL).write_bytes(content)
    dvc(repo, "add", "-q", MODEL)
    dvc(repo, "push", "-q", MODEL)
    repo.git("add", f"{MODEL}.dvc", "models/.gitignore")
    repo.git("commit", "-q", "-m", f"train {content.decode()}")
    repo.git("push", "-q", "origin", "main")


@pytest.fixture(scope="session")
def watch_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("watch")
    with pytest.MonkeyPatch.context() as mp:
        # The same isolation as the autouse fixture, which a session fixture cannot use.
        mp.setenv("GIT_CONFIG_GLOBAL", str(base / "gitconfig"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for who in ("AUTHOR", "COMMITTER"):
            mp.setenv(f"GIT_{who}_NAME", "Test User")
            mp.setenv(f"GIT_{who}_EMAIL", "test@example.com")
        mp.setenv("DVC_NO_ANALYTICS", "1")
        mp.setenv("DVC_SITE_CACHE_DIR", str(base / "dvc-site-cache"))
        for var in ("GITHUB_RUN_ID", "GITHUB_ACTOR", "GITHUB_REPOSITORY", "GITHUB_OUTPUT"):
            mp.delenv(var, raising=False)
        mp.delenv("GITHUB_STEP_SUMMARY", raising=False)
        repo = make_repo(base, CONFIG, commit=False)
        dvc(repo, "init", "-q")
        dvc(repo, "remote", "add", "-d", "local", "../dvc-remote")
        (repo.path / "dvc.yaml").write_text(
            f"artifacts:\n  churn:\n    path: {MODEL}\n    type: model\n"
        )
        repo.git("add", "-A")
        repo.git("commit", "-q", "-m", "dvc")
        clock = GitClock(mp, start=int(time.time()) - AGO, step=1)
        # Tags are dated by the registry's own clock (never before the model's newest tag).
        mp.setattr(registry, "_next_tag_time", _two_hours_ago)
        for n in (1, 2):
            clock.tick()
            commit_version(repo, f"model {n}".encode())
            for args in (
                ("register", "churn", "--bump", "minor", "--push"),
                ("promote", "churn", f"0.{n}.0", "--stage", "prod", "--push"),
            ):
                assert main(["-C", str(repo.path), *args]) == 0
        clock.tick()
        assert (
            main(
                ["-C", str(repo.path), "promote", "churn", "0.2.0", "--stage", "staging", "--push"]
            )
            == 0
        )
    return base


@pytest.fixture
def project(
    watch_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capsys
) -> Repo:
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "dvc-site-cache"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    for part in ("work", "origin.git", "dvc-remote", "pointers"):
        shutil.copytree(watch_template / part, tmp_path / part, symlinks=True)
    repo = Repo(tmp_path / "work", tmp_path / "origin.git")
    repo.git("remote", "set-url", "origin", str(repo.origin))
    repo.capsys = capsys  # type: ignore[attr-defined]
    return repo

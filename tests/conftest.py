from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.repos import DEFAULT_CONFIG, Repo, make_repo


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No user or system git config leaks in; every commit and tag has a fixed identity."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test User")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    for var in ("GITHUB_ACTOR", "GITHUB_RUN_ID", "GITHUB_OUTPUT", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path, DEFAULT_CONFIG)

"""A registry built once for the watch tests (DVC is slow to start) and copied for each test
(tests/conftest.py's `project`):
churn 0.1.0 then 0.2.0 live in prod, 0.2.0 the only version ever live in staging, each artifact
DVC-tracked and in a local DVC remote, the pointer published. Every tag is dated two hours ago, so
a default cooldown (30m) lets a rollback through and a longer one does not."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import champion.registry.registry as registry
from champion.registry import ModelState
from testing.deploy import build_dvc_registry, cli
from testing.releases import Capsys
from testing.repos import Repo, isolated

AGO = 7200


def _two_hours_ago(state: ModelState) -> int:
    newest = max((e.timestamp or 0 for e in state.history), default=0)
    return max(int(time.time()) - AGO, newest + 1)


@pytest.fixture(scope="session")  # once for every module here, not once per module
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("watch")
    with isolated(base) as mp:
        # Tags are dated by the registry's own clock (never before the model's newest tag).
        mp.setattr(registry, "_next_tag_time", _two_hours_ago)
        repo, clock = build_dvc_registry(base, mp, versions=2, start=int(time.time()) - AGO)
        clock.tick()
        cli(repo, "promote", "churn", "0.2.0", "--stage", "staging", "--push")
    return base


@pytest.fixture
def project(project: Repo, capsys: Capsys) -> Repo:
    project.capsys = capsys  # type: ignore[attr-defined]
    return project

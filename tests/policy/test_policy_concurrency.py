"""Promotions racing under a policy: real `python -m champion` processes against one bare origin,
released together (testing.race). Each attempt of the write loop judges the remote's tags as it
found them, so a version reaches prod only after an assign to staging that the origin already
held; a refused promotion leaves no tag anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.race import run_together
from testing.repos import Repo, git, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]
CONFIG = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn.bin
"""
POLICY = "policy:\n  prod: {after: staging}\n"


def stage_events(repo: Repo) -> list[tuple[int, str, str, str]]:
    """(counter, action, stage, version) of every stage tag the origin holds, by counter."""
    out = git(
        repo.origin,
        "for-each-ref",
        "--format=%(refname:strip=2)%00%(contents:body)%01",
        "refs/tags/churn#*",
    )
    events = []
    for record in filter(None, (r.strip() for r in out.split("\x01"))):
        name, _, body = record.partition("\x00")
        meta = json.loads(body)
        events.append((int(name.rsplit("#", 1)[1]), meta["event"], meta["stage"], meta["version"]))
    return sorted(events)


@pytest.mark.slow
def test_concurrent_promotions_under_policy(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, CONFIG)
    for i in (1, 2, 3, 4):
        if i > 1:
            repo.commit_artifact(f"model v{i}")
        assert (
            run_cli(capsys, repo.path, "register", "churn", "--bump", "minor", "--push").code == 0
        )
    for version in ("0.1.0", "0.2.0"):
        args = ("promote", "churn", version, "--stage", "staging", "--push")
        assert run_cli(capsys, repo.path, *args).code == 0
    (repo.path / "champion.yaml").write_text(CONFIG + POLICY)
    repo.git("commit", "-qam", "policy")
    repo.git("push", "-q", "origin", "main")

    jobs = [
        ("0.2.0", "prod"),
        ("0.2.0", "prod"),
        ("0.1.0", "prod"),
        ("0.3.0", "prod"),
        ("0.3.0", "prod"),
        ("0.3.0", "staging"),
        ("0.4.0", "prod"),
    ]
    clones = [repo.clone(tmp_path / f"worker-{i}") for i in range(len(jobs))]
    results = run_together(
        [
            (c.path, ["-C", str(c.path), "promote", "churn", v, "--stage", s, "--push"])
            for c, (v, s) in zip(clones, jobs, strict=True)
        ],
        tmp_path / "barrier",
    )
    events = stage_events(repo)
    for name in ("staging", "prod"):  # a counter is never reused within a stage
        counters = [e[0] for e in events if e[2] == name]
        assert len(counters) == len(set(counters)), events
    staged_at = {
        v: n for n, action, stage, v in events if stage == "staging" and action == "assign"
    }
    for n, action, stage, version in events:
        if stage == "prod" and action == "assign":
            # Never in prod before the origin held its staging assign.
            assert version in staged_at and staged_at[version] < n, events
    for clone, result, (version, stage) in zip(clones, results, jobs, strict=True):
        if result.code == 0:
            continue
        assert result.code == 2, result.err
        assert stage == "prod" and version in ("0.3.0", "0.4.0")
        assert f"policy.prod.after: {version} was never live in staging" in result.err
        # What the refused run may have fetched is the origin's; it wrote nothing of its own.
        assert set(clone.tags()) <= set(repo.remote_tags())
    # The allowed ones all went through (a later one replacing an earlier one, or finding it live).
    assert [results[i].code for i in (0, 1, 2, 5)] == [0, 0, 0, 0]
    assert results[6].code == 2  # 0.4.0 is never promoted to staging by anyone
    prod = {e[3] for e in events if e[2] == "prod" and e[1] == "assign"}
    assert {"0.1.0", "0.2.0"} <= prod

"""`champion canary start | promote | abort` on a real git repository with a bare origin: the stage
`prod-canary` holds the canary, its weight is in the assign tag's metadata, the pointer carries it;
a promotion is one atomic push; bad input exits 2 and writes nothing. Each test gets a copy of
tests/conftest.py's `template`: 0.1.0, 0.2.0, 0.3.0 registered, 0.1.0 live in prod."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from testing.deploy import folder_state, ok, read_pointer, run
from testing.releases import Capsys, log_pushes, pushes, tag_commit, tag_metadata
from testing.repos import Repo


def pointers(repo: Repo) -> Path:
    return repo.path.parent / "pointers"


def counters(repo: Repo) -> list[int]:
    return sorted(int(t.rsplit("#", 1)[1]) for t in repo.remote_tags() if "#" in t)


def test_start_tags_the_canary_stage_with_its_weight_and_publishes_it(
    project: Repo, capsys: Capsys
) -> None:
    repo = project
    out = ok(run(capsys, repo, "canary", "start", "churn", "0.2.0", "--weight", "0.25", "--push"))
    assert "churn 0.2.0 is the canary of prod (25% of the keys): churn#prod-canary#2" in out
    assert "pushed to origin" in out
    assert "churn#prod-canary#2" in repo.remote_tags()
    meta = tag_metadata(repo.origin, "churn#prod-canary#2")
    assert meta["canary"] == {"stage": "prod", "weight": 0.25}
    assert (meta["event"], meta["stage"], meta["version"]) == ("assign", "prod-canary", "0.2.0")

    data = read_pointer(pointers(repo))
    assert (data["version"], data["tag"], data["counter"]) == ("0.1.0", "churn#prod#1", 2)
    canary = data["canary"]
    assert set(canary) == {"version", "weight", "tag", "commit", "artifact"}
    assert (canary["version"], canary["weight"], canary["tag"]) == (
        "0.2.0",
        0.25,
        "churn#prod-canary#2",
    )
    assert canary["commit"] == tag_commit(repo.origin, "churn@v0.2.0")
    fetched = Path(canary["artifact"]["url"]).read_bytes()
    assert fetched == b"model 2"
    assert hashlib.sha256(fetched).hexdigest() == canary["artifact"]["sha256"]
    # The live version's artifact is still the one served to the other keys.
    assert Path(data["artifact"]["url"]).read_bytes() == b"model 1"

    out = ok(run(capsys, repo, "publish", "churn"))
    assert "canary 0.2.0 takes 25% of the keys" in out


def test_a_new_weight_for_the_same_version_is_a_new_assign_with_the_next_counter(
    project: Repo, capsys: Capsys
) -> None:
    repo = project
    ok(run(capsys, repo, "canary", "start", "churn", "0.2.0", "--weight", "0.1", "--push"))
    out = ok(run(capsys, repo, "canary", "start", "churn", "0.2.0", "--weight", "0.3", "--push"))
    assert "(30% of the keys): churn#prod-canary#3," in out
    assert counters(repo) == [1, 2, 3]  # no unassign in between, no gap
    assert tag_metadata(repo.origin, "churn#prod-canary#3")["canary"]["weight"] == 0.3
    data = read_pointer(pointers(repo))
    assert (data["canary"]["weight"], data["canary"]["tag"], data["counter"]) == (
        0.3,
        "churn#prod-canary#3",
        3,
    )
    # The same weight again: nothing to write.
    tags = repo.remote_tags()
    out = ok(run(capsys, repo, "canary", "start", "churn", "0.2.0", "--weight", "0.3", "--push"))
    assert "already the canary of prod; nothing to do" in out
    assert repo.remote_tags() == tags
    # Another version replaces the canary: unassign, then assign.
    out = ok(run(capsys, repo, "canary", "start", "churn", "0.3.0", "--weight", "0.5", "--push"))
    assert "churn#prod-canary!#4, churn#prod-canary#5" in out
    assert counters(repo) == [1, 2, 3, 4, 5]
    assert read_pointer(pointers(repo))["canary"]["version"] == "0.3.0"


def test_promote_makes_the_canary_live_in_one_atomic_push(project: Repo, capsys: Capsys) -> None:
    repo = project
    ok(run(capsys, repo, "canary", "start", "churn", "0.2.0", "--weight", "0.2", "--push"))
    log = log_pushes(repo)
    out = ok(run(capsys, repo, "canary", "promote", "churn", "--push"))
    assert (
        "promoted the canary churn 0.2.0 to prod: churn#prod!#3, churn#prod#4, "
        "churn#prod-canary!#5, pushed to origin"
    ) in out
    assert pushes(log) == [{"churn#prod!#3", "churn#prod#4", "churn#prod-canary!#5"}]
    assert tag_metadata(repo.origin, "churn#prod!#3")["version"] == "0.1.0"
    assert tag_metadata(repo.origin, "churn#prod#4")["version"] == "0.2.0"
    assert tag_metadata(repo.origin, "churn#prod-canary!#5")["version"] == "0.2.0"

    data = read_pointer(pointers(repo))
    assert (data["version"], data["tag"], data["counter"], data["canary"]) == (
        "0.2.0",
        "churn#prod#4",
        5,
        None,
    )
    assert Path(data["artifact"]["url"]).read_bytes() == b"model 2"
    status = json.loads(ok(run(capsys, repo, "status", "churn", "--json")))
    stages = status["models"][0]["stages"]
    assert stages["prod"]["version"] == "0.2.0"
    assert (stages.get("prod-canary") or {}).get("version") is None


def test_abort_removes_the_canary_and_keeps_prod(project: Repo, capsys: Capsys) -> None:
    repo = project
    ok(run(capsys, repo, "canary", "start", "churn", "0.2.0", "--weight", "0.2", "--push"))
    live_artifact = read_pointer(pointers(repo))["artifact"]
    out = ok(run(capsys, repo, "canary", "abort", "churn", "--reason", "p99 up", "--push"))
    assert "aborted the canary churn 0.2.0 of prod: churn#prod-canary!#3, pushed to origin" in out
    meta = tag_metadata(repo.origin, "churn#prod-canary!#3")
    assert (meta["mark"], meta["reason"]) == ("canary-aborted", "p99 up")

    data = read_pointer(pointers(repo))
    assert (data["version"], data["tag"], data["counter"], data["canary"]) == (
        "0.1.0",
        "churn#prod#1",
        3,
        None,
    )
    assert data["artifact"] == live_artifact


def test_status_shows_the_canary_column(project: Repo, capsys: Capsys) -> None:
    repo = project
    ok(run(capsys, repo, "canary", "start", "churn", "0.3.0", "--weight", "0.1", "--push"))
    header, row = ok(run(capsys, repo, "status", "churn")).splitlines()[:2]
    columns = header.split()
    assert "prod-canary" in columns
    cells = dict(zip(columns, row.split(), strict=False))
    assert (cells["prod"], cells["prod-canary"]) == ("0.1.0", "0.3.0")
    status = json.loads(ok(run(capsys, repo, "status", "churn", "--json")))
    assert status["models"][0]["stages"]["prod-canary"]["version"] == "0.3.0"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["start", "churn", "0.2.0", "--weight", "0"], "--weight 0.0 is not a share"),
        (["start", "churn", "0.2.0", "--weight", "1.5"], "--weight 1.5 is not a share"),
        (["start", "churn", "0.2.0", "--weight", "1"], "--weight 1.0 is not a share"),
        (["start", "churn", "0.2.0", "--weight", "-0.1"], "--weight -0.1 is not a share"),
        (["start", "churn", "0.2.0", "--weight", "nan"], "--weight nan is not a share"),
        (["start", "churn", "0.2.0", "--weight", "inf"], "--weight inf is not a share"),
        (["start", "churn", "0.1.0"], "already live in prod: a canary is another version"),
        (["start", "churn", "0.9.0"], "0.9.0 is not registered"),
        (["start", "churn", "not-a-version"], "not-a-version"),
        (["start", "churn", "0.2.0", "--stage", "qa"], "'qa' is not allowed"),
        (["start", "fraud", "0.2.0"], "unknown model 'fraud'"),
        (["promote", "churn"], "churn has no canary in prod: start one first"),
        (["abort", "churn"], "churn has no canary in prod: nothing to abort"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    project: Repo, capsys: Capsys, args: list[str], named: str
) -> None:
    repo = project
    tags, remote, before = repo.tags(), repo.remote_tags(), folder_state(pointers(repo))
    result = run(capsys, repo, "canary", *args, "--push")
    assert result.code == 2, result.out
    assert named in result.err
    assert "Traceback" not in result.err
    assert (repo.tags(), repo.remote_tags(), folder_state(pointers(repo))) == (
        tags,
        remote,
        before,
    )


def test_a_weight_that_is_not_a_number_is_a_usage_error(project: Repo, capsys: Capsys) -> None:
    tags = project.tags()
    result = run(capsys, project, "canary", "start", "churn", "0.2.0", "--weight", "ten")
    assert result.code == 2
    assert "--weight" in result.err
    assert project.tags() == tags

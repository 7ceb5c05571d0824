"""With --push, every decision is made against the remote's tags (issue 14.1 and 14.7).

A run without --push, or one that crashed between writing its tags and pushing them, leaves tags
only this clone has. A rerun with --push must never believe them: it decides from the remote,
pushes a leftover tag that is exactly what it writes, deletes one that is not, and says which.
Real git, a bare origin, clones; the losing side of a race is produced by running a competing
champion process right before the push (a real race, made deterministic).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from champion.git import Git
from testing.deploy import MODEL, build_git_project, cli, ok, read_pointer, run
from testing.releases import Capsys, local_tag_objects, origin_tag_objects
from testing.repos import Repo, isolated


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.1.0, 0.2.0 and 0.3.0 registered and promoted to prod in turn (0.3.0 live, tags #1-#5),
    pushed; the pointer ../pointers/prod.json names 0.3.0."""
    base = tmp_path_factory.mktemp("remote-truth")
    with isolated(base):
        repo = build_git_project(base)
        for version in ("0.2.0", "0.3.0"):
            cli(repo, "promote", "churn", version, "--stage", "prod", "--push")
    return base


def remote_live(capsys: Capsys, repo: Repo, stage: str = "prod") -> str | None:
    data = json.loads(ok(run(capsys, repo, "status", "churn", "--json", "--remote")))
    found = data["models"][0]["stages"].get(stage)
    return None if found is None else str(found["version"])


def champion(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A second champion process, as another CI job would be."""
    return subprocess.run(
        [sys.executable, "-m", "champion", "-C", str(cwd), *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
        check=False,
    )


# --- reruns after a run without --push ------------------------------------------------------------


@pytest.mark.parametrize("run_id", ["4242", None], ids=["same-run-id", "no-run-id"])
def test_a_rollback_rerun_with_push_pushes_what_the_first_run_left(
    project: Repo, capsys: Capsys, monkeypatch: pytest.MonkeyPatch, run_id: str | None
) -> None:
    repo = project
    if run_id:
        monkeypatch.setenv("GITHUB_RUN_ID", run_id)
    ok(run(capsys, repo, "rollback", "churn", "--reason", "bad"))  # no --push: local tags only
    assert "churn#prod#7" in repo.tags() and "churn#prod#7" not in repo.remote_tags()
    left = local_tag_objects(repo)

    out = ok(run(capsys, repo, "rollback", "churn", "--reason", "bad", "--push"))
    # Not "already rolled back by this run", nor a rollback of 0.2.0 one further back: the remote
    # still served 0.3.0, so this run rolls it back, with the very tags the first run left.
    assert "rolled churn in prod back from 0.3.0 to 0.2.0: churn#prod!#6, churn#prod#7" in out
    assert "pushed to origin" in out
    assert "churn#prod!#6, churn#prod#7: left in this clone by an earlier run" in out
    assert remote_live(capsys, repo) == "0.2.0"
    assert origin_tag_objects(repo) == local_tag_objects(repo) == left
    assert read_pointer(repo.path.parent / "pointers")["version"] == "0.2.0"
    if run_id:
        again = ok(run(capsys, repo, "rollback", "churn", "--reason", "bad", "--push"))
        assert "already rolled back by this run (churn#prod#7)" in again


def test_promote_never_says_already_live_from_local_tags(project: Repo, capsys: Capsys) -> None:
    repo = project
    ok(run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "staging"))
    out = ok(run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "staging", "--push"))
    assert "already live" not in out
    assert "promoted churn 0.2.0 to staging: churn#staging#6, pushed to origin" in out
    assert "churn#staging#6: left in this clone by an earlier run" in out
    assert remote_live(capsys, repo, "staging") == "0.2.0"


def test_a_local_only_tag_that_is_not_what_the_run_writes_is_deleted_and_recomputed(
    project: Repo, capsys: Capsys
) -> None:
    repo = project
    ok(run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "staging"))
    stale = repo.git("rev-parse", "churn#staging#6")
    out = ok(run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "staging", "--push"))
    assert "promoted churn 0.1.0 to staging: churn#staging#6, pushed to origin" in out
    assert "replaced churn#staging#6 in this clone: an earlier run left other tags" in out
    assert repo.git("rev-parse", "churn#staging#6") != stale
    assert origin_tag_objects(repo) == local_tag_objects(repo)
    assert remote_live(capsys, repo, "staging") == "0.1.0"
    # Stale stage tags that nothing writes now are deleted too, so the local view never lies.
    ok(run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "staging"))  # #7, #8 local only
    out = ok(run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "staging", "--push"))
    assert "churn 0.1.0 is already live in staging; nothing to do" in out
    assert "deleted churn#staging!#7, churn#staging#8 from this clone" in out
    assert repo.tags() == repo.remote_tags()
    # A run that writes no stage tag leaves this clone's unpushed stage tags alone (they are not
    # its business), and still decides from the remote.
    ok(run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "staging"))  # #7, #8 local only
    repo.commit_artifact("model 4", MODEL)
    out = ok(run(capsys, repo, "register", "churn", "--push"))
    assert "registered churn 0.3.1" in out and "deleted" not in out
    assert "churn#staging#8" in repo.tags() and "churn#staging#8" not in repo.remote_tags()


def test_a_lone_unassign_left_by_a_crash_is_completed(project: Repo, capsys: Capsys) -> None:
    repo = project
    # What a crash between the two `git tag` calls of champion <= 0.1 left: the unassign only.
    ok(run(capsys, repo, "rollback", "churn", "--reason", "bad"))
    repo.git("tag", "-d", "churn#prod#7")
    locally = json.loads(ok(run(capsys, repo, "status", "churn", "--json")))
    assert locally["models"][0]["stages"]["prod"] is None  # the local view: nothing live

    out = ok(run(capsys, repo, "rollback", "churn", "--reason", "bad", "--push"))
    assert "back from 0.3.0 to 0.2.0: churn#prod!#6, churn#prod#7, pushed to origin" in out
    assert "churn#prod!#6: left in this clone by an earlier run" in out
    assert remote_live(capsys, repo) == "0.2.0"


def test_an_operation_writes_its_tags_locally_all_or_nothing(project: Repo) -> None:
    repo = project
    commit = repo.git("rev-parse", "HEAD")
    repo.git("update-ref", "refs/tags/b/x", commit)  # `b` cannot become a tag: a folder is there
    before = repo.tags()
    with pytest.raises(Exception, match="cannot update the tags"):
        Git(repo.path).create_tags([("a", commit, "one\n", 1), ("b", commit, "two\n", 2)])
    assert repo.tags() == before  # not even `a`


def test_a_version_only_this_clone_has_is_not_promoted_by_a_push(
    project: Repo, capsys: Capsys
) -> None:
    repo = project
    repo.commit_artifact("model 4", MODEL)
    ok(run(capsys, repo, "register", "churn", "--version", "0.4.0"))  # never pushed
    result = run(capsys, repo, "promote", "churn", "0.4.0", "--stage", "prod", "--push")
    assert result.code == 2
    assert "0.4.0 is registered only in this clone (churn@v0.4.0 was never pushed)" in result.err
    assert remote_live(capsys, repo) == "0.3.0"


def test_a_dry_run_says_what_it_would_push_and_delete(project: Repo, capsys: Capsys) -> None:
    repo = project
    ok(run(capsys, repo, "rollback", "churn", "--reason", "bad"))
    tags = local_tag_objects(repo)
    out = ok(run(capsys, repo, "rollback", "churn", "--reason", "bad", "--push", "--dry-run"))
    assert "would roll churn in prod back from 0.3.0 to 0.2.0" in out
    assert "would push churn#prod!#6, churn#prod#7 as this clone has them" in out
    assert local_tag_objects(repo) == tags and "churn#prod#7" not in repo.remote_tags()


# --- a release rerun (issue 14.1 and 15.1) -------------------------------------------------------


def test_a_release_rerun_after_the_version_tag_was_pushed_by_hand_promotes(
    project: Repo, capsys: Capsys
) -> None:
    repo = project
    repo.commit_artifact("model 4", MODEL)
    repo.git("push", "-q", "origin", "main")
    ok(run(capsys, repo, "release", "churn", "--promote", "prod", "--bump", "minor"))
    repo.git("push", "-q", "origin", "churn@v0.4.0")  # by hand: the version, not its promotion
    assert remote_live(capsys, repo) == "0.3.0"

    out = ok(run(capsys, repo, "release", "churn", "--promote", "prod", "--push"))
    assert "already released as churn@v0.4.0; promoted to prod: churn#prod!#6, churn#prod#7" in out
    assert "left in this clone by an earlier run" in out
    assert remote_live(capsys, repo) == "0.4.0"
    assert read_pointer(repo.path.parent / "pointers")["version"] == "0.4.0"
    again = ok(run(capsys, repo, "release", "churn", "--promote", "prod", "--push"))
    assert "already released as churn@v0.4.0; already live in prod" in again


# --- losing a race (issue 14.7) ------------------------------------------------------------------


def lose_the_race(monkeypatch: pytest.MonkeyPatch, other: Repo, *args: str) -> list[Any]:
    """Right before this process's first push, `other` runs `champion ARGS --push` and wins."""
    real = Git.push_atomic
    done: list[Any] = []

    def push_atomic(self: Git, remote: str, tags: Any, **kw: Any) -> tuple[bool, str]:
        if not done:
            done.append(champion(other.path, *args, "--push"))
            assert done[0].returncode == 0, done[0].stderr
        return real(self, remote, tags, **kw)

    monkeypatch.setattr(Git, "push_atomic", push_atomic)
    return done


def test_a_rollback_that_lost_to_a_promotion_does_not_restore_what_it_rolled_back(
    project: Repo, capsys: Capsys, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo = project
    repo.commit_artifact("model 4", MODEL)
    repo.git("push", "-q", "origin", "main")
    ok(run(capsys, repo, "register", "churn", "--push"))  # 0.3.1
    other = repo.clone(tmp_path / "other")
    done = lose_the_race(monkeypatch, other, "promote", "churn", "0.3.1", "--stage", "prod")

    result = run(capsys, repo, "rollback", "churn", "--reason", "0.3.0 is bad", "--push")
    assert done, "the competing promotion ran"
    # Recomputed from the remote, it would have rolled 0.3.1 back to 0.3.0: the version it was
    # issued to take out. It refuses instead, and says what happened.
    assert result.code == 2, result.out
    assert "it was issued against 0.3.0 (churn#prod#5), and 0.3.1 is live now" in result.err
    assert "to 0.3.0" not in result.out
    assert remote_live(capsys, repo) == "0.3.1"
    assert "churn#prod#8" not in repo.remote_tags()


def test_a_rollback_that_lost_to_another_rollback_does_nothing(
    project: Repo, capsys: Capsys, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo = project
    other = repo.clone(tmp_path / "other")
    done = lose_the_race(monkeypatch, other, "rollback", "churn", "--reason", "also saw it")

    out = ok(run(capsys, repo, "rollback", "churn", "--reason", "0.3.0 is bad", "--push"))
    assert done
    assert "0.3.0 was rolled back by another run meanwhile (churn#prod#7 made 0.2.0 live)" in out
    assert remote_live(capsys, repo) == "0.2.0"  # not one further back, to 0.1.0
    assert repo.remote_tags() == sorted([*repo.remote_tags()])
    assert "churn#prod#9" not in repo.remote_tags()

"""The counter is 1 + the largest among ALL the model's tags (DESIGN.md), whichever stage a
write touches. Tag names alone cannot hold that under contention (churn#prod#4 and
churn#staging#4 never collide), so every write that takes counters also moves the model's
counter ref, refs/champion/counters/<model>#counter, from the value its plan was made with, in
the same atomic push. Real git, a bare origin and clones; a losing side is produced by a second
writer at a chosen moment (a real race, made deterministic). The free-running race is
tests/registry/test_concurrency.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from champion.git import Git
from champion.registry import Registry
from champion.registry.registry import counter_ref
from champion.registry.tags import Version
from testing.releases import log_pushes, pushes
from testing.repos import Repo, git, make_repo, run_cli

COUNTER_REF = "refs/champion/counters/churn#counter"
_COUNTED = re.compile(r"^churn#[a-z]+!?#(?P<n>[0-9]+)$")


def counters(repo: Repo) -> dict[int, list[str]]:
    """The origin's stage tags by counter."""
    found: dict[int, list[str]] = {}
    for name in git(repo.origin, "tag", "--list", "churn#*").split():
        m = _COUNTED.match(name)
        assert m is not None, name
        found.setdefault(int(m["n"]), []).append(name)
    return found


def origin_ref(repo: Repo, ref: str) -> str:
    return git(repo.origin, "for-each-ref", "--format=%(objectname)", ref).strip()


def ok(capsys: pytest.CaptureFixture[str], repo: Repo, *args: str) -> str:
    result = run_cli(capsys, repo.path, *args)
    assert result.code == 0, f"champion {' '.join(args)}: {result.err}"
    return result.out


@pytest.fixture
def repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Repo:
    """0.1.0 and 0.1.1 registered; 0.1.0 live in prod (churn#prod#1), all pushed."""
    repo = make_repo(tmp_path)
    ok(capsys, repo, "register", "churn", "--push")
    repo.commit_artifact("model 1")
    ok(capsys, repo, "register", "churn", "--push")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    return repo


def test_a_counted_write_moves_the_counter_ref_to_its_newest_tag(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert counter_ref("churn") == COUNTER_REF
    assert origin_ref(repo, COUNTER_REF) == origin_ref(repo, "refs/tags/churn#prod#1")
    log = log_pushes(repo)
    ok(capsys, repo, "promote", "churn", "0.1.1", "--stage", "prod", "--push")
    assert sorted(counters(repo)) == [1, 2, 3]
    # In the very push of the tags: the origin takes all three refs or none.
    assert pushes(log, other_refs=True) == [{"churn#prod!#2", "churn#prod#3", COUNTER_REF}]
    assert origin_ref(repo, COUNTER_REF) == origin_ref(repo, "refs/tags/churn#prod#3")
    # Registrations take no counter, and so no lease: the ref stays.
    repo.commit_artifact("model 2")
    ok(capsys, repo, "register", "churn", "--push")
    assert origin_ref(repo, COUNTER_REF) == origin_ref(repo, "refs/tags/churn#prod#3")
    # GTO never sees it: it reads refs/tags alone, and this clone keeps no copy of the ref.
    assert git(repo.path, "for-each-ref", "refs/champion/").strip() == ""


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


def test_a_push_that_lost_to_a_write_on_another_stage_takes_new_counters(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = repo.clone(tmp_path / "other")
    real = Git.push_atomic
    pushes: list[tuple[list[str], bool]] = []

    def push_atomic(self: Git, remote: str, tags: Any, **kw: Any) -> tuple[bool, str]:
        if not pushes:
            # Right before this process's first push, another job puts 0.1.1 in staging: it
            # takes counter 2, the very one this push is about to use for prod.
            done = champion(other.path, "promote", "churn", "0.1.1", "--stage", "staging", "--push")
            assert done.returncode == 0, done.stderr
        landed, output = real(self, remote, tags, **kw)
        pushes.append((list(tags), landed))
        return landed, output

    monkeypatch.setattr(Git, "push_atomic", push_atomic)
    result = Registry(repo.path).assign("churn", Version.parse("0.1.1"), "prod", push=True)

    assert pushes == [
        (["churn#prod!#2", "churn#prod#3"], False),  # planned before the other write: refused
        (["churn#prod!#3", "churn#prod#4"], True),  # planned again after it
    ]
    assert result.attempts == 2
    assert counters(repo) == {
        1: ["churn#prod#1"],
        2: ["churn#staging#2"],
        3: ["churn#prod!#3"],
        4: ["churn#prod#4"],
    }
    assert origin_ref(repo, COUNTER_REF) == origin_ref(repo, "refs/tags/churn#prod#4")


def test_a_remote_without_the_counter_ref_gets_one_from_the_first_counted_push(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tags GTO or an older champion wrote: no counter ref yet. The lease then says "must not
    # exist", so two first writers still cannot both land.
    git(repo.origin, "update-ref", "-d", COUNTER_REF)
    test_a_push_that_lost_to_a_write_on_another_stage_takes_new_counters(
        repo, tmp_path, monkeypatch
    )


def test_a_fetch_that_saw_a_write_halfway_reads_again(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fetch reads the remote's refs one by one: it can see another write's counter ref moved
    # and its tag not yet there. A plan made on that would take the same counter again, and its
    # lease would hold. Produced here exactly: the other write lands, then its tag is hidden from
    # this process's first fetch and put back right after.
    other = repo.clone(tmp_path / "other")
    done = champion(other.path, "promote", "churn", "0.1.1", "--stage", "staging", "--push")
    assert done.returncode == 0, done.stderr
    tag = "refs/tags/churn#staging#2"
    oid = origin_ref(repo, tag)
    assert origin_ref(repo, COUNTER_REF) == oid
    real = Git.fetch_mirror
    fetches: list[str] = []

    def fetch_mirror(self: Git, *args: Any, **kw: Any) -> None:
        if not fetches:
            git(repo.origin, "update-ref", "-d", tag)
            try:
                real(self, *args, **kw)
            finally:
                git(repo.origin, "update-ref", tag, oid)
        else:
            real(self, *args, **kw)
        fetches.append(tag)

    monkeypatch.setattr(Git, "fetch_mirror", fetch_mirror)
    result = Registry(repo.path).assign("churn", Version.parse("0.1.1"), "prod", push=True)

    assert len(fetches) == 2  # the torn view, then the whole one
    assert result.written == ("churn#prod!#3", "churn#prod#4")
    assert sorted(counters(repo)) == [1, 2, 3, 4]


def test_a_counter_ref_whose_tag_was_deleted_by_hand_blocks_nothing(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(capsys, repo, "promote", "churn", "0.1.1", "--stage", "staging", "--push")
    assert origin_ref(repo, COUNTER_REF) == origin_ref(repo, "refs/tags/churn#staging#2")
    git(repo.origin, "tag", "-d", "churn#staging#2")
    git(repo.path, "tag", "-d", "churn#staging#2")
    out = ok(capsys, repo, "promote", "churn", "0.1.1", "--stage", "prod", "--push")
    # 1 + the largest counter of the tags that are left, as GTO counts.
    assert "churn#prod!#2, churn#prod#3" in out
    assert counters(repo) == {1: ["churn#prod#1"], 2: ["churn#prod!#2"], 3: ["churn#prod#3"]}
    assert origin_ref(repo, COUNTER_REF) == origin_ref(repo, "refs/tags/churn#prod#3")

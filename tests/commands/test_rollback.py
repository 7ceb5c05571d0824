"""`champion rollback` with real git, a bare origin and a real local DVC remote: the default target,
a second rollback that goes further back, an explicit target, and refusals that leave the tags and
the pointer as they were. After a rollback, GTO and DVC name the same live version as champion."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from testing.deploy import MODEL, build_dvc_registry, ok, run
from testing.releases import Capsys, read_outputs, tag_metadata
from testing.repos import Repo, isolated
from testing.tools import gto_json


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Versions 0.1.0, 0.2.0 and 0.3.0, each DVC-tracked and in the DVC remote, promoted to prod in
    turn (0.3.0 live), the pointer published by each promotion; tests/conftest.py's `project`
    copies it for each test."""
    base = tmp_path_factory.mktemp("rollback")
    with isolated(base) as mp:
        build_dvc_registry(base, mp, versions=3, start=int(time.time()) - 60)
    return base


def live(capsys: Capsys, repo: Repo, stage: str = "prod") -> str:
    data = json.loads(ok(run(capsys, repo, "status", "churn", "--json")))
    return str(data["models"][0]["stages"][stage]["version"])


def pointer(repo: Repo) -> dict[str, Any]:
    path = repo.path.parent / "pointers" / "prod.json"  # champion.yaml: pointer: ../pointers
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def test_rollback_goes_back_to_the_previous_version_and_marks_the_bad_one(
    project: Repo, capsys: Capsys
) -> None:
    repo = project
    assert live(capsys, repo) == "0.3.0" and pointer(repo)["version"] == "0.3.0"
    out = ok(run(capsys, repo, "rollback", "churn", "--reason", "error rate doubled", "--push"))
    assert "rolled churn in prod back from 0.3.0 to 0.2.0: churn#prod!#6, churn#prod#7" in out
    assert "pushed to origin" in out
    assert live(capsys, repo) == "0.2.0"
    assert repo.remote_tags() == repo.tags()

    unassign = tag_metadata(repo.origin, "churn#prod!#6")
    assert unassign["mark"] == "rolled-back"
    assert unassign["version"] == "0.3.0"
    assert unassign["reason"] == "error rate doubled"
    assert "actor" not in unassign  # outside CI: the tagger (git's user.name) says who
    assign = tag_metadata(repo.origin, "churn#prod#7")
    assert (assign["from"], assign["to"], assign["reason"]) == (
        "0.3.0",
        "0.2.0",
        "error rate doubled",
    )

    # The pointer follows, and names an artifact a service can fetch and verify.
    data = pointer(repo)
    assert (data["version"], data["tag"], data["counter"]) == ("0.2.0", "churn#prod#7", 7)
    fetched = Path(data["artifact"]["url"]).read_bytes()
    assert hashlib.sha256(fetched).hexdigest() == data["artifact"]["sha256"]
    assert fetched == b"model 2"

    versions = json.loads(ok(run(capsys, repo, "versions", "churn", "--json")))["versions"]
    assert {v["version"]: v["rolled_back"] for v in versions} == {
        "0.1.0": False,
        "0.2.0": False,
        "0.3.0": True,
    }
    status = ok(run(capsys, repo, "status", "churn"))
    assert "rolled back" in status and "0.3.0" in status.splitlines()[-1]
    history = ok(run(capsys, repo, "history", "churn"))
    assert "rolled back: error rate doubled" in history
    assert "Test User" in history.splitlines()[-1]
    assert "rollback" in history and "from 0.3.0" in history


def test_a_second_rollback_goes_further_back(project: Repo, capsys: Capsys) -> None:
    repo = project
    ok(run(capsys, repo, "rollback", "churn", "--reason", "bad", "--push"))
    assert live(capsys, repo) == "0.2.0"
    # 0.3.0 was rolled back, 0.2.0 is current: the one before is 0.1.0.
    ok(run(capsys, repo, "rollback", "churn", "--reason", "also bad", "--push"))
    assert live(capsys, repo) == "0.1.0"
    assert pointer(repo)["version"] == "0.1.0"
    # Nothing earlier is left.
    before = repo.tags()
    result = run(capsys, repo, "rollback", "churn", "--reason", "again", "--push")
    assert result.code == 2
    assert "--to VERSION" in result.err
    assert repo.tags() == before


def test_a_rollback_to_an_explicit_version(project: Repo, capsys: Capsys) -> None:
    repo = project
    out = ok(
        run(capsys, repo, "rollback", "churn", "--to", "0.1.0", "--reason", "known good", "--push")
    )
    assert "back from 0.3.0 to 0.1.0" in out
    assert live(capsys, repo) == "0.1.0"
    assert pointer(repo)["version"] == "0.1.0"
    # 0.3.0 was rolled back; 0.2.0 was not, so it is the next default target.
    out = ok(run(capsys, repo, "rollback", "churn", "--reason", "hm", "--dry-run"))
    assert "would roll churn in prod back from 0.1.0 to 0.2.0" in out


def test_a_rollback_is_refused_when_the_target_is_gone_from_the_dvc_remote(
    project: Repo, capsys: Capsys, tmp_path: Path
) -> None:
    repo = project
    digest = hashlib.md5(b"model 2").hexdigest()
    stored = tmp_path / "dvc-remote" / "files" / "md5" / digest[:2] / digest[2:]
    assert stored.is_file()
    stored.unlink()  # the local DVC cache still has it: the check must ask the remote itself
    tags, remote_tags, before = repo.tags(), repo.remote_tags(), pointer(repo)

    result = run(capsys, repo, "rollback", "churn", "--reason", "bad", "--push")
    assert result.code == 2, result.err
    assert "DVC remote" in result.err and MODEL in result.err
    assert "Traceback" not in result.err
    assert (repo.tags(), repo.remote_tags(), pointer(repo)) == (tags, remote_tags, before)
    # An explicit target whose artifact is there still works.
    ok(run(capsys, repo, "rollback", "churn", "--to", "0.1.0", "--reason", "bad", "--push"))
    assert live(capsys, repo) == "0.1.0"


def test_a_rerun_of_the_same_ci_run_changes_nothing(
    project: Repo, capsys: Capsys, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo = project
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    outputs = tmp_path / "out.txt"
    ok(
        run(
            capsys,
            repo,
            "rollback",
            "churn",
            "--reason",
            "bad",
            "--push",
            "--github-output",
            str(outputs),
        )
    )
    first = read_outputs(outputs)
    assert (first["from"], first["to"], first["tag"]) == ("0.3.0", "0.2.0", "churn#prod#7")
    tags, written = repo.remote_tags(), pointer(repo)
    out = ok(run(capsys, repo, "rollback", "churn", "--reason", "bad", "--push"))
    assert "already rolled back by this run" in out
    assert repo.remote_tags() == tags
    assert pointer(repo) == written
    # Another run is another rollback.
    monkeypatch.setenv("GITHUB_RUN_ID", "4243")
    ok(run(capsys, repo, "rollback", "churn", "--reason", "still bad", "--push"))
    assert live(capsys, repo) == "0.1.0"


def test_a_dry_run_checks_and_writes_nothing(project: Repo, capsys: Capsys) -> None:
    repo = project
    tags, before = repo.tags(), pointer(repo)
    out = ok(run(capsys, repo, "rollback", "churn", "--reason", "test", "--dry-run", "--push"))
    assert "dry run: would roll churn in prod back from 0.3.0 to 0.2.0" in out
    assert "churn#prod!#6, churn#prod#7" in out
    assert (repo.tags(), pointer(repo)) == (tags, before)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--to", "0.9.0"], "0.9.0 is not registered"),
        (["--to", "0.3.0"], "already the live version"),
        (["--to", "not-a-version"], "invalid version"),
        (["--stage", "qa"], "qa"),
        (["--stage", "staging"], "nothing to roll back"),
        (["--reason", "   "], "needs a reason"),
    ],
)
def test_bad_rollbacks_exit_2_and_write_nothing(
    project: Repo, capsys: Capsys, args: list[str], named: str
) -> None:
    repo = project
    tags, before = repo.tags(), pointer(repo)
    result = run(capsys, repo, "rollback", "churn", "--reason", "r", *args, "--push")
    assert result.code == 2, result.out
    assert named in result.err
    assert "Traceback" not in result.err
    assert (repo.tags(), pointer(repo)) == (tags, before)


def test_after_rollbacks_gto_and_dvc_name_the_same_live_version(
    project: Repo, capsys: Capsys
) -> None:
    import dvc.api
    from gto import api

    repo = project
    commits = {f"0.{n}.0": c for n, c in enumerate(_version_commits(repo), start=1)}
    for step in (["--reason", "one"], ["--reason", "two"], ["--to", "0.3.0", "--reason", "three"]):
        ok(run(capsys, repo, "rollback", "churn", *step, "--push"))
        mine = live(capsys, repo)
        shown = gto_json(repo.path, "show")["churn"]["stage"]
        found = api.find_versions_in_stage(str(repo.path), "churn", "prod")
        rev = dvc.api.artifacts_show("churn", stage="prod", repo=str(repo.path))["rev"]
        assert shown.get("prod") == f"v{mine}", shown
        assert [x.version for x in found or []] == [f"v{mine}"]
        assert rev == commits[mine]


def _version_commits(repo: Repo) -> list[str]:
    return [repo.git("rev-list", "-n1", f"churn@v0.{n}.0") for n in (1, 2, 3)]

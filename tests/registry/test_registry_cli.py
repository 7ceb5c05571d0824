"""register, promote, unassign, deregister, status, versions and history on real repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]


def test_register_then_promote_shows_in_status_versions_and_history(
    repo: Repo, capsys: Capsys
) -> None:
    assert run_cli(capsys, repo.path, "register", "churn").code == 0
    assert run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod").code == 0
    repo.commit_artifact("model v2")
    assert (
        run_cli(capsys, repo.path, "register", "churn", "--bump", "minor", "-m", "retrained").code
        == 0
    )
    result = run_cli(
        capsys, repo.path, "promote", "churn", "v0.2.0", "--stage", "prod", "--reason", "better"
    )
    assert result.code == 0
    assert "churn#prod!#2, churn#prod#3" in result.out
    assert repo.tags() == [
        "churn#prod!#2",
        "churn#prod#1",
        "churn#prod#3",
        "churn@v0.1.0",
        "churn@v0.2.0",
    ]

    status = json.loads(run_cli(capsys, repo.path, "status", "--json").out)
    assert status["schema"] == 1
    [model] = status["models"]
    assert model["model"] == "churn"
    assert model["latest"] == "0.2.0"
    assert model["stages"]["prod"]["version"] == "0.2.0"
    assert model["stages"]["prod"]["tag"] == "churn#prod#3"
    assert model["stages"]["staging"] is None

    versions = json.loads(run_cli(capsys, repo.path, "versions", "churn", "--json").out)["versions"]
    assert [(v["version"], v["stages"]) for v in versions] == [("0.1.0", []), ("0.2.0", ["prod"])]
    meta = versions[1]["metadata"]
    assert meta["schema"] == 1
    assert meta["parent"] == "0.1.0"
    assert meta["bump"] == "minor"
    assert meta["message"] == "retrained"
    assert meta["commit"] == versions[1]["commit"] == repo.git("rev-parse", "HEAD")
    assert meta["artifact"]["path"] == "models/churn.bin"
    assert meta["artifact"]["size"] == len("model v2")
    assert meta["artifact"]["tracked_by"] == "git"

    events = json.loads(run_cli(capsys, repo.path, "history", "churn", "--json").out)["events"]
    assert [(e["event"], e["version"], e["stage"]) for e in events] == [
        ("register", "0.1.0", None),
        ("assign", "0.1.0", "prod"),
        ("register", "0.2.0", None),
        ("unassign", "0.1.0", "prod"),
        ("assign", "0.2.0", "prod"),
    ]
    assert events[-1]["metadata"]["reason"] == "better"
    assert events[-1]["metadata"]["from"] == "0.1.0"

    human = run_cli(capsys, repo.path, "status").out.splitlines()
    assert human[0].split() == ["model", "latest", "staging", "prod"]
    assert human[1].split() == ["churn", "0.2.0", "-", "0.2.0"]


def test_tag_message_is_a_summary_a_blank_line_and_sorted_json(repo: Repo, capsys: Capsys) -> None:
    run_cli(capsys, repo.path, "register", "churn", "--version", "1.4.0")
    message = repo.git("tag", "-l", "--format=%(contents)", "churn@v1.4.0")
    summary, blank, *rest = message.splitlines()
    assert summary == "Register churn v1.4.0"
    assert blank == ""
    body = "\n".join(rest)
    data = json.loads(body)
    assert data["schema"] == 1
    assert body == json.dumps(data, sort_keys=True, indent=2)
    assert repo.git("cat-file", "-t", "churn@v1.4.0") == "tag"


def test_promote_is_idempotent(repo: Repo, capsys: Capsys) -> None:
    run_cli(capsys, repo.path, "register", "churn")
    run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod")
    before = repo.tags()
    again = run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod")
    assert again.code == 0
    assert "already live in prod" in again.out
    assert repo.tags() == before


def test_bump_defaults_to_patch_and_first_version_is_configurable(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = make_repo(
        tmp_path, "first_version: 1.0.0\nmodels:\n  churn:\n    path: models/churn.bin\n"
    )
    run_cli(capsys, repo.path, "register", "churn")
    repo.commit_artifact("v2")
    run_cli(capsys, repo.path, "register", "churn")
    repo.commit_artifact("v3")
    run_cli(capsys, repo.path, "register", "churn", "--bump", "major")
    assert repo.tags() == ["churn@v1.0.0", "churn@v1.0.1", "churn@v2.0.0"]


def test_unassign_empties_the_stage(repo: Repo, capsys: Capsys) -> None:
    run_cli(capsys, repo.path, "register", "churn")
    run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "staging")
    assert run_cli(capsys, repo.path, "unassign", "churn", "--stage", "staging").code == 0
    status = json.loads(run_cli(capsys, repo.path, "status", "churn", "--json").out)
    assert status["models"][0]["stages"]["staging"] is None
    again = run_cli(capsys, repo.path, "unassign", "churn", "--stage", "staging")
    assert again.code == 2
    assert "nothing to unassign" in again.err


def test_deregister_withdraws_a_version_for_good(repo: Repo, capsys: Capsys) -> None:
    run_cli(capsys, repo.path, "register", "churn")
    run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod")
    live = run_cli(capsys, repo.path, "deregister", "churn", "0.1.0")
    assert live.code == 2
    assert "live in prod" in live.err
    repo.commit_artifact("v2")
    run_cli(capsys, repo.path, "register", "churn")
    assert run_cli(capsys, repo.path, "deregister", "churn", "0.1.1", "--reason", "leaky").code == 0
    assert "churn@v0.1.1!" in repo.tags()
    # The version number is never reused, and the commit holds no other version: GTO finds a
    # stage tag's version by its commit and fails on a commit with two.
    same_commit = run_cli(capsys, repo.path, "register", "churn")
    assert same_commit.code == 2
    assert "held churn 0.1.1 (churn@v0.1.1, deregistered)" in same_commit.err
    assert "git commit --allow-empty" in same_commit.err
    repo.git("commit", "-q", "--allow-empty", "-m", "re-release")
    reuse = run_cli(capsys, repo.path, "register", "churn", "--version", "0.1.1")
    assert reuse.code == 2
    assert "never reused" in reuse.err
    assert run_cli(capsys, repo.path, "register", "churn").code == 0
    assert "churn@v0.1.2" in repo.tags()
    cannot = run_cli(capsys, repo.path, "promote", "churn", "0.1.1", "--stage", "prod")
    assert cannot.code == 2
    assert "deregistered" in cannot.err


def test_push_sends_all_tags_and_remote_reads_match(repo: Repo, capsys: Capsys) -> None:
    assert run_cli(capsys, repo.path, "register", "churn", "--push").code == 0
    assert (
        run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod", "--push").code
        == 0
    )
    assert repo.remote_tags() == ["churn#prod#1", "churn@v0.1.0"]
    local = json.loads(run_cli(capsys, repo.path, "status", "--json").out)
    # Delete the local tags: --remote must read the remote's refs without fetching them.
    repo.git("tag", "-d", "churn#prod#1", "churn@v0.1.0")
    remote = json.loads(run_cli(capsys, repo.path, "status", "--json", "--remote").out)
    assert remote == local
    assert repo.tags() == []
    versions = json.loads(run_cli(capsys, repo.path, "versions", "churn", "--json", "--remote").out)
    assert [v["version"] for v in versions["versions"]] == ["0.1.0"]


def test_a_stale_clone_recomputes_and_never_overwrites(
    repo: Repo, tmp_path: Path, capsys: Capsys
) -> None:
    other = repo.clone(tmp_path / "other")
    run_cli(capsys, repo.path, "register", "churn", "--push")
    repo.commit_artifact("v2 from the first clone")
    run_cli(capsys, repo.path, "register", "churn", "--push")
    taken = repo.git("rev-parse", "churn@v0.1.1^{commit}")
    # The other clone never fetched: it would pick 0.1.0 for its commit, finds it taken, recomputes.
    other.commit_artifact("v2 from the second clone")
    result = run_cli(capsys, other.path, "register", "churn", "--push")
    assert result.code == 0, result.err
    assert "churn 0.1.2" in result.out
    assert repo.remote_tags() == ["churn@v0.1.0", "churn@v0.1.1", "churn@v0.1.2"]
    assert repo.git("--git-dir", str(repo.origin), "rev-parse", "churn@v0.1.1^{commit}") == taken


def test_github_output_receives_the_version(repo: Repo, tmp_path: Path, capsys: Capsys) -> None:
    out = tmp_path / "gh_output"
    run_cli(capsys, repo.path, "register", "churn", "--github-output", str(out))
    lines = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert lines["version"] == "0.1.0"
    assert lines["tag"] == "churn@v0.1.0"
    assert lines["commit"] == repo.git("rev-parse", "HEAD")


def test_lightweight_lookalike_gets_a_warning(repo: Repo, capsys: Capsys) -> None:
    repo.git("tag", "churn@v0.9.0")
    result = run_cli(capsys, repo.path, "versions", "churn")
    assert result.code == 0
    assert "warning: tag churn@v0.9.0 is a lightweight tag" in result.err


def test_models_from_dvc_yaml_artifacts_are_registered(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, config=None, commit=False)
    (repo.path / "dvc.yaml").write_text(
        "artifacts:\n  churn:\n    path: models/churn.bin\n    type: model\n    desc: Churn\n"
    )
    (repo.path / "models" / "fraud").mkdir(parents=True)
    (repo.path / "models" / "fraud" / "dvc.yaml").write_text(
        "artifacts:\n  fraud:\n    path: fraud.bin\n"
    )
    (repo.path / "models" / "fraud" / "fraud.bin").write_text("f1")
    repo.git("add", "dvc.yaml", "models/fraud")
    repo.commit_artifact("c1")
    assert run_cli(capsys, repo.path, "register", "churn").code == 0
    assert run_cli(capsys, repo.path, "register", "models/fraud:fraud").code == 0
    assert "models/fraud=fraud@v0.1.0" in repo.tags()
    status = json.loads(run_cli(capsys, repo.path, "status", "--json").out)
    assert [m["model"] for m in status["models"]] == ["churn", "models/fraud:fraud"]


def test_remote_history_keeps_the_local_order(repo: Repo, capsys: Capsys) -> None:
    def push(*args: str) -> None:
        assert run_cli(capsys, repo.path, *args, "--push").code == 0

    push("register", "churn")
    push("promote", "churn", "0.1.0", "--stage", "prod")
    repo.commit_artifact("v2")
    push("register", "churn")
    push("promote", "churn", "0.1.1", "--stage", "prod")
    repo.commit_artifact("v3")
    push("register", "churn")
    push("promote", "churn", "0.1.2", "--stage", "staging")
    push("promote", "churn", "0.1.0", "--stage", "prod")
    repo.commit_artifact("v4")
    push("register", "churn")  # never promoted: it goes last

    def order(*extra: str) -> list[tuple[str, str | None, str | None]]:
        events = json.loads(run_cli(capsys, repo.path, "history", "churn", "--json", *extra).out)
        return [(e["event"], e["version"], e["stage"]) for e in events["events"]]

    # Remote refs carry no dates: a registration is placed before its version's first stage event,
    # which is where it was written when versions are promoted as they come.
    local = order()
    assert local[:3] == [
        ("register", "0.1.0", None),
        ("assign", "0.1.0", "prod"),
        ("register", "0.1.1", None),
    ]
    assert order("--remote") == local

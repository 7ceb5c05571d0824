"""`--dispatch-workflow deploy.yml` on promote, rollback and canary: after the tags are pushed,
champion dispatches the deploy workflow with the model, stage and version (GitHub's API mocked with
`responses`; git is real). Without a token or a repository it fails before writing any tag; a
re-run that writes no tag dispatches nothing. Each test gets a copy of tests/conftest.py's
`template`: 0.1.0, 0.2.0, 0.3.0 registered, 0.1.0 live in prod."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from testing.deploy import folder_state, ok, read_pointer, run
from testing.releases import Capsys, read_outputs
from testing.repos import Repo

API = "https://api.github.com:443"  # as PyGithub requests it; the bodies' urls carry no port
REPO = "o/r"
WORKFLOW_ID = 161335
DISPATCHES = f"{API}/repos/{REPO}/actions/workflows/{WORKFLOW_ID}/dispatches"


@pytest.fixture
def github(api: responses.RequestsMock) -> responses.RequestsMock:
    """The repository (default branch main), its deploy.yml workflow, and the dispatch endpoint
    answering 204 as GitHub does."""
    api.get(
        f"{API}/repos/{REPO}",
        json={
            "id": 1,
            "name": "r",
            "full_name": REPO,
            "default_branch": "main",
            "url": f"https://api.github.com/repos/{REPO}",
        },
    )
    api.get(
        f"{API}/repos/{REPO}/actions/workflows/deploy.yml",
        json={
            "id": WORKFLOW_ID,
            "name": "deploy",
            "path": ".github/workflows/deploy.yml",
            "state": "active",
            "url": f"https://api.github.com/repos/{REPO}/actions/workflows/{WORKFLOW_ID}",
        },
    )
    api.post(DISPATCHES, status=204)
    return api


def dispatched(api: responses.RequestsMock) -> list[dict[str, object]]:
    """The bodies of every dispatch request, whatever URL it went to."""
    return [
        json.loads(c.request.body or b"{}")
        for c in api.calls
        if c.request.method == "POST" and str(c.request.url).endswith("/dispatches")
    ]


def test_promote_dispatches_the_deploy_workflow_with_model_stage_and_version(
    project: Repo, capsys: Capsys, github: responses.RequestsMock, tmp_path: Path
) -> None:
    repo = project
    outputs = tmp_path / "outputs"
    out = ok(
        run(
            capsys,
            repo,
            *("promote", "churn", "0.2.0", "--stage", "prod", "--push"),
            *("--dispatch-workflow", "deploy.yml", "--repo", REPO),
            *("--github-output", str(outputs)),
        )
    )
    assert "dispatched deploy.yml on main (churn 0.2.0 in prod)" in out
    assert dispatched(github) == [
        {"ref": "main", "inputs": {"model": "churn", "stage": "prod", "version": "0.2.0"}}
    ]
    assert [c.request.url for c in github.calls if c.request.method == "POST"] == [DISPATCHES]
    assert read_outputs(outputs)["dispatched"] == "deploy.yml"
    # The pointer was published before the deploy job could read it.
    assert read_pointer(repo.path.parent / "pointers")["version"] == "0.2.0"

    # A re-run writes no tag, and does not deploy again.
    out = ok(
        run(
            capsys,
            repo,
            *("promote", "churn", "0.2.0", "--stage", "prod", "--push"),
            *("--dispatch-workflow", "deploy.yml", "--repo", REPO),
        )
    )
    assert "nothing to do" in out and "dispatched" not in out
    assert len(dispatched(github)) == 1


def test_rollback_dispatches_and_its_rerun_does_not(
    project: Repo, capsys: Capsys, github: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = project
    ok(run(capsys, repo, "promote", "churn", "0.3.0", "--stage", "prod", "--push"))
    assert dispatched(github) == []
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    rollback = (
        *("rollback", "churn", "--reason", "error rate doubled", "--push"),
        *("--dispatch-workflow", "deploy.yml", "--repo", REPO),
    )
    out = ok(run(capsys, repo, *rollback))
    assert "back from 0.3.0 to 0.1.0" in out
    assert dispatched(github) == [
        {"ref": "main", "inputs": {"model": "churn", "stage": "prod", "version": "0.1.0"}}
    ]
    tags = repo.remote_tags()
    out = ok(run(capsys, repo, *rollback))
    assert "already rolled back by this run" in out
    assert repo.remote_tags() == tags
    assert len(dispatched(github)) == 1


def test_canary_promote_dispatches_the_new_live_version(
    project: Repo, capsys: Capsys, github: responses.RequestsMock
) -> None:
    repo = project
    ok(run(capsys, repo, "canary", "start", "churn", "0.3.0", "--weight", "0.1", "--push"))
    ok(
        run(
            capsys,
            repo,
            *("canary", "promote", "churn", "--push"),
            *("--dispatch-workflow", "deploy.yml", "--repo", REPO),
        )
    )
    assert dispatched(github) == [
        {"ref": "main", "inputs": {"model": "churn", "stage": "prod", "version": "0.3.0"}}
    ]


def test_a_missing_workflow_exits_2_naming_it(
    project: Repo, capsys: Capsys, api: responses.RequestsMock
) -> None:
    api.get(
        f"{API}/repos/{REPO}",
        json={
            "id": 1,
            "full_name": REPO,
            "default_branch": "main",
            "url": f"https://api.github.com/repos/{REPO}",
        },
    )
    api.get(
        f"{API}/repos/{REPO}/actions/workflows/deploy.yml",
        status=404,
        json={"message": "Not Found", "status": "404"},
    )
    api.post(f"{API}/repos/{REPO}/actions/workflows/deploy.yml/dispatches", status=404)
    result = run(
        capsys,
        project,
        *("promote", "churn", "0.2.0", "--stage", "prod", "--push"),
        *("--dispatch-workflow", "deploy.yml", "--repo", REPO),
    )
    assert result.code == 2, result.out
    assert "no workflow 'deploy.yml' in o/r" in result.err
    assert "workflow_dispatch" in result.err
    assert "Traceback" not in result.err
    assert dispatched(api) == []


@pytest.mark.parametrize(
    "command",
    [
        ("promote", "churn", "0.2.0", "--stage", "prod"),
        ("rollback", "churn", "--to", "0.3.0", "--reason", "r"),
        ("canary", "start", "churn", "0.2.0"),
    ],
)
@pytest.mark.parametrize(
    ("missing", "named"),
    [("token", "GITHUB_TOKEN"), ("repo", "--repo"), ("bad repo", "--repo 'nope'")],
)
def test_without_a_token_or_a_repository_nothing_is_written(
    project: Repo,
    capsys: Capsys,
    api: responses.RequestsMock,
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
    missing: str,
    named: str,
) -> None:
    repo = project
    repo_args = ["--repo", REPO]
    if missing == "token":
        monkeypatch.delenv("GITHUB_TOKEN")
    elif missing == "repo":
        monkeypatch.delenv("GITHUB_REPOSITORY")
        repo_args = []
    else:
        repo_args = ["--repo", "nope"]
    tags, remote = repo.tags(), repo.remote_tags()
    pointers = folder_state(repo.path.parent / "pointers")

    result = run(capsys, repo, *command, "--push", "--dispatch-workflow", "deploy.yml", *repo_args)
    assert result.code == 2, result.out
    assert named in result.err
    assert "Traceback" not in result.err
    assert (repo.tags(), repo.remote_tags()) == (tags, remote)
    assert folder_state(repo.path.parent / "pointers") == pointers
    assert list(api.calls) == []

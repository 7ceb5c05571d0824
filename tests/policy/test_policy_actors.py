"""Who may promote and roll back: GitHub logins, org teams read through GitHub's API (faked with
`responses`, PyGithub's URLs carry :443) and workflows. Real git for the writes; a team that
cannot be read is a refusal, never a pass."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from testing.github import TOKEN, actions_env
from testing.releases import tag_metadata
from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]
CONFIG = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn.bin
policy:
  prod:
    promote: [alice, "@acme/ml-leads"]
    rollback: ["@acme/oncall", "workflow:watch.yml"]
"""
MEMBERSHIP = "https://api.github.com:443/orgs/acme/teams/{team}/memberships/{login}"


def membership(login: str, state: str = "active") -> dict[str, str]:
    # `url` fields in GitHub's answers carry no port.
    url = f"https://api.github.com/orgs/acme/teams/ml-leads/memberships/{login}"
    return {"url": url, "role": "member", "state": state}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[responses.RequestsMock]:
    actions_env(monkeypatch)
    monkeypatch.delenv("GITHUB_REPOSITORY")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def repo(tmp_path: Path, capsys: Capsys) -> Repo:
    """churn 0.1.0 live in prod, 0.2.0 registered; the policy applies from now on."""
    repo = make_repo(tmp_path, None)
    (repo.path / "champion.yaml").write_text(CONFIG.split("policy:")[0])
    repo.git("add", "champion.yaml")
    repo.git("commit", "-q", "-m", "config")
    for args in (
        ("register", "churn", "--push"),
        ("promote", "churn", "0.1.0", "--stage", "prod", "--push"),
    ):
        assert run_cli(capsys, repo.path, *args).code == 0
    repo.commit_artifact("model v2")
    assert run_cli(capsys, repo.path, "register", "churn", "--bump", "minor", "--push").code == 0
    (repo.path / "champion.yaml").write_text(CONFIG)
    return repo


def promote(capsys: Capsys, repo: Repo, *args: str) -> tuple[int, str]:
    before = (repo.tags(), repo.remote_tags())
    result = run_cli(capsys, repo.path, "promote", "churn", "0.2.0", "--stage", "prod", *args)
    if result.code != 0:
        assert (repo.tags(), repo.remote_tags()) == before  # a refusal writes nothing
    return result.code, result.err


def test_a_listed_login_passes_without_asking_github(
    repo: Repo, capsys: Capsys, api: responses.RequestsMock
) -> None:
    code, err = promote(capsys, repo, "--actor", "alice", "--push")
    assert code == 0, err
    assert len(api.calls) == 0
    assert tag_metadata(repo.origin, "churn#prod#3")["actor"] == "alice"


def test_a_team_member_passes_and_a_non_member_is_refused(
    repo: Repo, capsys: Capsys, api: responses.RequestsMock
) -> None:
    api.get(
        MEMBERSHIP.format(team="ml-leads", login="dave"), status=404, json={"message": "Not Found"}
    )
    code, err = promote(capsys, repo, "--actor", "dave", "--push")
    assert code == 2
    assert "policy.prod.promote: dave is not among alice, @acme/ml-leads; ask one of" in err
    api.get(MEMBERSHIP.format(team="ml-leads", login="carol"), json=membership("carol"))
    code, err = promote(capsys, repo, "--actor", "carol", "--push")
    assert code == 0, err
    assert [c.request.headers["Authorization"] for c in api.calls][-1] == f"token {TOKEN}"


def test_a_pending_invitation_is_not_membership(
    repo: Repo, capsys: Capsys, api: responses.RequestsMock
) -> None:
    api.get(MEMBERSHIP.format(team="ml-leads", login="erin"), json=membership("erin", "pending"))
    code, err = promote(capsys, repo, "--actor", "erin", "--push")
    assert code == 2 and "erin is not among" in err


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (500, {"message": "boom"}, "did not answer, retries included"),
        (403, {"message": "Resource not accessible by integration"}, "Members: read"),
        (200, ["not", "a", "membership"], "not among"),
    ],
)
def test_a_team_that_cannot_be_read_is_a_refusal(
    repo: Repo,
    capsys: Capsys,
    api: responses.RequestsMock,
    status: int,
    body: object,
    said: str,
) -> None:
    api.get(MEMBERSHIP.format(team="ml-leads", login="frank"), status=status, json=body)
    code, err = promote(capsys, repo, "--actor", "frank", "--push")
    assert code == 2
    assert said in err, err
    assert TOKEN not in err


def test_without_a_token_a_team_is_a_refusal(
    repo: Repo, capsys: Capsys, api: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    code, err = promote(capsys, repo, "--actor", "frank")
    assert code == 2 and "no GitHub token (set GITHUB_TOKEN)" in err and len(api.calls) == 0
    assert "Members: read" in err


def test_the_enterprise_api_is_asked(
    repo: Repo, capsys: Capsys, api: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3")
    api.get(
        "https://ghe.example.com:443/api/v3/orgs/acme/teams/ml-leads/memberships/carol",
        json=membership("carol"),
    )
    code, err = promote(capsys, repo, "--actor", "carol")
    assert code == 0, err
    assert len(api.calls) == 1


def test_under_actions_the_actor_is_github_actor(
    repo: Repo, capsys: Capsys, api: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    code, err = promote(capsys, repo, "--actor", "mallory")
    assert code == 2 and "--actor mallory differs from GITHUB_ACTOR alice" in err
    code, err = promote(capsys, repo, "--push")
    assert code == 0, err
    assert tag_metadata(repo.origin, "churn#prod#3")["actor"] == "alice"


def test_a_workflow_may_roll_back_and_another_may_not(
    repo: Repo, capsys: Capsys, api: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert promote(capsys, repo, "--actor", "alice", "--push")[0] == 0
    monkeypatch.setenv("GITHUB_ACTOR", "scheduler")
    monkeypatch.setenv(
        "GITHUB_WORKFLOW_REF", "octo/app/.github/workflows/deploy.yml@refs/heads/main"
    )
    api.get(MEMBERSHIP.format(team="oncall", login="scheduler"), status=404, json={})
    before = (repo.tags(), repo.remote_tags())
    args = ("rollback", "churn", "--reason", "errors", "--push")
    result = run_cli(capsys, repo.path, *args)
    assert result.code == 2
    assert "scheduler is not among @acme/oncall, workflow:watch.yml" in result.err
    assert (repo.tags(), repo.remote_tags()) == before
    monkeypatch.setenv(
        "GITHUB_WORKFLOW_REF", "octo/app/.github/workflows/watch.yml@refs/heads/main"
    )
    result = run_cli(capsys, repo.path, *args)
    assert result.code == 0, result.err
    assert "back from 0.2.0 to 0.1.0" in result.out

"""Which pull request a run is about: --pr, pull_request payloads, workflow_run payloads (with the
lookup by head sha that fork pull requests need), and bad payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers

from champion.errors import ChampionError
from champion.github import client
from champion.github.pulls import PullRequestRef, find_pull, is_fork
from testing.github import REPO, FakeGitHub, pull_event, pull_json, workflow_run_event

PULLS = f"https://api.github.com:443/repos/{REPO}/pulls"
SHA = "c" * 40


@pytest.fixture
def write_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    def write(name: str, payload: Any) -> Path:
        path = tmp_path / "event.json"
        path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
        monkeypatch.setenv("GITHUB_EVENT_NAME", name)
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
        return path

    return write


@pytest.mark.parametrize("name", ["pull_request", "pull_request_target"])
@pytest.mark.parametrize(("head", "fork"), [(REPO, False), ("mallory/app", True), (None, True)])
def test_pull_request_events_give_number_and_fork(
    api: responses.RequestsMock, write_event: Any, name: str, head: str | None, fork: bool
) -> None:
    write_event(name, pull_event(12, head_repo=head))
    assert find_pull(client.connect()) == PullRequestRef(REPO, 12, fork)
    assert len(api.calls) == 0  # the payload says it all


def test_workflow_run_with_its_pull_request_listed(
    api: responses.RequestsMock, write_event: Any
) -> None:
    write_event("workflow_run", workflow_run_event(REPO, pulls=[31], sha=SHA))
    assert find_pull(client.connect()) == PullRequestRef(REPO, 31, False)
    assert len(api.calls) == 0


def test_workflow_run_of_a_fork_looks_the_pull_request_up_by_head(
    api: responses.RequestsMock, write_event: Any
) -> None:
    write_event("workflow_run", workflow_run_event("mallory/app", pulls=[], sha=SHA))
    api.get(
        PULLS,
        json=[
            pull_json(40, "mallory/app", sha="d" * 40),  # same branch, another head: not it
            pull_json(41, "mallory/app", sha=SHA),
        ],
        match=[
            matchers.query_param_matcher(
                {"head": "mallory:feature", "state": "open"}, strict_match=False
            )
        ],
    )
    assert find_pull(client.connect()) == PullRequestRef(REPO, 41, True)


def test_workflow_run_falls_back_to_the_commits_pulls(
    api: responses.RequestsMock, write_event: Any
) -> None:
    write_event("workflow_run", workflow_run_event("mallory/app", pulls=[], sha=SHA))
    api.get(PULLS, json=[])  # e.g. the pull request was closed meanwhile
    api.get(
        f"https://api.github.com:443/repos/{REPO}/commits/{SHA}/pulls",
        json=[pull_json(50, "mallory/app", sha=SHA, state="closed")],
    )
    assert find_pull(client.connect()) == PullRequestRef(REPO, 50, True)


def test_workflow_run_with_no_matching_pull_request_names_the_sha(
    api: responses.RequestsMock, write_event: Any
) -> None:
    write_event("workflow_run", workflow_run_event("mallory/app", pulls=[], sha=SHA))
    api.get(PULLS, json=[pull_json(40, "mallory/app", sha="d" * 40)])
    api.get(f"https://api.github.com:443/repos/{REPO}/commits/{SHA}/pulls", status=422, json={})
    with pytest.raises(ChampionError, match=r"no pull request in octo/app has head cccccccccccc"):
        find_pull(client.connect())


def test_workflow_run_of_a_push_is_not_a_pull_request(
    api: responses.RequestsMock, write_event: Any
) -> None:
    write_event("workflow_run", workflow_run_event(REPO, pulls=[], sha=SHA, event="push"))
    with pytest.raises(ChampionError, match=r"'push' event, not a pull request"):
        find_pull(client.connect())
    assert len(api.calls) == 0


def test_pr_option_wins_and_fork_is_asked_only_when_needed(
    api: responses.RequestsMock, fake: FakeGitHub, write_event: Any
) -> None:
    write_event("pull_request", pull_event(12))
    gh = client.connect()
    ref = find_pull(gh, pr=77, repo="other/repo")
    assert ref == PullRequestRef("other/repo", 77, None)
    assert len(api.calls) == 0
    fake.pull(78, head_repo="mallory/app")
    assert is_fork(gh, PullRequestRef(REPO, 78, None)) is True
    fake.pull(79, head_repo=REPO)
    assert is_fork(gh, PullRequestRef(REPO, 79, None)) is False
    fake.pull(80, head_repo=None)  # the fork was deleted
    assert is_fork(gh, PullRequestRef(REPO, 80, None)) is True


BAD_PAYLOADS = [
    ("pull_request", "{not json", r"is not valid JSON"),
    ("pull_request", [1, 2], r"field pull_request.number is not a pull request number"),
    ("pull_request", {"pull_request": {"number": "12"}}, r"field pull_request.number is not"),
    ("pull_request", {"pull_request": {"number": True}}, r"field pull_request.number is not"),
    ("pull_request", {"pull_request": {"number": -3}}, r"field pull_request.number is not"),
    (
        "pull_request",
        {"pull_request": {"number": 3, "base": {"repo": {"full_name": 5}}}},
        r"field pull_request.base.repo.full_name is not a non-empty string",
    ),
    (
        "pull_request",
        {"pull_request": {"number": 3, "base": {"repo": {"full_name": "evil/repo"}}}},
        r"is 'evil/repo', not 'octo/app'",
    ),
    ("workflow_run", {"workflow_run": "x"}, r"field workflow_run is not an object"),
    (
        "workflow_run",
        {"workflow_run": {"repository": {"full_name": REPO}, "pull_requests": {"0": 1}}},
        r"field workflow_run.pull_requests is not a list",
    ),
    (
        "workflow_run",
        {"workflow_run": {"repository": {"full_name": REPO}, "pull_requests": [{"number": "1"}]}},
        r"field workflow_run.pull_requests.0.number is not",
    ),
    (
        "workflow_run",
        {
            "workflow_run": {
                "repository": {"full_name": REPO},
                "pull_requests": [],
                "head_sha": "../x",
            }
        },
        r"field workflow_run.head_sha is not a 40-character commit sha",
    ),
]


@pytest.mark.parametrize(("name", "payload", "message"), BAD_PAYLOADS)
def test_a_bad_payload_names_the_file_and_the_field(
    api: responses.RequestsMock, write_event: Any, name: str, payload: Any, message: str
) -> None:
    path = write_event(name, payload)
    with pytest.raises(ChampionError, match=message) as caught:
        find_pull(client.connect())
    assert str(path) in str(caught.value)
    assert len(api.calls) == 0


def test_no_event_and_no_pr_says_how(api: responses.RequestsMock) -> None:
    with pytest.raises(ChampionError, match=r"pass --pr N"):
        find_pull(client.connect())


@pytest.mark.parametrize(
    "repo", ["octo", "octo/app/extra", "octo/app?x=1", "../x/y", "../app", "octo/.."]
)
def test_a_bad_repository_is_refused(api: responses.RequestsMock, repo: str) -> None:
    with pytest.raises(ChampionError, match="is not OWNER/NAME"):
        find_pull(client.connect(), repo=repo, pr=1)

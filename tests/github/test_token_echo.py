"""A GitHub (or a proxy) that echoes the Authorization header back, in every status: no part of
the token reaches the console, the log or champion-error.log, on any command that calls GitHub."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from champion import redact
from testing.github import TOKEN
from testing.loopback import FakeGitHubServer
from testing.repos import Repo, run_cli

STATUSES = [200, 401, 403, 404, 422, 500]  # 200: a malformed answer, text where JSON is expected
COMMANDS = {
    "comment": ["comment", "--report", "{report}", "--pr", "5"],
    "release": ["release", "churn", "--push", "--github-release"],
    "promote --dispatch-workflow": [
        "promote",
        "churn",
        "0.2.0",
        "--stage",
        "prod",
        "--push",
        "--dispatch-workflow",
        "deploy.yml",
    ],
    "rollback --dispatch-workflow": [
        "rollback",
        "churn",
        "--reason",
        "bad",
        "--push",
        "--dispatch-workflow",
        "deploy.yml",
    ],
}


def fragments(text: str, secret: str = TOKEN) -> list[str]:
    """Every run of 8 characters of `secret` found in `text`."""
    n = redact.MIN_SECRET
    return sorted(
        {secret[i : i + n] for i in range(len(secret) - n + 1) if secret[i : i + n] in text}
    )


@pytest.fixture
def echoing(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer() as server:
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        yield server


@pytest.fixture
def error_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """champion-error.log goes to the temp folder: this test's own."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder / "champion-error.log"


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "CHAMPION_DEBUG"])
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("command", COMMANDS)
def test_no_part_of_the_token_leaks_whatever_github_echoes(
    echoing: FakeGitHubServer,
    error_log: Path,
    project: Repo,
    report_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    status: int,
    debug: bool,
) -> None:
    if debug:
        monkeypatch.setenv("CHAMPION_DEBUG", "1")
    caplog.set_level(logging.DEBUG)  # every logger, PyGithub's requests and answers included
    echoing.state.echo = status
    args = [a.format(report=report_path) for a in COMMANDS[command]]
    result = run_cli(capsys, project.path, *args)
    assert echoing.state.calls, "the command never reached the server"
    seen = result.out + result.err + caplog.text
    if error_log.exists():
        seen += error_log.read_text()
    assert fragments(seen) == [], seen
    # A hostile answer is GitHub failing, named as such: exit 2, never "a bug in champion".
    assert result.code == 2, result.err
    assert result.err.startswith("error: "), result.err
    assert "Traceback" not in result.err
    assert project.remote_tags() == ["churn#prod#1", "churn@v0.1.0", "churn@v0.2.0", "churn@v0.3.0"]


def test_the_echo_reaches_champion_and_would_leak_unscrubbed(
    echoing: FakeGitHubServer, project: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server really quotes the token, cut where champion cuts: the test above can fail."""
    import requests

    echoing.state.echo = 403
    answer = requests.get(f"{echoing.url}/user", headers={"Authorization": f"token {TOKEN}"})
    message = answer.json()["message"]
    assert TOKEN not in message[:300]
    assert fragments(message[:300]) != []

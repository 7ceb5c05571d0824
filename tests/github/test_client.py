"""The GitHub client: its base URL, its token, its retries."""

from __future__ import annotations

import pytest
import responses
from github import GithubException

from champion.errors import ChampionError
from champion.github import client
from testing.github import TOKEN

USER = {"login": "alice", "id": 1, "type": "User"}


def test_the_default_is_github_com_with_the_token_and_100_a_page(
    api: responses.RequestsMock,
) -> None:
    api.get("https://api.github.com:443/user", json=USER)
    api.get("https://api.github.com:443/repos/o/r/issues/1/comments", json=[])
    gh = client.connect()
    assert gh.get_user().login == "alice"
    assert list(gh.get_repo("o/r").get_issue(1).get_comments()) == []
    assert api.calls[0].request.headers["Authorization"] == f"token {TOKEN}"
    assert "per_page=100" in str(api.calls[1].request.url)
    assert len(api.calls) == 2  # lazy: no GET of the repository or the issue


def test_an_explicit_token_wins(api: responses.RequestsMock) -> None:
    api.get("https://api.github.com:443/user", json=USER)
    client.connect("ghp_other").get_user().login  # noqa: B018
    assert api.calls[0].request.headers["Authorization"] == "token ghp_other"


@pytest.mark.parametrize(
    ("url", "requested"),
    [
        ("https://ghe.example.com/api/v3", "https://ghe.example.com:443/api/v3/user"),
        ("https://ghe.example.com/api/v3/", "https://ghe.example.com:443/api/v3/user"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123/user"),
    ],
)
def test_github_api_url_is_the_base(
    api: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch, url: str, requested: str
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", url)
    api.get(requested, json=USER)
    assert client.connect().get_user().login == "alice"


@pytest.mark.parametrize("url", ["http://ghe.example.com/api/v3", "ftp://x", "api.github.com"])
def test_a_token_is_never_sent_in_clear_text_to_another_host(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", url)
    with pytest.raises(ChampionError, match="GITHUB_API_URL"):
        client.connect()


def test_no_token_names_github_token_and_the_permissions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    with pytest.raises(ChampionError) as caught:
        client.connect()
    assert "GITHUB_TOKEN" in str(caught.value)
    assert "permissions: pull-requests: write" in str(caught.value)


def test_reads_and_edits_are_retried_but_a_failed_create_is_not(
    api: responses.RequestsMock,
) -> None:
    gh = client.connect()
    issue = gh.get_repo("o/r").get_issue(1)
    comments = "https://api.github.com:443/repos/o/r/issues/1/comments"
    api.get(comments, status=502)
    api.get(comments, json=[])
    assert list(issue.get_comments()) == []
    api.post(comments, status=502, json={"message": "Server Error"})
    with pytest.raises(GithubException) as caught:
        issue.create_comment("hello")
    assert caught.value.status == 502
    assert [c.request.method for c in api.calls] == ["GET", "GET", "POST"]


def test_a_rate_limited_create_is_retried(api: responses.RequestsMock) -> None:
    from testing.github import SECONDARY_HEADERS, SECONDARY_RATE_LIMIT

    comments = "https://api.github.com:443/repos/o/r/issues/1/comments"
    api.post(comments, status=403, json=SECONDARY_RATE_LIMIT, headers=SECONDARY_HEADERS)
    api.post(
        comments,
        status=201,
        json={"id": 9, "body": "hello", "html_url": "https://github.com/o/r/pull/1#issuecomment-9"},
    )
    created = client.connect().get_repo("o/r").get_issue(1).create_comment("hello")
    assert created.id == 9
    assert len(api.calls) == 2


def test_the_default_pace_is_polite() -> None:
    retry = client.retry(client.DEFAULT_PACE)
    assert retry.total == 5 and retry.backoff_factor == 1.0
    assert {"GET", "PATCH", "POST"} <= set(retry.allowed_methods or ())
    assert client.DEFAULT_PACE.seconds_between_writes == 1.0


def test_scrub() -> None:
    assert client.scrub(f"auth {TOKEN} failed", TOKEN) == "auth *** failed"
    assert client.scrub("nothing to hide", None) == "nothing to hide"
    assert client.scrub("a test token", "t") == "a test token"  # too short to be a token


def test_a_post_cut_off_mid_answer_is_not_resent_but_a_get_is() -> None:
    from urllib3.exceptions import ReadTimeoutError

    timeout = ReadTimeoutError(None, "/repos/o/r/issues/1/comments", "read timed out")  # type: ignore[arg-type]
    retry = client.retry(client.FAST)
    with pytest.raises(ReadTimeoutError):
        retry.increment(method="POST", url="/repos/o/r/issues/1/comments", error=timeout)
    assert retry.increment(method="GET", url="/x", error=timeout).total == retry.total - 1  # type: ignore[operator]

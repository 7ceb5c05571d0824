"""One sticky comment per model and key on a pull request, found again by its hidden marker.

Whose comments count: the token's own login when `GET /user` says it (a personal token). The
Actions GITHUB_TOKEN and GitHub App installation tokens get a 403 there; their comments are
authored by `github-actions[bot]` or `APPNAME[bot]`, so then only comments by a Bot count.
A human's comment is never edited, even when it quotes the marker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from github import Github, GithubException
from github.Issue import Issue
from github.IssueComment import IssueComment
from requests import RequestException

CREATE_ATTEMPTS = 3

Action = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class StickyResult:
    action: Action
    url: str


def upsert_sticky(
    gh: Github, repo_full_name: str, pr_number: int, marker: str, body: str
) -> StickyResult:
    """Updates the latest comment of ours that starts with `marker`, or creates one.

    An unchanged body writes nothing. `body` must start with `marker`, so the next run finds it.
    """
    if body.split("\n", 1)[0].strip() != marker:
        raise ValueError("the body must start with its marker line")
    issue = gh.get_repo(repo_full_name).get_issue(pr_number)
    login = _login(gh)
    found = _find(issue, marker, login)
    if found is not None:
        return _update(found, body)
    return _create(issue, marker, login, body)


def _login(gh: Github) -> str | None:
    """The token's login, or None when GitHub will not tell (an integration's token)."""
    # GithubRetry logs every 403 as a failed request; this one is expected, so it stays quiet.
    retry_log = logging.getLogger("github.GithubRetry")
    quiet = _AboveInfo()
    retry_log.addFilter(quiet)
    try:
        return gh.get_user().login
    except GithubException as e:
        if e.status == 403:  # "Resource not accessible by integration"
            return None
        raise
    finally:
        retry_log.removeFilter(quiet)


class _AboveInfo(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO


def _ours(comment: IssueComment, marker: str, login: str | None) -> bool:
    body = comment.body or ""
    if body.split("\n", 1)[0].strip() != marker:
        return False
    user = comment.user
    if user is None:  # a deleted account ("ghost")
        return False
    return user.login == login if login is not None else user.type == "Bot"


def _find(issue: Issue, marker: str, login: str | None) -> IssueComment | None:
    # Every page, oldest first: the latest comment of ours wins.
    latest = None
    for comment in issue.get_comments():
        if _ours(comment, marker, login):
            latest = comment
    return latest


def _same(a: str, b: str) -> bool:
    return a.replace("\r\n", "\n").rstrip() == b.replace("\r\n", "\n").rstrip()


def _update(comment: IssueComment, body: str) -> StickyResult:
    if _same(comment.body or "", body):
        return StickyResult("unchanged", comment.html_url)
    comment.edit(body)
    return StickyResult("updated", comment.html_url)


def _create(issue: Issue, marker: str, login: str | None, body: str) -> StickyResult:
    # A POST that GitHub answered with a 5xx, or that was cut off, may have created the comment
    # anyway; GithubRetry would send it again and post a duplicate, so client.py lets it retry a
    # POST only on a rate limit. Here a failed create is retried only after listing again: if the
    # comment is there, it is the one we created.
    for attempt in range(CREATE_ATTEMPTS):
        if attempt:
            found = _find(issue, marker, login)
            if found is not None:
                return StickyResult("created", _update(found, body).url)
        try:
            return StickyResult("created", issue.create_comment(body).html_url)
        except GithubException as e:
            if e.status < 500 or attempt == CREATE_ATTEMPTS - 1:
                raise
        except RequestException:
            if attempt == CREATE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")

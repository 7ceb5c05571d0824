"""The one place champion builds a GitHub API client.

The base URL comes from `GITHUB_API_URL` (GitHub Enterprise sets it), the token from the caller or
`GITHUB_TOKEN`. The token goes to PyGithub's `Auth.Token` and nowhere else; whatever champion shows
of a failure passes through `scrub` first.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

from github import Auth, Github, GithubException, GithubRetry
from requests import RequestException
from urllib3 import Retry
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import ProtocolError, ReadTimeoutError
from urllib3.response import HTTPResponse

from champion import redact
from champion.errors import GitHubError

DEFAULT_API_URL = "https://api.github.com"
PER_PAGE = 100  # the most GitHub allows; the default is 30
PERMISSIONS = "`permissions: pull-requests: write` (and `issues: write`)"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_DETAIL = 300  # characters of GitHub's answer quoted in a message


@dataclass(frozen=True)
class Pace:
    """How patiently champion talks to GitHub. Tests use `FAST`: same retries, no sleeping."""

    seconds_between_requests: float | None = 0.25
    seconds_between_writes: float | None = 1.0
    retries: int = 5
    backoff_factor: float = 1.0
    secondary_rate_wait: float = 60.0
    max_rate_limit_wait: float = 300.0
    respect_retry_after: bool = True


DEFAULT_PACE = Pace()
FAST = Pace(None, None, backoff_factor=0.0, secondary_rate_wait=0.0, respect_retry_after=False)
PACE = DEFAULT_PACE  # what `connect` uses when not told; tests swap in FAST


class _Retry(GithubRetry):
    """GithubRetry (5xx, rate-limited 403s) and PATCH, except that a POST is retried only on a
    rate limit.

    GithubRetry retries POST like any GET. But a POST answered with a 5xx, or cut off while GitHub
    answered, may have created its comment all the same, and sending it again posts a duplicate.
    A rate-limited 403 means GitHub did nothing, so that one is retried here; any other failed
    create is retried by the caller, after it has looked for the comment again (comments.py).
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST" and status_code != 403:
            return False
        return super().is_retry(method, status_code, has_retry_after)

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: HTTPResponse | None = None,  # type: ignore[override]
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Retry:
        sent = isinstance(error, (ReadTimeoutError, ProtocolError))  # urllib3's "read error"
        if sent and method is not None and method.upper() == "POST":
            assert error is not None
            raise error
        return super().increment(method, url, response, error, _pool, _stacktrace)


def retry(pace: Pace) -> GithubRetry:
    return _Retry(
        total=pace.retries,
        backoff_factor=pace.backoff_factor,
        respect_retry_after_header=pace.respect_retry_after,
        secondary_rate_wait=pace.secondary_rate_wait,
        max_rate_limit_wait=pace.max_rate_limit_wait,
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH"},
    )


def api_url() -> str:
    url = (os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
    parts = urlsplit(url)
    # The token travels in a header: never in clear text past this machine.
    plain_ok = parts.scheme == "http" and parts.hostname in LOOPBACK
    if not parts.hostname or not (parts.scheme == "https" or plain_ok):
        raise GitHubError(
            f"GITHUB_API_URL {url!r} is not an https URL (plain http only for a loopback host): "
            f"unset it for github.com or set it to your server's API, e.g. https://HOST/api/v3"
        )
    return url


def token_from_env(explicit: str | None = None) -> str:
    token = (explicit or os.environ.get("GITHUB_TOKEN") or "").strip()
    redact.register(token)
    if not token:
        raise GitHubError(
            "no GitHub token: set GITHUB_TOKEN (in a workflow, "
            "`env: GITHUB_TOKEN: ${{ github.token }}` on the step) and give the job "
            f"{PERMISSIONS}"
        )
    return token


def connect(token: str | None = None, *, pace: Pace | None = None) -> Github:
    """A client for GITHUB_API_URL. It is lazy: objects fetch themselves only when read."""
    pace = pace or PACE
    secret = token_from_env(token)
    redact.register(secret)
    return Github(
        base_url=api_url(),
        auth=Auth.Token(secret),
        retry=retry(pace),
        per_page=PER_PAGE,
        seconds_between_requests=pace.seconds_between_requests,
        seconds_between_writes=pace.seconds_between_writes,
        lazy=True,
    )


def scrub(text: str, token: str | None = None) -> str:
    """`text` without the token (any run of 8+ of its characters) or anything shaped like a
    credential, for any message that may quote a request or a response. Before any cut."""
    return redact.scrub(text, token)


class _Redact(logging.Filter):
    """PyGithub's debug log masks the Authorization header but prints response bodies whole,
    and a server may echo the header in them; this scrubs whatever its loggers write."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = redact.scrub(text)
        if clean != text:
            record.msg, record.args = clean, None
        return True


_REDACT = _Redact()
for _name in ("github.Requester", "github.GithubRetry"):  # filters do not pass to child loggers
    logging.getLogger(_name).addFilter(_REDACT)

# What a malformed answer raises inside PyGithub (a 200 whose body is not the JSON it expects).
UNREADABLE = (KeyError, TypeError, AttributeError, ValueError)


def failure(what: str, error: BaseException, hint: str = "") -> GitHubError:
    """A refusal, an outage or an unreadable answer from GitHub as a GitHubError naming what
    failed. Everything quoted from the answer is scrubbed, then cut: never the other way round,
    or a token cut in half would slip past."""
    if isinstance(error, GithubException):
        message = error.data.get("message") if isinstance(error.data, dict) else None
        detail = str(error.status)
        if isinstance(message, str):
            detail += f" {_cut(scrub(message))}"
    elif isinstance(error, RequestException):
        detail = (
            f"GitHub's API at {api_url()} did not answer, retries included: "
            f"{_cut(scrub(str(error)))}"
        )
    else:
        detail = (
            f"GitHub's API at {api_url()} answered with something champion cannot read "
            f"({type(error).__name__}: {_cut(scrub(str(error)))}); check GITHUB_API_URL, then retry"
        )
    return GitHubError(scrub(f"{what} failed: {detail}{hint}"))


def _cut(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


@contextmanager
def guarded(what: str, hint: str = "") -> Iterator[None]:
    """GitHub's refusals, outages and unreadable answers as a GitHubError naming what failed,
    never the token."""
    try:
        yield
    except (GithubException, RequestException, *UNREADABLE) as e:
        raise failure(what, e, hint) from None

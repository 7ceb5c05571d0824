"""A fake of the slice of GitHub's REST API that `champion comment` uses, on `responses`.

It answers like GitHub does: PyGithub calls `https://HOST:443/...`, while the `url` fields of the
JSON it returns carry no port; issue comments come 100 a page with a `Link` header whose `next`
points at `/repositories/{id}/...`; `GET /user` answers 403 to an integration's token, whose
comments are authored by `github-actions[bot]`, type Bot.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from requests import PreparedRequest

API = "https://api.github.com"
REPO = "octo/app"
REPO_ID = 4242
BOT = "github-actions[bot]"
TOKEN = "ghs_Sup3rSecretT0kenValue0123456789abcd"  # what the tests' GITHUB_TOKEN holds
NOT_ACCESSIBLE = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
    "status": "403",
}
SECONDARY_RATE_LIMIT = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you "
    "try again. If you reach out to GitHub Support for help, please include the request ID "
    "E6A2:3B5F:1C2D3E:4F5A6B:65F1A2B3.",
    "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits",
}
# The headers GitHub sends with a secondary rate limit: a Retry-After and a rate limit not spent.
SECONDARY_HEADERS = {
    "retry-after": "60",
    "x-ratelimit-limit": "5000",
    "x-ratelimit-remaining": "4987",
    "x-ratelimit-reset": "1893456000",
    "x-ratelimit-resource": "core",
    "x-ratelimit-used": "13",
}

Reply = tuple[int, dict[str, str], str]


@dataclass
class Fault:
    """The next `method` request to a comments endpoint answers `status`; with `apply`, GitHub
    did the work all the same (a POST that created its comment, then answered 502)."""

    method: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    apply: bool = False


@dataclass
class FakeGitHub:
    rsps: responses.RequestsMock
    base: str = API  # an Enterprise server: https://HOST/api/v3
    login: str | None = None  # None: GET /user answers 403, as to the Actions GITHUB_TOKEN
    user_fault: Fault | None = None  # what GET /user answers instead, e.g. 401
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    next_id: int = 1000

    def install(self) -> FakeGitHub:
        api = re.escape(self.port(self.base))
        self.rsps.add_callback("GET", re.compile(f"{api}/user$"), self._user)
        issues = f"{api}/(?:repos/{re.escape(REPO)}|repositories/{REPO_ID})/issues"
        self.rsps.add_callback("GET", re.compile(rf"{issues}/(\d+)/comments(\?.*)?$"), self._list)
        self.rsps.add_callback("POST", re.compile(rf"{issues}/(\d+)/comments$"), self._create)
        self.rsps.add_callback("PATCH", re.compile(rf"{issues}/comments/(\d+)$"), self._edit)
        pulls = f"{api}/repos/{re.escape(REPO)}/pulls/(\\d+)$"
        self.rsps.add_callback("GET", re.compile(pulls), self._pull)
        return self

    @staticmethod
    def port(url: str) -> str:
        """The URL as PyGithub requests it: with the explicit :443."""
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}:443{parts.path}"

    # -- arranging ---------------------------------------------------------------------------

    def add(self, pr: int, body: str, login: str = BOT, kind: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        comment_id = self.next_id
        kind = kind or ("Bot" if login.endswith("[bot]") else "User")
        comment = {
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "url": f"{self.base}/repos/{REPO}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{REPO}/pull/{pr}#issuecomment-{comment_id}",
            "issue_url": f"{self.base}/repos/{REPO}/issues/{pr}",
            "body": body,
            "user": {"login": login, "id": sum(map(ord, login)), "type": kind},
            "created_at": "2024-05-01T12:00:00Z",
            "updated_at": "2024-05-01T12:00:00Z",
            "author_association": "NONE" if kind == "Bot" else "MEMBER",
        }
        self.comments.setdefault(pr, []).append(comment)
        return comment

    def pull(self, number: int, head_repo: str | None, base_repo: str = REPO) -> None:
        self.pulls[number] = pull_json(number, head_repo, base_repo)

    # -- observing ---------------------------------------------------------------------------

    def calls(self, method: str) -> list[PreparedRequest]:
        return [c.request for c in self.rsps.calls if c.request.method == method]

    def writes(self) -> list[PreparedRequest]:
        return [r for r in (c.request for c in self.rsps.calls) if r.method in ("POST", "PATCH")]

    def bodies(self, pr: int) -> list[str]:
        return [c["body"] for c in self.comments.get(pr, [])]

    # -- answering ---------------------------------------------------------------------------

    def _fault(self, method: str) -> Fault | None:
        for i, fault in enumerate(self.faults):
            if fault.method == method:
                return self.faults.pop(i)
        return None

    def _user(self, request: PreparedRequest) -> Reply:
        if self.user_fault:
            return self.user_fault.status, self.user_fault.headers, json.dumps(self.user_fault.body)
        if self.login is None:
            return 403, {}, json.dumps(NOT_ACCESSIBLE)
        return 200, {}, json.dumps({"login": self.login, "id": 1, "type": "User"})

    def _list(self, request: PreparedRequest) -> Reply:
        fault = self._fault("GET")
        if fault:
            return fault.status, fault.headers, json.dumps(fault.body)
        parts = urlsplit(str(request.url))
        pr = int(re.findall(r"/issues/(\d+)/comments", parts.path)[0])
        query = parse_qs(parts.query)
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        everything = self.comments.get(pr, [])
        chunk = everything[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(everything) // per_page))
        headers = {}
        if page < last:
            link = f"{self.base}/repositories/{REPO_ID}/issues/{pr}/comments?per_page={per_page}"
            headers["Link"] = (
                f'<{link}&page={page + 1}>; rel="next", <{link}&page={last}>; rel="last"'
            )
        return 200, headers, json.dumps(chunk)

    def _create(self, request: PreparedRequest) -> Reply:
        pr = int(re.findall(r"/issues/(\d+)/comments", str(request.url))[0])
        body = sent(request)["body"]
        fault = self._fault("POST")
        if fault and not fault.apply:
            return fault.status, fault.headers, json.dumps(fault.body)
        if len(body) > 65536:
            return (
                422,
                {},
                json.dumps(
                    {
                        "message": "Validation Failed",
                        "errors": ["body is too long (maximum is 65536 characters)"],
                    }
                ),
            )
        comment = self.add(
            pr, body, login=self.login or BOT, kind=None if self.login is None else "User"
        )
        if fault:
            return fault.status, fault.headers, json.dumps(fault.body)
        return 201, {}, json.dumps(comment)

    def _edit(self, request: PreparedRequest) -> Reply:
        comment_id = int(str(request.url).rsplit("/", 1)[1])
        fault = self._fault("PATCH")
        if fault:
            return fault.status, fault.headers, json.dumps(fault.body)
        body = sent(request)["body"]
        if len(body) > 65536:
            return 422, {}, json.dumps({"message": "Validation Failed"})
        for comment in (c for cs in self.comments.values() for c in cs):
            if comment["id"] == comment_id:
                comment["body"] = body
                comment["updated_at"] = "2024-05-02T12:00:00Z"
                return 200, {}, json.dumps(comment)
        return 404, {}, json.dumps({"message": "Not Found"})

    def _pull(self, request: PreparedRequest) -> Reply:
        number = int(str(request.url).rsplit("/", 1)[1])
        if number not in self.pulls:
            return 404, {}, json.dumps({"message": "Not Found"})
        return 200, {}, json.dumps(self.pulls[number])


def sent(request: PreparedRequest) -> Any:
    """The JSON a request carried."""
    raw = request.body
    return json.loads(raw if isinstance(raw, (str, bytes)) else b"{}")


def pull_json(
    number: int,
    head_repo: str | None,
    base_repo: str = REPO,
    sha: str = "a" * 40,
    state: str = "open",
    base: str = API,
) -> dict[str, Any]:
    def repo(full_name: str) -> dict[str, Any]:
        owner = full_name.split("/")[0]
        return {
            "id": sum(map(ord, full_name)),
            "full_name": full_name,
            "name": full_name.split("/")[1],
            "owner": {"login": owner, "type": "User"},
            "url": f"{base}/repos/{full_name}",
        }

    return {
        "id": number * 10,
        "number": number,
        "state": state,
        "url": f"{base}/repos/{base_repo}/pulls/{number}",
        "html_url": f"https://github.com/{base_repo}/pull/{number}",
        "head": {
            "ref": "feature",
            "sha": sha,
            "label": f"{(head_repo or 'ghost/x').split('/')[0]}:feature",
            "repo": repo(head_repo) if head_repo else None,
        },
        "base": {"ref": "main", "sha": "b" * 40, "label": "octo:main", "repo": repo(base_repo)},
    }


def pull_event(number: int, head_repo: str | None = REPO) -> dict[str, Any]:
    """The parts of a `pull_request` payload champion reads, shaped as GitHub sends them."""
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": pull_json(number, head_repo),
        "repository": {"full_name": REPO, "id": REPO_ID},
    }


def workflow_run_event(
    head_repo: str, pulls: list[int] | None = None, sha: str = "a" * 40, event: str = "pull_request"
) -> dict[str, Any]:
    """A `workflow_run` payload; for a fork, GitHub leaves `pull_requests` empty."""
    owner = head_repo.split("/")[0]
    return {
        "action": "completed",
        "workflow_run": {
            "id": 99,
            "html_url": f"https://github.com/{REPO}/actions/runs/99",
            "event": event,
            "head_sha": sha,
            "head_branch": "feature",
            "conclusion": "success",
            "pull_requests": [
                {"number": n, "head": {"sha": sha, "ref": "feature"}} for n in (pulls or [])
            ],
            "repository": {"full_name": REPO, "owner": {"login": REPO.split("/")[0]}},
            "head_repository": {"full_name": head_repo, "owner": {"login": owner}},
        },
        "repository": {"full_name": REPO, "id": REPO_ID},
    }


def actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A GitHub Actions job: a token, a repository, no event unless a test writes one; GitHub
    calls never sleep (the same retries, without the waits)."""
    from champion.github import client

    for name in list(os.environ):
        if name.startswith("GITHUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setattr(client, "PACE", client.FAST)

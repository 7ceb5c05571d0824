"""A loopback HTTP server that answers the GitHub REST calls champion makes, for end-to-end runs
(under act) where `responses` cannot reach: the runner's steps are other processes.

It keeps state like GitHub does (pull requests, issue comments, releases) and records every call,
so a test asserts what reached GitHub: a comment posted, a release created, a workflow dispatched.
Point a job at it with `GITHUB_API_URL=http://127.0.0.1:PORT` (champion allows plain http only
for a loopback host).
"""

from __future__ import annotations

import io
import json
import re
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from testing.github import BOT, NOT_ACCESSIBLE, pull_json


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int


@dataclass
class State:
    repo: str
    base: str  # the API URL the JSON bodies name
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    commit_pulls: dict[str, list[int]] = field(default_factory=dict)  # sha -> pull numbers
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    releases: dict[str, dict[str, Any]] = field(default_factory=dict)
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)  # workflow runs, oldest first
    blobs: dict[int, bytes] = field(default_factory=dict)  # artifact id -> its zip
    label_events: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    next_id: int = 5000
    echo: int | None = None  # answer every call with this status, echoing the Authorization header


# A hostile (or broken) server or proxy quotes the request's Authorization header back. In a
# message longer than champion quotes (300 characters), placed so that the cut falls inside the
# token: an exact-match scrub would miss the half that is left.
ECHO_PREFIX = "x" * 250 + " you sent Authorization: "


class FakeGitHubServer:
    def __init__(self, repo: str = "octo/app") -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.state = State(repo=repo, base=self.url)
        self.lock = threading.Lock()
        self.httpd.fake = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeGitHubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    # -- arranging ---------------------------------------------------------------------------

    def add_pull(
        self, number: int, head_sha: str, branch: str = "feature", merged: bool = False
    ) -> None:
        pull = pull_json(number, self.state.repo, self.state.repo, sha=head_sha, base=self.url)
        pull["head"]["ref"] = branch
        pull["labels"] = []
        pull["merged_at"] = "2024-05-01T12:00:00Z" if merged else None
        pull["state"] = "closed" if merged else "open"
        with self.lock:
            self.state.pulls[number] = pull
            self.state.commit_pulls.setdefault(head_sha, []).append(number)

    def label(self, number: int, label: str, actor: str) -> None:
        """`actor` adds `label` to the pull request (its labels, and its issue events)."""
        with self.lock:
            self.state.pulls[number]["labels"].append({"id": len(label), "name": label})
            events = self.state.label_events.setdefault(number, [])
            events.append(
                {"id": len(events) + 1, "event": "labeled", "actor": {"login": actor},
                 "label": {"name": label}}
            )  # fmt: skip

    def add_run(
        self, head_sha: str, artifacts: dict[str, Path], event: str = "pull_request"
    ) -> str:
        """A finished workflow run of `head_sha` that uploaded `artifacts` (name -> a folder of
        files, zipped as GitHub serves them). Returns its html_url."""
        with self.lock:
            s = self.state
            s.next_id += 1
            run_id = s.next_id
            listed = []
            for name, folder in artifacts.items():
                s.next_id += 1
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w") as archive:
                    for file in sorted(folder.iterdir()):
                        archive.write(file, file.name)
                s.blobs[s.next_id] = buffer.getvalue()
                listed.append(
                    {
                        "id": s.next_id,
                        "name": name,
                        "expired": False,
                        "size_in_bytes": len(s.blobs[s.next_id]),
                        "archive_download_url": f"{self.url}/repos/{s.repo}/actions/artifacts/"
                        f"{s.next_id}/zip",
                    }
                )
            url = f"https://github.com/{s.repo}/actions/runs/{run_id}"
            s.runs.append(
                {
                    "id": run_id,
                    "head_sha": head_sha,
                    "event": event,
                    "html_url": url,
                    "url": f"{self.url}/repos/{s.repo}/actions/runs/{run_id}",
                    "artifacts_url": f"{self.url}/repos/{s.repo}/actions/runs/{run_id}/artifacts",
                    "artifacts": listed,
                }
            )
            return url

    def link_commit(self, sha: str, number: int) -> None:
        """`GET /repos/R/commits/SHA/pulls` lists the pull request (a merge commit's, say)."""
        with self.lock:
            self.state.commit_pulls.setdefault(sha, []).append(number)

    # -- observing ---------------------------------------------------------------------------

    def writes(self) -> list[Call]:
        with self.lock:
            return [c for c in self.state.calls if c.method in ("POST", "PATCH", "PUT", "DELETE")]

    def bodies(self, pr: int) -> list[str]:
        with self.lock:
            return [c["body"] for c in self.state.comments.get(pr, [])]

    # -- answering ---------------------------------------------------------------------------

    def answer(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, auth: str = ""
    ) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            if self.state.echo is not None:
                status, payload, headers = self._echo(self.state.echo, auth)
            else:
                status, payload, headers = self._route(method, path, query, body)
            self.state.calls.append(Call(method, path, query, body, status))
            return status, payload, headers

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        s = self.state
        repo = re.escape(s.repo)
        if method == "GET" and path == "/user":
            return 403, NOT_ACCESSIBLE, {}
        if m := re.fullmatch(rf"/repos/{repo}/issues/(\d+)/comments", path):
            number = int(m[1])
            if method == "GET":
                return 200, s.comments.get(number, []), {}
            if method == "POST":
                return 201, self._comment(number, body["body"]), {}
        m = re.fullmatch(rf"/repos/{repo}/issues/comments/(\d+)", path)
        if m and method == "PATCH":
            for comment in (c for cs in s.comments.values() for c in cs):
                if comment["id"] == int(m[1]):
                    comment["body"] = body["body"]
                    return 200, comment, {}
        if m := re.fullmatch(rf"/repos/{repo}/pulls/(\d+)", path):
            pull = s.pulls.get(int(m[1]))
            if pull is not None and method == "GET":
                return 200, pull, {}
        if method == "GET" and path == f"/repos/{s.repo}/pulls":
            head = query.get("head", [""])[0]
            branch = head.split(":", 1)[-1]
            found = [p for p in s.pulls.values() if p["head"]["ref"] == branch]
            return 200, found, {}
        if m := re.fullmatch(rf"/repos/{repo}/commits/([0-9a-f]{{40}})/pulls", path):
            return 200, [s.pulls[n] for n in s.commit_pulls.get(m[1], []) if n in s.pulls], {}
        if m := re.fullmatch(rf"/repos/{repo}/releases/tags/(.+)", path):
            release = s.releases.get(m[1])
            if release is not None:
                return 200, release, {}
        if method == "POST" and path == f"/repos/{s.repo}/releases":
            return 201, self._release(body), {}
        m = re.fullmatch(rf"/repos/{repo}/actions/workflows/([^/]+)", path)
        if m and method == "GET":
            url = f"{self.url}/repos/{s.repo}/actions/workflows/{m[1]}"
            return (
                200,
                {
                    "id": 1,
                    "name": m[1],
                    "path": f".github/workflows/{m[1]}",
                    "state": "active",
                    "url": url,
                },
                {},
            )
        m = re.fullmatch(rf"/repos/{repo}/actions/workflows/([^/]+)/dispatches", path)
        if m and method == "POST":
            s.dispatches.append({"workflow": m[1], **(body or {})})
            return 204, None, {}
        if method == "GET" and path == f"/repos/{s.repo}":
            return 200, self._repo(), {}
        if method == "GET" and path == f"/repos/{s.repo}/actions/runs":
            wanted = {k: v[0] for k, v in query.items() if k in ("head_sha", "event")}
            runs = [
                {k: v for k, v in r.items() if k != "artifacts"}
                for r in reversed(s.runs)  # newest first
                if all(r[k] == v for k, v in wanted.items())
            ]
            return 200, {"total_count": len(runs), "workflow_runs": runs}, {}
        if m := re.fullmatch(rf"/repos/{repo}/actions/runs/(\d+)/artifacts", path):
            found = [r["artifacts"] for r in s.runs if r["id"] == int(m[1])]
            listed = found[0] if found else []
            return 200, {"total_count": len(listed), "artifacts": listed}, {}
        if m := re.fullmatch(rf"/repos/{repo}/actions/artifacts/(\d+)/zip", path):
            # GitHub redirects to its blob store, another host (here another path).
            return 302, None, {"Location": f"{self.url}/blobs/{m[1]}"}
        if (m := re.fullmatch(r"/blobs/(\d+)", path)) and int(m[1]) in s.blobs:
            return 200, s.blobs[int(m[1])], {"Content-Type": "application/zip"}
        if m := re.fullmatch(rf"/repos/{repo}/issues/(\d+)/events", path):
            return 200, s.label_events.get(int(m[1]), []), {}
        return 404, {"message": "Not Found"}, {}

    @staticmethod
    def _echo(status: int, auth: str) -> tuple[int, Any, dict[str, str]]:
        """`status` with the header quoted; a 200 is malformed (not the JSON any call expects):
        text, where PyGithub expects an object."""
        if status == 200:
            return 200, f"<html>proxy says: you sent Authorization: {auth}</html>".encode(), {}
        return status, {"message": ECHO_PREFIX + auth, "authorization": auth}, {}

    def _repo(self) -> dict[str, Any]:
        owner, name = self.state.repo.split("/")
        return {
            "id": 4242,
            "full_name": self.state.repo,
            "name": name,
            "owner": {"login": owner, "type": "User"},
            "url": f"{self.url}/repos/{self.state.repo}",
            "default_branch": "main",
        }

    def _comment(self, number: int, text: str) -> dict[str, Any]:
        s = self.state
        s.next_id += 1
        comment = {
            "id": s.next_id,
            "url": f"{self.url}/repos/{s.repo}/issues/comments/{s.next_id}",
            "html_url": f"https://github.com/{s.repo}/pull/{number}#issuecomment-{s.next_id}",
            "issue_url": f"{self.url}/repos/{s.repo}/issues/{number}",
            "body": text,
            "user": {"login": BOT, "id": 41898282, "type": "Bot"},
            "created_at": "2024-05-01T12:00:00Z",
            "updated_at": "2024-05-01T12:00:00Z",
        }
        s.comments.setdefault(number, []).append(comment)
        return comment

    def _release(self, body: dict[str, Any]) -> dict[str, Any]:
        s = self.state
        s.next_id += 1
        tag = body["tag_name"]
        release = {
            "id": s.next_id,
            "tag_name": tag,
            "name": body.get("name"),
            "body": body.get("body"),
            "url": f"{self.url}/repos/{s.repo}/releases/{s.next_id}",
            "html_url": f"https://github.com/{s.repo}/releases/tag/{tag}",
            "draft": False,
            "prerelease": False,
        }
        s.releases[tag] = release
        return release


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        fake: FakeGitHubServer = self.server.fake  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        status, payload, headers = fake.answer(
            self.command,
            unquote(parts.path),
            parse_qs(parts.query),
            body,
            self.headers.get("Authorization", ""),
        )
        if isinstance(payload, bytes):
            data = payload
        else:
            data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if "Content-Type" not in headers:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the calls are recorded
        pass

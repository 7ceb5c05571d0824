"""Which pull request a run is about: `--pr`, or the event that started the workflow.

The event payload is read as untrusted JSON: every field is checked for its type before use, and
a bad one names the file and the field. In `workflow_run`, `pull_requests` is empty when the pull
request comes from a fork, so the pull request is looked up by the run's head sha.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from github import Github, GithubException

from champion.errors import ChampionError, GitHubError

MAX_EVENT_BYTES = 32 << 20
REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
SHA = re.compile(r"^[0-9a-f]{40}$")
PULL_EVENTS = ("pull_request", "pull_request_target")
HOW = "pass --pr N, or run in a pull_request, pull_request_target or workflow_run workflow"


@dataclass(frozen=True)
class PullRequestRef:
    repo: str  # the base repository, OWNER/NAME
    number: int
    fork: bool | None  # None when the event did not say; `is_fork` then asks the API


def repository(explicit: str | None = None) -> str:
    name = explicit or os.environ.get("GITHUB_REPOSITORY") or ""
    if not REPO.match(name) or any(part in (".", "..") for part in name.split("/")):
        what = f"--repo {name!r}" if explicit else f"GITHUB_REPOSITORY {name!r}"
        raise ChampionError(f"{what} is not OWNER/NAME: pass --repo OWNER/NAME")
    return name


def find_pull(gh: Github, *, repo: str | None = None, pr: int | None = None) -> PullRequestRef:
    name = repository(repo)
    if pr is not None:
        if pr <= 0:
            raise ChampionError(f"--pr {pr} is not a pull request number")
        return PullRequestRef(name, pr, None)
    event = os.environ.get("GITHUB_EVENT_NAME", "")
    path = os.environ.get("GITHUB_EVENT_PATH", "")
    if not event or not path:
        raise ChampionError(f"no pull request to comment on: {HOW}")
    payload = _load(Path(path))
    if event in PULL_EVENTS:
        return _from_pull_request(name, _Payload(payload, Path(path)))
    if event == "workflow_run":
        return _from_workflow_run(gh, name, _Payload(payload, Path(path)))
    raise ChampionError(f"no pull request in a {event!r} event: {HOW}")


def is_fork(gh: Github, ref: PullRequestRef) -> bool:
    if ref.fork is not None:
        return ref.fork
    pull = gh.get_repo(ref.repo).get_pull(ref.number)
    head = pull.head.repo  # None once the fork is deleted
    return head is None or head.full_name.casefold() != pull.base.repo.full_name.casefold()


def _load(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_EVENT_BYTES:
            raise ChampionError(f"event payload {path} is over {MAX_EVENT_BYTES >> 20} MiB")
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ChampionError(f"event payload {path} cannot be read: {e.strerror}") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ChampionError(f"event payload {path} is not valid JSON: {e}") from e


class _Payload:
    """Typed reads from an untrusted payload; a wrong type names the file and the field."""

    def __init__(self, data: Any, path: Path) -> None:
        self.data, self.path = data, path

    def get(self, dotted: str) -> Any:
        value = self.data
        for part in dotted.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def bad(self, dotted: str, wanted: str) -> ChampionError:
        return ChampionError(f"event payload {self.path}: field {dotted} is not {wanted}")

    def number(self, dotted: str, value: Any = None) -> int:
        value = self.get(dotted) if value is None else value
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.bad(dotted, "a pull request number")
        return value

    def text(self, dotted: str, *, optional: bool = False) -> str | None:
        value = self.get(dotted)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value or len(value) > 1000:
            raise self.bad(dotted, "a non-empty string")
        return value


def _same(a: str | None, b: str) -> bool:
    return a is not None and a.casefold() == b.casefold()


def _check_base(name: str, base: str | None, p: _Payload, field: str) -> None:
    if base is not None and not _same(base, name):
        raise ChampionError(
            f"event payload {p.path}: {field} is {base!r}, not {name!r}: pass --pr N with --repo"
        )


def _from_pull_request(name: str, p: _Payload) -> PullRequestRef:
    number = p.number("pull_request.number")
    base = p.text("pull_request.base.repo.full_name")
    _check_base(name, base, p, "pull_request.base.repo.full_name")
    # head.repo is null once the fork is deleted: still a fork.
    head = p.text("pull_request.head.repo.full_name", optional=True)
    return PullRequestRef(name, number, not _same(head, name))


def _from_workflow_run(gh: Github, name: str, p: _Payload) -> PullRequestRef:
    if not isinstance(p.get("workflow_run"), dict):
        raise p.bad("workflow_run", "an object")
    base = p.text("workflow_run.repository.full_name")
    _check_base(name, base, p, "workflow_run.repository.full_name")
    head = p.text("workflow_run.head_repository.full_name", optional=True)
    fork = not _same(head, name)
    pulls = p.get("workflow_run.pull_requests")
    if pulls is not None and not isinstance(pulls, list):
        raise p.bad("workflow_run.pull_requests", "a list")
    if pulls:
        entry = pulls[0]
        value = entry.get("number") if isinstance(entry, dict) else None
        return PullRequestRef(name, p.number("workflow_run.pull_requests.0.number", value), fork)
    sha = p.text("workflow_run.head_sha") or ""
    if not SHA.match(sha):
        raise p.bad("workflow_run.head_sha", "a 40-character commit sha")
    trigger = p.get("workflow_run.event")
    if isinstance(trigger, str) and trigger not in PULL_EVENTS:
        raise ChampionError(
            f"the run behind this workflow_run was a {trigger!r} event, not a pull request: "
            "add `if: github.event.workflow_run.event == 'pull_request'` to the job"
        )
    branch = p.text("workflow_run.head_branch", optional=True)
    owner = p.text("workflow_run.head_repository.owner.login", optional=True)
    return PullRequestRef(name, _by_head(gh, name, sha, owner, branch), fork)


def _by_head(gh: Github, name: str, sha: str, owner: str | None, branch: str | None) -> int:
    """The pull request in `name` whose head is `sha`, an open one first."""
    repo = gh.get_repo(name)
    candidates = []
    if owner and branch:
        candidates = list(repo.get_pulls(state="open", head=f"{owner}:{branch}"))
    if not any(p.head.sha == sha for p in candidates):
        try:
            candidates = list(repo.get_commit(sha).get_pulls())
        except GithubException as e:
            if e.status not in (404, 422):  # an unknown commit: no pull request has it
                raise
            candidates = []
    matching = sorted(
        (p for p in candidates if p.head.sha == sha), key=lambda p: (p.state != "open", -p.number)
    )
    if not matching:
        raise GitHubError(
            f"no pull request in {name} has head {sha[:12]} (branch {owner}:{branch}): pass --pr N"
        )
    return matching[0].number


@dataclass(frozen=True)
class MergedPull:
    number: int
    url: str
    labels: tuple[str, ...]
    head_sha: str = ""  # what its pull_request runs evaluated


def pull_of_commit(gh: Github, repo: str, sha: str) -> MergedPull | None:
    """The pull request a commit came from (merged first), with its labels; None if none."""
    try:
        pulls = list(gh.get_repo(repo).get_commit(sha).get_pulls())
    except GithubException as e:
        if e.status in (404, 422):  # a commit GitHub does not know: no pull request
            return None
        raise
    if not pulls:
        return None
    pull = sorted(pulls, key=lambda p: (p.merged_at is None, -p.number))[0]
    head = pull.head.sha if isinstance(pull.head.sha, str) and SHA.match(pull.head.sha) else ""
    return MergedPull(pull.number, pull.html_url, tuple(label.name for label in pull.labels), head)


def labeled_by(gh: Github, repo: str, number: int, label: str) -> str | None:
    """Who last added `label` to the pull request (its issue events), or None if unknown."""
    who = None
    for event in gh.get_repo(repo).get_issue(number).get_events():
        if event.event == "labeled" and event.label is not None and event.label.name == label:
            who = event.actor.login if event.actor is not None else None
    return who

"""Who is acting, and which of a rule's entries they match: logins and workflows from the run's
environment, org teams through GitHub's API (GITHUB_API_URL, Enterprise included).

A team that cannot be read (no token, a token that cannot see the org's teams, an outage) is
never a match: the write is refused with what went wrong.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import quote

from champion.ci import context
from champion.config.policy import LOGIN_RE, TEAM_RE, WORKFLOW_RE
from champion.errors import ChampionError, GitHubError

_WORKFLOWS = "/.github/workflows/"
_READ_ORG = (
    ": the token needs read access to the organization's members (the Actions GITHUB_TOKEN has "
    "none: use a GitHub App or fine-grained token with Members: read)"
)


def acting(explicit: str | None) -> str | None:
    """The acting identity: GITHUB_ACTOR under Actions, else `--actor`. Under Actions an
    `--actor` naming someone else is refused: the run's actor is GitHub's to say."""
    env = context.actor()
    if explicit is None:
        return env
    if not LOGIN_RE.fullmatch(explicit):
        raise ChampionError(
            f"--actor {explicit!r} is not a GitHub login (letters, digits and single hyphens)"
        )
    if env is not None and env.lower() != explicit.lower():
        raise ChampionError(
            f"--actor {explicit} differs from GITHUB_ACTOR {env}: in a workflow run the actor is "
            "the one GitHub names; drop --actor"
        )
    return explicit


def workflow_file() -> str | None:
    """This run's workflow file (watch.yml), from GITHUB_WORKFLOW_REF
    (`owner/repo/.github/workflows/watch.yml@refs/heads/main`)."""
    ref = os.environ.get("GITHUB_WORKFLOW_REF") or ""
    _, found, rest = ref.partition(_WORKFLOWS)
    return rest.split("@", 1)[0] or None if found else None


class GitHubTeams:
    """Team membership over GitHub's REST API, asked once per team and login per run."""

    def __init__(self, token: str | None = None) -> None:
        self._token = token
        self._known: dict[tuple[str, str, str], bool] = {}

    def is_member(self, org: str, slug: str, login: str) -> bool:
        """True for an active member; False when GitHub says not a member (404, or pending).
        Raises GitHubError when the answer cannot be had."""
        key = (org.lower(), slug.lower(), login.lower())
        if key in self._known:
            return self._known[key]
        from github import GithubException

        from champion.github.client import connect, failure, guarded

        what = f"reading {login}'s membership of @{org}/{slug}"
        if not (self._token or os.environ.get("GITHUB_TOKEN", "").strip()):
            raise GitHubError(f"{what}: no GitHub token (set GITHUB_TOKEN){_READ_ORG}")
        gh = connect(self._token)
        path = f"/orgs/{quote(org)}/teams/{quote(slug)}/memberships/{quote(login)}"
        try:
            with guarded(what):
                try:
                    _, data = gh.requester.requestJsonAndCheck("GET", path)
                except GithubException as e:
                    if e.status == 403:
                        raise failure(what, e, _READ_ORG) from None
                    if e.status != 404:  # 404: not a member (or a team this token cannot see)
                        raise
                    data = None
        finally:
            gh.close()
        member = isinstance(data, dict) and data.get("state") == "active"
        self._known[key] = member
        return member


def matches(actor: str, entries: Sequence[str], teams: GitHubTeams | None) -> tuple[list[str], str]:
    """The entries `actor` matches, and what could not be read (a refusal's reason)."""
    found = [e for e in entries if LOGIN_RE.fullmatch(e) and e.lower() == actor.lower()]
    workflow = workflow_file()
    found += [e for e in entries if (m := WORKFLOW_RE.fullmatch(e)) and workflow == m.group("file")]
    if found:
        return found, ""
    problems = []
    for entry in entries:
        team = TEAM_RE.fullmatch(entry)
        if team is None:
            continue
        if teams is None:
            problems.append(f"{entry} cannot be read here")
            continue
        try:
            if teams.is_member(team.group("org"), team.group("slug"), actor):
                return [entry], ""
        except GitHubError as e:
            problems.append(str(e))
    return [], "; ".join(problems)

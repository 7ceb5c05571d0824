"""GitHub Releases: one per model version, created once, never duplicated."""

from __future__ import annotations

from github import Github, GithubException


def ensure_release(
    gh: Github, repo: str, tag: str, name: str, body: str, *, latest: bool = True
) -> tuple[str, str]:
    """("created" | "exists", html_url). The tag must already be on GitHub. `latest=False` keeps
    the repository's "Latest" badge where it is (a repository of many models has no one latest)."""
    r = gh.get_repo(repo)
    try:
        existing = r.get_release(tag)
    except GithubException as e:
        if e.status != 404:
            raise
    else:
        return "exists", existing.html_url
    release = r.create_git_release(
        tag=tag, name=name, message=body, make_latest="true" if latest else "false"
    )
    return "created", release.html_url

"""What the CI environment says about this run (GitHub Actions' variables); None elsewhere."""

from __future__ import annotations

import os


def run_url() -> str | None:
    """This workflow run's URL, from the runner's own environment (never from a report)."""
    server, repo, run = (
        os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def actor() -> str | None:
    """Who started this CI run. Outside CI, None: the tag's own tagger (git's user.name) says
    who wrote it, and $USER (root in a container) would only say less."""
    return os.environ.get("GITHUB_ACTOR") or None


def run_id() -> str | None:
    """Stays the same when a run is re-run (the attempt changes), so a re-run can tell its own
    earlier write apart from someone else's."""
    return os.environ.get("GITHUB_RUN_ID") or None

"""What the CI environment says about this run (GitHub Actions' variables); None elsewhere."""

from __future__ import annotations

import getpass
import os
import re


def run_url() -> str | None:
    """This workflow run's URL, from the runner's own environment (never from a report)."""
    server, repo, run = (
        os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def actor() -> str:
    if os.environ.get("GITHUB_ACTOR"):
        return os.environ["GITHUB_ACTOR"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. an arbitrary uid in a container
        return "unknown"


def run_id() -> str | None:
    """Stays the same when a run is re-run (the attempt changes), so a re-run can tell its own
    earlier write apart from someone else's."""
    return os.environ.get("GITHUB_RUN_ID") or None


def report_artifact_name(model: str) -> str:
    """The artifact pr-evaluate.yml uploads a model's report.json as: a name upload-artifact
    accepts (no / : and the like), unique per model. The release looks for it by this name."""
    return "champion-report-" + re.sub(r"[^A-Za-z0-9._-]", "-", model)

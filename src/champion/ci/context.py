"""What the CI environment says about this run (GitHub Actions' variables); None elsewhere."""

from __future__ import annotations

import json
import os
import re


def run_url() -> str | None:
    """This workflow run's URL, from the runner's own environment (never from a report)."""
    server, repo, run = (
        os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def evaluation_run_url(recorded: object = None) -> str | None:
    """The run that evaluated, for the comment's link. In a `workflow_run` job (the comment of a
    fork's pull request) it is the run that triggered this one, from GitHub's event. Else the
    report's `run_url` (untrusted: it came with the report) when it names a run of this
    repository on this server, else this run (the summary of the evaluating job itself)."""
    if os.environ.get("GITHUB_EVENT_NAME") == "workflow_run":
        triggering = _event_field("workflow_run", "html_url")
        if triggering and _is_run_url(triggering):
            return triggering
    if isinstance(recorded, str) and _is_run_url(recorded):
        return recorded
    return run_url()


def _is_run_url(url: str) -> bool:
    server, repo = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    if not server or not repo:
        return False
    pattern = rf"{re.escape(server.rstrip('/'))}/{re.escape(repo)}/actions/runs/\d+(/attempts/\d+)?"
    return re.fullmatch(pattern, url) is not None


def _event_field(*path: str) -> str | None:
    """A string from the event payload GitHub wrote for this run (None when it has none)."""
    try:
        with open(os.environ["GITHUB_EVENT_PATH"], encoding="utf-8") as f:
            value = json.load(f)
    except (KeyError, OSError, ValueError):
        return None
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def actor() -> str | None:
    """Who started this CI run. Outside CI, None: the tag's own tagger (git's user.name) says
    who wrote it, and $USER (root in a container) would only say less."""
    return os.environ.get("GITHUB_ACTOR") or None


def run_id() -> str | None:
    """Stays the same when a run is re-run (the attempt changes), so a re-run can tell its own
    earlier write apart from someone else's."""
    return os.environ.get("GITHUB_RUN_ID") or None


def report_artifact_name(model: str) -> str:
    """The artifact pr-evaluate.yml uploads a model's report.json as: a name upload-artifact
    accepts (no / : and the like), unique per model. The release looks for it by this name."""
    return "champion-report-" + re.sub(r"[^A-Za-z0-9._-]", "-", model)

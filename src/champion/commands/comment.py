from __future__ import annotations

from pathlib import Path
from typing import cast

from github import Github, GithubException, RateLimitExceededException
from requests import RequestException

from champion import console
from champion.ci import workflow
from champion.ci.context import evaluation_run_url
from champion.evaluation.report import Report, read_report_or_failure
from champion.github import client
from champion.github.comments import StickyResult, upsert_sticky
from champion.github.pulls import PullRequestRef, find_pull, is_fork
from champion.render.markdown import COMMENT_LIMIT, fit, marker, render_comment, render_failure

FORK_SAFE = (
    "For pull requests from forks, whose token is read-only, evaluate in `pull_request`, upload "
    "report.json as an artifact, and comment from a `workflow_run` workflow that downloads it."
)


def comment(
    report_path: str,
    *,
    repo: str | None = None,
    pr: int | None = None,
    key: str = "default",
    template: str | None = None,
    github_output: str | None = None,
) -> int:
    report, kind = read_report_or_failure(report_path)
    mark = marker(report["model"], key)
    run_url = evaluation_run_url(report.get("run_url"))
    if kind == "failure":  # the evaluation could not judge: say so, and why
        body = render_failure(report, key=key, run_url=run_url)
    else:
        body = render_comment(
            cast(Report, report),  # kind "report": checked against the report schema
            key=key,
            template=Path(template) if template else None,
            run_url=run_url,
        )
    if not body.startswith(mark):  # a template of the user's own may leave the marker out
        body = f"{mark}\n{body}"
    # Before any API call: the summary is there even when commenting fails.
    workflow.append_summary(body)
    token = client.token_from_env()
    target: PullRequestRef | None = None
    try:
        gh = client.connect(token)
        target = find_pull(gh, repo=repo, pr=pr)
        result = _upsert(gh, target, mark, fit(body, COMMENT_LIMIT))
    except (GithubException, RequestException, *client.UNREADABLE) as e:
        where = f" on {target.repo}#{target.number}" if target else ""
        hint = HINTS.get(e.status, "") if isinstance(e, GithubException) else ""
        raise client.failure(f"commenting{where}", e, hint) from None
    if result is None:
        workflow.set_outputs(github_output, {"comment-url": "", "comment-action": "skipped"})
        return 0
    console.line(f"{result.action} comment {result.url}")
    workflow.set_outputs(
        github_output, {"comment-url": result.url, "comment-action": result.action}
    )
    return 0


def _upsert(gh: Github, target: PullRequestRef, mark: str, body: str) -> StickyResult | None:
    """The comment, or None when a fork's read-only token may not write it (a warning says so)."""
    try:
        return upsert_sticky(gh, target.repo, target.number, mark, body)
    except GithubException as e:
        if e.status != 403 or isinstance(e, RateLimitExceededException):
            raise
        where = f"{target.repo}#{target.number}"
        if not _fork(gh, target):
            raise client.failure(
                f"commenting on {where}",
                e,
                f": give the job {client.PERMISSIONS}. {FORK_SAFE}",
            ) from None
    workflow.annotate(
        "warning",
        f"champion could not comment on {where}: it comes from a fork, and the token of a "
        f"fork's pull request is read-only. {FORK_SAFE} The metric diff is in this job's summary.",
        title="champion comment",
    )
    return None


def _fork(gh: Github, target: PullRequestRef) -> bool:
    try:
        return is_fork(gh, target)
    except (GithubException, RequestException):
        return False  # cannot tell: the error names both remedies anyway


HINTS = {
    401: " (the token is invalid or expired)",
    404: " (is the pull request number right, and can the token see the repository?)",
}

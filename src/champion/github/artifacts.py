"""The report a pull request's evaluation uploaded, read back by the release of its merge.

pr-evaluate.yml uploads report.json as the artifact `champion-report-MODEL` of a `pull_request`
run whose head is the pull request's head commit. The release looks it up there, so that it does
not evaluate again what the pull request already did. The artifact was written by the pull
request's code: it is untrusted data, size-capped and validated against the report's schema, and
used only when it is about this very artifact (the caller checks the sha256).
"""

from __future__ import annotations

import io
import itertools
import tempfile
import zipfile
from pathlib import Path

from github import Github
from github.WorkflowRun import WorkflowRun

from champion.ci.context import report_artifact_name
from champion.errors import ChampionError
from champion.evaluation.report import MAX_REPORT_BYTES, Report, read_report

MAX_RUNS = 5  # the newest evaluations of that head; older ones are about older champions
MAX_ZIP_BYTES = 2 * MAX_REPORT_BYTES


def pull_request_reports(gh: Github, repo: str, head_sha: str, model: str) -> list[Report]:
    """The reports of `model` uploaded by the newest `pull_request` runs of `head_sha`, newest
    first. An artifact that is expired, too large or not a valid report is skipped."""
    name = report_artifact_name(model)
    runs = gh.get_repo(repo).get_workflow_runs(event="pull_request", head_sha=head_sha)
    # GitHub lists the newest first. (islice: PyGithub's slice of an empty list raises.)
    newest: list[WorkflowRun] = list(itertools.islice(runs, MAX_RUNS))
    found = []
    for run in newest:
        for artifact in run.get_artifacts():
            if artifact.name != name or artifact.expired:
                continue
            if artifact.size_in_bytes > MAX_ZIP_BYTES:
                continue
            report = _read(artifact.archive_download_url, run.html_url)
            if report is not None:
                found.append(report)
    return found


def _read(url: str, run_url: str) -> Report | None:
    data = _download(url)
    if data is None:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("report.json")
            if info.file_size > MAX_REPORT_BYTES:
                return None
            text = archive.read(info)
    except (zipfile.BadZipFile, KeyError):
        return None
    with tempfile.TemporaryDirectory(prefix="champion-report-") as tmp:
        path = Path(tmp) / "report.json"
        path.write_bytes(text)
        try:
            report = read_report(path)
        except ChampionError:
            return None
    # Where it came from, for the release's metadata (the run's own URL, from GitHub).
    report["run_url"] = run_url
    return report


def _download(url: str) -> bytes | None:
    """The artifact's zip: GitHub answers with a redirect to its blob store, which gets no token
    (PyGithub would refuse the store's host; requests drops the header there, but say so)."""
    import requests

    from champion.github.client import token_from_env

    headers = {
        "Authorization": f"Bearer {token_from_env()}",
        "Accept": "application/vnd.github+json",
    }
    answer = requests.get(url, headers=headers, allow_redirects=False, timeout=60)
    if answer.is_redirect:
        location = answer.headers["Location"]
        if not location.startswith(("https://", "http://127.0.0.1")):
            return None
        answer = requests.get(location, stream=True, timeout=60)
    answer.raise_for_status()
    data = bytearray()
    for chunk in answer.iter_content(1 << 16):
        data += chunk
        if len(data) > MAX_ZIP_BYTES:
            return None
    return bytes(data)

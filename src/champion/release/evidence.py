"""What a release judges a version by: the pull request it came from (its labels, who overrode a
failed gate, the reports its evaluation runs uploaded) and its evaluation (the report given, the
pull request's own when it is about this very artifact and champion, else a fresh one, which
also records the version's predictions)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from champion import artifacts, console, files
from champion.ci import context
from champion.config import ModelConfig
from champion.errors import ChampionError, GitHubError
from champion.evaluation.report import Report
from champion.project import Project
from champion.registry import ModelState, VersionInfo
from champion.release import gate as gates

if TYPE_CHECKING:
    from champion.evaluation.run import Recording


@dataclass(frozen=True)
class Pull:
    number: int | None = None
    url: str | None = None
    labels: tuple[str, ...] = ()
    head_sha: str = ""
    override_by: str | None = None  # who added champion:override-gate


def pull_of(project: Project, commit: str, repo: str | None) -> Pull:
    from github import GithubException
    from requests import RequestException

    from champion.github import client
    from champion.github.pulls import SHA, labeled_by, pull_of_commit, repository
    from champion.release.build import BUILT_FROM

    name = repository(repo)
    # A build commit (champion build --commit) was pushed on top of the merge, by no pull
    # request: the merge it was built from is the one whose pull request has the labels.
    built_from = [c for c in project.registry.git.trailers(commit, BUILT_FROM) if SHA.match(c)]
    commit = built_from[-1] if built_from else commit
    with client.guarded(f"looking up the pull request of commit {commit[:12]} in {name}"):
        gh = client.connect()
        found = pull_of_commit(gh, name, commit)
        if found is None:
            return Pull()
    by = None
    if gates.OVERRIDE_LABEL in found.labels:
        try:
            by = labeled_by(gh, name, found.number, gates.OVERRIDE_LABEL)
        except (GithubException, RequestException) as e:  # the override stands, its author unknown
            console.warn(f"who added {gates.OVERRIDE_LABEL} to #{found.number} is unknown: {e}")
    return Pull(found.number, found.url, found.labels, found.head_sha, by or "unknown")


def flag_override(project: Project, reason: str) -> gates.Override:
    """--allow-failed-gate: who overrode, the CI run's actor, else the git identity the tags are
    written with."""
    who = context.actor() or project.registry.git.config("user.name")
    who = who or os.environ.get("GIT_COMMITTER_NAME") or "unknown"
    return gates.Override(who, reason.strip(), "--allow-failed-gate")


def label_override(pull: Pull) -> gates.Override | None:
    if gates.OVERRIDE_LABEL not in pull.labels:
        return None
    where = f"label {gates.OVERRIDE_LABEL} on pull request #{pull.number}"
    return gates.Override(pull.override_by or "unknown", where, where)


def recorded_verdict(info: VersionInfo, stage: str, against: str | None) -> gates.Verdict | None:
    """The verdict its release recorded, when it judged it against that very live version."""
    gate = info.metadata.get("gate")
    if not isinstance(gate, dict) or gate.get("verdict") not in (gates.PASSED, gates.FAILED):
        return None
    if (gate.get("stage"), gate.get("against")) != (stage, against):
        return None
    reasons = tuple(str(r) for r in gate.get("reasons") or ())
    return gates.Verdict(str(gate["verdict"]), stage, against, "its verdict at release", reasons)


def evaluation_of(
    project: Project,
    spec: ModelConfig,
    commit: str,
    state: ModelState,
    sha256: str,
    report: Report | None,
    stage: str | None,
    pull: Pull,
    repo: str | None,
    record_to: Path | None = None,
) -> tuple[Report | None, str, Recording | None]:
    """The report of the artifact at REF against the version live in `stage` (else the latest
    version), and where it comes from: the one given, or the pull request's own, when it is about
    this very artifact and that champion; else a fresh evaluation when the model has evaluation
    data, which also writes the artifact's predictions to `record_to`."""
    live = state.live.get(stage) if stage else None
    baseline: str | None
    if stage:
        against = str(live.version) if live is not None else None
        baseline = f"stage:{stage}"
    else:
        latest = max((v.version for v in state.versions), default=None)
        against = baseline = str(latest) if latest else None
    if not gates.has_data(spec):
        return None, "", None
    if report is not None and _about(project, spec, report, sha256, stage, against):
        return report, "the report given", None
    for found in _pull_reports(spec, pull, repo):
        if _about(project, spec, found, sha256, stage, against):
            return found, f"the report of pull request #{pull.number}", None
    from champion.evaluation.run import run

    with tempfile.TemporaryDirectory(prefix="champion-eval-", ignore_cleanup_errors=True) as ws:
        candidate = _candidate(project, spec, commit, sha256, Path(ws))
        evaluation = run(
            project, spec.name, candidate=str(candidate), baseline=baseline, record_to=record_to
        )
        return evaluation.report, "evaluation", evaluation.recording


def record_predictions(
    project: Project, spec: ModelConfig, commit: str, sha256: str, record_to: Path
) -> tuple[Recording | None, str]:
    """The artifact's predictions on the evaluation set alone, for the next pull requests; a
    warning instead when they cannot be made (the version stands without them)."""
    from champion.evaluation.run import record

    with tempfile.TemporaryDirectory(prefix="champion-eval-", ignore_cleanup_errors=True) as ws:
        candidate = _candidate(project, spec, commit, sha256, Path(ws))
        try:
            return record(project, spec.name, candidate=str(candidate), record_to=record_to), ""
        except ChampionError as e:
            return None, f"{spec.name}: its predictions are not recorded: {e}"


def _candidate(project: Project, spec: ModelConfig, commit: str, sha256: str, dest: Path) -> Path:
    """The artifact at REF: the working tree's when it holds those bytes, else read from git or
    DVC into `dest`."""
    candidate = project.root / spec.path
    if not _holds(candidate, sha256):
        candidate = dest / Path(spec.path).name
        artifacts.read(project.root, spec.path, commit, dest=candidate)
    return candidate


def _about(
    project: Project,
    spec: ModelConfig,
    report: Report,
    sha256: str,
    stage: str | None,
    against: str | None,
) -> bool:
    """The report judged this very artifact, against the champion the release compares with, on
    the evaluation data as it is at REF."""
    if report.get("model") != spec.name or report["candidate"]["sha256"] != sha256:
        return False
    if stage is not None:
        champion = report.get("champion")
        if (champion["version"] if champion else None) != against:
            return False
    data = report.get("data")
    path = spec.data.path if spec.data else None
    if data and data.get("sha256") and path and (project.root / path).is_file():
        return bool(files.sha256_file(project.root / path)[0] == data["sha256"])
    return True


def _pull_reports(spec: ModelConfig, pull: Pull, repo: str | None) -> list[Report]:
    """The reports the pull request's evaluation runs uploaded; none when they cannot be read
    (the release then evaluates: a missing report must never stop it)."""
    if not pull.head_sha:
        return []
    from champion.github import client
    from champion.github.artifacts import pull_request_reports
    from champion.github.pulls import repository

    try:
        with client.guarded(f"reading the reports of pull request #{pull.number}"):
            return pull_request_reports(
                client.connect(), repository(repo), pull.head_sha, spec.name
            )
    except GitHubError as e:
        console.warn(f"{e}; evaluating instead")
        return []


def _holds(local: Path, sha256: str) -> bool:
    """Whether the working tree has the artifact (a file or folder) with that sha256."""
    if not local.exists():
        return False
    try:
        return artifacts.local_sha256(local, str(local))[0] == sha256
    except ChampionError:  # a folder with a stray link: read the commit's instead
        return False

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from champion import artifacts, ci, output
from champion.commands._deploy import after_stage_change, check_dispatch, check_pointer
from champion.config import ModelConfig
from champion.errors import ChampionError, GateFailed, GitHubError, PolicyRefused, RegistryError
from champion.evaluation.models import Workspace
from champion.evaluation.report import read_report
from champion.project import Project
from champion.registry import ModelState, Registry, VersionInfo, WriteResult
from champion.release import bump as bumps
from champion.release import gate as gates
from champion.render.escape import md

if TYPE_CHECKING:
    from champion.evaluation.run import Recording


@dataclass
class Outcome:
    model: str
    released: bool
    version: str = ""
    tag: str = ""
    previous: str = ""
    bump: str = ""
    reason: str = ""
    note: str = ""
    warnings: list[str] = field(default_factory=list)
    github_release: str = ""
    stage: str = ""  # the stage it was to be promoted to
    # It went live in `stage` in this run: a new version with its registration, or one released
    # earlier (a rerun converges to what --promote asks).
    promoted: bool = False
    gate: str = ""  # passed | failed | none; "" when not judged
    held: str = ""  # why it was not promoted (a failed gate), for the error
    refused: str = ""  # why champion.yaml's policy did not let it go live (issue 20)
    # What became of tags only this clone had (see Registry._write_pushed).
    local: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Pull:
    number: int | None = None
    url: str | None = None
    labels: tuple[str, ...] = ()
    head_sha: str = ""
    override_by: str | None = None  # who added champion:override-gate


def release(
    project: Project,
    models: list[str],
    *,
    ref: str = "HEAD",
    push: bool = False,
    promote: str | None = None,
    bump: str = "auto",
    report: str | None = None,
    allow_failed_gate: str | None = None,
    github_release: bool = False,
    repo: str | None = None,
    dispatch_workflow: str | None = None,
    github_output: str | None = None,
) -> int:
    config = project.config
    specs = (
        [config.model(m) for m in models]
        if models
        else [config.models[m] for m in sorted(config.models)]
    )
    for spec in specs:
        if promote or spec.promote_to:
            project.check_stage(promote or spec.promote_to or "", spec.name)
    if github_release and not push:
        raise ChampionError(
            "--github-release needs --push: a GitHub Release is made on a pushed tag"
        )
    if allow_failed_gate is not None and not allow_failed_gate.strip():
        raise ChampionError(
            "--allow-failed-gate needs a reason (it is recorded in the tags): "
            '--allow-failed-gate "why it may go live anyway"'
        )
    check_dispatch(dispatch_workflow, repo)
    for spec in specs:
        if promote or spec.promote_to:
            check_pointer(project, spec.name)
    commit = project.registry.git.resolve_commit(ref)
    given = read_report(report) if report else None
    # Labels need the API: a token and a repository (the Actions environment has both).
    has_repo = bool(repo or os.environ.get("GITHUB_REPOSITORY"))
    pull = _pull(project, commit, repo) if os.environ.get("GITHUB_TOKEN") and has_repo else _Pull()
    # Every model is validated (artifact, bump, evaluation, DVC remote) before any tag is written:
    # a failure on one model leaves the registry as it was for all of them.
    flag = None
    if allow_failed_gate:
        # Who: the CI run's actor, else the git identity the tags are written with.
        who = ci.actor() or project.registry.git.config("user.name")
        who = who or os.environ.get("GIT_COMMITTER_NAME") or "unknown"
        flag = gates.Override(who, allow_failed_gate.strip(), "--allow-failed-gate")
    with Workspace() as recordings:  # the versions' predictions, until their tags name them
        prepared = [
            _prepare(
                project,
                spec,
                commit,
                push=push,
                promote=promote or spec.promote_to,
                bump=_configured_bump(spec) if bump == "auto" else bump,
                report=given,
                pull=pull,
                override=flag or _label_override(pull),
                repo=repo,
                recordings=recordings.path,
            )
            for spec in specs
        ]
        outcomes = [
            item if isinstance(item, Outcome) else _write(project, item, push=push)
            for item in prepared
        ]
    # GitHub Releases come after every tag is pushed: a GitHub failure then stops no version, its
    # outputs are still written, and a rerun makes the missing release.
    failure: GitHubError | None = None
    for spec, outcome in zip(specs, outcomes, strict=True):
        if github_release and _wants_github_release(project, spec.name, outcome, commit):
            try:
                outcome.github_release = _github_release(project, spec, outcome, repo)
            except GitHubError as e:
                failure = e
                break
    _present(outcomes, github_output)
    if failure is not None:
        raise failure
    for spec, outcome in zip(specs, outcomes, strict=True):
        _deploy(project, spec, outcome, promote or spec.promote_to, push, dispatch_workflow, repo)
    refused = [o.refused for o in outcomes if o.refused]
    if refused:
        raise PolicyRefused(
            "\n".join(refused) + "\nThe version is registered; promote it when the policy allows "
            "(champion promote MODEL VERSION --stage STAGE)"
        )
    held = [o.held for o in outcomes if o.held]
    if held:
        raise GateFailed(
            "; ".join(held) + f". The version is registered; to promote it anyway, add the label "
            f"{gates.OVERRIDE_LABEL} to its pull request before merging, or rerun the release "
            'with --allow-failed-gate "REASON"'
        )
    return 0


def _deploy(
    project: Project,
    spec: ModelConfig,
    outcome: Outcome,
    stage: str | None,
    push: bool,
    dispatch_workflow: str | None,
    repo: str | None,
) -> None:
    """Publishes the pointer of the stage the release promoted to (a re-run too, so it converges)."""
    if not stage or not outcome.version:
        return
    live = project.registry.state(spec.name).live.get(stage)
    if live is None or str(live.version) != outcome.version:
        return
    lines, _ = after_stage_change(
        project,
        spec.name,
        stage,
        outcome.version,
        pushed=push,
        changed=outcome.released or outcome.promoted,
        dispatch_workflow=dispatch_workflow,
        repo=repo,
    )
    for text in lines:
        output.line(text)


def _configured_bump(spec: ModelConfig) -> str:
    """`release.bump` in champion.yaml, for a model whose bump is always the same."""
    value = (spec.sections.get("release") or {}).get("bump")
    return value if isinstance(value, str) else "auto"


def _pull(project: Project, commit: str, repo: str | None) -> _Pull:
    from github import GithubException
    from requests import RequestException

    from champion.build import BUILT_FROM
    from champion.github import client
    from champion.github.pulls import SHA, labeled_by, pull_of_commit, repository

    name = repository(repo)
    # A build commit (champion build --commit) was pushed on top of the merge, by no pull
    # request: the merge it was built from is the one whose pull request has the labels.
    built_from = [c for c in project.registry.git.trailers(commit, BUILT_FROM) if SHA.match(c)]
    commit = built_from[-1] if built_from else commit
    with client.guarded(f"looking up the pull request of commit {commit[:12]} in {name}"):
        gh = client.connect()
        found = pull_of_commit(gh, name, commit)
        if found is None:
            return _Pull()
    by = None
    if gates.OVERRIDE_LABEL in found.labels:
        try:
            by = labeled_by(gh, name, found.number, gates.OVERRIDE_LABEL)
        except (GithubException, RequestException) as e:  # the override stands, its author unknown
            output.warn(f"who added {gates.OVERRIDE_LABEL} to #{found.number} is unknown: {e}")
    return _Pull(found.number, found.url, found.labels, found.head_sha, by or "unknown")


def _label_override(pull: _Pull) -> gates.Override | None:
    if gates.OVERRIDE_LABEL not in pull.labels:
        return None
    where = f"label {gates.OVERRIDE_LABEL} on pull request #{pull.number}"
    return gates.Override(pull.override_by or "unknown", where, where)


@dataclass(frozen=True)
class _Promote:
    """A version released earlier that the run must make live in `stage` (a rerun converges to
    what `--promote` asks, whatever the first run got done), its gate allowing."""

    spec: ModelConfig
    info: VersionInfo
    stage: str
    note: str
    verdict: gates.Verdict | None = None
    override: gates.Override | None = None  # set when it overrides a failed gate


def _recorded(info: VersionInfo, stage: str, against: str | None) -> gates.Verdict | None:
    """The verdict its release recorded, when it judged it against that very live version."""
    gate = info.metadata.get("gate")
    if not isinstance(gate, dict) or gate.get("verdict") not in (gates.PASSED, gates.FAILED):
        return None
    if (gate.get("stage"), gate.get("against")) != (stage, against):
        return None
    reasons = tuple(str(r) for r in gate.get("reasons") or ())
    return gates.Verdict(str(gate["verdict"]), stage, against, "its verdict at release", reasons)


def _against(stage: str, version: object) -> str:
    return f"{stage}'s {version}" if version else "no champion"


def _override_reason(override: gates.Override) -> str:
    return f"gate failed, overridden by {override.by}: {override.reason}"


def _existing(
    spec: ModelConfig, info: VersionInfo, note: str, done: str, promote: str | None
) -> Outcome | _Promote:
    """Nothing to register: an existing version stands (with --push, the remote's)."""
    if promote:
        return _Promote(spec, info, promote, note)
    return Outcome(spec.name, False, str(info.version), info.tag, note=f"{note}: {done}")


def _gated(
    project: Project,
    item: _Promote,
    state: ModelState,
    *,
    report: dict[str, Any] | None,
    pull: _Pull,
    repo: str | None,
    override: gates.Override | None,
) -> Outcome | _Promote:
    """A version released earlier goes live in the stage only as a new one would: when its gate
    passed against the version live there (its recorded verdict when it was judged against that
    very version, else the pull request's report or a fresh evaluation), when there is no gate,
    or when someone overrides a failed one. Otherwise it is held back, and the run fails again."""
    spec, info, stage = item.spec, item.info, item.stage
    live = state.live.get(stage)
    if live is not None and live.version == info.version:
        return item  # already live: nothing to judge
    against = str(live.version) if live is not None else None
    verdict = gates.without_gate(spec.sections, stage) or _recorded(info, stage, against)
    if verdict is None:
        sha256 = str((info.metadata.get("artifact") or {}).get("sha256") or "")
        evaluation, source, _ = _evaluation(
            project, spec, info.commit, state, sha256, report, stage, pull, repo
        )
        if evaluation is not None:
            verdict = gates.from_report(evaluation, stage, source)
    if verdict is None or gates.may_promote(verdict, override):
        from champion.publish import verify_fetchable

        # The bytes a service will fetch are the tag's, as for a new version and for promote.
        unchecked = verify_fetchable(project, spec.name, info, "promote")
        note = f"{item.note}; {unchecked}" if unchecked else item.note
        overriding = verdict is not None and verdict.status == gates.FAILED
        return _Promote(spec, info, stage, note, verdict, override if overriding else None)
    return Outcome(
        spec.name,
        False,
        str(info.version),
        info.tag,
        note=f"{item.note}; NOT promoted to {stage}: its {verdict.describe()} ({verdict.source})",
        stage=stage,
        gate=verdict.status,
        held=(
            f"{spec.name} {info.version} ({info.tag}) was not promoted to {stage}: its gate "
            f"failed against {_against(stage, verdict.against)}"
        ),
    )


@dataclass(frozen=True)
class _Pending:
    """A model validated and ready to be registered."""

    spec: ModelConfig
    commit: str
    decision: bumps.Decision
    metadata: dict[str, Any]
    stage: str | None  # the stage it was asked to go live in
    verdict: gates.Verdict | None
    override: gates.Override | None
    recording: Recording | None = None  # its predictions on the evaluation set, to record
    warnings: tuple[str, ...] = ()

    @property
    def promote(self) -> str | None:
        """The stage it goes live in now: none when its gate failed and nobody overrode it."""
        if self.stage and (self.verdict is None or gates.may_promote(self.verdict, self.override)):
            return self.stage
        return None


def _prepare(
    project: Project,
    spec: ModelConfig,
    commit: str,
    *,
    push: bool,
    promote: str | None,
    bump: str,
    report: dict[str, Any] | None,
    pull: _Pull,
    override: gates.Override | None,
    repo: str | None,
    recordings: Path,
) -> Outcome | _Pending | _Promote:
    registry = project.registry
    # With --push, what the remote has decides: a version only this clone holds is not released.
    state = registry.remote_state(spec.name) if push else registry.state(spec.name)
    existing = state.version_of_commit(commit)
    if existing is not None:
        note = f"commit {commit[:12]} is already released as {existing.tag}"
        found = _existing(spec, existing, note, "nothing to do", promote)
        if isinstance(found, Outcome):
            return found
        return _gated(project, found, state, report=report, pull=pull, repo=repo, override=override)
    artifact = artifacts.describe(project.root, spec.path, commit)
    latest = state.latest
    if (
        latest is not None
        and (latest.metadata.get("artifact") or {}).get("sha256") == artifact.sha256
    ):
        note = f"{spec.path} is unchanged since {latest.tag} (same sha256)"
        found = _existing(spec, latest, note, "nothing to release", promote)
        if isinstance(found, Outcome):
            return found
        return _gated(project, found, state, report=report, pull=pull, repo=repo, override=override)
    label_source = f"pull request #{pull.number}" if pull.number else "the pull request"
    # One evaluation serves both the gate (against the version live in the stage it is promoted
    # to) and the bump (against the latest version when it is not promoted).
    unjudged = gates.without_gate(spec.sections, promote) if promote else None
    gated = bool(promote) and unjudged is None
    evaluation, source, recording, warning = None, "", None, ""
    record_to = recordings / f"{spec.name.replace('/', '_')}.npz"
    if bump == "auto" or gated:
        evaluation, source, recording = _evaluation(
            project, spec, commit, state, artifact.sha256, report, promote, pull, repo, record_to
        )
    if recording is None and source != "evaluation" and spec.sections.get("data"):
        # The bump or the gate needed no fresh evaluation: the version's predictions alone.
        recording, warning = _record(project, spec, commit, artifact.sha256, record_to)
    verdict = unjudged
    if gated and evaluation is not None:
        verdict = gates.from_report(evaluation, promote, source)
    decision = bumps.decide(
        explicit=bump,
        label=bumps.from_labels(pull.labels, label_source),
        label_source=label_source,
        trailer=bumps.from_trailers(registry.git.trailers(commit, bumps.TRAILER), commit),
        suggestion=_suggestion(evaluation, first=not state.versions, stage=promote),
    )
    if decision.skip:
        return Outcome(
            spec.name, False, note=f"skipped: {decision.reason}", warnings=list(decision.warnings)
        )
    if artifact.tracked_by == "dvc" and push:
        if registry.git.resolve_commit("HEAD") != commit:
            raise ChampionError(
                f"{spec.path} is tracked by DVC: check out {commit[:12]} before releasing it, so its "
                "presence in the DVC remote can be checked"
            )
        artifacts.ensure_in_dvc_remote(project.root, spec.path)
        # DVC checks only that the remote has an object by that name: what a deploy job, a
        # service or a rollback will fetch must also hold the bytes about to be recorded.
        fetched = artifacts.describe(project.root, spec.path, commit, remote_only=True)
        if fetched.sha256 != artifact.sha256:
            raise ChampionError(
                f"{spec.path} in the DVC remote has sha256 {fetched.sha256}, but this commit's is "
                f"{artifact.sha256}: the remote's copy was replaced or corrupted, refusing to "
                f"release it. Remove that object from the remote and `dvc push` {spec.path} again"
            )
    metadata = _metadata(
        {**artifact.as_metadata(), **spec.loading_metadata(spec.path)}, evaluation, pull, decision
    )
    if verdict is not None:
        used = override if verdict.status == gates.FAILED else None
        metadata["gate"] = {
            **verdict.as_metadata(),
            "promoted": gates.may_promote(verdict, override),
            "override": used.as_metadata() if used else None,
        }
    if recording is not None:
        metadata["model_libraries"] = recording.libraries
    return _Pending(
        spec,
        commit,
        decision,
        metadata,
        promote,
        verdict,
        override if verdict else None,
        recording,
        (warning,) if warning else (),
    )


def _write(project: Project, pending: _Pending | _Promote, *, push: bool) -> Outcome:
    registry = project.registry
    if isinstance(pending, _Promote):
        return _promote(registry, pending, push=push)
    spec, commit, decision, promote = (
        pending.spec,
        pending.commit,
        pending.decision,
        pending.promote,
    )
    verdict, override = pending.verdict, pending.override
    overriding = verdict is not None and verdict.status == gates.FAILED and override is not None
    metadata, warnings = dict(pending.metadata), list(pending.warnings)
    if pending.recording is not None:
        try:
            metadata["predictions"] = _store(project, pending, push=push)
        except ChampionError as e:  # an optimisation: the version stands without it
            warnings.append(f"{spec.name}: its predictions are not recorded: {e}")

    def register(stage: str | None) -> WriteResult:
        return registry.register(
            spec.name,
            commit,
            bump=decision.bump,
            first_version=project.config.first_version,
            bump_reason=decision.reason,
            metadata=metadata,
            promote=stage,
            promote_metadata=(
                {"reason": _override_reason(override), "gate_override": override.as_metadata()}
                if overriding and override is not None
                else None
            ),
            push=push,
        )

    refused = ""
    try:
        try:
            result = register(promote)
        except PolicyRefused as e:
            if not promote:
                raise
            # The version is what the branch holds: registered all the same, held back from the
            # stage as a failed gate holds it, and the run fails (exit 2) after every model.
            refused, promote = str(e), None
            result = register(None)
    except RegistryError:
        # Another job may have released this very commit meanwhile: then there is nothing to do.
        state = registry.remote_state(spec.name) if push else registry.state(spec.name)
        taken = state.version_of_commit(commit)
        if taken is None:
            raise
        return Outcome(
            spec.name,
            False,
            str(taken.version),
            taken.tag,
            note=f"commit {commit[:12]} was released as {taken.tag} meanwhile",
        )
    plan = result.plan
    outcome = Outcome(
        spec.name,
        True,
        str(plan.version),
        plan.tags[0].tag,
        str(plan.previous) if plan.previous else "",
        plan.bump or "initial",
        decision.reason,
        "",
        [*decision.warnings, *warnings, *result.warnings],
        stage=pending.stage or "",
        promoted=bool(promote),
        gate=verdict.status if verdict is not None else "",
        local=result.local_notes(),
    )
    outcome.note = _promotion_note(outcome, verdict, override)
    if refused:
        outcome.refused = refused
        outcome.note = f"NOT promoted to {pending.stage}: champion.yaml's policy refused it"
    if pending.stage and not promote and verdict is not None:
        outcome.held = (
            f"{spec.name} {plan.version} ({outcome.tag}) was released but not promoted to "
            f"{pending.stage}: its {verdict.describe()}"
        )
    return outcome


def _store(project: Project, pending: _Pending, *, push: bool) -> dict[str, Any]:
    """The version's predictions kept beside its artifact (git or the DVC remote), before its
    tag names them; pushed with --push, so that pull requests evaluated elsewhere find them."""
    from champion.evaluation import recorded

    recording = pending.recording
    assert recording is not None
    tracked_by = str(pending.metadata["artifact"].get("tracked_by") or "git")
    remote = project.registry.remote if push else None
    where = recorded.store(
        project.root, recording.path, recording.metadata["sha256"], tracked_by, push=remote
    )
    return {**recording.metadata, **where}


def _promote(registry: Registry, pending: _Promote, *, push: bool) -> Outcome:
    spec, info, stage = pending.spec, pending.info, pending.stage
    override = pending.override
    try:
        result = registry.assign(
            spec.name,
            info.version,
            stage,
            reason=_override_reason(override) if override else "",
            metadata={"gate_override": override.as_metadata()} if override else None,
            push=push,
        )
    except PolicyRefused as e:
        return Outcome(
            spec.name,
            False,
            str(info.version),
            info.tag,
            note=f"{pending.note}; NOT promoted to {stage}: champion.yaml's policy refused it",
            stage=stage,
            refused=str(e),
        )
    plan = result.plan
    # Without tags to write, the note says it is already live there.
    done = f"promoted to {stage}: {', '.join(result.written)}" if plan.tags else plan.note
    verdict = pending.verdict
    if plan.tags and verdict is not None:
        if override is not None:
            done += f", although its {verdict.describe()}: overridden by {override.by} ({override.reason})"
        elif verdict.status == gates.NONE:
            done += f", without a gate ({verdict.note})"
        else:
            done += f": {verdict.describe()} ({verdict.source})"
    return Outcome(
        spec.name,
        False,
        str(info.version),
        info.tag,
        str(plan.previous) if plan.previous and plan.tags else "",
        note=f"{pending.note}; {done}",
        warnings=list(result.warnings),
        stage=stage,
        promoted=bool(plan.tags),
        gate=verdict.status if verdict is not None else "",
        local=result.local_notes(),
    )


def _promotion_note(
    outcome: Outcome, verdict: gates.Verdict | None, override: gates.Override | None
) -> str:
    if not outcome.stage:
        return ""
    if verdict is None:
        return f"promoted to {outcome.stage}"
    if verdict.status == gates.NONE:
        return f"promoted to {outcome.stage} without a gate ({verdict.note})"
    if verdict.status == gates.PASSED:
        return f"promoted to {outcome.stage}: {verdict.describe()} ({verdict.source})"
    if outcome.promoted and override is not None:
        return (
            f"promoted to {outcome.stage} although its {verdict.describe()}: overridden by "
            f"{override.by} ({override.reason})"
        )
    return f"NOT promoted to {outcome.stage}: its {verdict.describe()} ({verdict.source})"


def _evaluation(
    project: Project,
    spec: ModelConfig,
    commit: str,
    state: ModelState,
    sha256: str,
    report: dict[str, Any] | None,
    stage: str | None,
    pull: _Pull,
    repo: str | None,
    record_to: Path | None = None,
) -> tuple[dict[str, Any] | None, str, Recording | None]:
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
    if not gates.has_data(spec.sections):
        return None, "", None
    if report is not None and _about(project, spec, report, sha256, stage, against):
        return report, "the report given", None
    for found in _pull_reports(spec, pull, repo):
        if _about(project, spec, found, sha256, stage, against):
            return found, f"the report of pull request #{pull.number}", None
    from champion.evaluation.run import run

    with Workspace() as ws:
        candidate = _candidate(project, spec, commit, sha256, ws.path)
        evaluation = run(
            project, spec.name, candidate=str(candidate), baseline=baseline, record_to=record_to
        )
        return evaluation.report, "evaluation", evaluation.recording


def _record(
    project: Project, spec: ModelConfig, commit: str, sha256: str, record_to: Path
) -> tuple[Recording | None, str]:
    """The artifact's predictions on the evaluation set alone, for the next pull requests; a
    warning instead when they cannot be made (the version stands without them)."""
    from champion.evaluation.run import record

    with Workspace() as ws:
        candidate = _candidate(project, spec, commit, sha256, ws.path)
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
    report: dict[str, Any],
    sha256: str,
    stage: str | None,
    against: str | None,
) -> bool:
    """The report judged this very artifact, against the champion the release compares with, on
    the evaluation data as it is at REF."""
    if report.get("model") != spec.name or report["candidate"]["sha256"] != sha256:
        return False
    if stage is not None:
        champion = report.get("champion") or {}
        if champion.get("version") != against:
            return False
    data = report.get("data") or {}
    path = (spec.sections.get("data") or {}).get("path")
    if data.get("sha256") and path and (project.root / path).is_file():
        return bool(artifacts.sha256_file(project.root / path) == data["sha256"])
    return True


def _pull_reports(spec: ModelConfig, pull: _Pull, repo: str | None) -> list[dict[str, Any]]:
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
        output.warn(f"{e}; evaluating instead")
        return []


def _holds(local: Path, sha256: str) -> bool:
    """Whether the working tree has the artifact (a file or folder) with that sha256."""
    if not local.exists():
        return False
    try:
        return artifacts.local_sha256(local, str(local))[0] == sha256
    except ChampionError:  # a folder with a stray link: read the commit's instead
        return False


def _suggestion(
    evaluation: dict[str, Any] | None, *, first: bool = True, stage: str | None = None
) -> tuple[str, str] | None:
    if evaluation is None:
        return None
    if evaluation.get("initial") and not first:
        # Nothing live in the stage to compare with, but versions exist: "initial version" would
        # say minor for what is no first version.
        return "patch", f"evaluation: no version live in {stage} to compare with: patch"
    return _evaluation_bump(evaluation), f"evaluation: {'; '.join(_evaluation_reasons(evaluation))}"


def _evaluation_bump(evaluation: dict[str, Any]) -> str:
    """The evaluation's suggestion. A failed gate suggests no release, but the branch holds the
    artifact, so it is registered all the same (not promoted): with the bump its signature
    says, since consumers of that version see its signature either way."""
    suggested = str(evaluation["suggested"]["bump"])
    return str(evaluation["signature"]["bump"]) if suggested == "none" else suggested


def _evaluation_reasons(evaluation: dict[str, Any]) -> list[str]:
    suggested = evaluation["suggested"]
    signature = list(evaluation["signature"]["reasons"])
    if suggested["bump"] == "none":
        reasons = ["the gate failed", *signature]
    else:
        reasons = list(suggested.get("reasons") or signature)
    return list(dict.fromkeys(reasons))


def _metadata(
    artifact: dict[str, Any],
    evaluation: dict[str, Any] | None,
    pull: _Pull,
    decision: bumps.Decision,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"artifact": artifact, "bump_reasons": [decision.reason]}
    if evaluation is not None:
        meta["metrics"] = {
            m["name"]: {"candidate": m["candidate"], "champion": m["champion"], "delta": m["delta"]}
            for m in evaluation["metrics"]
        }
        # Each reason once: the decision's (unless it is the evaluation's, joined), then the
        # evaluation's, which stay on record when a flag, label or trailer decided.
        reasons = _evaluation_reasons(evaluation)
        joined = f"evaluation: {'; '.join(reasons)}"
        first = [] if decision.reason == joined else [decision.reason]
        meta["bump_reasons"] = list(dict.fromkeys([*first, *reasons]))
        if evaluation.get("data"):
            meta["data"] = {
                "path": evaluation["data"]["path"],
                "sha256": evaluation["data"]["sha256"],
            }
        if evaluation["signature"].get("candidate"):
            meta["signature"] = evaluation["signature"]["candidate"]
        meta["libraries"] = evaluation.get("tool", {})
        meta["evaluated_against"] = (evaluation.get("champion") or {}).get("version")
        if evaluation.get("run_url"):
            meta["evaluation_run_url"] = evaluation["run_url"]
    if pull.number:
        meta["pull_request"] = {"number": pull.number, "url": pull.url}
    return meta


def _wants_github_release(project: Project, model: str, outcome: Outcome, commit: str) -> bool:
    """A new version gets its GitHub Release. So does the version a rerun finds on this very
    commit (with --push, one the remote has), so that a rerun converges when the first run
    pushed the tag and then failed at GitHub."""
    if outcome.released:
        return True
    if not outcome.tag:
        return False
    found = project.registry.state(model).version_of_commit(commit)
    return found is not None and found.tag == outcome.tag


def _github_release(project: Project, spec: ModelConfig, outcome: Outcome, repo: str | None) -> str:
    from champion.github import client
    from champion.github.pulls import repository
    from champion.github.releases import ensure_release
    from champion.registry import Version
    from champion.render.card import model_card

    info = project.registry.state(spec.name).find(Version.parse(outcome.version))
    assert info is not None
    body = model_card(spec.name, spec.description, info.metadata)
    name = repository(repo)
    with client.guarded(
        f"creating the GitHub Release of {outcome.tag} in {name}",
        ". The tag is pushed: give the job `permissions: contents: write` and rerun; the rerun "
        "makes the missing release",
    ):
        _, url = ensure_release(
            client.connect(),
            name,
            outcome.tag,
            f"{spec.name} v{outcome.version}",
            body,
            # With several models, no one model's release is the repository's "Latest".
            latest=len(project.config.models) == 1,
        )
    return url


def _present(outcomes: list[Outcome], github_output: str | None) -> None:
    lines = []
    for o in outcomes:
        for warning in o.warnings:
            output.warn(warning)
        if o.released:
            text = f"released {o.model} {o.version} as {o.tag} ({o.bump}: {o.reason})"
            if o.note:
                text += f", {o.note}"
            if o.github_release:
                text += f"; GitHub Release {o.github_release}"
        else:
            text = f"{o.model}: {o.note}"
            if o.github_release:
                text += f"; GitHub Release {o.github_release}"
        output.line(text)
        lines.append(f"- {md(text, 1000)}")
        for note in o.local:
            output.line(f"{o.model}: {note}")
            lines.append(f"- {md(f'{o.model}: {note}', 1000)}")
    title = "### champion release"
    if any(o.refused for o in outcomes):
        title += ": ❌ not promoted, champion.yaml's policy refused it"
    elif any(o.held for o in outcomes):
        title += ": ❌ not promoted, the gate failed"
    output.append_step_summary(title + "\n\n" + "\n".join(lines) + "\n")
    values: dict[str, Any] = {
        "releases": json.dumps({o.model: asdict(o) for o in outcomes}, sort_keys=True),
        "count": sum(1 for o in outcomes if o.released),
        # Every model asked to go live went live (false when none was asked to).
        "promoted": _flag(
            any(o.stage for o in outcomes) and all(o.promoted for o in outcomes if o.stage)
        ),
        "gate": _worst_gate(outcomes),
    }
    if len(outcomes) == 1:
        o = outcomes[0]
        values.update(
            {
                "version": o.version,
                "tag": o.tag,
                "previous-version": o.previous,
                "from": o.previous,
                "to": o.version,
                "bump": o.bump,
                "released": _flag(o.released),
            }
        )
    else:
        values["released"] = _flag(any(o.released for o in outcomes))
    output.write_github_output(output.github_output_path(github_output), values)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _worst_gate(outcomes: list[Outcome]) -> str:
    """failed if any gate failed, else passed if any passed, else none ("" if none was judged)."""
    verdicts = {o.gate for o in outcomes}
    for verdict in (gates.FAILED, gates.PASSED, gates.NONE):
        if verdict in verdicts:
            return verdict
    return ""

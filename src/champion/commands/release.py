from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from champion import artifacts, output
from champion.commands._deploy import after_stage_change, check_dispatch
from champion.config import ModelConfig
from champion.errors import ChampionError, GitHubError, RegistryError
from champion.evaluation.models import Workspace
from champion.evaluation.report import read_report
from champion.project import Project
from champion.registry import ModelState, Registry, VersionInfo
from champion.release import bump as bumps
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
    # A version released earlier made live in the --promote stage by this run.
    promoted: bool = False
    # What became of tags only this clone had (see Registry._write_pushed).
    local: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Pull:
    number: int | None = None
    url: str | None = None
    labels: tuple[str, ...] = ()


def release(
    project: Project,
    models: list[str],
    *,
    ref: str = "HEAD",
    push: bool = False,
    promote: str | None = None,
    bump: str = "auto",
    report: str | None = None,
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
    check_dispatch(dispatch_workflow, repo)
    commit = project.registry.git.resolve_commit(ref)
    given = read_report(report) if report else None
    # Labels need the API: a token and a repository (the Actions environment has both).
    has_repo = bool(repo or os.environ.get("GITHUB_REPOSITORY"))
    pull = _pull(project, commit, repo) if os.environ.get("GITHUB_TOKEN") and has_repo else _Pull()
    # Every model is validated (artifact, bump, evaluation, DVC remote) before any tag is written:
    # a failure on one model leaves the registry as it was for all of them.
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
    from champion.github import client
    from champion.github.pulls import pull_of_commit, repository

    name = repository(repo)
    with client.guarded(f"looking up the pull request of commit {commit[:12]} in {name}"):
        found = pull_of_commit(client.connect(), name, commit)
    return _Pull(found.number, found.url, found.labels) if found else _Pull()


@dataclass(frozen=True)
class _Promote:
    """A version released earlier that the run must make live in `stage` (a rerun converges to
    what `--promote` asks, whatever the first run got done)."""

    spec: ModelConfig
    info: VersionInfo
    stage: str
    note: str


def _existing(
    spec: ModelConfig, info: VersionInfo, note: str, done: str, promote: str | None
) -> Outcome | _Promote:
    """Nothing to register: an existing version stands (with --push, the remote's)."""
    if promote:
        return _Promote(spec, info, promote, note)
    return Outcome(spec.name, False, str(info.version), info.tag, note=f"{note}: {done}")


@dataclass(frozen=True)
class _Pending:
    """A model validated and ready to be registered."""

    spec: ModelConfig
    commit: str
    decision: bumps.Decision
    metadata: dict[str, Any]
    promote: str | None
    recording: Recording | None = None  # its predictions on the evaluation set, to record
    warnings: tuple[str, ...] = ()


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
    recordings: Path,
) -> Outcome | _Pending | _Promote:
    registry = project.registry
    # With --push, what the remote has decides: a version only this clone holds is not released.
    state = registry.remote_state(spec.name) if push else registry.state(spec.name)
    existing = state.version_of_commit(commit)
    if existing is not None:
        note = f"commit {commit[:12]} is already released as {existing.tag}"
        return _existing(spec, existing, note, "nothing to do", promote)
    artifact = artifacts.describe(project.root, spec.path, commit)
    latest = state.latest
    if (
        latest is not None
        and (latest.metadata.get("artifact") or {}).get("sha256") == artifact.sha256
    ):
        note = f"{spec.path} is unchanged since {latest.tag} (same sha256)"
        return _existing(spec, latest, note, "nothing to release", promote)
    label_source = f"pull request #{pull.number}" if pull.number else "the pull request"
    evaluation, recording, warning = _evaluation(
        project,
        spec,
        commit,
        state,
        artifact.sha256,
        report,
        evaluate=bump == "auto",
        record_to=recordings / f"{spec.name.replace('/', '_')}.npz",
    )
    decision = bumps.decide(
        explicit=bump,
        label=bumps.from_labels(pull.labels, label_source),
        label_source=label_source,
        trailer=bumps.from_trailers(registry.git.trailers(commit, bumps.TRAILER), commit),
        suggestion=_suggestion(evaluation),
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
    if recording is not None:
        metadata["model_libraries"] = recording.libraries
    return _Pending(
        spec, commit, decision, metadata, promote, recording, (warning,) if warning else ()
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
    metadata, warnings = dict(pending.metadata), list(pending.warnings)
    if pending.recording is not None:
        try:
            metadata["predictions"] = _store(project, pending, push=push)
        except ChampionError as e:  # an optimisation: the version stands without it
            warnings.append(f"{spec.name}: its predictions are not recorded: {e}")
    try:
        result = registry.register(
            spec.name,
            commit,
            bump=decision.bump,
            first_version=project.config.first_version,
            bump_reason=decision.reason,
            metadata=metadata,
            promote=promote,
            push=push,
        )
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
    note = f"promoted to {promote}" if promote else ""
    return Outcome(
        spec.name,
        True,
        str(plan.version),
        plan.tags[0].tag,
        str(plan.previous) if plan.previous else "",
        plan.bump or "initial",
        decision.reason,
        note,
        [*decision.warnings, *warnings, *result.warnings],
        local=result.local_notes(),
    )


def _store(project: Project, pending: _Pending, *, push: bool) -> dict[str, Any]:
    """The candidate's predictions kept beside its artifact (git or the DVC remote), before its
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
    result = registry.assign(spec.name, info.version, stage, push=push)
    plan = result.plan
    # Without tags to write, the note says it is already live there.
    done = f"promoted to {stage}: {', '.join(result.written)}" if plan.tags else plan.note
    return Outcome(
        spec.name,
        False,
        str(info.version),
        info.tag,
        str(plan.previous) if plan.previous and plan.tags else "",
        note=f"{pending.note}; {done}",
        warnings=list(result.warnings),
        promoted=bool(plan.tags),
        local=result.local_notes(),
    )


def _evaluation(
    project: Project,
    spec: ModelConfig,
    commit: str,
    state: ModelState,
    sha256: str,
    report: dict[str, Any] | None,
    *,
    evaluate: bool,
    record_to: Path,
) -> tuple[dict[str, Any] | None, Recording | None, str]:
    """With `evaluate`, the report of the artifact at REF against the latest version: the one
    given when it is about this very artifact, else a fresh evaluation when the model has
    evaluation data. And, when it has, the artifact's predictions on the evaluation set, to be
    recorded with the version (with a warning instead when they cannot be: the version stands
    without them)."""
    from champion.evaluation.run import record, run

    metrics_only = spec.sections.get("format") == "metrics"
    has_data = bool(spec.sections.get("data")) and not metrics_only
    given = (
        report is not None
        and report.get("model") == spec.name
        and report["candidate"]["sha256"] == sha256
    )
    fresh = evaluate and not given and (has_data or metrics_only)
    if not fresh and not has_data:
        return report if evaluate and given else None, None, ""
    baseline = str(max(v.version for v in state.versions)) if state.versions else None
    with Workspace() as ws:
        candidate = project.root / spec.path
        if not _holds(candidate, sha256):
            candidate = ws.path / Path(spec.path).name
            artifacts.read(project.root, spec.path, commit, dest=candidate)
        if fresh:
            evaluation = run(
                project, spec.name, candidate=str(candidate), baseline=baseline, record_to=record_to
            )
            return evaluation.report, evaluation.recording, ""
        try:
            recording = record(project, spec.name, candidate=str(candidate), record_to=record_to)
        except ChampionError as e:
            return report if evaluate else None, None, f"{spec.name}: predictions not recorded: {e}"
    return report if evaluate else None, recording, ""


def _holds(local: Path, sha256: str) -> bool:
    """Whether the working tree has the artifact (a file or folder) with that sha256."""
    if not local.exists():
        return False
    try:
        return artifacts.local_sha256(local, str(local))[0] == sha256
    except ChampionError:  # a folder with a stray link: read the commit's instead
        return False


def _suggestion(evaluation: dict[str, Any] | None) -> tuple[str, str] | None:
    if evaluation is None:
        return None
    reasons = "; ".join(evaluation["signature"]["reasons"])
    return evaluation["suggested"]["bump"], f"evaluation: {reasons}"


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
        meta["bump_reasons"] += evaluation["signature"]["reasons"]
        if evaluation.get("data"):
            meta["data"] = {
                "path": evaluation["data"]["path"],
                "sha256": evaluation["data"]["sha256"],
            }
        if evaluation["signature"].get("candidate"):
            meta["signature"] = evaluation["signature"]["candidate"]
        meta["libraries"] = evaluation.get("tool", {})
        meta["evaluated_against"] = (evaluation.get("champion") or {}).get("version")
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
            client.connect(), name, outcome.tag, f"{spec.name} v{outcome.version}", body
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
    output.append_step_summary("### champion release\n\n" + "\n".join(lines) + "\n")
    values: dict[str, Any] = {
        "releases": json.dumps({o.model: asdict(o) for o in outcomes}, sort_keys=True)
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
                "released": "true" if o.released else "false",
            }
        )
    else:
        values["released"] = "true" if any(o.released for o in outcomes) else "false"
    output.write_github_output(output.github_output_path(github_output), values)

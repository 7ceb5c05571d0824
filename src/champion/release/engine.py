"""The release engine: for each model, what the commit at REF becomes (a new version, an
existing one made live, or nothing, and why), every model validated before any tag is written;
then the tags, the pointer and the outputs' shape. `champion release` presents it.

Over 400 lines: the outcomes of a release (nothing, an existing version made live, a new one)
share its types and its gate; the evidence, metadata and GitHub Release are modules of their own.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from champion import artifacts
from champion.config import ModelConfig
from champion.deploy.after_change import after_stage_change
from champion.errors import ChampionError, PolicyRefused, RegistryError
from champion.evaluation.report import Report
from champion.project import Project
from champion.registry import ModelState, Registry, VersionInfo, WriteResult
from champion.release import bump as bumps
from champion.release import gate as gates
from champion.release.evidence import (
    Pull,
    evaluation_of,
    record_predictions,
    recorded_verdict,
)
from champion.release.metadata import suggestion, tag_metadata
from champion.signing.make import Signer, sign_artifact
from champion.signing.policy import SignatureRequired, required_trust
from champion.signing.record import KEY as SIGNING

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


def release_all(
    project: Project,
    specs: list[ModelConfig],
    commit: str,
    *,
    push: bool,
    promote: str | None,
    bump: str,
    report: Report | None,
    pull: Pull,
    override: gates.Override | None,
    repo: str | None,
    signers: dict[str, Signer | None] | None = None,
) -> list[Outcome]:
    """Every model is validated (artifact, bump, evaluation, DVC remote, signature) before any
    tag is written: a failure on one model leaves the registry as it was for all of them.
    `signers`: how each model's new version is signed (by name; none: unsigned)."""
    # The versions' predictions, until their tags name them.
    with tempfile.TemporaryDirectory(
        prefix="champion-eval-", ignore_cleanup_errors=True
    ) as recordings:
        prepared = [
            _prepare(
                project,
                spec,
                commit,
                push=push,
                promote=promote or spec.promote_to,
                bump=configured_bump(spec) if bump == "auto" else bump,
                report=report,
                pull=pull,
                override=override,
                repo=repo,
                recordings=Path(recordings),
                how=(signers or {}).get(spec.name),
            )
            for spec in specs
        ]
        return [
            item if isinstance(item, Outcome) else _write(project, item, push=push)
            for item in prepared
        ]


def deploy_lines(
    project: Project,
    spec: ModelConfig,
    outcome: Outcome,
    stage: str | None,
    push: bool,
    dispatch_workflow: str | None,
    repo: str | None,
) -> list[str]:
    """Publishes the pointer of the stage the release promoted to (a re-run too, so it converges);
    returns what it did, to show."""
    if not stage or not outcome.version:
        return []
    live = project.registry.state(spec.name).live.get(stage)
    if live is None or str(live.version) != outcome.version:
        return []
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
    return lines


def configured_bump(spec: ModelConfig) -> str:
    """`release.bump` in champion.yaml, for a model whose bump is always the same."""
    return spec.release_bump


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
    report: Report | None,
    pull: Pull,
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
    verdict = gates.without_gate(spec, stage) or recorded_verdict(info, stage, against)
    if verdict is None:
        sha256 = str((info.metadata.get("artifact") or {}).get("sha256") or "")
        evaluation, source, _ = evaluation_of(
            project, spec, info.commit, state, sha256, report, stage, pull, repo
        )
        if evaluation is not None:
            verdict = gates.from_report(evaluation, stage, source)
    if verdict is None or gates.may_promote(verdict, override):
        from champion.deploy.publish import verify_fetchable

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
    report: Report | None,
    pull: Pull,
    override: gates.Override | None,
    repo: str | None,
    recordings: Path,
    how: Signer | None = None,
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
    unjudged = gates.without_gate(spec, promote) if promote else None
    gated = bool(promote) and unjudged is None
    evaluation, source, recording, warning = None, "", None, ""
    record_to = recordings / f"{spec.name.replace('/', '_')}.npz"
    if bump == "auto" or gated:
        evaluation, source, recording = evaluation_of(
            project, spec, commit, state, artifact.sha256, report, promote, pull, repo, record_to
        )
    if recording is None and source != "evaluation" and spec.data:
        # The bump or the gate needed no fresh evaluation: the version's predictions alone.
        recording, warning = record_predictions(project, spec, commit, artifact.sha256, record_to)
    verdict = unjudged
    if gated and evaluation is not None:
        verdict = gates.from_report(evaluation, promote, source)
    decision = bumps.decide(
        explicit=bump,
        label=bumps.from_labels(pull.labels, label_source),
        label_source=label_source,
        trailer=bumps.from_trailers(registry.git.trailers(commit, bumps.TRAILER), commit),
        suggestion=suggestion(evaluation, first=not state.versions, stage=promote),
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
    metadata = tag_metadata(
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
    if how is not None:  # the last check before the tags: a failed signing writes none
        signed = sign_artifact(
            project.root, spec.path, commit, artifact.sha256, how, check=required_trust(project)
        )
        metadata[SIGNING] = signed.as_metadata()
    elif promote and required_trust(project) is not None:
        raise SignatureRequired(
            f"refusing to release {spec.name} to {promote} unsigned: signing.required is set in "
            f"{project.config.path.name if project.config.path else 'champion.yaml'}; release "
            "with --sign (or release.sign: true). Nothing was written"
        )
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
    signed = metadata.get(SIGNING)
    if isinstance(signed, dict):
        outcome.note = "; ".join(n for n in (outcome.note, f"signed ({signed['method']})") if n)
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


def outputs(outcomes: list[Outcome]) -> dict[str, Any]:
    """The step outputs of a release (action.yml declares them)."""
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
    return values


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _worst_gate(outcomes: list[Outcome]) -> str:
    """failed if any gate failed, else passed if any passed, else none ("" if none was judged)."""
    verdicts = {o.gate for o in outcomes}
    for verdict in (gates.FAILED, gates.PASSED, gates.NONE):
        if verdict in verdicts:
            return verdict
    return ""

from __future__ import annotations

import math

from champion import console
from champion.ci import workflow
from champion.commands import _notes
from champion.commands._deploy import after_stage_change, check_dispatch, check_pointer
from champion.errors import ChampionError
from champion.project import Project
from champion.registry import Version
from champion.registry.registry import WriteResult
from champion.registry.tags import canary_stage


def canary(
    project: Project,
    action: str,
    model: str,
    *,
    version: str | None = None,
    weight: float | None = None,
    stage: str | None = None,
    reason: str = "",
    push: bool = False,
    dispatch_workflow: str | None = None,
    repo: str | None = None,
    github_output: str | None = None,
) -> int:
    spec = project.config.model(model)
    stage = stage or project.config.gate_stage
    project.check_stage(stage, spec.name)
    check_dispatch(dispatch_workflow, repo)
    check_pointer(project, spec.name)
    registry = project.registry
    result: WriteResult
    if action == "start":
        if version is None:
            raise ChampionError("champion canary start needs the VERSION to try")
        share = 0.1 if weight is None else weight
        if not math.isfinite(share) or not 0 < share < 1:
            raise ChampionError(
                f"--weight {weight} is not a share of traffic: use a number between 0 and 1, "
                "e.g. 0.1 for 10%"
            )
        _verify(project, spec.name, Version.parse(version))
        result = registry.canary_start(
            spec.name, stage, Version.parse(version), share, reason=reason, push=push
        )
        done = f"{spec.name} {result.version} is the canary of {stage} ({share:.0%} of the keys)"
    elif action == "promote":
        trial = registry.state(spec.name).live.get(canary_stage(stage))
        if trial is not None:
            _verify(project, spec.name, trial.version)
        result = registry.canary_promote(spec.name, stage, push=push)
        done = f"promoted the canary {spec.name} {result.version} to {stage}"
    else:
        result = registry.canary_abort(spec.name, stage, reason=reason, push=push)
        done = f"aborted the canary {spec.name} {result.version} of {stage}"
    plan = result.plan
    if plan.tags:
        where = f", pushed to {result.remote}" if result.pushed else ""
        console.line(f"{done}: {', '.join(result.written)}{where}")
    else:
        console.line(f"{spec.name} {plan.version}: {plan.note}; nothing to do")
    _notes.show(result)
    live = registry.state(spec.name).live.get(stage)
    lines, values = (
        after_stage_change(
            project,
            spec.name,
            stage,
            str(live.version) if live else "",
            pushed=result.pushed,
            changed=bool(plan.tags),
            dispatch_workflow=dispatch_workflow if live else None,
            repo=repo,
        )
        if live
        else ([], {})
    )
    for text in lines:
        console.line(text)
    workflow.set_outputs(
        github_output,
        {
            "version": str(plan.version),
            "stage": stage,
            "tag": result.written[-1] if result.written else "",
            **values,
        },
    )
    return 0


def _verify(project: Project, model: str, version: Version) -> None:
    """The version about to serve traffic has the bytes its tag recorded (verify_fetchable)."""
    info = project.registry.state(model).find(version)
    if info is not None:  # an unknown version is the registry's to refuse
        from champion.publish import verify_fetchable

        warning = verify_fetchable(project, model, info, "serve")
        if warning:
            console.warn(warning)

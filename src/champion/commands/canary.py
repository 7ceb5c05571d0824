from __future__ import annotations

from champion import console
from champion.ci import workflow
from champion.commands import _notes
from champion.deploy.after_change import after_stage_change, check_dispatch, check_pointer
from champion.deploy.canary import change
from champion.project import Project


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
    changed = change(
        project,
        action,
        spec.name,
        stage,
        version=version,
        weight=weight,
        reason=reason,
        push=push,
    )
    for warning in changed.warnings:
        console.warn(warning)
    result, done, registry = changed.result, changed.done, project.registry
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

from __future__ import annotations

from champion import console
from champion.ci import workflow
from champion.commands import _notes, _stage
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
    spec, stage = _stage.checked(project, model, stage, dispatch_workflow, repo)
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
    values: dict[str, str] = {}
    if live is not None:
        _, values = _stage.changed(
            project,
            spec.name,
            stage,
            str(live.version),
            pushed=result.pushed,
            changed=bool(plan.tags),
            dispatch_workflow=dispatch_workflow,
            repo=repo,
        )
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

from __future__ import annotations

from champion import console
from champion.ci import workflow
from champion.commands import _notes, _stage
from champion.project import Project
from champion.registry import Version


def promote(
    project: Project,
    model: str,
    version: str,
    *,
    stage: str,
    reason: str = "",
    push: bool = False,
    dispatch_workflow: str | None = None,
    repo: str | None = None,
    github_output: str | None = None,
) -> int:
    spec, stage = _stage.checked(project, model, stage, dispatch_workflow, repo)
    target = project.registry.state(spec.name).find(Version.parse(version))
    if target is not None:  # an unknown version is the registry's to refuse
        from champion.deploy.publish import verify_fetchable

        # Before any tag: the bytes a service would fetch must be the ones the tag recorded.
        warning = verify_fetchable(project, spec.name, target, "promote")
        if warning:
            console.warn(warning)
    result = project.registry.assign(
        spec.name, Version.parse(version), stage, reason=reason, push=push
    )
    plan = result.plan
    if not plan.tags:
        console.line(f"{spec.name} {plan.version} is {plan.note}; nothing to do")
    else:
        was = f" (was {plan.previous})" if plan.previous else ""
        where = f", pushed to {result.remote}" if result.pushed else ""
        console.line(
            f"promoted {spec.name} {plan.version} to {stage}{was}: {', '.join(result.written)}{where}"
        )
    _notes.show(result)
    _, values = _stage.changed(
        project,
        spec.name,
        stage,
        str(plan.version),
        pushed=result.pushed,
        changed=bool(plan.tags),
        dispatch_workflow=dispatch_workflow,
        repo=repo,
    )
    workflow.set_outputs(
        github_output,
        {
            "version": plan.version,
            "stage": stage,
            "from": plan.previous or "",
            "to": plan.version,
            "tag": plan.tags[-1].tag if plan.tags else "",
            **values,
        },
    )
    return 0

from __future__ import annotations

from champion import output
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
    github_output: str | None = None,
) -> int:
    spec = project.config.model(model)
    project.config.check_stage(stage)
    result = project.registry.assign(
        spec.name, Version.parse(version), stage, reason=reason, push=push
    )
    plan = result.plan
    if not plan.tags:
        output.line(f"{spec.name} {plan.version} is {plan.note}; nothing to do")
    else:
        was = f" (was {plan.previous})" if plan.previous else ""
        where = f", pushed to {result.remote}" if result.pushed else ""
        output.line(
            f"promoted {spec.name} {plan.version} to {stage}{was}: {', '.join(result.written)}{where}"
        )
    output.write_github_output(
        output.github_output_path(github_output),
        {
            "version": plan.version,
            "stage": stage,
            "from": plan.previous or "",
            "to": plan.version,
            "tag": plan.tags[-1].tag if plan.tags else "",
        },
    )
    return 0

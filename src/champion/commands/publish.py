from __future__ import annotations

from champion import console
from champion.ci import workflow
from champion.deploy.after_change import published_lines
from champion.deploy.publish import check_location
from champion.deploy.publish import publish as publish_pointer
from champion.project import Project


def publish(
    project: Project,
    model: str,
    *,
    stage: str | None = None,
    github_output: str | None = None,
) -> int:
    spec = project.config.model(model)
    stage = stage or project.config.gate_stage
    project.check_stage(stage, spec.name)
    check_location(project, spec)
    done = publish_pointer(project, spec.name, stage)
    for text in published_lines(done):
        console.line(text)
    if done.pointer.canary is not None:
        c = done.pointer.canary
        console.line(f"canary {c.version} takes {c.weight:.0%} of the keys")
    workflow.set_outputs(
        github_output,
        {
            "version": done.pointer.version,
            "stage": stage,
            "pointer-url": done.url,
            "published": done.outcome,
        },
    )
    return 0

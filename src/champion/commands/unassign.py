from __future__ import annotations

from champion import console
from champion.commands import _notes
from champion.project import Project


def unassign(
    project: Project, model: str, *, stage: str, reason: str = "", push: bool = False
) -> int:
    spec = project.config.model(model)
    project.check_stage(stage, spec.name)
    result = project.registry.unassign(spec.name, stage, reason=reason, push=push)
    where = f", pushed to {result.remote}" if result.pushed else ""
    console.line(
        f"unassigned {spec.name} {result.version} from {stage}: {result.written[0]}{where}"
    )
    _notes.show(result)
    return 0

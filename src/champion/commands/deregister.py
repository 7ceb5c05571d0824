from __future__ import annotations

from champion import console
from champion.commands import _notes
from champion.project import Project
from champion.registry import Version


def deregister(
    project: Project, model: str, version: str, *, reason: str = "", push: bool = False
) -> int:
    spec = project.config.model(model)
    result = project.registry.deregister(
        spec.name, Version.parse(version), reason=reason, push=push
    )
    if not result.written:
        console.line(f"{spec.name} {result.version} is {result.plan.note}; nothing to do")
    else:
        where = f", pushed to {result.remote}" if result.pushed else ""
        console.line(f"deregistered {spec.name} {result.version}: {result.written[0]}{where}")
    _notes.show(result)
    return 0

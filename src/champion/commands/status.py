from __future__ import annotations

from champion import output
from champion.project import Project
from champion.registry import views


def status(
    project: Project, model: str | None = None, *, as_json: bool = False, remote: str | None = None
) -> int:
    config = project.config
    names = [config.model(model).name] if model else sorted(config.models)
    states = project.registry.states(names, remote)
    for state in states.values():
        for warning in state.warnings:
            output.warn(warning)
    view = views.status_view(list(states.values()), list(config.stages))
    if as_json:
        output.dump_json(view)
        return 0
    if not names:
        output.line("no models declared in champion.yaml")
        return 0
    stages = list(config.stages)
    rows = []
    for item in view["models"]:
        cells = [item["model"], item["latest"] or "-"]
        cells += [(item["stages"].get(s) or {}).get("version") or "-" for s in stages]
        rows.append(cells)
    for text in output.table(rows, ["model", "latest", *stages]):
        output.line(text)
    return 0

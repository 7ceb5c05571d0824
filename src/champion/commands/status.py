from __future__ import annotations

import sys

from champion import console
from champion.project import Project
from champion.registry import views
from champion.render import tables


def status(
    project: Project, model: str | None = None, *, as_json: bool = False, remote: str | None = None
) -> int:
    config = project.config
    names = [config.model(model).name] if model else sorted(config.models)
    states = project.registry.states(names, remote)
    for state in states.values():
        for warning in state.warnings:
            console.warn(warning)
    view = views.status_view(list(states.values()), list(config.stages))
    standings: list[str] = []
    if config.policy:
        from champion.policy import guard, standing

        now = guard.now()
        for item, state in zip(view["models"], states.values(), strict=True):
            item["policy"] = standing.status_standing(config.policy, state, now)
            standings += [
                f"{state.model} → {standing.describe(stage, found['candidate'])}"
                for stage, found in item["policy"].items()
                if found["candidate"] is not None
            ]
    if as_json:
        console.dump_json(view)
        return 0
    if not names:
        console.line("no models declared in champion.yaml")
        return 0
    stages = list(config.stages)
    # Canary stages (prod-canary) and others the tags name show up as columns too.
    stages += sorted({s for item in view["models"] for s in item["stages"]} - set(stages))
    rolled = any(item["rolled_back"] for item in view["models"])
    rows = []
    for item in view["models"]:
        name = f"{item['model']} (deprecated)" if item["deprecated"] else item["model"]
        cells = [name, item["latest"] or "-"]
        cells += [(item["stages"].get(s) or {}).get("version") or "-" for s in stages]
        if rolled:
            cells.append(", ".join(item["rolled_back"]) or "-")
        rows.append(cells)
    header = ["model", "latest", *stages] + (["rolled back"] if rolled else [])
    paint = tables.status_paint(stages)
    for text in tables.table(rows, header, paint, colour=tables.colour_allowed(sys.stdout)):
        console.styled(text)
    if standings:
        console.line("")
        console.line("policy standing:")
    for text in standings:
        console.line(f"  {text}")
    return 0

from __future__ import annotations

import sys

from champion import console
from champion.commands import _notes
from champion.project import Project
from champion.registry import views
from champion.render import tables


def history(
    project: Project, model: str, *, as_json: bool = False, remote: str | None = None
) -> int:
    state = _notes.read_state(project, model, remote)
    view = views.history_view(state)
    if project.config.policy:
        from champion.policy import guard, standing

        view["policy"] = standing.history_standing(project.config.policy, state, guard.now())
    if as_json:
        console.dump_json(view)
        return 0
    if not view["events"]:
        console.line(f"{state.model} has no history yet: champion register {state.model}")
        return 0
    rows = []
    for e in view["events"]:
        meta = e["metadata"]
        detail = meta.get("reason") or meta.get("message") or ""
        event = e["event"]
        if meta.get("mark") == "rolled-back":
            detail = f"rolled back: {detail}".rstrip(": ")
        elif meta.get("rollback"):
            event = "rollback"
            detail = f"from {meta.get('from')}: {detail}".rstrip(": ")
        rows.append(
            [
                e["created_at"] or "-",
                event,
                e["version"] or "-",
                e["stage"] or "",
                e["tag"],
                e["by"] or "",
                detail,
            ]
        )
    headers = ["when", "event", "version", "stage", "tag", "by", "note"]
    colour = tables.colour_allowed(sys.stdout)
    for text in tables.table(rows, headers, tables.history_paint, colour=colour):
        console.styled(text)
    for stage, found in view.get("policy", {}).items():
        console.line("")
        console.line(f"policy standing for {stage}:")
        for item in found["versions"]:
            console.line(f"  {standing.describe(stage, item).split(': ', 1)[1]}")
    return 0

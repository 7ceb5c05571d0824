from __future__ import annotations

from champion import console
from champion.commands import _notes
from champion.project import Project
from champion.registry import views
from champion.render.terminal import table


def versions(
    project: Project, model: str, *, as_json: bool = False, remote: str | None = None
) -> int:
    state = _notes.read_state(project, model, remote)
    view = views.versions_view(state)
    if as_json:
        console.dump_json(view)
        return 0
    if state.deprecated:
        console.line(f"{state.model} is deprecated (GTO's {state.history[-1].tag})")
    if not view["versions"]:
        console.line(f"{state.model} has no versions yet: champion register {state.model}")
        return 0
    rows = []
    for v in reversed(view["versions"]):
        notes = []
        if v["deregistered"]:
            notes.append("deregistered")
        if v["rolled_back"]:
            notes.append("rolled back")
        rows.append(
            [
                v["version"],
                ",".join(v["stages"]) or "-",
                v["commit"][:12],
                v["created_at"] or "-",
                " ".join(notes),
            ]
        )
    for text in table(rows, ["version", "live in", "commit", "created", "notes"]):
        console.line(text)
    return 0

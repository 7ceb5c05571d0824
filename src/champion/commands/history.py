from __future__ import annotations

from champion import output
from champion.project import Project
from champion.registry import views


def history(
    project: Project, model: str, *, as_json: bool = False, remote: str | None = None
) -> int:
    state = project.registry.state(project.config.model(model).name, remote)
    for warning in state.warnings:
        output.warn(warning)
    view = views.history_view(state)
    if project.config.policy:
        from champion.policy import guard, standing

        view["policy"] = standing.history_standing(project.config.policy, state, guard.now())
    if as_json:
        output.dump_json(view)
        return 0
    if not view["events"]:
        output.line(f"{state.model} has no history yet: champion register {state.model}")
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
    for text in output.table(rows, ["when", "event", "version", "stage", "tag", "by", "note"]):
        output.line(text)
    for stage, found in view.get("policy", {}).items():
        output.line("")
        output.line(f"policy standing for {stage}:")
        for item in found["versions"]:
            output.line(f"  {standing.describe(stage, item).split(': ', 1)[1]}")
    return 0

from __future__ import annotations

from champion import console
from champion.errors import ChampionError
from champion.project import Project
from champion.site import build_site


def site(
    project: Project, *, out: str = "site", models: list[str] | None = None, recent_days: int = 7
) -> int:
    if recent_days < 0:
        raise ChampionError(f"--recent-days must be 0 or more, got {recent_days}")
    built = build_site(project, out, models or (), recent_days=recent_days)
    for warning in built.warnings:
        console.warn(warning)
    console.line(
        f"wrote the site of {built.models} model{'s' * (built.models != 1)} "
        f"({built.files} files): {built.index.resolve()}"
    )
    return 0

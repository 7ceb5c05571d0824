from __future__ import annotations

from champion import artifacts, console
from champion.ci import workflow
from champion.commands import _notes
from champion.project import Project
from champion.registry import Version


def register(
    project: Project,
    model: str,
    ref: str = "HEAD",
    *,
    version: str | None = None,
    bump: str | None = None,
    message: str | None = None,
    push: bool = False,
    github_output: str | None = None,
) -> int:
    spec = project.config.model(model)
    wanted = Version.parse(version) if version is not None else None
    commit = project.registry.git.resolve_commit(ref)
    # The artifact must be readable in full at that commit (a file or a folder, in git or DVC):
    # a version that cannot be fetched, or that is a placeholder, is worse than none.
    artifact = artifacts.describe(project.root, spec.path, commit)
    result = project.registry.register(
        spec.name,
        commit,
        version=wanted,
        bump=bump,
        first_version=project.config.first_version,
        message=message,
        metadata={"artifact": {**artifact.as_metadata(), **spec.loading_metadata(spec.path)}},
        push=push,
    )
    tag = result.plan.tags[0].tag
    where = f", pushed to {result.remote}" if result.pushed else ""
    console.line(f"registered {spec.name} {result.version} as {tag} on {commit[:12]}{where}")
    _notes.show(result)
    workflow.set_outputs(
        github_output,
        {
            "version": result.version,
            "tag": tag,
            "previous-version": result.plan.previous or "",
            "bump": result.plan.bump or "",
            "commit": commit,
        },
    )
    return 0

from __future__ import annotations

import json
from dataclasses import asdict

from champion import console
from champion.ci import workflow
from champion.errors import ChampionError
from champion.project import Project
from champion.release.build import (
    Built,
    adopt_earlier_build,
    build,
    commit_built,
    message,
    push_branch,
)
from champion.release.changes import diff_range
from champion.render.escape import md


def build_models(
    project: Project,
    models: list[str],
    *,
    base: str | None = None,
    commit: bool = False,
    push: bool = False,
    remote: str = "origin",
    github_output: str | None = None,
) -> int:
    config = project.config
    if push and not commit:
        raise ChampionError("--push needs --commit: it pushes the commit that records the build")
    specs = (
        [config.model(m) for m in models]
        if models
        else [config.models[m] for m in sorted(config.models)]
    )
    adopted = adopt_earlier_build(project, remote) if commit else None
    if adopted:
        console.line(f"{adopted[:12]} on {remote} already records this commit's rebuild: using it")
    rng = diff_range(project, base, "HEAD")
    results: list[Built] = [build(project, spec, rng) for spec in specs]
    new_commit = None
    if commit:
        git = project.registry.git
        trailers = git.run("log", "-1", "--format=%(trailers:only,unfold)", rng.head).stdout
        text = message(rng.head, [b.model for b in results if b.changed], trailers)
        new_commit = commit_built(project, results, text)
        if new_commit and push:
            push_branch(project, remote)
    lines = []
    for b in results:
        how = f" by {b.how}" if b.how else ""
        text = f"{b.model}: {b.path} {b.action}{how} (sha256 {b.sha256[:12]})"
        console.line(text)
        lines.append(f"- {md(text, 1000)}")
    if new_commit:
        console.line(
            f"committed the rebuilt files as {new_commit[:12]}" + (", pushed" if push else "")
        )
        lines.append(f"- committed the rebuilt files as `{new_commit[:12]}`")
    workflow.append_summary("### champion build\n\n" + "\n".join(lines) + "\n")
    values: dict[str, str] = {
        "builds": json.dumps({b.model: asdict(b) for b in results}, sort_keys=True),
        "built": "true" if any(b.action == "built" for b in results) else "false",
        "commit": new_commit or project.registry.git.resolve_commit("HEAD"),
    }
    if len(results) == 1:
        values.update({"action": results[0].action, "sha256": results[0].sha256})
    workflow.set_outputs(github_output, values)
    return 0

from __future__ import annotations

from typing import Any

from champion import artifacts, console
from champion.ci import workflow
from champion.commands import _notes, _stage
from champion.errors import ChampionError
from champion.project import Project
from champion.registry import Version
from champion.registry.state import VersionInfo
from champion.signing.policy import enforce


def rollback(
    project: Project,
    model: str,
    *,
    reason: str,
    stage: str | None = None,
    to: str | None = None,
    push: bool = False,
    dry_run: bool = False,
    dispatch_workflow: str | None = None,
    repo: str | None = None,
    metadata: dict[str, Any] | None = None,
    github_output: str | None = None,
) -> int:
    """`metadata` goes into both tags (e.g. `champion watch` records its trigger and evidence)."""
    spec, stage = _stage.checked(project, model, stage, dispatch_workflow, repo)
    target = Version.parse(to) if to else None

    def verify(info: VersionInfo) -> None:
        """The target's artifact must be fetchable by others and be the one its tag recorded."""
        meta = info.metadata.get("artifact")
        if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str):
            raise ChampionError(
                f"{info.tag} records no artifact sha256 (registered by another tool?): champion "
                "cannot check what it would serve; roll back to a version registered by champion "
                "(--to VERSION)"
            )
        path = str(meta.get("path") or spec.path)
        found = artifacts.describe(project.root, path, info.commit, remote_only=True)
        if found.sha256 != meta["sha256"]:
            raise ChampionError(
                f"{path} of {info.tag} has sha256 {found.sha256}, but its tag recorded "
                f"{meta['sha256']}: refusing to roll back to it; pick another version with --to"
            )
        enforce(project, spec.name, info, f"roll {stage} back to")  # signing.required

    result = project.registry.rollback(
        spec.name,
        stage,
        reason=reason,
        to=target,
        verify=verify,
        metadata=metadata,
        push=push,
        dry_run=dry_run,
    )
    plan = result.plan
    was, now = str(plan.previous or ""), str(plan.version)
    values: dict[str, Any] = {"stage": stage, "from": was, "to": now, "version": now}
    if dry_run:
        tags = ", ".join(t.tag for t in plan.tags) or "nothing"
        console.line(
            f"dry run: would roll {spec.name} in {stage} back from {was} to {now} "
            f"(artifact checked): {tags}"
        )
        values["tag"] = plan.tags[-1].tag if plan.tags else ""
        for text in result.warnings:
            console.warn(text)
        if result.reused:
            console.line(f"would push {', '.join(result.reused)} as this clone has them")
        if result.dropped:
            console.line(
                f"would delete {', '.join(result.dropped)} from this clone (not on the remote)"
            )
    else:
        if plan.tags:
            where = f", pushed to {result.remote}" if result.pushed else ""
            console.line(
                f"rolled {spec.name} in {stage} back from {was} to {now}: "
                f"{', '.join(result.written)}{where}"
            )
        else:
            console.line(f"{spec.name} in {stage}: {plan.note}; nothing to do")
        _notes.show(result)
        values["tag"] = result.written[-1] if result.written else ""
        lines, extra = _stage.changed(
            project,
            spec.name,
            stage,
            now,
            pushed=result.pushed,
            changed=bool(plan.tags),
            dispatch_workflow=dispatch_workflow,
            repo=repo,
        )
        values.update(extra)
        workflow.append_summary(
            f"### champion rollback\n\n{spec.name} in {stage}: {was or '-'} → {now}\n\n"
            + "".join(f"- {text}\n" for text in lines)
        )
    workflow.set_outputs(github_output, values)
    return 0

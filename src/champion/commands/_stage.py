"""What the commands that change a stage's live version share (promote, rollback, canary, watch
--rollback): the checks before any tag, and what follows the change, shown."""

from __future__ import annotations

from champion import console
from champion.config import ModelConfig
from champion.deploy.after_change import after_stage_change, check_dispatch, check_pointer
from champion.project import Project


def checked(
    project: Project,
    model: str,
    stage: str | None,
    dispatch_workflow: str | None,
    repo: str | None,
) -> tuple[ModelConfig, str]:
    """The model and its stage (the gate stage by default), allowed, with the dispatch and the
    pointer that follow the change possible: all before anything is written."""
    spec = project.config.model(model)
    stage = stage or project.config.gate_stage
    project.check_stage(stage, spec.name)
    check_dispatch(dispatch_workflow, repo)
    check_pointer(project, spec.name)
    return spec, stage


def changed(
    project: Project,
    model: str,
    stage: str,
    version: str,
    *,
    pushed: bool,
    changed: bool,
    dispatch_workflow: str | None,
    repo: str | None,
) -> tuple[list[str], dict[str, str]]:
    """Publishes and dispatches (deploy.after_change), shows what it did, and returns those
    lines and the outputs to set."""
    lines, values = after_stage_change(
        project,
        model,
        stage,
        version,
        pushed=pushed,
        changed=changed,
        dispatch_workflow=dispatch_workflow,
        repo=repo,
    )
    for text in lines:
        console.line(text)
    return lines, values

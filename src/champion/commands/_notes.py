"""What every registry read and write reports besides its own lines."""

from __future__ import annotations

from champion import console
from champion.project import Project
from champion.registry import ModelState, WriteResult


def show(result: WriteResult) -> None:
    """The warnings about the tags the write was planned on (hostile or foreign tags, named), and
    what became of tags only this clone had."""
    for text in result.warnings:
        console.warn(text)
    for text in result.local_notes():
        console.line(text)


def read_state(project: Project, model: str, remote: str | None) -> ModelState:
    """A declared model's state (from `remote` when given), its reading's warnings shown."""
    state = project.registry.state(project.config.model(model).name, remote)
    for warning in state.warnings:
        console.warn(warning)
    return state

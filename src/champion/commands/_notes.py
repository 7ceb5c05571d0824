"""What every registry write reports besides its own line."""

from __future__ import annotations

from champion import console
from champion.registry import WriteResult


def show(result: WriteResult) -> None:
    """The warnings about the tags the write was planned on (hostile or foreign tags, named), and
    what became of tags only this clone had."""
    for text in result.warnings:
        console.warn(text)
    for text in result.local_notes():
        console.line(text)

"""Where a command runs: the repository root, its `champion.yaml`, and its registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from champion.config import Config, load_config
from champion.registry import Registry
from champion.registry.git import Git


@dataclass(frozen=True)
class Project:
    root: Path
    config: Config
    registry: Registry


def open_project(cwd: str | Path = ".", remote: str = "origin") -> Project:
    root = Git(cwd).toplevel()
    return Project(root, load_config(root), Registry(root, remote))

"""Where a command runs: the repository root, its `champion.yaml`, and its registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from champion.config import Config, load_config
from champion.git import Git
from champion.registry import Registry


@dataclass(frozen=True)
class Project:
    root: Path
    config: Config
    registry: Registry

    def check_stage(self, stage: str, model: str) -> str:
        """A stage `model` may use: champion.yaml's `stages:`, or without that key the default
        plus every stage the model's tags already name (GTO's repositories pick their own)."""
        used = () if self.config.stages_declared else self.registry.state(model).stages
        return self.config.check_stage(stage, used)


def open_project(cwd: str | Path = ".", remote: str = "origin") -> Project:
    root = Git(cwd).toplevel()
    return Project(root, load_config(root), Registry(root, remote))

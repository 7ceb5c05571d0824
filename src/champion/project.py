"""Where a command runs: the repository root, its `champion.yaml`, and its registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from champion.config import Config, load_config
from champion.git import Git
from champion.policy.actors import GitHubTeams, acting
from champion.registry import Registry


@dataclass(frozen=True)
class Project:
    root: Path
    config: Config
    registry: Registry
    # Signature verdicts of this run by (tag, commit, trust): signing's checks before a version
    # goes live, the policy's `signed` rule and publish ask about the same version, and each
    # check fetches and hashes its artifact (champion.signing.check.verify_info).
    signatures: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def check_stage(self, stage: str, model: str) -> str:
        """A stage `model` may use: champion.yaml's `stages:`, or without that key the default
        plus every stage the model's tags already name (GTO's repositories pick their own)."""
        used = () if self.config.stages_declared else self.registry.state(model).stages
        return self.config.check_stage(stage, used)


def open_project(
    cwd: str | Path = ".", remote: str = "origin", actor: str | None = None
) -> Project:
    """`actor`: --actor, for the tags and the policy (GITHUB_ACTOR under Actions)."""
    root = Git(cwd).toplevel()
    config = load_config(root)
    who = acting(actor)  # an --actor that contradicts GITHUB_ACTOR is refused, policy or not
    project = Project(root, config, Registry(root, remote, actor=actor))
    if config.policy:
        from champion.policy.guard import PolicyGuard, signature_check

        source = config.path.name if config.path else "champion.yaml"
        # The registry knows the guard only as a StageGuard: it judges every stage write.
        project.registry.guard = PolicyGuard(
            config.policy,
            actor=who,
            teams=GitHubTeams(),
            verify=signature_check(project),
            source=source,
        )
    return project

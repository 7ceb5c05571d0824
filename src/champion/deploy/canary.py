"""A canary: a version tried on a share of a stage's traffic (the `canary-<stage>` slot), then
promoted to the stage or aborted. The tags are the registry's; what is checked before a version
serves traffic is here."""

from __future__ import annotations

import math
from dataclasses import dataclass

from champion.errors import ChampionError
from champion.project import Project
from champion.registry import Version
from champion.registry.registry import WriteResult
from champion.registry.tags import canary_stage


@dataclass(frozen=True)
class Changed:
    result: WriteResult
    done: str  # what happened, said as the command says it
    warnings: tuple[str, ...] = ()


def share_of(weight: float | None) -> float:
    share = 0.1 if weight is None else weight
    if not math.isfinite(share) or not 0 < share < 1:
        raise ChampionError(
            f"--weight {weight} is not a share of traffic: use a number between 0 and 1, "
            "e.g. 0.1 for 10%"
        )
    return share


def change(
    project: Project,
    action: str,
    model: str,
    stage: str,
    *,
    version: str | None = None,
    weight: float | None = None,
    reason: str = "",
    push: bool = False,
) -> Changed:
    """`action` is start, promote or abort."""
    registry = project.registry
    warnings: list[str] = []
    if action == "start":
        if version is None:
            raise ChampionError("champion canary start needs the VERSION to try")
        share = share_of(weight)
        warnings += _verify(project, model, Version.parse(version))
        result = registry.canary_start(
            model, stage, Version.parse(version), share, reason=reason, push=push
        )
        done = f"{model} {result.version} is the canary of {stage} ({share:.0%} of the keys)"
    elif action == "promote":
        trial = registry.state(model).live.get(canary_stage(stage))
        if trial is not None:
            warnings += _verify(project, model, trial.version)
        result = registry.canary_promote(model, stage, push=push)
        done = f"promoted the canary {model} {result.version} to {stage}"
    else:
        result = registry.canary_abort(model, stage, reason=reason, push=push)
        done = f"aborted the canary {model} {result.version} of {stage}"
    return Changed(result, done, tuple(warnings))


def _verify(project: Project, model: str, version: Version) -> list[str]:
    """The version about to serve traffic has the bytes its tag recorded (verify_fetchable)."""
    info = project.registry.state(model).find(version)
    if info is None:  # an unknown version is the registry's to refuse
        return []
    from champion.deploy.publish import verify_fetchable

    warning = verify_fetchable(project, model, info, "serve")
    return [warning] if warning else []

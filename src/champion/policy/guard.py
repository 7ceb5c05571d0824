"""The policy check the registry runs on every plan that writes a stage tag, before anything is
written: what the plan does to each stage, judged against that stage's policy.

What a plan does is read from its own tags: an assign is a promotion (a rollback when marked so);
an unassign with no assign beside it takes the version out (a canary's abort when marked so). A
canary stage (`prod-canary`) answers to its stage's policy: the canary serves prod's traffic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from champion.config.policy import StagePolicy
from champion.errors import PolicyRefused
from champion.policy import actors, rules
from champion.registry.plans import Plan
from champion.registry.state import ModelState, VersionInfo
from champion.registry.tags import CANARY_SUFFIX, Action, Version

if TYPE_CHECKING:
    from champion.project import Project

# What the guard reads the time from: tests replace it to judge soak at any moment.
CLOCK: Callable[[], float] = time.time

_VERBS = {
    "promote": "promote {m} {v} to {s}",
    "canary": "make {m} {v} the canary of {s}",
    "rollback": "roll {m} in {s} back to {v}",
    "unassign": "unassign {m} {v} from {s}",
    "abort": "abort the canary {m} {v} of {s}",
}


@dataclass(frozen=True)
class StageWrite:
    kind: str  # promote | canary | rollback | unassign | abort
    stage: str  # the stage whose policy applies
    version: Version


def stage_writes(plan: Plan, policies: Mapping[str, StagePolicy]) -> list[StageWrite]:
    writes: list[StageWrite] = []
    assigned = {t.name.stage for t in plan.tags if t.name.action is Action.ASSIGN}
    for tag in plan.tags:
        stage, action, meta = tag.name.stage, tag.name.action, tag.metadata
        if stage is None or action not in (Action.ASSIGN, Action.UNASSIGN):
            continue
        version = Version.parse(str(meta["version"]))
        base = stage.removesuffix(CANARY_SUFFIX)
        canary = base != stage and base in policies
        policy_stage = base if canary else stage
        if action is Action.ASSIGN:
            kind = "rollback" if meta.get("rollback") else ("canary" if canary else "promote")
        elif stage in assigned or (canary and base in assigned):
            continue  # makes way for the assign beside it (or ends a promoted canary)
        else:
            kind = "abort" if meta.get("mark") == "canary-aborted" else "unassign"
        writes.append(StageWrite(kind, policy_stage, version))
    return writes


class PolicyGuard:
    """The registry's StageGuard for champion.yaml's `policy:`."""

    def __init__(
        self,
        policies: Mapping[str, StagePolicy],
        *,
        actor: str | None = None,
        teams: actors.GitHubTeams | None = None,
        verify: rules.SignatureCheck | None = None,
        clock: Callable[[], float] | None = None,
        source: str = "champion.yaml",
    ) -> None:
        self.policies = policies
        self.actor = actor
        self.teams = teams
        self.verify = verify
        self.clock = clock
        self.source = source

    def now(self) -> int:
        return int((self.clock or CLOCK)())

    def check(self, state: ModelState, plan: Plan) -> None:
        for write in stage_writes(plan, self.policies):
            policy = self.policies.get(write.stage)
            if policy is None:
                continue
            failed = [v for v in self.judge(policy, write, state, plan) if not v.ok]
            if failed:
                what = _VERBS[write.kind].format(m=state.model, v=write.version, s=write.stage)
                lines = "\n".join(f"  - {v.describe(write.stage)}" for v in failed)
                raise PolicyRefused(
                    f"the policy in {self.source} refuses to {what}; nothing was written:\n{lines}"
                )

    def judge(
        self, policy: StagePolicy, write: StageWrite, state: ModelState, plan: Plan
    ) -> list[rules.Verdict]:
        found: list[rules.Verdict | None] = []
        if write.kind in ("promote", "canary"):
            # A rollback returns to a version that was live, and an unassign or an abort puts
            # nothing new live: only who may do it applies to them.
            info = _registration(state, plan, write.version)
            now = self.now()
            found += rules.standing(policy, state.history, write.version, info.metadata, now)
            found.append(rules.check_signed(policy, state.model, info, self.verify))
        allowed = policy.rollback if write.kind in ("rollback", "abort") else policy.promote
        rule = "rollback" if write.kind in ("rollback", "abort") else "promote"
        found.append(self._actor(rule, allowed))
        return [v for v in found if v is not None]

    def _actor(self, rule: str, allowed: Sequence[str] | None) -> rules.Verdict | None:
        if allowed is None:
            return None
        matched, why = (
            ([], "") if self.actor is None else actors.matches(self.actor, allowed, self.teams)
        )
        return rules.check_actor(rule, allowed, self.actor, matched, why)


def _registration(state: ModelState, plan: Plan, version: Version) -> VersionInfo:
    """The version's registration: its tag's, or the plan's own (release --promote)."""
    info = state.find(version)
    if info is not None:
        return info
    for tag in plan.tags:
        if tag.name.action is Action.REGISTER and tag.name.version == version:
            return VersionInfo(version, tag.tag, tag.commit, None, tag.metadata)
    # The registry refuses to assign a version it does not know; judged as one with no record.
    return VersionInfo(version, "", "", None, {})


def signature_check(project: Project) -> rules.SignatureCheck:
    """The `signed` rule's verifier: signing's own (champion.signing.check.verify_info), by the
    key or Sigstore identity `signing:` in champion.yaml names (config/load.py requires one when
    a stage is `signed`), over the artifact as a service fetches it. The same verdict serves
    `signing.required`'s check of the same version in this run, so it is made once."""

    def problem(model: str, info: VersionInfo) -> str | None:
        from champion.errors import ChampionError
        from champion.signing import SigningUnavailable
        from champion.signing.check import verify_info
        from champion.signing.policy import policy_of

        try:
            signing = policy_of(project.config)
            if signing is None or signing.trust is None:
                return "signing: in champion.yaml names no key or identity to verify it by"
            verdict = verify_info(project, project.config.model(model), info, signing.trust)
        except SigningUnavailable:
            raise  # not the version's fault: the message says what to install
        except ChampionError as e:  # the artifact or the key could not be read: never a pass
            return f"it could not be checked: {e}"
        return None if verdict.ok else f"it is {verdict.status}: {verdict.reason}"

    return problem


def now() -> int:
    """The time the policy judges at (CLOCK, which tests replace)."""
    return int(CLOCK())

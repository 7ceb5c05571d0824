"""A version's standing against a stage's policy, for status and history (and their --json):
whether its record meets the rules, and from when. Who runs the promotion and whether its
signature verifies are judged only when it happens (they need the network); the view lists who
may, and says whether a signature is there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from champion.config.policy import StagePolicy
from champion.policy import rules
from champion.registry.state import ModelState, VersionInfo


def version_standing(
    policy: StagePolicy, state: ModelState, info: VersionInfo, now: int
) -> dict[str, Any]:
    verdicts = rules.standing(policy, state.history, info.version, info.metadata, now)
    present = rules.check_carries_signature(policy, info.version, info.metadata)
    verdicts += [present] if present is not None else []
    failed = [v for v in verdicts if not v.ok]
    soak = next((v for v in verdicts if v.rule == "soak"), None)
    # Only waiting stands between it and the stage: it is eligible from then.
    waiting = failed == [soak] and soak is not None and soak.eligible_at is not None
    eligible = not failed
    start = soak.eligible_at if soak is not None and (eligible or waiting) else None
    return {
        "version": str(info.version),
        "eligible": eligible,
        "eligible_from": rules.when(start) if start is not None else None,
        "rules": [
            {"rule": v.rule, "ok": v.ok, "record": v.record, "satisfy": v.satisfy or None}
            for v in verdicts
        ],
    }


def candidate(policy: StagePolicy, state: ModelState) -> VersionInfo | None:
    """The version a promotion to the stage would most likely take: the one live in `after`
    (else the latest), unless it is live in the stage already."""
    live = state.live.get(policy.after) if policy.after else None
    info = state.find(live.version) if live is not None else state.latest
    if info is None or info.deregistered:
        return None
    here = state.live.get(policy.stage)
    return None if here is not None and here.version == info.version else info


def stage_view(policy: StagePolicy, state: ModelState, now: int) -> dict[str, Any]:
    info = candidate(policy, state)
    return {
        "rules": policy.as_dict(),
        "candidate": version_standing(policy, state, info, now) if info is not None else None,
    }


def status_standing(
    policies: Mapping[str, StagePolicy], state: ModelState, now: int
) -> dict[str, Any]:
    return {stage: stage_view(p, state, now) for stage, p in policies.items()}


def history_standing(
    policies: Mapping[str, StagePolicy], state: ModelState, now: int
) -> dict[str, Any]:
    """Every version still registered, newest first, against each stage's rules."""
    active = [v for v in reversed(state.versions) if not v.deregistered]
    return {
        stage: {
            "rules": p.as_dict(),
            "versions": [version_standing(p, state, v, now) for v in active],
        }
        for stage, p in policies.items()
    }


def describe(stage: str, standing: Mapping[str, Any]) -> str:
    """One line: `prod: 0.2.0 eligible from 2026-...` / `... not eligible: the soak rule ...`."""
    version = standing["version"]
    if standing["eligible"]:
        since = standing["eligible_from"]
        return f"{stage}: {version} eligible" + (f" (since {since})" if since else "")
    if standing["eligible_from"]:
        return f"{stage}: {version} eligible from {standing['eligible_from']}"
    failed = [r for r in standing["rules"] if not r["ok"]]
    reasons = "; ".join(f"{r['rule']}: {r['record']}" for r in failed)
    return f"{stage}: {version} not eligible ({reasons})"

"""What the registry tells a watch: the baseline version and when it was last live, and the
guards that stop an automatic rollback (a recent change, a recent automatic rollback, no target).
Pure functions of a model's state."""

from __future__ import annotations

from dataclasses import dataclass

from champion.registry import Action, Event, Live, ModelState, Version
from champion.registry.state import rollback_target, stage_timeline
from champion.watch.rules import format_duration

TRIGGER = "watch"  # `trigger` in the rollback tags' metadata: what the cooldown looks for


@dataclass(frozen=True)
class Previous:
    """The version a rollback would return to, and the last second it was live in the stage."""

    version: Version
    until: int | None


def baseline_of(state: ModelState, stage: str) -> Previous | None:
    target = rollback_target(state, stage)
    if target is None:
        return None
    until = None
    before: Version | None = None
    for event, live in stage_timeline(state.history, stage):
        if before == target.version and live != target.version:
            until = event.timestamp
        before = live
    return Previous(target.version, until)


def last_automatic_rollback(state: ModelState, stage: str) -> Event | None:
    found = None
    for event in state.history:
        meta = event.metadata
        if (
            event.name.stage == stage
            and event.action is Action.ASSIGN
            and meta.get("rollback")
            and meta.get("trigger") == TRIGGER
        ):
            found = event
    return found


def _ago(seconds: float) -> str:
    """Roughly, as a person says it: 45s, 20m, 2h, 3d."""
    seconds = max(0.0, seconds)
    for unit, size, below in (("s", 1, 90), ("m", 60, 5400), ("h", 3600, 129600)):
        if seconds < below:
            return f"{round(seconds / size)}{unit}"
    return f"{round(seconds / 86400)}d"


def guards(
    state: ModelState, stage: str, watched: Live, *, cooldown: float, now: float
) -> list[str]:
    """Why an automatic rollback must not happen now; empty when it may."""
    reasons: list[str] = []
    current = state.live.get(stage)
    if current is None or current.tag != watched.tag:
        now_live = f"{current.version} ({current.tag})" if current else "nothing"
        reasons.append(
            f"the live version changed while watching: {watched.version} ({watched.tag}) was "
            f"watched, {now_live} is live now; the readings are not of one version"
        )
        return reasons
    auto = last_automatic_rollback(state, stage)
    # A cooldown of 0 is none: a tag can be dated a few seconds ahead of the clock (champion
    # dates each new tag after the model's newest), and a negative age is not "within 0s".
    if (
        auto is not None
        and auto.timestamp is not None
        and cooldown > 0
        and now - auto.timestamp < cooldown
    ):
        reasons.append(
            f"the previous automatic rollback ({auto.tag}: {auto.metadata.get('from')} → "
            f"{auto.version}) was {_ago(now - auto.timestamp)} ago, within the cooldown "
            f"({format_duration(cooldown)}): a watch does not roll back twice in a row"
        )
    change = next((e for e in state.history if e.tag == current.tag), None)
    changed_at = change.timestamp if change is not None else None
    if (
        changed_at is not None
        and cooldown > 0
        and now - changed_at < cooldown
        and (auto is None or change is not auto)
    ):
        reasons.append(
            f"the live version changed {_ago(now - changed_at)} ago ({current.tag} made "
            f"{current.version} live), within the cooldown ({format_duration(cooldown)}): its "
            "readings may still be mixed with the previous version's"
        )
    if rollback_target(state, stage) is None:
        reasons.append(
            f"no eligible target: no version was live in {stage} before {current.version} that "
            "was not since rolled back or deregistered"
        )
    return reasons

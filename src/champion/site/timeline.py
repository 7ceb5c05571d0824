"""A model's history as the site tells it: one event per operation, and the stage lanes.

Pure: from the ordered events of `state.build_state`. Every value from a tag's metadata goes
through `clean`; a URL becomes a link only through `links.Forge`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from champion.registry.state import Event
from champion.registry.tags import CANARY_SUFFIX, Action, Version
from champion.registry.views import iso, who
from champion.site.clean import finite_number, integer, mapping, text, version
from champion.site.links import Forge
from champion.site.schema import BreachJson, EventJson, EvidenceJson, PullRequestJson, SpanJson

MAX_READINGS = 50
MAX_BREACHES = 20


def pull_request(meta: Mapping[str, Any], forge: Forge | None) -> PullRequestJson | None:
    pull = mapping(meta.get("pull_request"))
    number_ = integer(pull.get("number"))
    if number_ is None or number_ <= 0:
        return None
    return {"number": number_, "url": forge.pull(pull.get("url")) if forge else None}


def _evidence(meta: Mapping[str, Any]) -> EvidenceJson | None:
    if meta.get("trigger") != "watch":
        return None
    ev = mapping(meta.get("evidence"))
    breached: list[BreachJson] = []
    items = ev.get("breached")
    for item in items[:MAX_BREACHES] if isinstance(items, list) else []:
        b = mapping(item)
        readings = b.get("readings")
        breached.append(
            {
                "rule": text(b.get("rule"), 300),
                "metric": text(b.get("metric"), 300),
                "breached_readings": integer(b.get("breached_readings")),
                "readings": [
                    {
                        "at": text(mapping(r).get("at"), 40),
                        "value": finite_number(mapping(r).get("value")),
                        "limit": finite_number(mapping(r).get("limit")),
                    }
                    for r in (readings[-MAX_READINGS:] if isinstance(readings, list) else [])
                ],
            }
        )
    return {
        "version": version(ev.get("version")),
        "stage": text(ev.get("stage"), 100),
        "source": text(ev.get("source"), 500),
        "window": text(ev.get("window"), 100),
        "interval_seconds": finite_number(ev.get("interval_seconds")),
        "readings": integer(ev.get("readings")),
        "first_reading": text(ev.get("from"), 40),
        "last_reading": text(ev.get("to"), 40),
        "breached": breached,
    }


def _is_canary(stage: str | None) -> bool:
    return stage is not None and stage.endswith(CANARY_SUFFIX)


def _kind(event: Event) -> str:
    meta = event.metadata
    if event.action is Action.ASSIGN:
        if meta.get("rollback") is True:
            return "rollback"
        if _is_canary(event.name.stage):
            return "canary-start"
        if meta.get("canary_promoted") is True:
            return "canary-promote"
        return "promote"
    if event.action is Action.UNASSIGN:
        if meta.get("mark") == "canary-aborted":
            return "canary-abort"
        if meta.get("mark") == "rolled-back":
            return "rollback"
        return "unassign"
    return str(event.action.value)  # register, deregister, deprecate


def _entry(
    event: Event, forge: Forge | None, *, previous: Event | None = None, tags: Sequence[str] = ()
) -> EventJson:
    # A merged unassign's metadata (a rollback's reason, its evidence) counts where the assign's
    # lacks it: both tags of one operation carry the same context.
    meta = {**(previous.metadata if previous else {}), **event.metadata}
    kind = _kind(event)
    reason = meta.get("reason")
    if event.action is Action.REGISTER:
        reason = meta.get("message") or meta.get("bump_reason")
    was = str(previous.version) if previous and previous.version else None
    if kind in ("unassign", "canary-abort") or (kind == "rollback" and previous is None):
        was = str(event.version) if event.version else None
    canary = mapping(meta.get("canary"))
    return {
        "kind": kind,
        "automatic": meta.get("trigger") == "watch",
        "version": str(event.version) if event.version else None,
        "previous": was,
        "stage": event.name.stage,
        "tags": [*([previous.tag] if previous else []), event.tag, *tags],
        "counter": event.counter,
        "commit": event.commit,
        "created_at": iso(event.timestamp),
        "actor": text(who(event), 100),  # history's rule: `actor` counts when CI wrote it
        "reason": text(reason),
        "weight": finite_number(canary.get("weight")) if kind == "canary-start" else None,
        "run_url": forge.run(meta.get("run_url")) if forge else None,
        "pull_request": pull_request(meta, forge) if event.action is Action.REGISTER else None,
        "evidence": _evidence(meta),
    }


def _makes_way_for(unassign: Event, assign: Event) -> bool:
    """The unassign champion writes right before an assign to the same stage (promote, rollback)."""
    return (
        unassign.action is Action.UNASSIGN
        and assign.action is Action.ASSIGN
        and unassign.name.stage == assign.name.stage
        and unassign.counter is not None
        and assign.counter == unassign.counter + 1
        and version(unassign.metadata.get("replaced_by")) == str(assign.version)
    )


def timeline(history: Sequence[Event], forge: Forge | None) -> list[EventJson]:
    """The model's events in order; the unassign that makes way for an assign is one event with
    it, and so is the canary stage's unassign that closes a canary's promotion."""
    entries: list[EventJson] = []
    i = 0
    while i < len(history):
        event = history[i]
        following = history[i + 1] if i + 1 < len(history) else None
        if following is not None and _makes_way_for(event, following):
            event, previous, i = following, event, i + 2
        else:
            previous, i = None, i + 1
        closing: list[str] = []
        after = history[i] if i < len(history) else None
        if (
            after is not None
            and event.metadata.get("canary_promoted") is True
            and after.action is Action.UNASSIGN
            and after.metadata.get("canary_promoted") is True
            and _is_canary(after.name.stage)
            and after.version == event.version
        ):
            closing, i = [after.tag], i + 1
        entries.append(_entry(event, forge, previous=previous, tags=closing))
    return entries


# --- stage lanes ------------------------------------------------------------------------------


def lanes(history: Sequence[Event], stages: Sequence[str]) -> dict[str, list[SpanJson]]:
    """Per stage, which version was live from when to when: the one rule replayed once in counter
    order (an assign makes its version a candidate; an unassign of a version retracts it; the
    candidate assigned last is live), the same answer as `state.stage_timeline`. The unassign
    that makes way for an assign takes effect with it: one atomic change, with no gap between."""
    active: dict[str, dict[Version, int]] = {s: {} for s in stages}
    live: dict[str, tuple[Version, int | None] | None] = dict.fromkeys(stages)
    spans: dict[str, list[SpanJson]] = {s: [] for s in stages}
    ending: str | None = None  # how the live version's stretch ends, when an unassign said so
    for i, event in enumerate(history):
        stage, ver, counter = event.name.stage, event.version, event.counter
        if stage is None or ver is None or counter is None:
            continue
        if stage not in active:
            active[stage], live[stage], spans[stage] = {}, None, []
        candidates = active[stage]
        if event.action is Action.ASSIGN:
            candidates.pop(ver, None)
            candidates[ver] = counter  # insertion order is counter order
        elif event.action is Action.UNASSIGN:
            candidates.pop(ver, None)
            mark = event.metadata.get("mark")
            ending = "rolled-back" if mark == "rolled-back" else "replaced"
            if "replaced_by" not in event.metadata and mark != "rolled-back":
                ending = "unassigned"
            if i + 1 < len(history) and _makes_way_for(event, history[i + 1]):
                continue
        now = next(reversed(candidates)) if candidates else None
        current = live[stage]
        if (current[0] if current else None) != now:
            if current is not None:
                spans[stage].append(
                    {
                        "version": str(current[0]),
                        "start": iso(current[1]),
                        "end": iso(event.timestamp),
                        "ended_by": ending or "replaced",
                    }
                )
            live[stage] = (now, event.timestamp) if now is not None else None
        ending = None
    for stage, current in live.items():
        if current is not None:
            spans[stage].append(
                {
                    "version": str(current[0]),
                    "start": iso(current[1]),
                    "end": None,
                    "ended_by": None,
                }
            )
    return spans

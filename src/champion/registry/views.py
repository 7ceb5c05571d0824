"""The `--json` shapes of status, versions and history: a documented, stable contract."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from champion.registry.state import Event, Live, ModelState, VersionInfo

SCHEMA = 1


def iso(timestamp: int | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def live_view(live: Live | None) -> dict[str, Any] | None:
    if live is None:
        return None
    return {
        "version": str(live.version),
        "tag": live.tag,
        "counter": live.counter,
        "commit": live.commit,
    }


def version_view(state: ModelState, info: VersionInfo) -> dict[str, Any]:
    return {
        "version": str(info.version),
        "tag": info.tag,
        "commit": info.commit,
        "created_at": iso(info.timestamp),
        "deregistered": info.deregistered,
        "rolled_back": info.rolled_back,
        "stages": state.stages_of(info.version),
        "metadata": info.metadata,
    }


def who(event: Event) -> str | None:
    """Who did it: the CI actor a champion tag records when it was written in CI, else the
    tagger's name (a tag written on a laptop, or by another tool)."""
    meta = event.metadata
    actor = meta.get("actor")
    if isinstance(actor, str) and actor and (meta.get("run_id") or meta.get("run_url")):
        return actor
    name = event.tagger.split(" <", 1)[0].strip()
    return name or None


def event_view(event: Event) -> dict[str, Any]:
    return {
        "event": event.action.value,
        "version": str(event.version) if event.version is not None else None,
        "stage": event.name.stage,
        "counter": event.counter,
        "tag": event.tag,
        "commit": event.commit,
        "created_at": iso(event.timestamp),
        "tagger": event.tagger or None,
        "by": who(event),
        "summary": event.summary or None,
        "metadata": event.metadata,
    }


def model_status(state: ModelState, stages: list[str]) -> dict[str, Any]:
    # Every stage the tags name is listed, live or not (null), after the configured ones.
    all_stages = list(stages) + sorted(s for s in state.stages if s not in stages)
    latest = state.latest
    return {
        "model": state.model,
        "latest": str(latest.version) if latest else None,
        "versions": sum(1 for v in state.versions if not v.deregistered),
        "deprecated": state.deprecated,
        "stages": {s: live_view(state.live.get(s)) for s in all_stages},
        "rolled_back": [str(v.version) for v in state.versions if v.rolled_back],
    }


def status_view(states: list[ModelState], stages: list[str]) -> dict[str, Any]:
    return {"schema": SCHEMA, "models": [model_status(s, stages) for s in states]}


def versions_view(state: ModelState) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "model": state.model,
        "deprecated": state.deprecated,
        "versions": [version_view(state, v) for v in state.versions],
    }


def history_view(state: ModelState) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "model": state.model,
        "events": [event_view(e) for e in state.history],
    }

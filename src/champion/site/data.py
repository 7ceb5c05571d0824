"""What the site shows, gathered from the models' states without git or I/O: `registry.json`.

The pages are rendered from this very structure, so the JSON next to them holds the same data.
Everything read from a tag's metadata is untrusted: only the expected types are kept, text is
stripped of control and bidirectional characters and capped, versions are parsed, numbers must be
finite, and URLs pass `links.Forge` or are dropped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

from champion.registry.state import Event, ModelState, VersionInfo
from champion.registry.tags import CANARY_SUFFIX, Action, Version
from champion.registry.views import iso
from champion.site.links import Forge

SCHEMA = 1
KIND = "champion-site"  # how a later build recognises a folder it wrote
MAX_TEXT = 2000
MAX_READINGS = 50
MAX_BREACHES = 20
DAY = 86400
# C0/C1 controls and the characters that reorder text (a "Trojan Source" reason could make a
# version read as another): never shown.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAME = re.compile(r"[^a-z0-9-]")


class PullRequestJson(TypedDict):
    number: int
    url: str | None  # a checked forge link, else None


class LiveJson(TypedDict):
    version: str
    tag: str
    counter: int
    commit: str
    since: str | None  # when it went live: the date of its assign tag


class RollbackJson(TypedDict):
    stage: str
    rolled_back: str | None  # the version taken out
    to: str | None  # the version put back
    at: str | None
    automatic: bool  # by `champion watch`
    reason: str | None
    tag: str


class ArtifactJson(TypedDict):
    path: str | None
    sha256: str | None
    size: int | None
    tracked_by: str | None


class DataJson(TypedDict):
    path: str | None
    sha256: str | None


class SignatureJson(TypedDict):
    identity: str | None  # the signing identity or key hint the tag names; not verified here


class VersionJson(TypedDict):
    version: str
    tag: str
    commit: str
    created_at: str | None
    deregistered: bool
    rolled_back: bool
    stages: list[str]  # live in now
    artifact: ArtifactJson | None
    data: DataJson | None
    signature: SignatureJson | None  # only when the tag carries a signing bundle
    metrics: dict[str, float]  # the candidate's value at registration
    bump: str | None
    actor: str | None
    message: str | None
    run_url: str | None
    pull_request: PullRequestJson | None
    release_url: str | None


class ReadingJson(TypedDict):
    at: str | None
    value: float | None
    limit: float | None


class BreachJson(TypedDict):
    rule: str | None
    metric: str | None
    breached_readings: int | None
    readings: list[ReadingJson]


class EvidenceJson(TypedDict):
    version: str | None
    stage: str | None
    source: str | None
    window: str | None
    interval_seconds: float | None
    readings: int | None
    first_reading: str | None
    last_reading: str | None
    breached: list[BreachJson]


class EventJson(TypedDict):
    # register, deregister, deprecate, promote, unassign, rollback, canary-start,
    # canary-promote, canary-abort
    kind: str
    automatic: bool
    version: str | None
    previous: str | None  # the version it replaced in the stage
    stage: str | None
    tags: list[str]  # an unassign and the assign it made way for are one event
    counter: int | None
    commit: str
    created_at: str | None
    actor: str | None
    reason: str | None
    weight: float | None  # a canary's share of traffic
    run_url: str | None
    pull_request: PullRequestJson | None
    evidence: EvidenceJson | None


class SpanJson(TypedDict):
    version: str
    start: str | None
    end: str | None  # None: still live
    ended_by: str | None  # rolled-back, replaced, unassigned


class MetricJson(TypedDict):
    name: str
    direction: str | None  # higher or lower is better; None when unknown
    gated: bool


class ModelJson(TypedDict):
    model: str
    folder: str  # the monorepo folder, "" at the root
    description: str
    page: str  # relative to the site's root
    latest: str | None
    versions_count: int
    stages: dict[str, LiveJson | None]
    recent_rollbacks: list[RollbackJson]
    metrics: list[MetricJson]
    versions: list[VersionJson]
    events: list[EventJson]
    lanes: dict[str, list[SpanJson]]
    warnings: list[str]


class SiteJson(TypedDict):
    schema: int
    kind: str
    generated_at: str
    recent_days: int
    stages: list[str]
    gate_stage: str
    models: list[ModelJson]


# --- untrusted values -------------------------------------------------------------------------


def text(value: object, limit: int = MAX_TEXT) -> str | None:
    if not isinstance(value, str):
        return None
    clean = _UNSAFE.sub(" ", value).strip()
    if len(clean) > limit:
        clean = clean[: limit - 1] + "…"
    return clean or None


def number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def version(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > 100:
        return None
    try:
        return str(Version.parse(value))
    except Exception:  # RegistryError, or a pathological string
        return None


def sha256(value: object) -> str | None:
    return value if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


# --- names ------------------------------------------------------------------------------------


def folder_of(model: str) -> str:
    """A monorepo model `models/churn:churn` lives in `models/churn`; a model at the root in ""."""
    if ":" in model:
        return model.split(":", 1)[0]
    return model.rsplit("/", 1)[0] if "/" in model else ""


def page_of(model: str) -> str:
    """The model's page: letters, digits and `-` as they are, every other character as `_XX`
    (its code in hex), so two names never share a page and no name escapes the folder."""
    name = "".join(c if not _NAME.match(c) else f"_{ord(c):02x}" for c in model)
    return f"models/{name}.html"


# --- versions ---------------------------------------------------------------------------------


def _pull(meta: Mapping[str, Any], forge: Forge | None) -> PullRequestJson | None:
    pull = _mapping(meta.get("pull_request"))
    number_ = integer(pull.get("number"))
    if number_ is None or number_ <= 0:
        return None
    return {"number": number_, "url": forge.pull(pull.get("url")) if forge else None}


def _metrics(meta: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in _mapping(meta.get("metrics")).items():
        # release records {candidate, champion, delta}; a plain number is taken as it is.
        found = (
            number(_mapping(value).get("candidate")) if isinstance(value, dict) else number(value)
        )
        key = text(name, 100)
        if found is not None and key is not None:
            out[key] = found
    return out


def _signature(meta: Mapping[str, Any]) -> SignatureJson | None:
    """A signing bundle (issue 18), told apart from the model's input/output signature that
    release records under the same key by its `bundle`."""
    sig = _mapping(meta.get("signature"))
    if "bundle" not in sig:
        return None
    identity = sig.get("identity") or sig.get("key") or sig.get("key_hint")
    return {"identity": text(identity, 300)}


def version_json(state: ModelState, info: VersionInfo, forge: Forge | None) -> VersionJson:
    meta = info.metadata
    artifact = _mapping(meta.get("artifact"))
    data = _mapping(meta.get("data"))
    run_url = forge.run(meta.get("run_url")) if forge else None
    pull = _pull(meta, forge)
    anchor = run_url or (pull["url"] if pull else None)
    return {
        "version": str(info.version),
        "tag": info.tag,
        "commit": info.commit,
        "created_at": iso(info.timestamp),
        "deregistered": info.deregistered,
        "rolled_back": info.rolled_back,
        "stages": state.stages_of(info.version),
        "artifact": {
            "path": text(artifact.get("path"), 500),
            "sha256": sha256(artifact.get("sha256")),
            "size": integer(artifact.get("size")),
            "tracked_by": text(artifact.get("tracked_by"), 20),
        }
        if artifact
        else None,
        "data": {"path": text(data.get("path"), 500), "sha256": sha256(data.get("sha256"))}
        if data
        else None,
        "signature": _signature(meta),
        "metrics": _metrics(meta),
        "bump": text(meta.get("bump"), 20),
        "actor": text(meta.get("actor"), 100),
        "message": text(meta.get("message")),
        "run_url": run_url,
        "pull_request": pull,
        "release_url": forge.tag(anchor, info.tag) if forge and anchor else None,
    }


# --- the timeline -----------------------------------------------------------------------------


def _evidence(meta: Mapping[str, Any]) -> EvidenceJson | None:
    if meta.get("trigger") != "watch":
        return None
    ev = _mapping(meta.get("evidence"))
    breached: list[BreachJson] = []
    items = ev.get("breached")
    for item in items[:MAX_BREACHES] if isinstance(items, list) else []:
        b = _mapping(item)
        readings = b.get("readings")
        breached.append(
            {
                "rule": text(b.get("rule"), 300),
                "metric": text(b.get("metric"), 300),
                "breached_readings": integer(b.get("breached_readings")),
                "readings": [
                    {
                        "at": text(_mapping(r).get("at"), 40),
                        "value": number(_mapping(r).get("value")),
                        "limit": number(_mapping(r).get("limit")),
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
        "interval_seconds": number(ev.get("interval_seconds")),
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
    canary = _mapping(meta.get("canary"))
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
        "actor": text(meta.get("actor"), 100),
        "reason": text(reason),
        "weight": number(canary.get("weight")) if kind == "canary-start" else None,
        "run_url": forge.run(meta.get("run_url")) if forge else None,
        "pull_request": _pull(meta, forge) if event.action is Action.REGISTER else None,
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


# --- a model, the site ------------------------------------------------------------------------


def _since(state: ModelState) -> dict[str, str | None]:
    by_tag = {e.tag: e for e in state.history}
    return {
        stage: iso(by_tag[live.tag].timestamp) if live.tag in by_tag else None
        for stage, live in state.live.items()
    }


def _live(state: ModelState, stage: str, since: Mapping[str, str | None]) -> LiveJson | None:
    live = state.live.get(stage)
    if live is None:
        return None
    return {
        "version": str(live.version),
        "tag": live.tag,
        "counter": live.counter,
        "commit": live.commit,
        "since": since.get(stage),
    }


def _recent_rollbacks(events: Sequence[EventJson], since: str) -> list[RollbackJson]:
    return [
        {
            "stage": e["stage"] or "",
            "rolled_back": e["previous"],
            "to": e["version"] if e["previous"] != e["version"] else None,
            "at": e["created_at"],
            "automatic": e["automatic"],
            "reason": e["reason"],
            "tag": e["tags"][-1],
        }
        for e in reversed(events)  # the newest first
        if e["kind"] == "rollback" and e["created_at"] is not None and e["created_at"] >= since
    ]


def metric_list(
    gate: Mapping[str, Any], declared: Sequence[Any], recorded: Iterable[str]
) -> list[MetricJson]:
    """The gated metrics (the gate's order), else every metric the versions recorded."""
    ways: dict[str, str] = {}
    for item in declared:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            ways[item["name"]] = str(item.get("direction"))
    gated = [m for m in gate if m not in ("slices", "policy")]
    names = gated or sorted(set(recorded))
    if not names:
        return []
    from champion.evaluation.metrics import direction  # numpy: only when there is a chart

    return [
        {
            "name": name,
            "direction": ways.get(name) or direction(name.rsplit(".", 1)[-1]),
            "gated": name in gated,
        }
        for name in names
    ]


def model_json(
    state: ModelState,
    *,
    description: str,
    sections: Mapping[str, Any],
    stages: Sequence[str],
    forge: Forge | None,
    recent_since: str,
) -> ModelJson:
    all_stages = [*stages, *sorted(s for s in state.live if s not in stages)]
    since = _since(state)
    events = timeline(state.history, forge)
    versions = [version_json(state, v, forge) for v in state.versions]
    latest = state.latest
    recorded = {name for v in versions for name in v["metrics"]}
    stage_lanes = lanes(state.history, all_stages)
    return {
        "model": state.model,
        "folder": folder_of(state.model),
        "description": text(description, 500) or "",
        "page": page_of(state.model),
        "latest": str(latest.version) if latest else None,
        "versions_count": sum(1 for v in state.versions if not v.deregistered),
        "stages": {s: _live(state, s, since) for s in [*all_stages, *stage_lanes]},
        "recent_rollbacks": _recent_rollbacks(events, recent_since),
        "metrics": metric_list(
            _mapping(sections.get("gate")), list(sections.get("metrics") or []), recorded
        ),
        "versions": versions,
        "events": events,
        "lanes": stage_lanes,
        "warnings": list(state.warnings),
    }


def site_json(
    models: Sequence[ModelJson],
    *,
    now: int,
    recent_days: int,
    stages: Sequence[str],
    gate_stage: str,
) -> SiteJson:
    return {
        "schema": SCHEMA,
        "kind": KIND,
        "generated_at": iso(now) or "",
        "recent_days": recent_days,
        "stages": list(stages),
        "gate_stage": gate_stage,
        "models": list(models),
    }


def recent_since(now: int, days: int) -> str:
    """The ISO time `days` before `now`: ISO strings in one format compare like times."""
    return iso(now - days * DAY) or ""

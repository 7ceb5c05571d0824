"""What the site shows, gathered from the models' states without git or I/O: `registry.json`
(its shape is `schema`).

The pages are rendered from this very structure, so the JSON next to them holds the same data.
Every value from a tag's metadata goes through `clean`, and a URL becomes a link only through
`links.Forge`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from champion.registry.state import ModelState, VersionInfo
from champion.registry.views import iso, who
from champion.site.clean import finite_number, integer, mapping, sha256, text
from champion.site.links import Forge
from champion.site.schema import (
    KIND,
    SCHEMA,
    EventJson,
    LiveJson,
    MetricJson,
    ModelJson,
    RollbackJson,
    SignatureJson,
    SiteJson,
    VersionJson,
)
from champion.site.timeline import lanes, pull_request, timeline

DAY = 86400
_NAME = re.compile(r"[^a-z0-9-]")


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


def _metrics(meta: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in mapping(meta.get("metrics")).items():
        # release records {candidate, champion, delta}; a plain number is taken as it is.
        found = (
            finite_number(mapping(value).get("candidate"))
            if isinstance(value, dict)
            else finite_number(value)
        )
        key = text(name, 100)
        if found is not None and key is not None:
            out[key] = found
    return out


def _signature(meta: Mapping[str, Any]) -> SignatureJson | None:
    """The version's signing bundle (issue 18: `signing` in its tag; `signature` is the model's
    input/output signature). Who signed is what the tag claims: the site does not verify it."""
    sig = mapping(meta.get("signing"))
    if "bundle" not in sig:
        return None
    hint = text(sig.get("key_hint"), 64)
    identity = sig.get("identity") or (f"key {hint[:12]}" if hint else None)
    return {"identity": text(identity, 300)}


def _registered_by(state: ModelState, info: VersionInfo) -> str | None:
    """Who registered the version, by history's rule (views.who): a tag's `actor` only counts
    when it was written in CI; a laptop's `--actor` or a hand-written field is not evidence."""
    for event in state.history:
        if event.tag == info.tag:
            return who(event)
    return None


def version_json(state: ModelState, info: VersionInfo, forge: Forge | None) -> VersionJson:
    meta = info.metadata
    artifact = mapping(meta.get("artifact"))
    data = mapping(meta.get("data"))
    run_url = forge.run(meta.get("run_url")) if forge else None
    pull = pull_request(meta, forge)
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
        "actor": text(_registered_by(state, info), 100),
        "message": text(meta.get("message")),
        "run_url": run_url,
        "pull_request": pull,
        "release_url": forge.tag(anchor, info.tag) if forge and anchor else None,
    }


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
            mapping(sections.get("gate")), list(sections.get("metrics") or []), recorded
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

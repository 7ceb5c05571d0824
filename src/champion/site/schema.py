"""`registry.json`'s shape: the contract the site's pages are rendered from and other tools read.

`schema` changes only with a breaking change; docs/site.md documents the fields.
"""

from __future__ import annotations

from typing import TypedDict

SCHEMA = 1
KIND = "champion-site"  # how a later build recognises a folder it wrote


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

"""What a model's tags mean, computed without git: versions, history and the live version per stage.

Everything here is pure so it can be tested on hand-built events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from champion.errors import RegistryError
from champion.registry.git import RefRecord
from champion.registry.tags import Action, TagName, Version, parse_tag


@dataclass(frozen=True)
class Event:
    tag: str
    name: TagName
    commit: str
    timestamp: int | None = None
    tagger: str = ""
    summary: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    # The version a stage event is about: not in its tag name, so resolved by `build_state`.
    resolved: Version | None = None

    @property
    def version(self) -> Version | None:
        return self.name.version or self.resolved

    @property
    def action(self) -> Action:
        return self.name.action

    @property
    def counter(self) -> int | None:
        return self.name.counter


@dataclass(frozen=True)
class VersionInfo:
    version: Version
    tag: str
    commit: str
    timestamp: int | None
    metadata: dict[str, Any]
    deregistered: bool = False
    rolled_back: bool = False


@dataclass(frozen=True)
class Live:
    stage: str
    version: Version
    tag: str  # the assign tag that made it live
    counter: int
    commit: str


@dataclass(frozen=True)
class ModelState:
    model: str
    versions: tuple[VersionInfo, ...]  # ascending by semver
    history: tuple[Event, ...]  # the events in order
    live: dict[str, Live]
    warnings: tuple[str, ...] = ()

    @property
    def latest(self) -> VersionInfo | None:
        active = [v for v in self.versions if not v.deregistered]
        return active[-1] if active else None

    @property
    def max_counter(self) -> int:
        return max((e.counter for e in self.history if e.counter is not None), default=0)

    def find(self, version: Version) -> VersionInfo | None:
        for v in self.versions:
            if v.version == version:
                return v
        return None

    def version_of_commit(self, commit: str) -> VersionInfo | None:
        for v in self.versions:
            if v.commit == commit and not v.deregistered:
                return v
        return None

    def stages_of(self, version: Version) -> list[str]:
        return sorted(s for s, live in self.live.items() if live.version == version)


def parse_metadata(body: str) -> dict[str, Any]:
    """The JSON object after the summary line; foreign tags (GTO's) carry plain text instead."""
    text = body.strip()
    if not text.startswith("{"):
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def events_from_refs(model: str, refs: Iterable[RefRecord]) -> tuple[list[Event], list[str]]:
    events: list[Event] = []
    warnings: list[str] = []
    for ref in refs:
        name = parse_tag(ref.name)
        if name is None or name.model != model:
            continue
        if not ref.annotated:
            # GTO and DVC ignore lightweight tags too, so it would be a silent disagreement.
            warnings.append(
                f"tag {ref.name} is a lightweight tag and is ignored: recreate it as an annotated "
                f"tag (git tag -a -f {ref.name} {ref.commit[:12]})"
            )
            continue
        events.append(
            Event(
                tag=ref.name,
                name=name,
                commit=ref.commit,
                timestamp=ref.timestamp,
                tagger=ref.tagger,
                summary=ref.subject,
                metadata=parse_metadata(ref.body),
            )
        )
    return events, warnings


def order_events(events: Iterable[Event]) -> list[Event]:
    """Events with a counter (stage events) in counter order. An event without one (a registration)
    goes right after the counter that was the model's highest when it was written: champion records
    it as `after_counter`; for tags other tools wrote, it is inferred from the tag dates."""
    events = list(events)
    counted = sorted((e for e in events if e.counter is not None), key=lambda e: e.counter or 0)

    def anchor(event: Event) -> int:
        recorded = event.metadata.get("after_counter")
        if isinstance(recorded, int) and not isinstance(recorded, bool):
            return recorded
        ts = event.timestamp or 0
        return max((c.counter or 0 for c in counted if (c.timestamp or 0) < ts), default=0)

    def key(event: Event) -> tuple[int, int, int, bool, Version]:
        if event.counter is not None:
            return (event.counter, 0, 0, False, Version(0, 0, 0))
        return (
            anchor(event),
            1,
            event.timestamp or 0,
            event.action is not Action.REGISTER,
            event.name.version or Version(0, 0, 0),
        )

    return sorted(events, key=key)


def live_versions(history: Iterable[Event]) -> dict[str, Live]:
    """The one rule: per stage, the version of the latest assign (by counter) that no later
    unassign of that version retracted."""
    assigns: dict[str, list[tuple[int, Version, Event]]] = {}
    last_unassign: dict[tuple[str, Version], int] = {}
    for event in history:
        version = event.version
        if event.counter is None or event.name.stage is None or version is None:
            continue
        if event.action is Action.ASSIGN:
            assigns.setdefault(event.name.stage, []).append((event.counter, version, event))
        elif event.action is Action.UNASSIGN:
            key = (event.name.stage, version)
            last_unassign[key] = max(last_unassign.get(key, 0), event.counter)
    live: dict[str, Live] = {}
    for stage, items in assigns.items():
        for counter, version, event in sorted(items, key=lambda item: item[0], reverse=True):
            if last_unassign.get((stage, version), 0) < counter:
                live[stage] = Live(stage, version, event.tag, counter, event.commit)
                break
    return live


def _version_of_stage_event(event: Event, versions: dict[str, Version]) -> Version | None:
    # A stage tag sits on the commit of the version it names (GTO's convention); champion also
    # records the version in the metadata, which wins when a commit ever held two versions.
    recorded = event.metadata.get("version")
    if isinstance(recorded, str):
        try:
            return Version.parse(recorded)
        except RegistryError:
            pass
    return versions.get(event.commit)


def build_state(model: str, refs: Iterable[RefRecord]) -> ModelState:
    events, warnings = events_from_refs(model, refs)
    history = order_events(events)
    registered: dict[Version, Event] = {}
    deregistered: set[Version] = set()
    for e in history:
        if e.name.version is None:
            continue
        if e.action is Action.REGISTER:
            registered.setdefault(e.name.version, e)
        elif e.action is Action.DEREGISTER:
            deregistered.add(e.name.version)
    # Commit -> version, for stage events; a deregistered version still names its commit.
    by_commit = {e.commit: v for v, e in sorted(registered.items(), key=lambda item: item[0])}
    history = [
        replace(e, resolved=_version_of_stage_event(e, by_commit)) if e.name.stage else e
        for e in history
    ]
    live = live_versions(history)
    rolled_back = {
        e.version
        for e in history
        if e.action is Action.UNASSIGN and e.metadata.get("mark") == "rolled-back"
    }
    versions = tuple(
        VersionInfo(
            version=v,
            tag=e.tag,
            commit=e.commit,
            timestamp=e.timestamp,
            metadata=e.metadata,
            deregistered=v in deregistered,
            rolled_back=v in rolled_back,
        )
        for v, e in sorted(registered.items(), key=lambda item: item[0])
    )
    return ModelState(model, versions, tuple(history), live, tuple(warnings))

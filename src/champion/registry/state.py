"""What a model's tags mean, computed without git: versions, history and the live version per stage.

Everything here is pure so it can be tested on hand-built events.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import Any

from champion.errors import RegistryError
from champion.registry.git import RefRecord
from champion.registry.tags import Action, TagName, Version, parse_tag

_ZERO = Version(0, 0, 0)


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
    it as `after_counter`. For tags other tools wrote, the tag dates tell; for refs read from a
    remote, which carry no date, a registration goes just before the first stage event of its
    version (an approximation, kept in version order)."""
    events = list(events)
    counted = sorted((e for e in events if e.counter is not None), key=lambda e: e.counter or 0)
    by_time = sorted(counted, key=lambda e: e.timestamp or 0)
    times = [e.timestamp or 0 for e in by_time]
    highest_before = list(accumulate((e.counter or 0 for e in by_time), max))
    last = counted[-1].counter or 0 if counted else 0

    def dated(timestamp: int) -> int:
        i = bisect_left(times, timestamp)  # stage events of the same second come after
        return highest_before[i - 1] if i else 0

    by_counter = {e.counter: e for e in counted}
    first_use: dict[Version, int] = {}
    for e in counted:
        if e.version is not None:
            first_use.setdefault(e.version, e.counter or 0)
    anchors: dict[int, int] = {}
    ceiling = last
    # Highest version first, so an undated registration never sorts after a higher one's.
    uncounted = sorted(
        (e for e in events if e.counter is None), key=lambda e: e.version or _ZERO, reverse=True
    )
    for e in uncounted:
        recorded = e.metadata.get("after_counter")
        if isinstance(recorded, int) and not isinstance(recorded, bool):
            anchors[id(e)] = recorded
        elif e.timestamp is not None:
            anchors[id(e)] = dated(e.timestamp)
        elif e.action is Action.REGISTER:
            use = first_use.get(e.version or _ZERO)
            if use is not None:
                # Before the unassigns that make way for its first assign, too.
                use -= 1
                while use in by_counter and by_counter[use].action is Action.UNASSIGN:
                    use -= 1
                ceiling = min(ceiling, use)
            anchors[id(e)] = ceiling
        else:
            anchors[id(e)] = last

    def key(event: Event) -> tuple[int, int, int, bool, Version]:
        if event.counter is not None:
            return (event.counter, 0, 0, False, _ZERO)
        return (
            anchors[id(event)],
            1,
            event.timestamp or 0,
            event.action is not Action.REGISTER,
            event.version or _ZERO,
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
    registered: dict[Version, Event] = {}
    deregistered: set[Version] = set()
    for e in events:
        if e.name.version is None:
            continue
        if e.action is Action.REGISTER:
            registered[e.name.version] = e
        elif e.action is Action.DEREGISTER:
            deregistered.add(e.name.version)
    # Commit -> version, for stage events; a deregistered version still names its commit.
    by_commit = {e.commit: v for v, e in sorted(registered.items(), key=lambda item: item[0])}
    history = order_events(
        replace(e, resolved=_version_of_stage_event(e, by_commit)) if e.name.stage else e
        for e in events
    )
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


def stage_timeline(history: Iterable[Event], stage: str) -> list[tuple[Event, Version | None]]:
    """The live version of `stage` right after each of its events, in order (the one rule,
    replayed)."""
    assigns: list[tuple[int, Version]] = []
    last_unassign: dict[Version, int] = {}
    timeline: list[tuple[Event, Version | None]] = []
    for event in history:
        version = event.version
        if event.name.stage != stage or event.counter is None or version is None:
            continue
        if event.action is Action.ASSIGN:
            assigns.append((event.counter, version))
        elif event.action is Action.UNASSIGN:
            last_unassign[version] = max(last_unassign.get(version, 0), event.counter)
        live = next(
            (v for c, v in sorted(assigns, reverse=True) if last_unassign.get(v, 0) < c), None
        )
        timeline.append((event, live))
    return timeline


def rollback_target(state: ModelState, stage: str) -> VersionInfo | None:
    """The version live in `stage` before the current one, skipping versions that were ever
    rolled back or deregistered (and the current one): a second rollback goes further back."""
    current = state.live.get(stage)
    for _, version in reversed(stage_timeline(state.history, stage)):
        if version is None or (current is not None and version == current.version):
            continue
        info = state.find(version)
        if info is not None and not info.deregistered and not info.rolled_back:
            return info
    return None


def canary_weight(state: ModelState, tag: str) -> float | None:
    """The share of traffic the canary assign `tag` asked for (recorded in its metadata)."""
    for e in state.history:
        if e.tag == tag:
            weight = (e.metadata.get("canary") or {}).get("weight")
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                return None
            return float(weight) if 0 <= weight <= 1 else None
    return None

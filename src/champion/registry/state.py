"""What a model's tags mean, computed without git: versions, history and the live version per stage.

Everything here is pure so it can be tested on hand-built events.

Over 400 lines: the one reading of a model's tags (versions, history, live stages, canaries,
rollback targets) that every reader shares, so they cannot disagree.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence, Set
from contextlib import suppress
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import Any

from champion.errors import RegistryError
from champion.git import RefRecord
from champion.registry.metadata import parse_metadata
from champion.registry.tags import Action, TagName, Version, format_tag, model_in_tag, parse_tag

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
    # GTO's `NAME@deprecated`, when nothing happened to the model after it.
    deprecated: bool = False
    # This clone's tags of the model that the remote does not have (set when planning a push).
    unpushed: tuple[str, ...] = ()

    @property
    def stages(self) -> list[str]:
        """Every stage the model's tags name, live or not, in the order they first appear."""
        return list(dict.fromkeys(e.name.stage for e in self.history if e.name.stage))

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


def events_from_refs(model: str, refs: Iterable[RefRecord]) -> tuple[list[Event], list[str]]:
    events: list[Event] = []
    warnings: list[str] = []
    near_misses: list[str] = []
    prefixes = (f"{model_in_tag(model)}@", f"{model_in_tag(model)}#")
    for ref in refs:
        name = parse_tag(ref.name)
        if name is None:
            if ref.name.startswith(prefixes):
                near_misses.append(ref.name)
            continue
        if name.model != model:
            continue
        if not ref.annotated:
            # GTO and DVC ignore lightweight tags too, so it would be a silent disagreement.
            warnings.append(
                f"tag {ref.name} is a lightweight tag and is ignored: recreate it as an annotated "
                f"tag (git tag -a -f {ref.name} {ref.commit[:12]})"
            )
            continue
        metadata, problem = parse_metadata(ref.body)
        if problem is not None:
            warnings.append(
                f"tag {ref.name}: {problem}; the tag counts as the event its name and commit say, "
                "as GTO reads it"
            )
        events.append(
            Event(
                tag=ref.name,
                name=name,
                commit=ref.commit,
                timestamp=ref.timestamp,
                tagger=ref.tagger,
                summary=ref.subject,
                metadata=metadata,
            )
        )
    if near_misses:
        shown = ", ".join(sorted(near_misses)[:10])
        more = f" and {len(near_misses) - 10} more" if len(near_misses) > 10 else ""
        warnings.append(
            f"{len(near_misses)} tag(s) look like {model}'s but are not in GTO's grammar and are "
            f"ignored, as GTO ignores them: {shown}{more} (a stage tag needs its counter, "
            f"{model_in_tag(model)}#prod#7; a version is vMAJOR.MINOR.PATCH with ASCII digits and "
            "no leading zeros)"
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
            anchors[id(e)] = min(recorded, last)  # a counter nobody wrote yet is a lie
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


def live_versions(
    history: Iterable[Event], withdrawn: Set[Version] = frozenset()
) -> dict[str, Live]:
    """The one rule: per stage, the version of the latest assign (by counter) that no later
    unassign of that version retracted. A `withdrawn` (deregistered) version is live nowhere, as
    for GTO, whoever wrote its tags."""
    assigns: dict[str, list[tuple[int, Version, Event]]] = {}
    last_unassign: dict[tuple[str, Version], int] = {}
    for event in history:
        version = event.version
        if event.counter is None or event.name.stage is None or version is None:
            continue
        if event.action is Action.ASSIGN and version not in withdrawn:
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


def _disagreement(event: Event, version: Version | None) -> str | None:
    """The first metadata key that restates the tag's name or commit otherwise, as `key 'said'`."""
    meta = event.metadata
    claims = (
        ("model", event.name.model),
        ("event", event.action.value),
        ("stage", event.name.stage),
        ("version", None if version is None else str(version)),
        ("commit", event.commit if event.action is Action.REGISTER else None),
    )
    for key, actual in claims:
        if key not in meta or meta[key] == actual:
            continue
        said = meta[key]
        if key == "version" and isinstance(said, str) and actual is not None:
            with suppress(RegistryError):  # `v1.0.0` and `1.0.0` say the same
                if Version.parse(said) == version:
                    continue
        return f"{key} {said!r}" if actual is None else f"{key} {said!r}, not {actual!r}"
    return None


def _resolve(
    event: Event, on_commit: dict[str, list[Version]], withdrawn: Set[Version]
) -> tuple[Version | None, str | None]:
    """The version a stage event is about: the one registered on its commit, as GTO reads it (the
    metadata's own claim only picks among versions on that commit). With a warning when the tag
    cannot be read as GTO reads it."""
    here = on_commit.get(event.commit, [])
    stage = event.name.stage
    if not here:
        return None, (
            f"tag {event.tag} is on commit {event.commit[:12]}, which holds no registered version "
            f"of {event.name.model}: champion ignores it (GTO shows the commit itself as a version "
            f"in {stage})"
        )
    if len(here) == 1:
        return here[0], None
    names = ", ".join(
        f"{v} ({format_tag(TagName(event.name.model, Action.REGISTER, version=v))})" for v in here
    )
    claimed = event.metadata.get("version")
    active = [v for v in here if v not in withdrawn]
    chosen = next((v for v in here if str(v) == claimed), None)
    if chosen is None and len(active) == 1:
        chosen = active[0]
    problem = (
        f"tag {event.tag} is on commit {event.commit[:12]}, which holds {names}: GTO cannot tell "
        "which version it is about and fails on it"
    )
    if chosen is None:
        return None, f"{problem}; champion ignores it"
    return chosen, f"{problem}; champion reads it as {chosen}"


def _order_warnings(history: Sequence[Event]) -> list[str]:
    """champion orders a stage's events by counter; GTO and DVC by tag date. Say where the two
    orders differ, so that a disagreement between the readers is never silent."""
    warnings = []
    latest: dict[str, Event] = {}
    for event in history:
        stage = event.name.stage
        if stage is None or event.counter is None or event.timestamp is None:
            continue
        before = latest.get(stage)
        if before is not None and before.counter == event.counter:
            warnings.append(
                f"tags {before.tag} and {event.tag} have the same counter: their order is "
                "undefined; unassign and assign again to settle the stage"
            )
        elif (
            before is not None
            and before.timestamp is not None
            and event.timestamp < before.timestamp
        ):
            warnings.append(
                f"tag {event.tag} is dated before {before.tag} although its counter is higher: "
                f"GTO and DVC order {stage}'s tags by date, champion by counter, so they may "
                f"disagree on what is live in {stage}"
            )
        if before is None or (before.timestamp or 0) <= event.timestamp:
            latest[stage] = event
    return warnings


def build_state(model: str, refs: Iterable[RefRecord]) -> ModelState:
    events, warnings = events_from_refs(model, refs)
    registered = {
        e.name.version: e for e in events if e.name.version and e.action is Action.REGISTER
    }
    withdrawn: set[Version] = set()
    for e in events:
        if e.name.version is None or e.action is not Action.DEREGISTER:
            continue
        known = registered.get(e.name.version)
        if known is not None and known.commit == e.commit:
            if (e.timestamp or 0) >= (known.timestamp or 0):
                withdrawn.add(e.name.version)
            else:  # GTO goes by date: the registration, dated later, is the version's state
                warnings.append(
                    f"tag {e.tag} is dated before {known.tag}: GTO reads {e.name.version} as "
                    "registered, and so does champion; fix the clock that wrote it"
                )
            continue
        # GTO keys a version by name and commit: on another commit, this deregisters nothing.
        where = (
            f"{known.tag} is on {known.commit[:12]}" if known else "that version is not registered"
        )
        warnings.append(
            f"tag {e.tag} is on commit {e.commit[:12]}, but {where}: champion ignores it (GTO "
            "reads it as another version of that name, which can make it fail on that commit)"
        )
    # Commit -> the versions registered on it; a deregistered version still names its commit.
    on_commit: dict[str, list[Version]] = {}
    for v, e in sorted(registered.items(), key=lambda item: item[0]):
        on_commit.setdefault(e.commit, []).append(v)
    checked = []
    for e in events:
        version = e.name.version
        if e.name.stage is not None:
            version, problem = _resolve(e, on_commit, withdrawn)
            if problem is not None:
                warnings.append(problem)
            e = replace(e, resolved=version)
        wrong = _disagreement(e, version) if e.metadata else None
        if wrong is not None:
            warnings.append(
                f"tag {e.tag}: its metadata says {wrong}; the tag's name and commit define the "
                "event (as for GTO), so its metadata is ignored"
            )
            e = replace(e, metadata={})
        checked.append(e)
    registered = {
        e.name.version: e for e in checked if e.name.version and e.action is Action.REGISTER
    }
    history = order_events(checked)
    warnings += _order_warnings(history)
    live = live_versions(history, withdrawn)
    rolled_back = _rolled_back(history)
    versions = tuple(
        VersionInfo(
            version=v,
            tag=e.tag,
            commit=e.commit,
            timestamp=e.timestamp,
            metadata=e.metadata,
            deregistered=v in withdrawn,
            rolled_back=v in rolled_back,
        )
        for v, e in sorted(registered.items(), key=lambda item: item[0])
    )
    deprecated = _deprecated(history)
    return ModelState(model, versions, tuple(history), live, tuple(warnings), deprecated=deprecated)


def _deprecated(history: Sequence[Event]) -> bool:
    """GTO's rule: the model is deprecated while its latest event is the deprecation. GTO goes
    by tag date; so does champion when it has the dates (local tags), else by its own order."""
    if not history:
        return False
    if all(e.timestamp is not None for e in history):
        newest = max(e.timestamp or 0 for e in history)
        return [e for e in history if e.timestamp == newest][-1].action is Action.DEPRECATE
    return history[-1].action is Action.DEPRECATE


def _rolled_back(history: Iterable[Event]) -> set[Version]:
    """Versions whose last event in some stage is a rollback's unassign: a version rolled back
    and promoted there again since is not (its past stays in the history)."""
    last: dict[tuple[str, Version], Event] = {}
    for e in history:
        if e.name.stage is not None and e.version is not None and e.counter is not None:
            last[(e.name.stage, e.version)] = e
    return {
        version
        for (_, version), e in last.items()
        if e.action is Action.UNASSIGN and e.metadata.get("mark") == "rolled-back"
    }


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
    """The version live in `stage` before the current one, skipping versions rolled back (and
    not promoted again since) or deregistered, and the current one: a second rollback goes further
    back."""
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

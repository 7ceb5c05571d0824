"""What to do, before a push, with the tags of a model that this clone has and the remote has not.

A run without `--push`, or one that crashed between writing its tags and pushing them, leaves
tags that only this clone holds. With `--push`, champion decides everything against the remote's
state (so it never reports a state the remote does not have); then each of those tags is:

- reused (pushed as it is) when it is exactly a tag this run writes: same name, commit, summary and
  metadata, dated after everything the remote has;
- dropped (deleted from this clone) when it is in the way: it has the name of a tag this run writes
  but other content (the run writes its own), it is a stage event and the run is a stage operation
  (its counter was taken from a view of the stages the remote never had), it is a registration on
  the commit this run registers, or the remote holds another tag under its name;
- kept otherwise (a registration of another commit that was never pushed, say): it is not this
  run's business, and the messages say it is local when it matters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from champion.git import RefRecord
from champion.registry.metadata import parse_metadata
from champion.registry.tags import Action, parse_tag


class Planned(Protocol):
    """A tag the run is about to write (registry.NewTag)."""

    @property
    def tag(self) -> str: ...
    @property
    def commit(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def metadata(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Reconciled:
    reuse: tuple[str, ...]  # local tags pushed as they are, a prefix of the planned tags
    drop: tuple[RefRecord, ...]  # local tags to delete (or to replace by the remote's)


def same_tag(ref: RefRecord, new: Planned) -> bool:
    """Whether a tag this clone has is exactly the tag a run would write now (its date aside)."""
    if not ref.annotated or ref.name != new.tag or ref.commit != new.commit:
        return False
    if ref.subject != new.summary:
        return False
    meta, problem = parse_metadata(ref.body)
    wanted = json.loads(json.dumps({"schema": 1, **new.metadata}))
    return problem is None and meta == wanted


def reconcile(
    planned: Sequence[Planned],
    local_only: Sequence[RefRecord],
    remote_names: set[str],
    remote_newest: int,
    *,
    stages: bool,
) -> Reconciled:
    """`stages`: whether the run is a stage operation (promote, rollback, release --promote...)."""
    mine = {r.name: r for r in local_only}
    reuse: list[str] = []
    for new in planned:
        found = mine.get(new.tag)
        if (
            found is None
            or new.tag in remote_names
            or not same_tag(found, new)
            or (found.timestamp or 0) <= remote_newest
        ):
            break  # from here on, write afresh (and dated after the reused ones)
        reuse.append(new.tag)
    names = {t.tag for t in planned}
    registering = {
        t.commit for t in planned if (p := parse_tag(t.tag)) and p.action is Action.REGISTER
    }
    drop = []
    for ref in local_only:
        if ref.name in reuse:
            continue
        parsed = parse_tag(ref.name)
        in_the_way = (
            ref.name in names
            or ref.name in remote_names
            or (stages and parsed is not None and parsed.stage is not None)
            or (
                parsed is not None
                and parsed.action is Action.REGISTER
                and ref.commit in registering
            )
        )
        if in_the_way:
            drop.append(ref)
    return Reconciled(tuple(reuse), tuple(drop))

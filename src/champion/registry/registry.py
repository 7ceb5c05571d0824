"""Registry operations on one repository: read a model's state; register, assign, unassign and
deregister with all-or-nothing pushes that retry on contention and never overwrite a tag (and
move the model's counter ref with a lease, so no two writes take the same counter).

With `--push`, every decision is made against the remote's state, never this clone's: tags that
only this clone has (a run without --push, a crash before the push) are pushed when they are
exactly what the run writes and deleted otherwise (registry/sync.py), and the result says which.

What each operation writes is decided in registry/plans.py (pure); this module reads the tags and
writes them. Over 400 lines: one class whose reads, thin operations and retrying write loop share
the sync with the remote."""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from champion._version import __version__
from champion.ci import context
from champion.errors import GitError, PushRejected, RegistryError
from champion.git import Git, Lease, RefRecord
from champion.registry import plans
from champion.registry.plans import Plan
from champion.registry.state import (
    Live,
    ModelState,
    VersionInfo,
    build_state,
)
from champion.registry.sync import reconcile
from champion.registry.tags import (
    FIRST_VERSION,
    Version,
    model_in_tag,
    parse_tag,
    ref_patterns,
)

MAX_ATTEMPTS = 12
_MODEL_PART = re.compile("[@#]")
# Where a push-planning run mirrors the remote's tags of a model for a moment (one fetch, one
# consistent snapshot, with the tag messages); emptied again right after.
_MIRROR = "refs/champion/fetched/"
# Each push that writes stage tags also moves the model's counter ref (to its newest tag) from the
# value the plan was made with: two writers who took the same counter on different stages
# (churn#prod#4 and churn#staging#4, names that never collide) cannot both land, so the counter
# stays 1 + the largest of ALL the model's tags (DESIGN.md). Outside refs/tags: GTO never sees it.
_COUNTERS = "refs/champion/counters/"
_COUNTER_MIRROR = "refs/champion/fetched-counter"  # beside _MIRROR: no model's tags are there
# A fetch reads the remote's refs one by one, so it can catch a write halfway through its atomic
# update (its counter ref moved, a tag not yet): then it reads again, this many times at most.
_TORN_READS = 3
# A rejected ref for one of these reasons means someone else wrote first: refetch and recompute.
# The reasons can come on the `!` ref lines or on the remote's own `remote: error:` lines; an
# atomic transaction that lost a race says only "atomic transaction failed" on the ref lines, and
# a counter ref another write moved is "stale info" (or, moved during the push, "cannot lock").
_CONTENTION = (
    "already exists",
    "cannot lock ref",
    "atomic transaction failed",
    "failed to update",
    "fetch first",
    "stale info",
)
_REFUSAL = ("hook declined", "protected", "permission", "denied")


@dataclass(frozen=True)
class WriteResult:
    model: str
    plan: Plan
    pushed: bool = False
    attempts: int = 1
    remote: str | None = None
    written: tuple[str, ...] = field(default_factory=tuple)
    # Tags an earlier run left in this clone, pushed as they were (part of `written`) ...
    reused: tuple[str, ...] = ()
    # ... and those deleted from this clone: the remote never had them and this run does not
    # write them (or the remote holds other tags under their names).
    dropped: tuple[str, ...] = ()
    # What reading the tags the plan was made on had to say (tags named and ignored...).
    warnings: tuple[str, ...] = ()

    @property
    def version(self) -> Version:
        return self.plan.version

    def local_notes(self) -> list[str]:
        """What became of the tags only this clone had, for the command's output."""
        notes = []
        if self.reused:
            notes.append(
                f"{', '.join(self.reused)}: left in this clone by an earlier run that did not "
                f"push them, and exactly what this run writes, so pushed as they were"
            )
        where = self.remote or "the remote"
        written = set(self.written)
        replaced = [t for t in self.dropped if t in written]
        deleted = [t for t in self.dropped if t not in written]
        if replaced:
            notes.append(
                f"replaced {', '.join(replaced)} in this clone: an earlier run left other tags "
                f"under those names, which {where} never had; this run wrote its own, decided "
                f"from {where}'s tags"
            )
        if deleted:
            notes.append(
                f"deleted {', '.join(deleted)} from this clone: {where} never had them, and this "
                f"run, deciding from {where}'s tags, does not write them"
            )
        return notes


class StageGuard(Protocol):
    """Judges a plan before anything of it is written (champion.yaml's `policy:`, issue 20);
    raises to refuse it. Given the state the plan was made on: the remote's with --push."""

    def check(self, state: ModelState, plan: Plan) -> None: ...


class Registry:
    def __init__(
        self,
        root: str | os.PathLike[str],
        remote: str = "origin",
        *,
        guard: StageGuard | None = None,
        actor: str | None = None,
    ) -> None:
        self.git = Git(root)
        self.root = Path(root)
        self.remote = remote
        self.guard = guard
        self.actor = actor  # --actor: recorded in the tags as GITHUB_ACTOR is

    # --- reads ---------------------------------------------------------------------------------

    def state(self, model: str, remote: str | None = None) -> ModelState:
        return self.states([model], remote)[model]

    def states(self, models: Sequence[str], remote: str | None = None) -> dict[str, ModelState]:
        """One git call for all the models, listing only their own refs."""
        patterns = [p for m in models for p in ref_patterns(m)]
        if not patterns:
            return {}
        refs = self.git.ls_remote(remote, patterns) if remote else self.git.for_each_ref(patterns)
        # Group by the name's model part once, so each model parses only its own tags.
        groups: dict[str, list[RefRecord]] = {}
        for ref in refs:
            groups.setdefault(_MODEL_PART.split(ref.name, maxsplit=1)[0], []).append(ref)
        return {m: build_state(m, groups.get(model_in_tag(m), [])) for m in models}

    def refresh(self, model: str) -> None:
        """Fetches the model's tags from the remote (only its own refs; never clobbers a tag)."""
        synced = self._sync(model)
        differ = [r.name for r in synced.local_only if r.name in synced.remote]
        if differ:
            raise GitError(
                f"this clone's {', '.join(differ)} differ from the remote {self.remote!r}'s: "
                f"delete them (git tag -d {' '.join(differ)}) to take the remote's, then rerun"
            )

    def remote_state(self, model: str) -> ModelState:
        """The model's state as the remote has it, tag messages included. Tags the remote has and
        this clone lacks are fetched; this clone's own tags are left as they are (`unpushed`
        names those the remote does not have)."""
        return self._sync(model).state

    def _check_remote(self) -> None:
        if not self.git.remote_exists(self.remote):
            raise GitError(
                f"the repository has no remote {self.remote!r} to push to: add one "
                f"(git remote add {self.remote} URL) or drop --push"
            )

    def _sync(self, model: str) -> _Synced:
        self._check_remote()
        for _ in range(_TORN_READS):
            synced = self._fetch(model)
            # The counter ref names the newest tag of the write that moved it: when that tag is
            # missing, the fetch saw the write halfway, and a plan made on it would reuse its
            # counter with the lease still holding. (A tag deleted by hand stays missing: then
            # the counter is 1 + the largest of the tags that are left, as GTO counts.)
            if not synced.counter or synced.counter in {r.oid for r in synced.remote.values()}:
                break
        return synced

    def _fetch(self, model: str) -> _Synced:
        patterns = ref_patterns(model)
        mirrored = [_MIRROR + p.removeprefix("refs/tags/") for p in patterns]
        # A glob, so that a remote without the ref fails nothing (its `*` matches the empty tail).
        counter = [(f"{counter_ref(model)}*", f"{_COUNTER_MIRROR}*")]
        unread: list[RefRecord] = []
        try:
            self.git.fetch_mirror(self.remote, patterns, _MIRROR, also=counter)
        except GitError:
            # A ref git cannot store here (a name of 5000 digits, put in the remote's
            # packed-refs by hand) fails the whole fetch: fetch the tags in champion's grammar by
            # name instead, and hand the others to build_state as refs it will name and ignore.
            listed = self.git.ls_remote(self.remote, patterns)
            unread = [r for r in listed if parse_tag(r.name) is None]
            self._clear_mirror(mirrored)
            wanted = [f"refs/tags/{r.name}" for r in listed if parse_tag(r.name) is not None]
            self.git.fetch_mirror(self.remote, wanted, _MIRROR, prune=False, also=counter)
        theirs = self.git.for_each_ref(mirrored, prefix=_MIRROR)
        counted = self.git.for_each_ref([f"{_COUNTER_MIRROR}*"], prefix="")
        self.git.update_refs(
            delete=[
                *((_MIRROR + r.name, r.oid) for r in theirs),
                *((r.name, r.oid) for r in counted),
            ]
        )
        at = next((r.oid for r in counted if r.name == _COUNTER_MIRROR), "")
        mine = self.git.for_each_ref(patterns)
        remote = {r.name: r for r in theirs}
        have = {r.name for r in mine}
        # What the remote has and this clone lacks comes in; no local tag is overwritten here.
        self.git.update_refs(
            create=[(f"refs/tags/{r.name}", r.oid) for r in theirs if r.name not in have]
        )
        local_only = tuple(r for r in mine if r.name not in remote or remote[r.name].oid != r.oid)
        state = build_state(model, [*theirs, *unread])
        state = replace(state, unpushed=tuple(r.name for r in local_only))
        return _Synced(state, local_only, remote, at)

    def _clear_mirror(self, mirrored: Sequence[str]) -> None:
        found = self.git.for_each_ref(mirrored, prefix="")
        self.git.update_refs(delete=[(r.name, r.oid) for r in found])

    def _drop(self, refs: Sequence[RefRecord], synced: _Synced) -> None:
        """Deletes this clone's tags in `refs`; one the remote has under the same name becomes the
        remote's."""
        remote = synced.remote
        self.git.update_refs(
            update=[
                (f"refs/tags/{r.name}", remote[r.name].oid, r.oid) for r in refs if r.name in remote
            ],
            delete=[(f"refs/tags/{r.name}", r.oid) for r in refs if r.name not in remote],
        )

    # --- writes --------------------------------------------------------------------------------

    def register(
        self,
        model: str,
        commit: str,
        *,
        version: Version | None = None,
        bump: str | None = None,
        first_version: Version = FIRST_VERSION,
        message: str | None = None,
        metadata: dict[str, Any] | None = None,
        bump_reason: str | None = None,
        promote: str | None = None,
        promote_metadata: dict[str, Any] | None = None,
        push: bool = False,
    ) -> WriteResult:
        """Registers a version on `commit`; with `promote`, also makes it the live version of that
        stage, all in one atomic push (`promote_metadata` goes into the assign's tag)."""
        if version is not None and bump is not None:
            raise RegistryError("pass either a version or a bump, not both")
        extra = dict(metadata or {})

        return self._write(
            model,
            lambda state: plans.register(
                state,
                model,
                commit,
                _context(),
                version=version,
                bump=bump,
                first_version=first_version,
                message=message,
                extra=extra,
                bump_reason=bump_reason,
                promote=promote,
                promote_metadata=promote_metadata,
            ),
            push,
        )

    def assign(
        self,
        model: str,
        version: Version,
        stage: str,
        *,
        reason: str = "",
        metadata: dict[str, Any] | None = None,
        push: bool = False,
    ) -> WriteResult:
        """Makes `version` the one live version of `stage`: unassigns the current one first."""

        return self._write(
            model,
            lambda state: plans.assign(
                state, model, version, stage, _context(), reason=reason, metadata=metadata
            ),
            push,
        )

    def unassign(
        self, model: str, stage: str, *, reason: str = "", push: bool = False
    ) -> WriteResult:
        return self._write(
            model,
            lambda state: plans.unassign(state, model, stage, _context(), reason=reason),
            push,
        )

    def rollback(
        self,
        model: str,
        stage: str,
        *,
        reason: str,
        to: Version | None = None,
        verify: Callable[[VersionInfo], None] | None = None,
        metadata: dict[str, Any] | None = None,
        push: bool = False,
        dry_run: bool = False,
    ) -> WriteResult:
        """Moves `stage` back to the version live before the current one (or to `to`): unassigns
        the current version, marked rolled back, and assigns the target, in one atomic push.
        `verify` checks the target's artifact before anything is written. A re-run of the same CI
        run finds its own rollback and does nothing, so it never goes one version further back."""
        if not reason.strip():
            raise RegistryError(
                "a rollback needs a reason (--reason TEXT): it goes into the audit trail"
            )
        verified: set[Version] = set()
        run = context.run_id()
        issued: list[Live | None] = []  # what was live when the rollback was first planned

        def plan(state: ModelState) -> Plan:
            return plans.rollback(
                state,
                model,
                stage,
                _context(),
                reason=reason,
                to=to,
                metadata=metadata,
                run=run,
                issued=issued,
                verify=verify,
                verified=verified,
            )

        return self._write(model, plan, push, dry_run=dry_run)

    # --- canaries: the stage `S-canary` holds the version that takes a share of S's traffic -----

    def canary_start(
        self,
        model: str,
        stage: str,
        version: Version,
        weight: float,
        *,
        reason: str = "",
        push: bool = False,
    ) -> WriteResult:
        return self._write(
            model,
            lambda state: plans.canary_start(
                state, model, stage, version, weight, _context(), reason=reason
            ),
            push,
        )

    def canary_promote(self, model: str, stage: str, *, push: bool = False) -> WriteResult:
        """The canary becomes the live version of `stage`, and the canary slot empties, at once."""

        return self._write(
            model, lambda state: plans.canary_promote(state, model, stage, _context()), push
        )

    def canary_abort(
        self, model: str, stage: str, *, reason: str = "", push: bool = False
    ) -> WriteResult:
        return self._write(
            model,
            lambda state: plans.canary_abort(state, model, stage, _context(), reason=reason),
            push,
        )

    def deregister(
        self, model: str, version: Version, *, reason: str = "", push: bool = False
    ) -> WriteResult:
        return self._write(
            model,
            lambda state: plans.deregister(state, model, version, _context(), reason=reason),
            push,
        )

    # --- the write loop ------------------------------------------------------------------------

    def _write(
        self,
        model: str,
        plan: Callable[[ModelState], Plan],
        push: bool,
        *,
        dry_run: bool = False,
    ) -> WriteResult:
        if push:
            return self._write_pushed(model, plan, dry_run)
        state = self.state(model)
        planned = self._checked(state, plan(state))  # validates; raises before anything is written
        if dry_run or not planned.tags:
            return WriteResult(model, planned, warnings=state.warnings)
        first = _next_tag_time(state)
        self.git.create_tags(
            (t.tag, t.commit, t.message(), first + i) for i, t in enumerate(planned.tags)
        )
        written = tuple(t.tag for t in planned.tags)
        return WriteResult(model, planned, written=written, warnings=state.warnings)

    def _checked(self, state: ModelState, planned: Plan) -> Plan:
        """The one gate every write passes: the guard's judgement of any stage tag, then the
        acting identity stamped on every tag."""
        if not planned.tags:
            return planned
        if self.guard is not None and any(t.name.stage for t in planned.tags):
            self.guard.check(state, planned)
        if self.actor is None:
            return planned
        tags = tuple(replace(t, metadata={**t.metadata, "actor": self.actor}) for t in planned.tags)
        return replace(planned, tags=tags)

    def _write_pushed(
        self, model: str, plan: Callable[[ModelState], Plan], dry_run: bool
    ) -> WriteResult:
        dropped: list[str] = []
        for attempt in range(1, MAX_ATTEMPTS + 1):
            synced = self._sync(model)
            # Validates and judges; raises before anything is written.
            planned = self._checked(synced.state, plan(synced.state))
            newest = _newest(synced.state)
            found = reconcile(
                planned.tags,
                synced.local_only,
                set(synced.remote),
                newest,
                stages=planned.stage is not None,
            )
            if dry_run:
                return WriteResult(
                    model,
                    planned,
                    attempts=attempt,
                    remote=self.remote,
                    reused=found.reuse,
                    dropped=tuple(r.name for r in found.drop),
                    warnings=synced.state.warnings,
                )
            self._drop(found.drop, synced)
            dropped += [r.name for r in found.drop]
            if not planned.tags:
                return WriteResult(
                    model,
                    planned,
                    pushed=True,
                    attempts=attempt,
                    remote=self.remote,
                    dropped=tuple(dropped),
                    warnings=synced.state.warnings,
                )
            reused_at = [r.timestamp or 0 for r in synced.local_only if r.name in found.reuse]
            first = max(_next_tag_time(synced.state), max(reused_at, default=0) + 1)
            fresh = [t for t in planned.tags if t.tag not in found.reuse]
            oids = self.git.create_tags(
                (t.tag, t.commit, t.message(), first + i) for i, t in enumerate(fresh)
            )
            oids |= {r.name: r.oid for r in synced.local_only if r.name in found.reuse}
            names = [t.tag for t in planned.tags]
            lease = _counter_lease(model, planned, oids, synced.counter)
            ok, output = self.git.push_atomic(self.remote, names, lease=lease)
            if ok:
                return WriteResult(
                    model,
                    planned,
                    pushed=True,
                    attempts=attempt,
                    remote=self.remote,
                    written=tuple(names),
                    reused=found.reuse,
                    dropped=tuple(dropped),
                    warnings=synced.state.warnings,
                )
            # Nothing of ours reached the remote (the push is atomic): drop the tags written now;
            # the next round decides about every tag only this clone has, as this one did.
            self.git.delete_tags([t.tag for t in fresh])
            if not _is_contention(output):
                raise GitError(
                    f"push of {', '.join(names)} to {self.remote!r} was refused: {output}"
                )
            time.sleep(random.uniform(0.02, 0.1) * min(attempt, 5))
        raise PushRejected(
            f"{model}: the remote {self.remote!r} rejected the push {MAX_ATTEMPTS} times because others "
            "kept writing first; nothing was written: run the command again"
        )


@dataclass(frozen=True)
class _Synced:
    state: ModelState  # the remote's
    local_only: tuple[RefRecord, ...]  # this clone's tags of the model that the remote lacks
    remote: dict[str, RefRecord]
    counter: str = ""  # where the remote's counter ref points ("" when it has none)


def counter_ref(model: str) -> str:
    """The ref a counted write moves (the `#counter` tail: a model `a` and a model `a/b` would
    otherwise need a ref and a folder of the same name)."""
    return f"{_COUNTERS}{model_in_tag(model)}#counter"


def _counter_lease(model: str, planned: Plan, oids: dict[str, str], expected: str) -> Lease | None:
    """The counter ref moved to the plan's newest counted tag, from where the plan found it;
    None for a plan without counters (a registration, a deregistration), which takes none."""
    counted = [t for t in planned.tags if t.name.counter is not None]
    if not counted:
        return None
    newest = max(counted, key=lambda t: t.name.counter or 0)
    return Lease(counter_ref(model), oids[newest.tag], expected)


def _newest(state: ModelState) -> int:
    return max((e.timestamp or 0 for e in state.history), default=0)


def _next_tag_time(state: ModelState) -> int:
    """GTO and DVC order a model's tags by their date, in whole seconds, where champion uses the
    counter. Dating every new tag after the model's newest (one second apart within a batch)
    keeps the two orders the same, so all readers agree even after several writes in a second."""
    return max(int(time.time()), _newest(state) + 1)


def _is_contention(output: str) -> bool:
    text = output.lower()
    if any(reason in text for reason in _REFUSAL):
        return False
    return any(reason in text for reason in _CONTENTION)


def _context() -> dict[str, Any]:
    """Who and where, for the audit trail."""
    ctx: dict[str, Any] = {"tool": {"champion": __version__}}
    actor = context.actor()
    if actor:
        ctx["actor"] = actor
    url = context.run_url()
    if url:
        ctx["run_url"] = url
    run = context.run_id()
    if run:
        ctx["run_id"] = run
    return ctx

"""Registry operations on one repository: read a model's state; register, assign, unassign and
deregister with all-or-nothing pushes that retry on contention and never overwrite a tag.

With `--push`, every decision is made against the remote's state, never this clone's: tags that
only this clone has (a run without --push, a crash before the push) are pushed when they are
exactly what the run writes and deleted otherwise (registry/sync.py), and the result says which."""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from champion import ci
from champion._version import __version__
from champion.errors import GitError, PushRejected, RegistryError
from champion.registry.git import Git, RefRecord
from champion.registry.state import (
    Live,
    ModelState,
    VersionInfo,
    build_state,
    canary_weight,
    rollback_target,
)
from champion.registry.sync import reconcile
from champion.registry.tags import (
    FIRST_VERSION,
    Action,
    TagName,
    Version,
    canary_stage,
    format_tag,
    model_in_tag,
    parse_tag,
    ref_patterns,
)

MAX_ATTEMPTS = 12
_MODEL_PART = re.compile("[@#]")
# Where a push-planning run mirrors the remote's tags of a model for a moment (one fetch, one
# consistent snapshot, with the tag messages); emptied again right after.
_MIRROR = "refs/champion/fetched/"
# A rejected ref for one of these reasons means someone else wrote first: refetch and recompute.
# The reasons can come on the `!` ref lines or on the remote's own `remote: error:` lines; an
# atomic transaction that lost a race says only "atomic transaction failed" on the ref lines.
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
class NewTag:
    name: TagName
    commit: str
    summary: str
    metadata: dict[str, Any]

    @property
    def tag(self) -> str:
        return format_tag(self.name)

    def message(self) -> str:
        body = json.dumps({"schema": 1, **self.metadata}, sort_keys=True, indent=2)
        return f"{self.summary}\n\n{body}\n"


@dataclass(frozen=True)
class Plan:
    """What one operation writes; `tags` empty means it has nothing to do (e.g. already live)."""

    version: Version
    tags: tuple[NewTag, ...] = ()
    stage: str | None = None
    previous: Version | None = None
    bump: str | None = None
    note: str = ""


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


def bump_between(parent: Version | None, version: Version) -> str | None:
    if parent is None:
        return None
    if version.major != parent.major:
        return "major"
    if version.minor != parent.minor:
        return "minor"
    return "patch"


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
        patterns = ref_patterns(model)
        mirrored = [_MIRROR + p.removeprefix("refs/tags/") for p in patterns]
        unread: list[RefRecord] = []
        try:
            self.git.fetch_mirror(self.remote, patterns, _MIRROR)
        except GitError:
            # A ref git cannot store here (a name of 5000 digits, put in the remote's
            # packed-refs by hand) fails the whole fetch: fetch the tags in champion's grammar by
            # name instead, and hand the others to build_state as refs it will name and ignore.
            listed = self.git.ls_remote(self.remote, patterns)
            unread = [r for r in listed if parse_tag(r.name) is None]
            self._clear_mirror(mirrored)
            wanted = [f"refs/tags/{r.name}" for r in listed if parse_tag(r.name) is not None]
            self.git.fetch_mirror(self.remote, wanted, _MIRROR, prune=False)
        theirs = self.git.for_each_ref(mirrored, prefix=_MIRROR)
        self.git.update_refs(delete=[(_MIRROR + r.name, r.oid) for r in theirs])
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
        return _Synced(state, local_only, remote)

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

        def plan(state: ModelState) -> Plan:
            taken = state.version_of_commit(commit)
            if taken is not None:
                raise RegistryError(
                    f"commit {commit[:12]} already holds {model} {taken.version} ({taken.tag}): a commit "
                    "has one version per model; commit the new artifact first"
                )
            withdrawn = next((v for v in state.versions if v.commit == commit), None)
            if withdrawn is not None:
                # GTO finds a stage tag's version by its commit, and fails on a commit that holds
                # two (its ManyVersions): one version per commit, deregistered or not.
                raise RegistryError(
                    f"commit {commit[:12]} held {model} {withdrawn.version} ({withdrawn.tag}, "
                    "deregistered): GTO could not tell two versions of one commit apart; make a new "
                    "commit (git commit --allow-empty -m 're-release') and register that"
                )
            highest = max(
                (v.version for v in state.versions), default=None
            )  # deregistered count too
            if version is not None:
                existing = state.find(version)
                if existing is not None:
                    gone = (
                        " and deregistered; versions are never reused"
                        if existing.deregistered
                        else ""
                    )
                    raise RegistryError(
                        f"{model} {version} is already registered ({existing.tag}{gone}): choose another "
                        "version, or use --bump"
                    )
                chosen, reason = version, "explicit version"
            elif highest is None:
                chosen, reason = first_version, "first version"
            else:
                part = bump or "patch"
                chosen = highest.bump(part)
                reason = f"--bump {part}" if bump else "default bump (patch)"
            if bump_reason:
                reason = bump_reason
            parent = state.latest.version if state.latest else None
            kind = bump_between(parent, chosen)
            meta = {
                "event": "register",
                "model": model,
                "version": str(chosen),
                "commit": commit,
                "parent": str(parent) if parent else None,
                "bump": kind,
                "bump_reason": reason,
                "after_counter": state.max_counter,
                **_context(),
                **extra,
            }
            if message:
                meta["message"] = message
            summary = f"Register {model} {chosen.tag_form}"
            tag = NewTag(TagName(model, Action.REGISTER, version=chosen), commit, summary, meta)
            tags: tuple[NewTag, ...] = (tag,)
            if promote:
                assign_meta = {**_context(), **(promote_metadata or {})}
                tags += _assign_tags(state, model, chosen, commit, promote, assign_meta)
            return Plan(version=chosen, tags=tags, stage=promote, previous=parent, bump=kind)

        return self._write(model, plan, push)

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

        def plan(state: ModelState) -> Plan:
            target = _active(state, version)
            current = state.live.get(stage)
            if current is not None and current.version == version:
                return Plan(version, stage=stage, previous=version, note=f"already live in {stage}")
            base = {**_context(), **(metadata or {})}
            if reason:
                base["reason"] = reason
            tags = _assign_tags(state, model, version, target.commit, stage, base)
            return Plan(
                version, tags=tags, stage=stage, previous=current.version if current else None
            )

        return self._write(model, plan, push)

    def unassign(
        self, model: str, stage: str, *, reason: str = "", push: bool = False
    ) -> WriteResult:
        def plan(state: ModelState) -> Plan:
            current = state.live.get(stage)
            if current is None:
                raise RegistryError(
                    f"no version of {model} is live in {stage}: nothing to unassign"
                )
            meta = {
                **_context(),
                "event": "unassign",
                "model": model,
                "stage": stage,
                "version": str(current.version),
            }
            if reason:
                meta["reason"] = reason
            tag = NewTag(
                TagName(model, Action.UNASSIGN, stage=stage, counter=state.max_counter + 1),
                current.commit,
                f"Unassign {model} {current.version.tag_form} from {stage}",
                meta,
            )
            return Plan(current.version, tags=(tag,), stage=stage, previous=current.version)

        return self._write(model, plan, push)

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
        run = ci.run_id()
        issued: list[Live | None] = []  # what was live when the rollback was first planned

        def plan(state: ModelState) -> Plan:
            current = state.live.get(stage)
            done = _rollback_of_run(state, stage, run)
            if done is not None:
                return Plan(
                    done.version,
                    stage=stage,
                    previous=done.previous,
                    note=f"already rolled back by this run ({done.tag})",
                )
            if not issued:
                issued.append(current)
            elif (was := issued[0]) is not None and (
                current is None or current.version != was.version
            ):
                return _after_lost_race(state, stage, was, current, to)
            if current is None:
                raise RegistryError(
                    f"no version of {model} is live in {stage}: nothing to roll back; promote one "
                    f"instead (champion promote {model} VERSION --stage {stage})"
                )
            if to is not None:
                target = _active(state, to)
                if to == current.version:
                    raise RegistryError(
                        f"{model} {to} is already the live version in {stage}: name another "
                        "version with --to, or leave --to out to go back to the previous one"
                    )
            else:
                found = rollback_target(state, stage)
                if found is None:
                    raise RegistryError(
                        f"no version of {model} was live in {stage} before {current.version} that was "
                        "not since rolled back or deregistered: name one with --to VERSION"
                    )
                target = found
            if verify is not None and target.version not in verified:
                verify(target)
                verified.add(target.version)
            base = {**_context(), **(metadata or {}), "reason": reason}
            tags = _assign_tags(
                state,
                model,
                target.version,
                target.commit,
                stage,
                base,
                unassign_extra={"mark": "rolled-back"},
                assign_extra={"rollback": True, "to": str(target.version)},
            )
            return Plan(target.version, tags=tags, stage=stage, previous=current.version)

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
        trial = canary_stage(stage)

        def plan(state: ModelState) -> Plan:
            target = _active(state, version)
            live = state.live.get(stage)
            if live is not None and live.version == version:
                raise RegistryError(
                    f"{model} {version} is already live in {stage}: a canary is another version"
                )
            current = state.live.get(trial)
            same = current is not None and current.version == version
            if same and current is not None and canary_weight(state, current.tag) == weight:
                return Plan(version, stage=trial, note=f"already the canary of {stage}")
            base = {**_context(), "canary": {"stage": stage, "weight": weight}}
            if reason:
                base["reason"] = reason
            # A new weight for the same version: assign it again, with nothing to unassign.
            view = replace(state, live={}) if same else state
            tags = _assign_tags(view, model, version, target.commit, trial, base)
            return Plan(
                version, tags=tags, stage=trial, previous=current.version if current else None
            )

        return self._write(model, plan, push)

    def canary_promote(self, model: str, stage: str, *, push: bool = False) -> WriteResult:
        """The canary becomes the live version of `stage`, and the canary slot empties, at once."""
        trial = canary_stage(stage)

        def plan(state: ModelState) -> Plan:
            current = state.live.get(trial)
            if current is None:
                raise RegistryError(f"{model} has no canary in {stage}: start one first")
            info = _active(state, current.version)
            base = {**_context(), "canary_promoted": True}
            tags = _assign_tags(state, model, current.version, info.commit, stage, base)
            counter = state.max_counter + len(tags) + 1
            tags += (_unassign_tag(model, trial, current, counter, base),)
            live = state.live.get(stage)
            return Plan(
                current.version, tags=tags, stage=stage, previous=live.version if live else None
            )

        return self._write(model, plan, push)

    def canary_abort(
        self, model: str, stage: str, *, reason: str = "", push: bool = False
    ) -> WriteResult:
        trial = canary_stage(stage)

        def plan(state: ModelState) -> Plan:
            current = state.live.get(trial)
            if current is None:
                raise RegistryError(f"{model} has no canary in {stage}: nothing to abort")
            base = {**_context(), "mark": "canary-aborted"}
            if reason:
                base["reason"] = reason
            tag = _unassign_tag(model, trial, current, state.max_counter + 1, base)
            return Plan(current.version, tags=(tag,), stage=trial, previous=current.version)

        return self._write(model, plan, push)

    def deregister(
        self, model: str, version: Version, *, reason: str = "", push: bool = False
    ) -> WriteResult:
        def plan(state: ModelState) -> Plan:
            info = state.find(version)
            if info is None:
                raise _unknown_version(model, version, state)
            if info.deregistered:
                return Plan(version, note="already deregistered")
            live_in = state.stages_of(version)
            if live_in:
                raise RegistryError(
                    f"{model} {version} is live in {', '.join(live_in)}: promote another version "
                    "there (or unassign it) before deregistering it"
                )
            meta = {
                **_context(),
                "event": "deregister",
                "model": model,
                "version": str(version),
                "after_counter": state.max_counter,
            }
            if reason:
                meta["reason"] = reason
            tag = NewTag(
                TagName(model, Action.DEREGISTER, version=version),
                info.commit,
                f"Deregister {model} {version.tag_form}",
                meta,
            )
            return Plan(version, tags=(tag,))

        return self._write(model, plan, push)

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
            self.git.create_tags(
                (t.tag, t.commit, t.message(), first + i) for i, t in enumerate(fresh)
            )
            names = [t.tag for t in planned.tags]
            ok, output = self.git.push_atomic(self.remote, names)
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


def _newest(state: ModelState) -> int:
    return max((e.timestamp or 0 for e in state.history), default=0)


def _next_tag_time(state: ModelState) -> int:
    """GTO and DVC order a model's tags by their date, in whole seconds, where champion uses the
    counter. Dating every new tag after the model's newest (one second apart within a batch)
    keeps the two orders the same, so all readers agree even after several writes in a second."""
    return max(int(time.time()), _newest(state) + 1)


def _assign_tags(
    state: ModelState,
    model: str,
    version: Version,
    commit: str,
    stage: str,
    base: dict[str, Any],
    *,
    unassign_extra: dict[str, Any] | None = None,
    assign_extra: dict[str, Any] | None = None,
) -> tuple[NewTag, ...]:
    """A stage holds one live version: unassign the current one (if any), then assign."""
    current = state.live.get(stage)
    counter = state.max_counter
    tags = []
    if current is not None:
        counter += 1
        tags.append(
            NewTag(
                TagName(model, Action.UNASSIGN, stage=stage, counter=counter),
                current.commit,
                f"Unassign {model} {current.version.tag_form} from {stage}",
                {
                    **base,
                    "event": "unassign",
                    "model": model,
                    "stage": stage,
                    "version": str(current.version),
                    "replaced_by": str(version),
                    **(unassign_extra or {}),
                },
            )
        )
    counter += 1
    previous = current.version if current else None
    tags.append(
        NewTag(
            TagName(model, Action.ASSIGN, stage=stage, counter=counter),
            commit,
            f"Assign {model} {version.tag_form} to {stage}",
            {
                **base,
                "event": "assign",
                "model": model,
                "stage": stage,
                "version": str(version),
                "from": str(previous) if previous else None,
                **(assign_extra or {}),
            },
        )
    )
    return tuple(tags)


def _unassign_tag(
    model: str, stage: str, current: Live, counter: int, base: dict[str, Any]
) -> NewTag:
    return NewTag(
        TagName(model, Action.UNASSIGN, stage=stage, counter=counter),
        current.commit,
        f"Unassign {model} {current.version.tag_form} from {stage}",
        {
            **base,
            "event": "unassign",
            "model": model,
            "stage": stage,
            "version": str(current.version),
        },
    )


def _is_contention(output: str) -> bool:
    text = output.lower()
    if any(reason in text for reason in _REFUSAL):
        return False
    return any(reason in text for reason in _CONTENTION)


def _active(state: ModelState, version: Version) -> VersionInfo:
    info = state.find(version)
    if info is None:
        raise _unknown_version(state.model, version, state)
    if info.deregistered:
        raise RegistryError(f"{state.model} {version} was deregistered and cannot be assigned")
    return info


def _unknown_version(model: str, version: Version, state: ModelState) -> RegistryError:
    tag = format_tag(TagName(model, Action.REGISTER, version=version))
    if tag in state.unpushed:
        return RegistryError(
            f"{model} {version} is registered only in this clone ({tag} was never pushed): push "
            f"it first (git push origin {tag}), or register again with --push"
        )
    known = ", ".join(str(v.version) for v in state.versions[-5:]) or "none yet"
    return RegistryError(
        f"{model} {version} is not registered: register it first (champion register {model} "
        f"--version {version}); latest versions: {known}"
    )


def _context() -> dict[str, Any]:
    """Who and where, for the audit trail."""
    ctx: dict[str, Any] = {"tool": {"champion": __version__}}
    actor = ci.actor()
    if actor:
        ctx["actor"] = actor
    url = ci.run_url()
    if url:
        ctx["run_url"] = url
    run = ci.run_id()
    if run:
        ctx["run_id"] = run
    return ctx


@dataclass(frozen=True)
class _DoneRollback:
    tag: str
    version: Version
    previous: Version | None


def _after_lost_race(
    state: ModelState, stage: str, was: Live, current: Live | None, to: Version | None
) -> Plan:
    """A rollback lost a race and the remote's stage moved meanwhile. It acted on `was`: if
    someone else already took `was` out (or put `to` in), there is nothing left to do; otherwise
    it stops rather than roll back a version nobody asked it to, or return to `was`."""
    model = state.model
    if current is not None and to is not None and current.version == to:
        return Plan(to, stage=stage, previous=to, note=f"{to} is already live in {stage}")
    info = state.find(was.version)
    if current is not None and to is None and info is not None and info.rolled_back:
        return Plan(
            current.version,
            stage=stage,
            previous=current.version,
            note=(
                f"{was.version} was rolled back by another run meanwhile ({current.tag} made "
                f"{current.version} live)"
            ),
        )
    now = f"{current.version} is live now ({current.tag})" if current else "nothing is live now"
    raise RegistryError(
        f"{stage} of {model} changed while this rollback was being pushed: it was issued against "
        f"{was.version} ({was.tag}), and {now}. Refusing to roll back a version it was not asked "
        f"to, or to return to {was.version}: check champion status {model} and run the rollback "
        "again if one is still needed"
    )


def _rollback_of_run(state: ModelState, stage: str, run: str | None) -> _DoneRollback | None:
    """The stage's latest event, if it is a rollback this very run wrote (a re-run's view)."""
    if not run:
        return None
    events = [e for e in state.history if e.name.stage == stage and e.counter is not None]
    if not events:
        return None
    last = events[-1]
    meta = last.metadata
    if last.action is not Action.ASSIGN or not meta.get("rollback") or meta.get("run_id") != run:
        return None
    was = meta.get("from")
    return _DoneRollback(
        last.tag,
        last.version or Version.parse(str(meta.get("version"))),
        Version.parse(was) if isinstance(was, str) else None,
    )

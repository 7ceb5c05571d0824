"""Registry operations on one repository: read a model's state; register, assign, unassign and
deregister with all-or-nothing pushes that retry on contention and never overwrite a tag."""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

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
from champion.registry.tags import (
    FIRST_VERSION,
    Action,
    TagName,
    Version,
    canary_stage,
    format_tag,
    model_in_tag,
    ref_patterns,
)

MAX_ATTEMPTS = 12
_MODEL_PART = re.compile("[@#]")
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

    @property
    def version(self) -> Version:
        return self.plan.version


def bump_between(parent: Version | None, version: Version) -> str | None:
    if parent is None:
        return None
    if version.major != parent.major:
        return "major"
    if version.minor != parent.minor:
        return "minor"
    return "patch"


class Registry:
    def __init__(self, root: str | os.PathLike[str], remote: str = "origin") -> None:
        self.git = Git(root)
        self.root = Path(root)
        self.remote = remote

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
        if not self.git.remote_exists(self.remote):
            raise GitError(
                f"the repository has no remote {self.remote!r} to push to: add one "
                f"(git remote add {self.remote} URL) or drop --push"
            )
        self.git.fetch_tags(self.remote, ref_patterns(model))

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
                    "has one version per model; commit the new artifact first, or deregister that version"
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
        patterns = ref_patterns(model)
        if push:
            self.refresh(model)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            state = self.state(model)
            planned = plan(state)  # validates; raises before anything is written
            if dry_run or not planned.tags:
                return WriteResult(model, planned, pushed=push, attempts=attempt)
            names = [t.tag for t in planned.tags]
            first = _next_tag_time(state)
            self.git.create_tags(
                (t.tag, t.commit, t.message(), first + i) for i, t in enumerate(planned.tags)
            )
            if not push:
                return WriteResult(model, planned, attempts=attempt, written=tuple(names))
            ok, output = self.git.push_atomic(self.remote, names)
            if ok:
                return WriteResult(
                    model,
                    planned,
                    pushed=True,
                    attempts=attempt,
                    remote=self.remote,
                    written=tuple(names),
                )
            # Nothing of ours reached the remote (the push is atomic): drop our local tags so the
            # remote's can be fetched in their place, then plan again.
            self.git.delete_tags(names)
            if not _is_contention(output):
                raise GitError(
                    f"push of {', '.join(names)} to {self.remote!r} was refused: {output}"
                )
            time.sleep(random.uniform(0.02, 0.1) * min(attempt, 5))
            self.git.fetch_tags(self.remote, patterns)
        raise PushRejected(
            f"{model}: the remote {self.remote!r} rejected the push {MAX_ATTEMPTS} times because others "
            "kept writing first; nothing was written: run the command again"
        )


def _next_tag_time(state: ModelState) -> int:
    """GTO and DVC order a model's tags by their date, in whole seconds, where champion uses the
    counter. Dating every new tag after the model's newest (one second apart within a batch)
    keeps the two orders the same, so all readers agree even after several writes in a second."""
    newest = max((e.timestamp or 0 for e in state.history), default=0)
    return max(int(time.time()), newest + 1)


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
    known = ", ".join(str(v.version) for v in state.versions[-5:]) or "none yet"
    return RegistryError(
        f"{model} {version} is not registered: register it first (champion register {model} "
        f"--version {version}); latest versions: {known}"
    )


def _context() -> dict[str, Any]:
    """Who and where, for the audit trail."""
    ctx: dict[str, Any] = {"tool": {"champion": __version__}, "actor": ci.actor()}
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

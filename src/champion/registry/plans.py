"""What each registry operation writes, decided from a model's state alone: pure functions from a
ModelState (and who is writing, `ctx`) to a Plan of new tags, or a RegistryError saying why not.
Registry (registry.py) runs them against this clone's or the remote's state, in its write loop.
Over 400 lines: one function per operation, each the whole rule for its tags, beside the tag
builders they share."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from champion.errors import RegistryError
from champion.registry.state import Live, ModelState, VersionInfo, canary_weight, rollback_target
from champion.registry.tags import (
    FIRST_VERSION,
    Action,
    TagName,
    Version,
    canary_stage,
    format_tag,
)

Context = Mapping[str, Any]  # who and where, for the audit trail


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


def bump_between(parent: Version | None, version: Version) -> str | None:
    if parent is None:
        return None
    if version.major != parent.major:
        return "major"
    if version.minor != parent.minor:
        return "minor"
    return "patch"


def register(
    state: ModelState,
    model: str,
    commit: str,
    ctx: Context,
    *,
    version: Version | None = None,
    bump: str | None = None,
    first_version: Version = FIRST_VERSION,
    message: str | None = None,
    extra: Mapping[str, Any] | None = None,
    bump_reason: str | None = None,
    promote: str | None = None,
    promote_metadata: Mapping[str, Any] | None = None,
) -> Plan:
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
    highest = max((v.version for v in state.versions), default=None)  # deregistered count too
    if version is not None:
        existing = state.find(version)
        if existing is not None:
            gone = " and deregistered; versions are never reused" if existing.deregistered else ""
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
        **ctx,
        **(extra or {}),
    }
    if message:
        meta["message"] = message
    summary = f"Register {model} {chosen.tag_form}"
    tag = NewTag(TagName(model, Action.REGISTER, version=chosen), commit, summary, meta)
    tags: tuple[NewTag, ...] = (tag,)
    if promote:
        assign_meta = {**ctx, **(promote_metadata or {})}
        tags += assign_tags(state, model, chosen, commit, promote, assign_meta)
    return Plan(version=chosen, tags=tags, stage=promote, previous=parent, bump=kind)


def assign(
    state: ModelState,
    model: str,
    version: Version,
    stage: str,
    ctx: Context,
    *,
    reason: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Plan:
    target = active(state, version)
    current = state.live.get(stage)
    if current is not None and current.version == version:
        return Plan(version, stage=stage, previous=version, note=f"already live in {stage}")
    base = {**ctx, **(metadata or {})}
    if reason:
        base["reason"] = reason
    tags = assign_tags(state, model, version, target.commit, stage, base)
    return Plan(version, tags=tags, stage=stage, previous=current.version if current else None)


def unassign(state: ModelState, model: str, stage: str, ctx: Context, *, reason: str = "") -> Plan:
    current = state.live.get(stage)
    if current is None:
        raise RegistryError(f"no version of {model} is live in {stage}: nothing to unassign")
    base = {**ctx, **({"reason": reason} if reason else {})}
    tag = unassign_tag(model, stage, current, state.max_counter + 1, base)
    return Plan(current.version, tags=(tag,), stage=stage, previous=current.version)


def rollback(
    state: ModelState,
    model: str,
    stage: str,
    ctx: Context,
    *,
    reason: str,
    to: Version | None,
    metadata: Mapping[str, Any] | None,
    run: str | None,
    issued: list[Live | None],
    verify: Callable[[VersionInfo], None] | None,
    verified: set[Version],
) -> Plan:
    """`issued` holds what was live when the rollback was first planned (a retry after a lost
    race must not roll back further), `verified` the targets `verify` already checked."""
    current = state.live.get(stage)
    done = rollback_of_run(state, stage, run)
    if done is not None:
        return Plan(
            done.version,
            stage=stage,
            previous=done.previous,
            note=f"already rolled back by this run ({done.tag})",
        )
    if not issued:
        issued.append(current)
    elif (was := issued[0]) is not None and (current is None or current.version != was.version):
        return after_lost_race(state, stage, was, current, to)
    if current is None:
        raise RegistryError(
            f"no version of {model} is live in {stage}: nothing to roll back; promote one "
            f"instead (champion promote {model} VERSION --stage {stage})"
        )
    if to is not None:
        target = active(state, to)
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
    base = {**ctx, **(metadata or {}), "reason": reason}
    tags = assign_tags(
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


def canary_start(
    state: ModelState,
    model: str,
    stage: str,
    version: Version,
    weight: float,
    ctx: Context,
    *,
    reason: str = "",
) -> Plan:
    trial = canary_stage(stage)
    target = active(state, version)
    live = state.live.get(stage)
    if live is not None and live.version == version:
        raise RegistryError(
            f"{model} {version} is already live in {stage}: a canary is another version"
        )
    current = state.live.get(trial)
    same = current is not None and current.version == version
    if same and current is not None and canary_weight(state, current.tag) == weight:
        return Plan(version, stage=trial, note=f"already the canary of {stage}")
    base = {**ctx, "canary": {"stage": stage, "weight": weight}}
    if reason:
        base["reason"] = reason
    # A new weight for the same version: assign it again, with nothing to unassign.
    view = replace(state, live={}) if same else state
    tags = assign_tags(view, model, version, target.commit, trial, base)
    return Plan(version, tags=tags, stage=trial, previous=current.version if current else None)


def canary_promote(state: ModelState, model: str, stage: str, ctx: Context) -> Plan:
    """The canary becomes the live version of `stage`, and the canary slot empties, at once."""
    trial = canary_stage(stage)
    current = state.live.get(trial)
    if current is None:
        raise RegistryError(f"{model} has no canary in {stage}: start one first")
    info = active(state, current.version)
    base = {**ctx, "canary_promoted": True}
    tags = assign_tags(state, model, current.version, info.commit, stage, base)
    counter = state.max_counter + len(tags) + 1
    tags += (unassign_tag(model, trial, current, counter, base),)
    live = state.live.get(stage)
    return Plan(current.version, tags=tags, stage=stage, previous=live.version if live else None)


def canary_abort(
    state: ModelState, model: str, stage: str, ctx: Context, *, reason: str = ""
) -> Plan:
    trial = canary_stage(stage)
    current = state.live.get(trial)
    if current is None:
        raise RegistryError(f"{model} has no canary in {stage}: nothing to abort")
    base = {**ctx, "mark": "canary-aborted"}
    if reason:
        base["reason"] = reason
    tag = unassign_tag(model, trial, current, state.max_counter + 1, base)
    return Plan(current.version, tags=(tag,), stage=trial, previous=current.version)


def deregister(
    state: ModelState, model: str, version: Version, ctx: Context, *, reason: str = ""
) -> Plan:
    info = state.find(version)
    if info is None:
        raise unknown_version(model, version, state)
    if info.deregistered:
        return Plan(version, note="already deregistered")
    live_in = state.stages_of(version)
    if live_in:
        raise RegistryError(
            f"{model} {version} is live in {', '.join(live_in)}: promote another version "
            "there (or unassign it) before deregistering it"
        )
    meta = {
        **ctx,
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


def assign_tags(
    state: ModelState,
    model: str,
    version: Version,
    commit: str,
    stage: str,
    base: Mapping[str, Any],
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
        extra = {"replaced_by": str(version), **(unassign_extra or {})}
        tags.append(unassign_tag(model, stage, current, counter, base, extra))
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


def unassign_tag(
    model: str,
    stage: str,
    current: Live,
    counter: int,
    base: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> NewTag:
    """The tag that takes `current` out of `stage` (the one place an unassign tag is built)."""
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
            **(extra or {}),
        },
    )


def active(state: ModelState, version: Version) -> VersionInfo:
    info = state.find(version)
    if info is None:
        raise unknown_version(state.model, version, state)
    if info.deregistered:
        raise RegistryError(f"{state.model} {version} was deregistered and cannot be assigned")
    return info


def unknown_version(model: str, version: Version, state: ModelState) -> RegistryError:
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


@dataclass(frozen=True)
class DoneRollback:
    tag: str
    version: Version
    previous: Version | None


def after_lost_race(
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


def rollback_of_run(state: ModelState, stage: str, run: str | None) -> DoneRollback | None:
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
    return DoneRollback(
        last.tag,
        last.version or Version.parse(str(meta.get("version"))),
        Version.parse(was) if isinstance(was, str) else None,
    )

"""`champion watch`: read production metrics on a schedule, judge rules, and on a sustained breach
report it and (with --rollback) roll back, unless a guard says not now. One run is bounded: by
--for, or by the readings the window needs. Exit 0 healthy or no data, 1 breached, 2 bad input."""

from __future__ import annotations

import os
import time
from typing import Any

from champion import console, progress
from champion.ci import workflow
from champion.deploy.after_change import check_dispatch, check_pointer
from champion.errors import ChampionError
from champion.project import Project
from champion.registry import Live
from champion.render.escape import md
from champion.watch.guards import TRIGGER, guards
from champion.watch.loop import (
    Plan,
    WatchOptions,
    make_plan,
    outcome_lines,
    read_baseline,
    take_readings,
)
from champion.watch.readings import Track, evidence, reason, value_text, verdict
from champion.watch.rules import format_duration, parse_duration
from champion.watch.sources import Secrets, open_source, parse_headers


def watch(
    project: Project,
    model: str,
    options: WatchOptions,
    *,
    push: bool = False,
    dispatch_workflow: str | None = None,
    repo: str | None = None,
    github_output: str | None = None,
) -> int:
    o = options
    spec = project.config.model(model)
    stage = o.stage or project.config.gate_stage
    project.check_stage(stage, spec.name)
    plan = make_plan(o.rules, o.metrics, o.interval, o.window, o.run_for, o.cooldown)
    for warning in plan.warnings:
        console.warn(warning)
    wait = parse_duration(o.timeout, "--timeout")
    if wait <= 0:
        raise ChampionError(f"--timeout {o.timeout!r}: give a positive duration, e.g. 10s")
    values = parse_headers(o.headers, os.environ)
    src = open_source(o.source, values, wait, Secrets(list(values.values())))
    if o.rollback:
        check_dispatch(dispatch_workflow, repo)
        check_pointer(project, spec.name)
        if push:
            project.registry.refresh(spec.name)
    state = project.registry.state(spec.name)
    watched = state.live.get(stage)
    if watched is None:
        raise ChampionError(
            f"no version of {spec.name} is live in {stage}: nothing to watch (promote one first)"
        )
    found = read_baseline(plan, src, o.baseline, state, stage)
    if found.warning:
        console.warn(found.warning)
    if found.line:
        console.line(found.line)
    base, base_info = found.samples, found.info

    console.line(
        f"watching {spec.name} {watched.version} in {stage} ({len(plan.rules)} "
        f"rule{'s' * (len(plan.rules) != 1)}, a breach counts after {plan.window.describe()}): "
        f"a reading every {format_duration(plan.interval)} for "
        f"{format_duration(round(plan.length, 3))} from {src.label}"
    )
    taken = 0

    def shown(text: str) -> None:
        # On a terminal a bar shows how far the run is; it leaves the line to each reading.
        nonlocal taken
        taken += 1
        progress.finish("watching")
        console.line(text)
        share = min(1.0, taken * plan.interval / plan.length) if plan.length else None
        progress.report("watching", taken, share, unit="readings")

    tracks, readings = take_readings(plan, src, base, shown)
    progress.finish("watching")
    result = verdict(tracks, plan.window)
    said = outcome_lines(
        result, tracks, readings, plan.window, f"{spec.name} {watched.version} in {stage}"
    )
    for kind, text in said:
        (console.warn if kind == "warn" else console.line)(text)
    rolled_back = False
    if result == "breached" and not o.rollback:
        console.line("nothing rolled back (--rollback rolls back automatically)")
    elif result == "breached":
        meta = {
            "trigger": TRIGGER,
            "evidence": evidence(
                tracks,
                plan.window,
                version=str(watched.version),
                stage=stage,
                source=src.label,
                interval=plan.interval,
                readings=readings,
                baseline=base_info,
            ),
        }
        rolled_back = _roll_back(
            project,
            spec.name,
            stage,
            watched,
            plan,
            reason=reason(tracks, plan.window),
            metadata=meta,
            push=push,
            dispatch_workflow=dispatch_workflow,
            repo=repo,
            github_output=github_output,
        )
    _summary(spec.name, stage, str(watched.version), result, rolled_back, tracks)
    workflow.set_outputs(
        github_output,
        {
            "verdict": result,
            "watched-version": watched.version,
            "readings": readings,
            "rolled-back": str(rolled_back).lower(),
            "breach": reason(tracks, plan.window) if result == "breached" else "",
        },
    )
    return 1 if result == "breached" else 0


def _roll_back(
    project: Project,
    model: str,
    stage: str,
    watched: Live,
    plan: Plan,
    *,
    reason: str,
    metadata: dict[str, Any],
    push: bool,
    dispatch_workflow: str | None,
    repo: str | None,
    github_output: str | None,
) -> bool:
    from champion.commands.rollback import rollback

    try:
        if push:
            project.registry.refresh(model)  # the guards must see what others wrote meanwhile
        state = project.registry.state(model)
        refusals = guards(state, stage, watched, cooldown=plan.cooldown, now=time.time())
        for text in refusals:
            console.warn(f"no automatic rollback: {text}")
        if refusals:
            return False
        rollback(
            project,
            model,
            reason=reason,
            stage=stage,
            push=push,
            dispatch_workflow=dispatch_workflow,
            repo=repo,
            metadata=metadata,
            github_output=github_output,
        )
    except ChampionError as e:
        # The breach stands (exit 1, outputs written); the failure is reported with it.
        console.warn(f"no automatic rollback: it failed: {e}")
        return False
    return True


def _summary(
    model: str, stage: str, version: str, result: str, rolled_back: bool, tracks: list[Track]
) -> None:
    rows = []
    for track in tracks:
        last = next((p for p in reversed(track.points) if p.value is not None), None)
        rows.append(
            f"| {md(track.rule.text)} | {track.count('ok')} | {track.count('breach')} | "
            f"{track.count('no data')} | {value_text(last.value) if last and last.value is not None else '-'} |"
        )
    action = ", rolled back" if rolled_back else ""
    workflow.append_summary(
        f"### champion watch: {md(model)} {md(version)} in {md(stage)}: {result}{action}\n\n"
        "| rule | ok | breached | no data | last value |\n| --- | --- | --- | --- | --- |\n"
        + "\n".join(rows)
        + "\n"
    )

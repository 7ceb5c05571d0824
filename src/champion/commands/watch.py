"""`champion watch`: read production metrics on a schedule, judge rules, and on a sustained breach
report it and (with --rollback) roll back, unless a guard says not now. One run is bounded: by
--for, or by the readings the window needs. Exit 0 healthy or no data, 1 breached, 2 bad input."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from champion import output, progress
from champion.commands._deploy import check_dispatch, check_pointer
from champion.errors import ChampionError
from champion.project import Project
from champion.registry import Live, ModelState
from champion.render.escape import md
from champion.watch.guards import TRIGGER, baseline_of, guards
from champion.watch.readings import (
    NoData,
    Sample,
    Track,
    clock,
    describe_breach,
    evidence,
    iso,
    judge,
    number,
    reason,
    verdict,
)
from champion.watch.rules import Rule, Window, format_duration, parse_duration, parse_rule
from champion.watch.rules import parse_window as parse_window_option
from champion.watch.sources import (
    JsonSource,
    PrometheusSource,
    Secrets,
    SourceError,
    open_source,
    parse_headers,
    parse_metrics,
)


@dataclass(frozen=True)
class _Plan:
    rules: list[Rule]
    queries: dict[str, str]  # metric -> JSON pointer, dotted path or PromQL
    interval: float
    window: Window
    length: float  # readings are taken from 0 to `length` seconds, `interval` apart
    cooldown: float


def _plan(
    rules: Sequence[str],
    metrics: Sequence[str],
    interval: str,
    window: str,
    run_for: str | None,
    cooldown: str,
) -> _Plan:
    if not rules:
        raise ChampionError("give at least one --rule, e.g. --rule 'error_rate < 0.05'")
    parsed = [parse_rule(r) for r in rules]
    every = parse_duration(interval, "--interval")
    if every <= 0:
        raise ChampionError(f"--interval {interval!r}: give a positive duration, e.g. 60s")
    win = parse_window_option(window)
    span = win.span(every)
    length = span if run_for is None else parse_duration(run_for, "--for")
    if length < span - 1e-9:
        raise ChampionError(
            f"--for {run_for}: too short for the window ({win.describe()}, a reading every "
            f"{format_duration(every)}, takes {format_duration(span)}), so no breach could ever "
            "be sustained: lengthen --for or shorten --interval or --window"
        )
    mapping = parse_metrics(metrics)
    used = {r.metric for r in parsed}
    for name in sorted(set(mapping) - used):
        output.warn(f"--metric {name}: no rule uses it")
    return _Plan(
        parsed,
        {m: mapping.get(m, m) for m in sorted(used)},
        every,
        win,
        length,
        parse_duration(cooldown, "--cooldown"),
    )


def _check_first(
    plan: _Plan, samples: dict[str, Sample], source: JsonSource | PrometheusSource
) -> None:
    """The first reading validates the configuration: a missing key or a value that is not a
    number is bad input there (later it is only a reading without data)."""
    for rule in plan.rules:
        sample = samples[rule.metric]
        if isinstance(sample, NoData) and sample.misconfigured:
            where = plan.queries[rule.metric]
            hint = (
                f"; map it with --metric {rule.metric}=/json/pointer"
                if where == rule.metric and isinstance(source, JsonSource)
                else ""
            )
            raise ChampionError(
                f"rule `{rule.text}`: {sample.reason}, in source {source.label}{hint}"
            )


def _baseline(
    plan: _Plan,
    source: JsonSource | PrometheusSource,
    document: str | None,
    state: ModelState,
    stage: str,
) -> tuple[dict[str, Sample], dict[str, Any] | None]:
    """Per metric, the value the rules' `baseline` means: the same metric as it was the last time
    the version a rollback would return to was live. A Prometheus source is asked for that moment
    (`time=`); a JSON document has no history, so `--baseline` gives one (`{version}` in it
    becomes that version)."""
    needed = sorted({r.metric for r in plan.rules if r.uses_baseline})
    if not needed:
        return {}, None
    if document is None and not isinstance(source, PrometheusSource):
        rule = next(r for r in plan.rules if r.uses_baseline)
        raise ChampionError(
            f"rule `{rule.text}` compares with the baseline, but source {source.label} is a JSON "
            "document, which has no history: pass --baseline FILE_OR_URL (a JSON document of the "
            "same shape holding the previous version's values; `{version}` in it becomes that "
            "version), or watch a prom+http(s):// source"
        )
    found = baseline_of(state, stage)
    if found is None:
        output.warn(
            f"no baseline: no version was live in {stage} before the current one (that was not "
            "rolled back since); rules against the baseline have no data"
        )
        return {m: NoData("no earlier version") for m in needed}, None
    info: dict[str, Any] = {"version": str(found.version)}
    if document is not None:
        location = document.replace("{version}", str(found.version))
        doc = JsonSource(location, source.http)
        info["source"] = doc.label
        paths = {m: plan.queries[m] if isinstance(source, JsonSource) else m for m in needed}
        try:
            samples = doc.read(paths)
        except SourceError as e:
            raise SourceError(f"--baseline: {e}") from None
        for metric, sample in samples.items():
            if isinstance(sample, NoData) and sample.misconfigured:
                raise ChampionError(f"--baseline {doc.label}: {sample.reason} (metric {metric})")
    elif found.until is None:
        return {m: NoData(f"when {found.version} was last live is unknown") for m in needed}, info
    else:
        at = found.until - 1  # the last second before it stopped being live
        info.update(source=source.label, at=iso(at))
        samples = source.read({m: plan.queries[m] for m in needed}, at=at)
        _check_first(plan, samples, source)
    info["values"] = {m: s if isinstance(s, float) else None for m, s in samples.items()}
    shown = ", ".join(
        f"{m} {number(s) if isinstance(s, float) else 'no data'}" for m, s in samples.items()
    )
    when = f" at {info['at']}" if "at" in info else ""
    output.line(f"baseline: {found.version}{when} from {info['source']}: {shown}")
    return samples, info


def _point_text(track: Track, window: Window) -> str:
    point = track.points[-1]
    metric = track.rule.metric
    if point.state == "no data":
        return f"{metric} no data ({point.why})"
    assert point.value is not None and point.limit is not None
    if point.state == "ok":
        return f"{metric} {number(point.value)} ok"
    run = track.streak()
    if window.readings is not None:
        progress = f"{len(run)}/{window.readings}"
    else:
        lasted = format_duration(round(run[-1].at - run[0].at, 3))
        progress = f"{lasted}/{format_duration(window.seconds or 0)}"
    limit = f"{track.rule.op} {number(point.limit)}"
    return f"{metric} {number(point.value)} BREACH (not {limit}, {progress})"


def _read(
    plan: _Plan, src: JsonSource | PrometheusSource, base: dict[str, Sample]
) -> tuple[list[Track], int]:
    """Readings `plan.interval` apart, from 0 to `plan.length` seconds, or until a breach."""
    tracks = [Track(rule) for rule in plan.rules]
    start = time.monotonic()
    readings = 0
    while True:
        delay = start + readings * plan.interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        at = time.time()
        try:
            samples = src.read(plan.queries)
        except SourceError as e:
            if readings == 0:
                raise
            samples = {m: NoData(str(e)) for m in plan.queries}
        if readings == 0:
            _check_first(plan, samples, src)
        for track in tracks:
            metric = track.rule.metric
            track.points.append(judge(track.rule, samples[metric], base.get(metric), at))
        readings += 1
        texts = "; ".join(_point_text(t, plan.window) for t in tracks)
        progress.finish("watching")  # the bar leaves the line to the reading, then comes back
        output.line(f"reading {readings} at {clock(at)}: {texts}")
        if verdict(tracks, plan.window) == "breached":
            return tracks, readings
        if readings * plan.interval > plan.length + 1e-9:
            return tracks, readings
        done = readings * plan.interval / plan.length if plan.length else None
        progress.report("watching", readings, done, unit="readings")


def _report(result: str, tracks: list[Track], readings: int, window: Window, watched: str) -> None:
    if result == "breached":
        for track in tracks:
            if track.sustained(window):
                output.line(f"breached: {describe_breach(track, window)}")
        return
    if result == "no data":
        for track in tracks:
            if track.count("no data") == len(track.points):
                output.warn(
                    f"no data: {track.rule.text} could not be judged at any of {readings} "
                    f"readings ({track.points[-1].why}); missing data never triggers a rollback"
                )
        output.line(f"no data: {watched} could not be judged")
        return
    output.line(f"healthy: {watched} met the rules over {readings} reading{'s' * (readings != 1)}")
    for track in tracks:
        if track.count("breach"):
            output.line(
                f"  {track.rule.text}: {track.count('breach')} breached reading(s), never "
                f"{window.describe()}: not sustained, no action"
            )
        if track.count("no data"):
            output.line(
                f"  {track.rule.text}: no data at {track.count('no data')} of {readings} readings"
            )


def watch(
    project: Project,
    model: str,
    *,
    source: str,
    rules: Sequence[str],
    metrics: Sequence[str] = (),
    baseline: str | None = None,
    headers: Sequence[str] = (),
    stage: str | None = None,
    interval: str = "60s",
    window: str = "3",
    run_for: str | None = None,
    timeout: str = "10s",
    rollback: bool = False,
    cooldown: str = "30m",
    push: bool = False,
    dispatch_workflow: str | None = None,
    repo: str | None = None,
    github_output: str | None = None,
) -> int:
    spec = project.config.model(model)
    stage = stage or project.config.gate_stage
    project.check_stage(stage, spec.name)
    plan = _plan(rules, metrics, interval, window, run_for, cooldown)
    wait = parse_duration(timeout, "--timeout")
    if wait <= 0:
        raise ChampionError(f"--timeout {timeout!r}: give a positive duration, e.g. 10s")
    values = parse_headers(headers, os.environ)
    src = open_source(source, values, wait, Secrets(list(values.values())))
    if rollback:
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
    base, base_info = _baseline(plan, src, baseline, state, stage)

    output.line(
        f"watching {spec.name} {watched.version} in {stage} ({len(plan.rules)} "
        f"rule{'s' * (len(plan.rules) != 1)}, a breach counts after {plan.window.describe()}): "
        f"a reading every {format_duration(plan.interval)} for "
        f"{format_duration(round(plan.length, 3))} from {src.label}"
    )
    tracks, readings = _read(plan, src, base)
    result = verdict(tracks, plan.window)
    _report(result, tracks, readings, plan.window, f"{spec.name} {watched.version} in {stage}")
    rolled_back = False
    if result == "breached" and not rollback:
        output.line("nothing rolled back (--rollback rolls back automatically)")
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
    output.write_github_output(
        output.github_output_path(github_output),
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
    plan: _Plan,
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
            output.warn(f"no automatic rollback: {text}")
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
        output.warn(f"no automatic rollback: it failed: {e}")
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
            f"{track.count('no data')} | {number(last.value) if last and last.value is not None else '-'} |"
        )
    action = ", rolled back" if rolled_back else ""
    output.append_step_summary(
        f"### champion watch: {md(model)} {md(version)} in {md(stage)}: {result}{action}\n\n"
        "| rule | ok | breached | no data | last value |\n| --- | --- | --- | --- | --- |\n"
        + "\n".join(rows)
        + "\n"
    )

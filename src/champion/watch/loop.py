"""One run of `champion watch`: its plan (rules, metrics, interval, window, length), the baseline
the rules compare with, the readings taken until the window is judged, and what they found. The
command presents it and rolls back; the guards and the verdicts are in guards and readings."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from champion.errors import ChampionError
from champion.registry import ModelState
from champion.watch.guards import baseline_of
from champion.watch.readings import (
    NoData,
    Sample,
    Track,
    clock,
    describe_breach,
    iso,
    judge,
    value_text,
    verdict,
)
from champion.watch.rules import Rule, Window, format_duration, parse_duration, parse_rule
from champion.watch.rules import parse_window as parse_window_option
from champion.watch.sources import JsonSource, PrometheusSource, SourceError, parse_metrics


@dataclass(frozen=True)
class WatchOptions:
    """What one `champion watch` run was asked, as given (durations still text): where the
    readings come from, the rules and their baseline, the schedule, and whether a sustained breach
    rolls back. How the rollback is written (push, dispatch) stays with the command, as for every
    other write."""

    source: str
    rules: Sequence[str]
    metrics: Sequence[str] = ()
    baseline: str | None = None
    headers: Sequence[str] = ()
    stage: str | None = None
    interval: str = "60s"
    window: str = "3"
    run_for: str | None = None
    timeout: str = "10s"
    rollback: bool = False
    cooldown: str = "30m"


@dataclass(frozen=True)
class Plan:
    rules: list[Rule]
    queries: dict[str, str]  # metric -> JSON pointer, dotted path or PromQL
    interval: float
    window: Window
    length: float  # readings are taken from 0 to `length` seconds, `interval` apart
    cooldown: float
    warnings: tuple[str, ...] = ()


def make_plan(
    rules: Sequence[str],
    metrics: Sequence[str],
    interval: str,
    window: str,
    run_for: str | None,
    cooldown: str,
) -> Plan:
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
    unused = tuple(f"--metric {name}: no rule uses it" for name in sorted(set(mapping) - used))
    return Plan(
        parsed,
        {m: mapping.get(m, m) for m in sorted(used)},
        every,
        win,
        length,
        parse_duration(cooldown, "--cooldown"),
        unused,
    )


def check_first(
    plan: Plan, samples: dict[str, Sample], source: JsonSource | PrometheusSource
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


@dataclass(frozen=True)
class BaselineValues:
    samples: dict[str, Sample]  # per metric the rules compare with
    info: dict[str, Any] | None  # what the evidence records of it
    line: str = ""  # what it is, to show
    warning: str = ""


def read_baseline(
    plan: Plan,
    source: JsonSource | PrometheusSource,
    document: str | None,
    state: ModelState,
    stage: str,
) -> BaselineValues:
    """Per metric, the value the rules' `baseline` means: the same metric as it was the last time
    the version a rollback would return to was live. A Prometheus source is asked for that moment
    (`time=`); a JSON document has no history, so `--baseline` gives one (`{version}` in it
    becomes that version)."""
    needed = sorted({r.metric for r in plan.rules if r.uses_baseline})
    if not needed:
        return BaselineValues({}, None)
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
        return BaselineValues(
            {m: NoData("no earlier version") for m in needed},
            None,
            warning=(
                f"no baseline: no version was live in {stage} before the current one (that was "
                "not rolled back since); rules against the baseline have no data"
            ),
        )
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
        unknown = f"when {found.version} was last live is unknown"
        return BaselineValues({m: NoData(unknown) for m in needed}, info)
    else:
        at = found.until - 1  # the last second before it stopped being live
        info.update(source=source.label, at=iso(at))
        samples = source.read({m: plan.queries[m] for m in needed}, at=at)
        check_first(plan, samples, source)
    info["values"] = {m: s if isinstance(s, float) else None for m, s in samples.items()}
    shown = ", ".join(
        f"{m} {value_text(s) if isinstance(s, float) else 'no data'}" for m, s in samples.items()
    )
    when = f" at {info['at']}" if "at" in info else ""
    line = f"baseline: {found.version}{when} from {info['source']}: {shown}"
    return BaselineValues(samples, info, line=line)


def point_text(track: Track, window: Window) -> str:
    point = track.points[-1]
    metric = track.rule.metric
    if point.state == "no data":
        return f"{metric} no data ({point.why})"
    assert point.value is not None and point.limit is not None
    if point.state == "ok":
        return f"{metric} {value_text(point.value)} ok"
    run = track.streak()
    if window.readings is not None:
        progress = f"{len(run)}/{window.readings}"
    else:
        lasted = format_duration(round(run[-1].at - run[0].at, 3))
        progress = f"{lasted}/{format_duration(window.seconds or 0)}"
    limit = f"{track.rule.op} {value_text(point.limit)}"
    return f"{metric} {value_text(point.value)} BREACH (not {limit}, {progress})"


def take_readings(
    plan: Plan,
    src: JsonSource | PrometheusSource,
    base: dict[str, Sample],
    shown: Callable[[str], None],
) -> tuple[list[Track], int]:
    """Readings `plan.interval` apart, from 0 to `plan.length` seconds, or until a breach; each is
    `shown` as it is taken (a watch runs for minutes)."""
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
            check_first(plan, samples, src)
        for track in tracks:
            metric = track.rule.metric
            track.points.append(judge(track.rule, samples[metric], base.get(metric), at))
        readings += 1
        texts = "; ".join(point_text(t, plan.window) for t in tracks)
        shown(f"reading {readings} at {clock(at)}: {texts}")
        if verdict(tracks, plan.window) == "breached":
            return tracks, readings
        if readings * plan.interval > plan.length + 1e-9:
            return tracks, readings


def outcome_lines(
    result: str, tracks: list[Track], readings: int, window: Window, watched: str
) -> list[tuple[str, str]]:
    """What the run found, as ("line" | "warn", text) pairs."""
    if result == "breached":
        return [
            ("line", f"breached: {describe_breach(track, window)}")
            for track in tracks
            if track.sustained(window)
        ]
    if result == "no data":
        return [
            *(
                (
                    "warn",
                    f"no data: {track.rule.text} could not be judged at any of {readings} "
                    f"readings ({track.points[-1].why}); missing data never triggers a rollback",
                )
                for track in tracks
                if track.count("no data") == len(track.points)
            ),
            ("line", f"no data: {watched} could not be judged"),
        ]
    plural = "s" * (readings != 1)
    out = [("line", f"healthy: {watched} met the rules over {readings} reading{plural}")]
    for track in tracks:
        if track.count("breach"):
            out.append(
                (
                    "line",
                    f"  {track.rule.text}: {track.count('breach')} breached reading(s), never "
                    f"{window.describe()}: not sustained, no action",
                )
            )
        if track.count("no data"):
            out.append(
                (
                    "line",
                    f"  {track.rule.text}: no data at {track.count('no data')} of {readings} "
                    "readings",
                )
            )
    return out

"""Readings judged against rules, and the verdict over a run: healthy, breached (sustained over
the window) or no data. Missing data is a verdict of its own and never counts as a breach. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from champion.watch.rules import Rule, Window

State = Literal["ok", "breach", "no data"]
Verdict = Literal["healthy", "breached", "no data"]
# The evidence kept in a tag: the last readings of each breached rule, not a whole long run.
EVIDENCE_READINGS = 20


@dataclass(frozen=True)
class NoData:
    """A metric without a value at a reading: null, NaN, an empty query result, a failed read.
    `misconfigured` marks what a first reading treats as bad input (a missing key, a string)."""

    reason: str
    misconfigured: bool = False


Sample = float | NoData


@dataclass(frozen=True)
class Point:
    """One rule at one reading."""

    at: float
    value: float | None
    limit: float | None
    state: State
    why: str = ""


def judge(rule: Rule, sample: Sample, baseline: Sample | None, at: float) -> Point:
    if isinstance(sample, NoData):
        return Point(at, None, None, "no data", sample.reason)
    if rule.uses_baseline and not isinstance(baseline, float):
        why = baseline.reason if isinstance(baseline, NoData) else "no baseline"
        return Point(at, sample, None, "no data", f"baseline: {why}")
    limit = rule.limit(baseline if isinstance(baseline, float) else None)
    assert limit is not None
    return Point(at, sample, limit, "ok" if rule.holds(sample, limit) else "breach")


@dataclass
class Track:
    """Every point of one rule during a run."""

    rule: Rule
    points: list[Point] = field(default_factory=list)

    def streak(self) -> list[Point]:
        """The current run of consecutive breaches; an ok or a no-data reading ends it."""
        run: list[Point] = []
        for point in reversed(self.points):
            if point.state != "breach":
                break
            run.append(point)
        return run[::-1]

    def sustained(self, window: Window) -> bool:
        return window.sustained([p.at for p in self.streak()])

    def count(self, state: State) -> int:
        return sum(p.state == state for p in self.points)


def verdict(tracks: list[Track], window: Window) -> Verdict:
    if any(t.sustained(window) for t in tracks):
        return "breached"
    if any(t.points and t.count("no data") == len(t.points) for t in tracks):
        return "no data"
    return "healthy"


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def clock(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%H:%M:%SZ")


def value_text(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def describe_breach(track: Track, window: Window) -> str:
    """One line: the rule, the readings that breached it and when."""
    run = track.streak()
    values = [value_text(p.value) for p in run if p.value is not None]
    if len(values) > 6:
        values = [*values[:2], "…", *values[-3:]]
    limits = {value_text(p.limit) for p in run if p.limit is not None}
    against = "" if track.rule.threshold is not None else f" (limit {', '.join(sorted(limits))})"
    if window.readings is not None:
        how = f"at {len(run)} consecutive readings"
    else:
        how = f"at every reading for {window.describe().removeprefix('every reading for ')}"
    return (
        f"{track.rule.text}{against} breached {how} ({', '.join(values)}) "
        f"from {iso(run[0].at)} to {iso(run[-1].at)}"
    )


def reason(tracks: list[Track], window: Window) -> str:
    """The rollback's reason: one line carrying the evidence's gist (the tag holds the rest)."""
    breached = [t for t in tracks if t.sustained(window)]
    return "champion watch: " + "; ".join(describe_breach(t, window) for t in breached)


def evidence(
    tracks: list[Track],
    window: Window,
    *,
    version: str,
    stage: str,
    source: str,
    interval: float,
    readings: int,
    baseline: dict[str, Any] | None,
) -> dict[str, Any]:
    """What goes into the rollback's tags (`{"trigger": "watch", "evidence": ...}`)."""
    breached = []
    for track in tracks:
        if not track.sustained(window):
            continue
        run = track.streak()
        breached.append(
            {
                "rule": track.rule.text,
                "metric": track.rule.metric,
                "breached_readings": len(run),
                "readings": [
                    {"at": iso(p.at), "value": p.value, "limit": p.limit}
                    for p in run[-EVIDENCE_READINGS:]
                ],
            }
        )
    times = [p.at for t in tracks for p in t.points]
    return {
        "version": version,
        "stage": stage,
        "source": source,
        "window": window.describe(),
        "interval_seconds": interval,
        "readings": readings,
        "from": iso(min(times)) if times else None,
        "to": iso(max(times)) if times else None,
        "baseline": baseline,
        "breached": breached,
    }

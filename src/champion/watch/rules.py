"""What `champion watch` judges: rules (`error_rate < 0.05`, `conversion >= 0.95 * baseline`),
durations (`60s`, `5m`) and the window that makes a breach sustained. Pure: no I/O."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from champion.errors import ChampionError

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
# A metric name as Prometheus spells one (recording rules carry colons), plus dots for a path.
NAME = r"[A-Za-z_:][A-Za-z0-9_.:]*"
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_RULE = re.compile(rf"^\s*(?P<metric>{NAME})\s*(?P<op><=|>=|<|>)\s*(?P<rhs>.*?)\s*$")
_NUMBER_ONLY = re.compile(rf"^{_NUMBER}$")
_BASELINE = re.compile(
    rf"^(?:(?P<factor>{_NUMBER})\s*\*\s*)?baseline(?:\s*\*\s*(?P<factor2>{_NUMBER}))?"
    rf"(?:\s*(?P<sign>[+-])\s*(?P<offset>{_NUMBER}))?$"
)
_RULE_HELP = (
    "write METRIC OP VALUE, with OP one of < <= > >= and VALUE a number or "
    "[K *] baseline [+|- D], e.g. `error_rate < 0.05` or `conversion >= 0.95 * baseline`"
)


@dataclass(frozen=True)
class Rule:
    """The condition a healthy reading meets; a reading that does not meet it is a breach."""

    text: str
    metric: str
    op: str
    threshold: float | None = None  # None: relative to the baseline
    factor: float = 1.0
    offset: float = 0.0

    @property
    def uses_baseline(self) -> bool:
        return self.threshold is None

    def limit(self, baseline: float | None) -> float | None:
        if self.threshold is not None:
            return self.threshold
        return None if baseline is None else self.factor * baseline + self.offset

    def holds(self, value: float, limit: float) -> bool:
        return OPS[self.op](value, limit)


def parse_rule(text: str) -> Rule:
    shown = " ".join(text.split())
    match = _RULE.match(text)
    if match is None:
        raise ChampionError(f"rule `{shown}` is malformed: {_RULE_HELP}")
    metric, op, rhs = match["metric"], match["op"], match["rhs"]
    if metric == "baseline":
        raise ChampionError(
            f"rule `{shown}`: `baseline` is the right-hand side's keyword; {_RULE_HELP}"
        )
    if _NUMBER_ONLY.match(rhs):
        return Rule(shown, metric, op, threshold=_finite(rhs, shown))
    found = _BASELINE.match(rhs)
    if found is None:
        raise ChampionError(
            f"rule `{shown}` is malformed: `{rhs or '(nothing)'}` is neither a number nor a "
            f"baseline expression; {_RULE_HELP}"
        )
    if found["factor"] and found["factor2"]:
        raise ChampionError(f"rule `{shown}`: give the factor once; {_RULE_HELP}")
    factor = _finite(found["factor"] or found["factor2"] or "1", shown)
    offset = _finite(found["offset"] or "0", shown) * (-1 if found["sign"] == "-" else 1)
    return Rule(shown, metric, op, factor=factor, offset=offset)


def _finite(text: str, rule: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ChampionError(f"rule `{rule}`: {text} is not a finite number")
    return value


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)")


def parse_duration(text: str, option: str) -> float:
    """Seconds from `0.05s`, `250ms`, `5m`, `1h30m`, `2d` or a bare number of seconds."""
    raw = text.strip()
    try:
        seconds = float(raw)
    except ValueError:
        parts = _PART.findall(raw)
        if not parts or "".join(n + u for n, u in parts) != raw:
            raise ChampionError(
                f"{option} {text!r} is not a duration: write e.g. 30s, 250ms, 5m, 1h30m or a "
                "number of seconds"
            ) from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds) or seconds < 0:
        raise ChampionError(f"{option} {text!r} must be a duration of zero or more")
    return seconds


def format_duration(seconds: float) -> str:
    if seconds and seconds < 1:
        return f"{seconds * 1000:g}ms"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class Window:
    """How long a breach must last to count: N consecutive readings, or every reading over a
    duration (the breached run of readings must span it)."""

    readings: int | None = None
    seconds: float | None = None

    def describe(self) -> str:
        if self.readings is not None:
            return f"{self.readings} consecutive reading{'s' * (self.readings != 1)}"
        return f"every reading for {format_duration(self.seconds or 0)}"

    def span(self, interval: float) -> float:
        """The shortest run, at this interval, whose readings can make a breach sustained."""
        if self.readings is not None:
            return (self.readings - 1) * interval
        seconds = self.seconds or 0.0
        return math.ceil(seconds / interval - 1e-9) * interval if interval else seconds

    def sustained(self, times: list[float]) -> bool:
        """`times`: when each reading of the current breached run was taken, oldest first."""
        if not times:
            return False
        if self.readings is not None:
            return len(times) >= self.readings
        return times[-1] - times[0] >= (self.seconds or 0.0) - 1e-6


def parse_window(text: str) -> Window:
    raw = text.strip()
    if raw.isdigit():
        if int(raw) < 1:
            raise ChampionError("--window 0: a breach needs at least one reading (default 3)")
        return Window(readings=int(raw))
    seconds = parse_duration(raw, "--window")
    if seconds <= 0:
        raise ChampionError(f"--window {text!r}: give a number of readings or a positive duration")
    return Window(seconds=seconds)

"""The geometry of the site's charts, drawn by champion as inline SVG (no script, no library).

Pure functions from values to coordinates; the templates turn them into SVG elements, so every
label goes through the templates' HTML escaping like any other text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from champion.site.schema import SpanJson

# In SVG units; the 12px labels keep about their size where a chart is drawn at this width: a
# metric chart in a card of ~26rem, the lanes across the page (phones scroll them sideways).
WIDTH = 420
HEIGHT = 230
LANES_WIDTH = 960
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40
MAX_X_LABELS = 6
LANE_HEIGHT, LANE_GAP, LANE_LEFT = 30, 10, 110
CHAR_WIDTH = 9.0  # of the lanes' 15px labels, to tell whether a version fits in its bar


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str  # the x label (a version, a reading's time)
    value: float
    shown: str  # the value as printed
    classes: tuple[str, ...] = ()  # live, rolled-back, deregistered, breached


@dataclass(frozen=True)
class SeriesChart:
    title: str
    dots: tuple[Dot, ...]
    line: str  # the `points` of the polyline through the dots
    limit: str  # the `points` of a limit line (watch evidence), "" when none
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT
    top: int = TOP
    left: int = LEFT

    @property
    def right(self) -> int:
        return self.width - RIGHT

    @property
    def bottom(self) -> int:
        return self.height - BOTTOM


def fmt(value: float) -> str:
    """Four significant digits, no trailing zeros: 0.8512, 30, 1.234e+06."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e6:
        digits = max(0, 3 - math.floor(math.log10(abs(value))))
        text = f"{value:.{digits}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return f"{value:.3e}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten)."""
    if hi < lo:
        lo, hi = hi, lo
    scale = max(abs(lo), abs(hi))
    if hi - lo <= scale * 1e-9 or scale < 1e-290:
        # One value (or as good as one, or values so near 0 that a step between them underflows,
        # as 5e-324 does): a band around it.
        pad = scale * 0.05 if scale >= 1e-290 else 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    digits = max(0, 2 - math.floor(math.log10(step)))
    first = math.floor(lo / step)
    if first * step > lo:  # lo / step underflowed to -0.0 (lo a hair below 0)
        first -= 1
    ticks = [round((first + i) * step, digits) for i in range(count + 3)]
    last = next(i for i, t in enumerate(ticks) if t >= hi)
    return ticks[: last + 1]


def _spread(n: int, left: float, right: float) -> list[float]:
    if n == 1:
        return [(left + right) / 2]
    step = (right - left) / (n - 1)
    return [left + i * step for i in range(n)]


def _x_ticks(xs: Sequence[float], labels: Sequence[str]) -> tuple[Tick, ...]:
    n = len(xs)
    every = max(1, math.ceil(n / MAX_X_LABELS))
    shown = list(range(0, n, every))
    if shown[-1] != n - 1:
        # The last one (the newest version) is always labelled; its neighbour gives way when the
        # two would overlap.
        if n - 1 - shown[-1] < every / 2 and len(shown) > 1:
            shown.pop()
        shown.append(n - 1)
    return tuple(Tick(xs[i], labels[i]) for i in shown)


def series_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    classes: Sequence[tuple[str, ...]] | None = None,
    limits: Sequence[float | None] | None = None,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> SeriesChart | None:
    """Values in the order given (versions, readings), evenly spaced; None without a value."""
    if not values:
        return None
    chart = SeriesChart(title, (), "", "", (), (), width, height)
    bounded = [v for v in [*values, *(limits or [])] if v is not None]
    ticks = nice_ticks(min(bounded), max(bounded))
    lo, hi = ticks[0], ticks[-1]

    def y(value: float) -> float:
        return round(chart.bottom - (value - lo) / (hi - lo) * (chart.bottom - chart.top), 2)

    xs = [round(x, 2) for x in _spread(len(values), chart.left + 12, chart.right - 12)]
    dots = tuple(
        Dot(x, y(v), label, v, fmt(v), (classes[i] if classes else ()))
        for i, (x, label, v) in enumerate(zip(xs, labels, values, strict=True))
    )
    limit = ""
    if limits and any(v is not None for v in limits):
        limit = " ".join(f"{x},{y(v)}" for x, v in zip(xs, limits, strict=True) if v is not None)
    return SeriesChart(
        title,
        dots,
        " ".join(f"{d.x},{d.y}" for d in dots),
        limit,
        tuple(Tick(y(t), fmt(t)) for t in ticks),
        _x_ticks(xs, labels),
        width,
        height,
    )


# --- stage lanes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    version: str
    tooltip: str
    classes: tuple[str, ...]  # live, rolled-back
    labelled: bool  # the version fits inside the bar


@dataclass(frozen=True)
class Lane:
    stage: str
    y: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class LaneChart:
    lanes: tuple[Lane, ...]
    x_ticks: tuple[Tick, ...]
    height: int
    width: int = LANES_WIDTH
    left: int = LANE_LEFT
    right: int = LANES_WIDTH - RIGHT
    lane_height: int = LANE_HEIGHT


def parse_iso(value: str | None) -> int | None:
    if value is None:
        return None
    moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def _time_label(moment: float, span: float) -> str:
    when = datetime.fromtimestamp(moment, tz=timezone.utc)
    if span < 3600:
        return when.strftime("%H:%M:%S")
    return when.strftime("%m-%d %H:%M" if span < 3 * 86400 else "%Y-%m-%d")


def lane_chart(spans: Mapping[str, Sequence[SpanJson]], now: int) -> LaneChart | None:
    """One lane per stage, one bar per stretch of time a version was live there, on a time axis
    from the first stretch to `now`."""
    starts = [parse_iso(s["start"]) for lane in spans.values() for s in lane]
    ends = [parse_iso(s["end"]) for lane in spans.values() for s in lane]
    known = [t for t in starts if t is not None]
    if not known:
        return None
    # A tag may be dated a little after the clock (several writes in one second): the axis, and
    # what is live now, end at the latest of the two.
    first, last = min(known), max(now, *known, *(t for t in ends if t is not None))
    now = last
    if last <= first:
        last = first + 1
    chart = LaneChart((), (), 0)
    scale = (chart.right - chart.left) / (last - first)
    lanes = []
    for index, (stage, items) in enumerate(spans.items()):
        bars = []
        for item in items:
            start = parse_iso(item["start"])
            end = parse_iso(item["end"]) if item["end"] is not None else now
            if start is None or end is None:
                continue
            x = chart.left + (start - first) * scale
            width = max((max(end, start) - start) * scale, 1.5)
            version = str(item["version"])
            until = item["end"] or "now"
            classes = (
                *(("live",) if item["end"] is None else ()),
                *(("rolled-back",) if item["ended_by"] == "rolled-back" else ()),
            )
            tooltip = f"v{version} live in {stage} from {item['start']} to {until}"
            if item["ended_by"] == "rolled-back":
                tooltip += " (rolled back)"
            bars.append(
                Bar(
                    round(x, 2),
                    round(width, 2),
                    version,
                    tooltip,
                    classes,
                    width >= (len(version) + 1) * CHAR_WIDTH + 6,
                )
            )
        lanes.append(Lane(stage, TOP + index * (LANE_HEIGHT + LANE_GAP), tuple(bars)))
    height = TOP + len(lanes) * (LANE_HEIGHT + LANE_GAP) + 32
    ticks = tuple(
        Tick(round(chart.left + (t - first) * scale, 2), _time_label(t, last - first))
        for t in _spread(5, first, last)
    )
    return LaneChart(tuple(lanes), ticks, height)

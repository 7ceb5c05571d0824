"""The charts' geometry: values to coordinates, ticks, lanes on a time axis."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from champion.site import charts
from champion.site.schema import SpanJson


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.0, "0"), (0.85123, "0.8512"), (30.0, "30"), (1234.5678, "1235"), (2.5e-5, "2.500e-05")],
)
def test_numbers_are_shown_with_four_significant_digits(value: float, shown: str) -> None:
    assert charts.fmt(value) == shown


finite = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)


@given(finite, finite)
def test_ticks_cover_the_range_in_round_steps(a: float, b: float) -> None:
    ticks = charts.nice_ticks(a, b)
    assert ticks[0] <= min(a, b) and ticks[-1] >= max(a, b)
    steps = {round(y - x, 9) for x, y in pairwise(ticks)}
    assert len(ticks) >= 2 and len(steps) <= 2  # one step, give or take rounding


def test_a_higher_value_is_drawn_higher_and_every_point_is_inside_the_plot() -> None:
    chart = charts.series_chart(
        "accuracy",
        ["0.1.0", "0.2.0", "0.3.0"],
        [0.80, 0.85, 0.70],
        [(), ("live",), ("rolled-back",)],
    )
    assert chart is not None
    ys = [d.y for d in chart.dots]
    assert ys[1] < ys[0] < ys[2]
    xs = [d.x for d in chart.dots]
    assert xs == sorted(xs)
    for d in chart.dots:
        assert chart.left <= d.x <= chart.right and chart.top <= d.y <= chart.bottom
    assert [d.classes for d in chart.dots] == [(), ("live",), ("rolled-back",)]
    assert chart.line == " ".join(f"{d.x},{d.y}" for d in chart.dots)
    assert [t.label for t in chart.x_ticks] == ["0.1.0", "0.2.0", "0.3.0"]


def test_many_versions_get_a_few_labels_the_newest_always() -> None:
    labels = [f"0.{i}.0" for i in range(500)]
    chart = charts.series_chart("m", labels, [float(i) for i in range(500)])
    assert chart is not None
    shown = [t.label for t in chart.x_ticks]
    assert shown[0] == "0.0.0" and shown[-1] == "0.499.0" and len(shown) <= charts.MAX_X_LABELS + 1


def test_one_value_and_a_limit_line() -> None:
    chart = charts.series_chart("rule", ["t1"], [0.06], limits=[0.05])
    assert chart is not None
    [dot] = chart.dots
    assert dot.x == (chart.left + chart.right) / 2
    limit_y = float(chart.limit.split(",")[1])
    assert limit_y > dot.y  # 0.05 is below 0.06
    assert charts.series_chart("none", [], []) is None


def span(version: str, start: str, end: str | None, ended_by: str | None = None) -> SpanJson:
    return {"version": version, "start": start, "end": end, "ended_by": ended_by}


def test_lanes_put_each_stretch_at_its_time() -> None:
    now = 1_700_000_400
    lanes = {
        "staging": [],
        "prod": [
            span("1.0.0", "2023-11-14T22:13:20Z", "2023-11-14T22:16:40Z", "rolled-back"),
            span("0.9.0", "2023-11-14T22:16:40Z", None),
        ],
    }
    chart = charts.lane_chart(lanes, now)
    assert chart is not None
    assert [lane.stage for lane in chart.lanes] == ["staging", "prod"]
    first, second = chart.lanes[1].bars
    assert first.x == chart.left
    assert first.x + first.width == pytest.approx(second.x, abs=0.01)
    assert second.x + second.width == pytest.approx(chart.right, abs=0.01)  # live until now
    assert first.classes == ("rolled-back",) and second.classes == ("live",)
    assert first.width == pytest.approx(second.width, abs=0.01)  # 200 s each
    assert "rolled back" in first.tooltip
    assert charts.lane_chart({"prod": []}, now) is None

"""The gate's rules on hand-made metric values: direction-aware, significance-aware, all failures."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from champion.evaluation.gate import judge, significantly_improved


@dataclass(frozen=True)
class Iv:
    low: float
    high: float


@dataclass(frozen=True)
class M:
    name: str
    direction: str
    candidate: float | None
    champion: float | None
    delta: float | None
    interval: Iv | None = None
    note: str = ""


def m(
    name: str,
    champion: float,
    candidate: float,
    low: float | None = None,
    high: float | None = None,
    direction: str = "higher",
) -> M:
    iv = Iv(low, high) if low is not None and high is not None else None
    return M(name, direction, candidate, champion, candidate - champion, iv)


def verdicts(result: object) -> list[tuple[str, str, str]]:
    return [(f.metric, f.rule, f.verdict) for f in result.findings]  # type: ignore[attr-defined]


def test_max_regression_follows_the_direction() -> None:
    rules = {"auc": {"max_regression": 0.005}, "latency": {"max_regression_rel": 0.2}}
    ok = judge(
        [m("auc", 0.90, 0.897), m("latency", 10, 11.9, direction="lower")],
        rules,
        {},
        has_champion=True,
    )
    assert ok.passed
    bad = judge(
        [m("auc", 0.90, 0.89), m("latency", 10, 12.5, direction="lower")],
        rules,
        {},
        has_champion=True,
    )
    assert not bad.passed
    assert [f.metric for f in bad.failures] == ["auc", "latency"]  # every failure, not the first
    assert "got worse by 0.01" in bad.failures[0].message
    # Lower is better: a latency that drops is an improvement, whatever the sign of the delta.
    assert judge(
        [m("latency", 10, 5, direction="lower")],
        {"latency": {"min_improvement": 4}},
        {},
        has_champion=True,
    ).passed


def test_significance_forgives_noise_but_not_a_real_regression() -> None:
    rule = {"auc": {"max_regression": 0.0, "significance": True}}
    noisy = m("auc", 0.900, 0.898, low=-0.006, high=0.002)
    assert not judge([noisy], {"auc": {"max_regression": 0.0}}, {}, has_champion=True).passed
    assert judge([noisy], rule, {}, has_champion=True).passed
    real = m("auc", 0.900, 0.890, low=-0.015, high=-0.005)
    assert not judge([real], rule, {}, has_champion=True).passed


def test_min_improvement_with_significance_needs_the_whole_interval() -> None:
    rule = {"f1": {"min_improvement": 0.01, "significance": True}}
    assert judge([m("f1", 0.7, 0.74, low=0.02, high=0.06)], rule, {}, has_champion=True).passed
    assert not judge(
        [m("f1", 0.7, 0.74, low=0.005, high=0.075)], rule, {}, has_champion=True
    ).passed


def test_value_floor_and_ceiling() -> None:
    rules = {"f1": {"min": 0.7}, "latency": {"max": 20}}
    result = judge(
        [m("f1", 0.8, 0.69), m("latency", 10, 21, direction="lower")], rules, {}, has_champion=True
    )
    assert verdicts(result) == [("f1", "min", "fail"), ("latency", "max", "fail")]


def test_first_model_judges_only_value_rules_by_default() -> None:
    first = M("f1", "higher", 0.8, None, None)
    rules = {"f1": {"min": 0.7, "max_regression": 0.01}}
    result = judge([first], rules, {}, has_champion=False)
    assert result.passed
    assert verdicts(result) == [("f1", "min", "pass"), ("f1", "policy", "skipped")]
    assert not judge([first], rules, {"first_model": "fail"}, has_champion=False).passed


def test_missing_metric_policy() -> None:
    missing = M("roc_auc", "higher", None, 0.9, None, note="only one class in the data")
    rules = {"roc_auc": {"max_regression": 0.01}, "absent": {"min": 1}}
    failed = judge([missing], rules, {}, has_champion=True)
    assert [f.metric for f in failed.failures] == ["roc_auc", "absent"]
    assert "only one class" in failed.failures[0].message
    assert judge([missing], rules, {"missing": "skip"}, has_champion=True).passed


@pytest.mark.parametrize(("mode", "passed"), [("absolute", True), ("fail", False), ("pass", True)])
def test_zero_baseline_policy(mode: str, passed: bool) -> None:
    zero = m("errors", 0.0, 0.001, direction="lower")
    rule = {"errors": {"max_regression_rel": 0.5}}
    assert judge([zero], rule, {"zero_baseline": mode}, has_champion=True).passed is passed


def test_slice_rules_apply_to_large_slices_only() -> None:
    result = judge(
        [m("auc", 0.9, 0.9)],
        {},
        {},
        has_champion=True,
        slice_metrics={"region=eu": [m("auc", 0.9, 0.85)], "region=us": [m("auc", 0.9, 0.9)]},
        slice_rules={"auc": {"max_regression": 0.02}},
        unjudged_slices={"region=mars": "3 rows, under min_size 200: not judged"},
    )
    assert [(f.slice, f.verdict) for f in result.findings] == [
        ("region=eu", "fail"),
        ("region=us", "pass"),
        ("region=mars", "skipped"),
    ]
    assert result.verdict_of("auc", "region=eu") == "fail"
    assert result.verdict_of("auc") == "none"


def test_significant_improvement_needs_an_interval_above_zero() -> None:
    values = [m("auc", 0.8, 0.85, 0.01, 0.09), m("f1", 0.8, 0.85, -0.01, 0.11), m("acc", 0.8, 0.9)]
    assert significantly_improved(values, ["auc", "f1", "acc"]) == ["auc"]
    assert significantly_improved(values, ["f1"]) == []

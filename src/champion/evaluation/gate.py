"""The gate: rules from `champion.yaml` judged on metric values; every failure is collected.

A rule reads the same whatever the metric's direction: "regression" and "improvement" are
measured in the direction in which the metric gets better.

- `min` / `max`: a floor / ceiling on the candidate's value.
- `max_regression` (`_rel`): the candidate may be worse by at most this much (relative: this
  fraction of |champion|). With `significance: true` it fails only when the whole confidence
  interval of the change lies beyond the tolerance, so noise alone never fails it.
- `min_improvement` (`_rel`): the candidate must be better by at least this much; 0 means "not
  worse". With `significance: true` the whole interval must clear it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

VALUE_RULES = ("min", "max")
CHANGE_RULES = ("max_regression", "max_regression_rel", "min_improvement", "min_improvement_rel")
DEFAULT_POLICY = {"first_model": "values", "missing": "fail", "zero_baseline": "absolute"}
POLICY_CHOICES = {
    "first_model": ("values", "pass", "fail"),
    "missing": ("fail", "skip"),
    "zero_baseline": ("absolute", "fail", "pass"),
}


class _Interval(Protocol):
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...


class Measured(Protocol):
    """What the gate reads of a metric (champion.evaluation.metrics.MetricValue fits)."""

    @property
    def name(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def candidate(self) -> float | None: ...
    @property
    def champion(self) -> float | None: ...
    @property
    def delta(self) -> float | None: ...
    @property
    def interval(self) -> _Interval | None: ...


@dataclass(frozen=True)
class Finding:
    metric: str
    rule: str  # "min", "max_regression", ..., or "policy"
    verdict: str  # "pass" | "fail" | "skipped"
    message: str
    slice: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "slice": self.slice,
            "rule": self.rule,
            "verdict": self.verdict,
            "message": self.message,
        }


@dataclass(frozen=True)
class GateResult:
    findings: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict == "fail"]

    def verdict_of(self, metric: str, slice_name: str | None = None) -> str:
        """fail if any rule failed, pass if one passed, skipped, or none (no rule)."""
        own = [f.verdict for f in self.findings if f.metric == metric and f.slice == slice_name]
        for verdict in ("fail", "pass", "skipped"):
            if verdict in own:
                return verdict
        return "none"


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _improvement(m: Measured) -> tuple[float, float, float] | None:
    """(point, low, high) of the improvement: the delta signed so that positive is better."""
    if m.delta is None:
        return None
    sign = 1.0 if m.direction == "higher" else -1.0
    point = sign * m.delta
    if m.interval is None:
        return point, point, point
    a, b = sign * m.interval.low, sign * m.interval.high
    return point, min(a, b), max(a, b)


def judge_metric(
    m: Measured,
    rule: Mapping[str, Any],
    policy: Mapping[str, str],
    *,
    has_champion: bool,
    slice_name: str | None = None,
) -> list[Finding]:
    findings: list[Finding] = []
    where = f" on {slice_name}" if slice_name else ""

    def add(rule_name: str, ok: bool | None, message: str) -> None:
        verdict = "skipped" if ok is None else ("pass" if ok else "fail")
        findings.append(Finding(m.name, rule_name, verdict, message, slice_name))

    if m.candidate is None:
        ok = None if policy["missing"] == "skip" else False
        add("policy", ok, f"{m.name}{where} could not be computed for the candidate: {_why(m)}")
        return findings
    for name in VALUE_RULES:
        if name not in rule:
            continue
        bound = float(rule[name])
        ok = m.candidate >= bound if name == "min" else m.candidate <= bound
        word = "at least" if name == "min" else "at most"
        add(name, ok, f"{m.name}{where} is {_fmt(m.candidate)}; it must be {word} {_fmt(bound)}")
    change_rules = [r for r in CHANGE_RULES if r in rule]
    if not change_rules:
        return findings
    if not has_champion:
        ok = {"values": None, "pass": None, "fail": False}[policy["first_model"]]
        add("policy", ok, f"{m.name}{where}: no champion to compare with (initial version)")
        return findings
    improvement = _improvement(m)
    if improvement is None or m.champion is None:
        ok = None if policy["missing"] == "skip" else False
        add("policy", ok, f"{m.name}{where} could not be computed for the champion: {_why(m)}")
        return findings
    significance = bool(rule.get("significance", False))
    point, low, high = improvement
    for name in change_rules:
        tolerance = float(rule[name])
        if name.endswith("_rel"):
            if m.champion == 0:
                mode = policy["zero_baseline"]
                if mode != "absolute":
                    add(
                        name,
                        mode == "pass",
                        f"{m.name}{where}: the champion's value is 0, so a "
                        f"relative rule cannot apply (zero_baseline: {mode})",
                    )
                    continue
            else:
                tolerance *= abs(m.champion)
        add(name, *_change(m, name, tolerance, point, low, high, significance, where))
    return findings


def _change(
    m: Measured,
    rule: str,
    tolerance: float,
    point: float,
    low: float,
    high: float,
    significance: bool,
    where: str,
) -> tuple[bool, str]:
    change = f"{'improved' if point >= 0 else 'got worse'} by {_fmt(abs(point))}"
    if significance and m.interval is not None:
        change += f" (interval of the improvement {_fmt(low)} to {_fmt(high)})"
    if rule.startswith("max_regression"):
        # Fails on significance only when even the interval's best case is too much worse.
        judged = high if significance else point
        ok = judged >= -tolerance
        return ok, f"{m.name}{where} {change}; it may get worse by at most {_fmt(tolerance)}"
    judged = low if significance else point
    ok = judged >= tolerance
    return ok, f"{m.name}{where} {change}; it must improve by at least {_fmt(tolerance)}"


def _why(m: Measured) -> str:
    note = getattr(m, "note", "")
    return note or "no value"


def judge(
    metrics: Sequence[Measured],
    rules: Mapping[str, Mapping[str, Any]],
    policy: Mapping[str, str],
    *,
    has_champion: bool,
    slice_metrics: Mapping[str, Sequence[Measured]] | None = None,
    slice_rules: Mapping[str, Mapping[str, Any]] | None = None,
    unjudged_slices: Mapping[str, str] | None = None,
) -> GateResult:
    """Judges every rule on every metric, then the slice rules on every large-enough slice."""
    policy = {**DEFAULT_POLICY, **policy}
    by_name = {m.name: m for m in metrics}
    findings: list[Finding] = []
    for name, rule in rules.items():
        if name not in by_name:
            ok = None if policy["missing"] == "skip" else False
            findings.append(
                Finding(
                    name,
                    "policy",
                    "skipped" if ok is None else "fail",
                    f"{name} has a gate rule but was not measured",
                )
            )
            continue
        findings += judge_metric(by_name[name], rule, policy, has_champion=has_champion)
    for slice_name, values in (slice_metrics or {}).items():
        slice_by_name = {m.name: m for m in values}
        for name, rule in (slice_rules or {}).items():
            if name in slice_by_name:
                findings += judge_metric(
                    slice_by_name[name],
                    rule,
                    policy,
                    has_champion=has_champion,
                    slice_name=slice_name,
                )
    for slice_name, why in (unjudged_slices or {}).items():
        findings.append(Finding("*", "slices.min_size", "skipped", why, slice_name))
    return GateResult(tuple(findings))


def significantly_improved(metrics: Sequence[Measured], gated: Sequence[str]) -> list[str]:
    """Gated metrics whose whole improvement interval is above zero."""
    out = []
    for m in metrics:
        if m.name not in gated or m.interval is None:
            continue
        improvement = _improvement(m)
        if improvement is not None and improvement[1] > 0:
            out.append(m.name)
    return out

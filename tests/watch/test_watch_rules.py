"""The pure core of `champion watch`: rule and duration parsing, judging readings, sustained
breaches, the verdict, the evidence, and the guards and baseline read from hand-made tags."""

from __future__ import annotations

import json

import pytest

from champion.errors import ChampionError
from champion.git import RefRecord
from champion.registry.state import build_state
from champion.watch.guards import baseline_of, guards
from champion.watch.readings import NoData, Track, evidence, judge, reason, verdict
from champion.watch.rules import Rule, Window, parse_duration, parse_rule, parse_window


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("error_rate < 0.05", Rule("error_rate < 0.05", "error_rate", "<", threshold=0.05)),
        ("latency_p95_ms<=300", Rule("latency_p95_ms<=300", "latency_p95_ms", "<=", threshold=300)),
        ("  auc   >  .7 ", Rule("auc > .7", "auc", ">", threshold=0.7)),
        ("job:errors:rate5m >= -1e-3", Rule("job:errors:rate5m >= -1e-3", "job:errors:rate5m", ">=", threshold=-0.001)),
        ("shop.conversion >= baseline", Rule("shop.conversion >= baseline", "shop.conversion", ">=")),
        ("conversion >= 0.95 * baseline", Rule("conversion >= 0.95 * baseline", "conversion", ">=", factor=0.95)),
        ("latency <= baseline * 1.2", Rule("latency <= baseline * 1.2", "latency", "<=", factor=1.2)),
        ("errors <= 2 * baseline + 0.01", Rule("errors <= 2 * baseline + 0.01", "errors", "<=", factor=2, offset=0.01)),
        ("ctr >= baseline - 0.002", Rule("ctr >= baseline - 0.002", "ctr", ">=", offset=-0.002)),
    ],
)  # fmt: skip
def test_rules_parse(text: str, expected: Rule) -> None:
    assert parse_rule(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("error_rate = 0.05", "rule `error_rate = 0.05` is malformed"),
        ("error_rate == 0.05", "rule `error_rate == 0.05` is malformed"),
        ("error_rate <", "`(nothing)` is neither"),
        ("< 0.05", "is malformed"),
        ("error_rate < 5%", "`5%` is neither"),
        ("error_rate < 1e999", "1e999 is not a finite number"),
        ("conversion >= 0.9 * baseline * 2", "give the factor once"),
        ("baseline < 3", "`baseline` is the right-hand side's keyword"),
    ],
)
def test_malformed_rules_name_the_rule_and_the_syntax(text: str, message: str) -> None:
    with pytest.raises(ChampionError, match=r"METRIC OP VALUE|finite|factor once") as raised:
        parse_rule(text)
    assert message in str(raised.value)


def test_a_rule_holds_or_not_against_its_limit() -> None:
    rule = parse_rule("conversion >= 0.95 * baseline + 0.01")
    assert rule.uses_baseline and rule.limit(None) is None
    assert rule.limit(0.2) == pytest.approx(0.2)
    assert rule.holds(0.2, 0.2) and not rule.holds(0.19, 0.2)
    assert parse_rule("x < 1").limit(123.0) == 1.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("60s", 60), ("0.05s", 0.05), ("250ms", 0.25), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("15", 15), ("0s", 0)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "--for") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "5 m", "-1s", "1x", "", "m5"])
def test_bad_durations_name_the_option(text: str) -> None:
    with pytest.raises(ChampionError, match=r"^--interval "):
        parse_duration(text, "--interval")


def test_windows_count_readings_or_span_a_duration() -> None:
    assert parse_window("3") == Window(readings=3)
    assert parse_window("5m") == Window(seconds=300)
    with pytest.raises(ChampionError, match="--window 0"):
        parse_window("0")
    three = Window(readings=3)
    assert not three.sustained([1, 2]) and three.sustained([1, 2, 3])
    assert three.span(60) == 120
    five_minutes = Window(seconds=300)
    assert not five_minutes.sustained([0, 60, 120, 180, 240]) and five_minutes.sustained([0, 300])
    assert five_minutes.span(120) == 360  # readings at 0, 2, 4, 6 minutes: the last one spans it


def track(rule: str, values: list[float | None], baseline: float | None = None) -> Track:
    t = Track(parse_rule(rule))
    for at, value in enumerate(values):
        sample = NoData("null") if value is None else float(value)
        t.points.append(judge(t.rule, sample, baseline, float(1_700_000_000 + 60 * at)))
    return t


def test_a_breach_is_sustained_only_over_consecutive_readings() -> None:
    window = Window(readings=3)
    spike = track("e < 0.05", [0.01, 0.09, 0.01, 0.09, 0.09])
    assert spike.count("breach") == 3 and not spike.sustained(window)
    assert verdict([spike], window) == "healthy"
    sustained = track("e < 0.05", [0.01, 0.07, 0.08, 0.09])
    assert [p.value for p in sustained.streak()] == [0.07, 0.08, 0.09]
    assert verdict([spike, sustained], window) == "breached"


def test_no_data_interrupts_a_breach_and_alone_never_breaches() -> None:
    window = Window(readings=2)
    gap = track("e < 0.05", [0.07, None, 0.08])
    assert not gap.sustained(window) and verdict([gap], window) == "healthy"
    empty = track("e < 0.05", [None, None, None])
    assert verdict([empty], window) == "no data"
    # A breach outranks missing data elsewhere.
    assert verdict([empty, track("f < 1", [2, 2])], window) == "breached"


def test_a_baseline_rule_without_a_baseline_has_no_data() -> None:
    rule = parse_rule("conversion >= 0.95 * baseline")
    point = judge(rule, 0.1, None, 0.0)
    assert (point.state, point.why) == ("no data", "baseline: no baseline")
    point = judge(rule, 0.1, NoData("query returned no series"), 0.0)
    assert point.why == "baseline: query returned no series"
    assert judge(rule, 0.1, 0.2, 0.0).state == "breach"
    assert judge(rule, 0.19, 0.2, 0.0).state == "ok"


def test_the_reason_is_one_line_and_the_evidence_holds_every_reading() -> None:
    window = Window(readings=3)
    tracks = [
        track("e < 0.05", [0.01, 0.07, 0.08, 0.09]),
        track("c >= 0.9 * baseline", [0.1] * 4, 0.2),
    ]
    text = reason(tracks, window)
    assert "\n" not in text
    assert text == (
        "champion watch: e < 0.05 breached at 3 consecutive readings (0.07, 0.08, 0.09) from "
        "2023-11-14T22:14:20Z to 2023-11-14T22:16:20Z; c >= 0.9 * baseline (limit 0.18) "
        "breached at 4 consecutive readings (0.1, 0.1, 0.1, 0.1) from 2023-11-14T22:13:20Z to "
        "2023-11-14T22:16:20Z"
    )
    data = evidence(
        tracks, window, version="2.0.0", stage="prod", source="s", interval=60, readings=4,
        baseline={"version": "1.0.0"},
    )  # fmt: skip
    json.dumps(data)  # it goes into a tag message as JSON
    assert [b["rule"] for b in data["breached"]] == ["e < 0.05", "c >= 0.9 * baseline"]
    assert data["breached"][1]["readings"][0] == {
        "at": "2023-11-14T22:13:20Z",
        "value": 0.1,
        "limit": pytest.approx(0.18),
    }
    assert (data["from"], data["to"]) == ("2023-11-14T22:13:20Z", "2023-11-14T22:16:20Z")


def test_a_long_breach_is_shortened_in_the_reason() -> None:
    window = Window(seconds=600)
    t = track("e < 0.05", [0.06 + i / 1000 for i in range(11)])
    assert t.sustained(window)
    assert "breached at every reading for 10m (0.06, 0.061, …, 0.068, 0.069, 0.07)" in reason(
        [t], window
    )


def ref(name: str, commit: str, ts: int, meta: dict[str, object] | None = None) -> RefRecord:
    body = json.dumps({"schema": 1, **(meta or {})})
    return RefRecord(name, True, commit, ts, "T <t@x>", "summary", body)


HISTORY = [
    ref("churn@v1.0.0", "c1", 100),
    ref("churn#prod#1", "c1", 110),
    ref("churn@v2.0.0", "c2", 200),
    ref("churn#prod!#2", "c1", 210),
    ref("churn#prod#3", "c2", 211),
]


def test_the_baseline_is_the_rollback_target_as_it_was_when_last_live() -> None:
    state = build_state("churn", HISTORY)
    found = baseline_of(state, "prod")
    assert found is not None and (str(found.version), found.until) == ("1.0.0", 210)
    assert baseline_of(build_state("churn", HISTORY[:2]), "prod") is None


def test_guards() -> None:
    state = build_state("churn", HISTORY)
    live = state.live["prod"]
    assert guards(state, "prod", live, cooldown=60, now=1000) == []
    [changed] = guards(state, "prod", live, cooldown=3600, now=1000)
    assert changed.startswith("the live version changed 13m ago (churn#prod#3 made 2.0.0 live)")
    # --cooldown 0s judges a version that just went live, even one whose tag is dated ahead of
    # the clock (several writes in a second each date their tags one second later).
    assert guards(state, "prod", live, cooldown=0, now=205) == []
    assert guards(state, "prod", live, cooldown=1, now=205) != []

    auto = {"rollback": True, "trigger": "watch", "from": "2.0.0", "version": "1.0.0"}
    after = build_state(
        "churn",
        [
            *HISTORY,
            ref("churn#prod!#4", "c2", 300, {"mark": "rolled-back"}),
            ref("churn#prod#5", "c1", 301, auto),
        ],
    )
    now_live = after.live["prod"]
    reasons = guards(after, "prod", now_live, cooldown=3600, now=361)
    assert reasons[0].startswith(
        "the previous automatic rollback (churn#prod#5: 2.0.0 → 1.0.0) was 60s ago"
    )
    assert reasons[1].startswith("no eligible target")
    assert len(reasons) == 2
    # The readings were of a version that is no longer live.
    [moved] = guards(after, "prod", live, cooldown=0, now=400)
    assert moved.startswith(
        "the live version changed while watching: 2.0.0 (churn#prod#3) was watched"
    )

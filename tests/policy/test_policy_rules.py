"""The rules alone, on hand-built events: no git, no network, any clock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from champion.config.policy import StagePolicy, format_duration, parse_duration
from champion.policy import rules
from champion.registry.state import Event, VersionInfo
from champion.registry.tags import Action, TagName, Version

H = 3600
T0 = 1_700_000_000
V1, V2 = Version(0, 1, 0), Version(0, 2, 0)
SOAK = StagePolicy("prod", after="staging", soak=24 * H, soak_text="24h")


class History:
    """Stage events in counter order, each with its date."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, action: Action, stage: str, version: Version, at: int, **meta: Any) -> History:
        counter = len(self.events) + 1
        bang = "!" if action is Action.UNASSIGN else ""
        self.events.append(
            Event(
                tag=f"churn#{stage}{bang}#{counter}",
                name=TagName("churn", action, stage=stage, counter=counter),
                commit="c" * 40,
                timestamp=at,
                metadata=dict(meta),
                resolved=version,
            )
        )
        return self

    def assign(self, stage: str, version: Version, at: int, **meta: Any) -> History:
        return self.add(Action.ASSIGN, stage, version, at, **meta)

    def unassign(self, stage: str, version: Version, at: int, **meta: Any) -> History:
        return self.add(Action.UNASSIGN, stage, version, at, **meta)


def test_after_refuses_a_version_never_live_there_and_passes_one_that_was() -> None:
    policy = StagePolicy("prod", after="staging")
    history = History().assign("staging", V1, T0)
    refused = rules.check_after(policy, history.events, V2, T0)
    assert refused is not None and not refused.ok
    assert refused.record == "0.2.0 was never live in staging"
    assert refused.satisfy == "promote 0.2.0 to staging first"
    passed = rules.check_after(policy, history.events, V1, T0)
    assert passed is not None and passed.ok and "live in staging since" in passed.record
    # Replaced in staging since: it was live there, which is what `after` asks.
    history.unassign("staging", V1, T0 + H).assign("staging", V2, T0 + H)
    again = rules.check_after(policy, history.events, V1, T0 + 2 * H)
    assert again is not None and again.ok and "until" in again.record


def test_soak_counts_the_time_live_in_the_stage_against_the_clock() -> None:
    history = History().assign("staging", V1, T0).events
    early = rules.check_soak(SOAK, history, V1, T0 + 3 * H)
    assert early is not None and not early.ok
    assert early.record == "live in staging for 3h of the 24h required"
    assert early.satisfy == "wait until 2023-11-15T22:13:20Z (another 21h)"
    assert early.eligible_at == T0 + 24 * H
    late = rules.check_soak(SOAK, history, V1, T0 + 24 * H)
    assert late is not None and late.ok and late.record.startswith("live in staging for 24h")


def test_soak_refuses_a_version_rolled_back_since_it_went_live_in_the_stage() -> None:
    history = (
        History()
        .assign("staging", V1, T0)
        .assign("prod", V1, T0 + 30 * H)
        .unassign("prod", V1, T0 + 31 * H, mark="rolled-back")
        .assign("prod", V2, T0 + 31 * H, rollback=True)
    )
    verdict = rules.check_soak(SOAK, history.events, V1, T0 + 40 * H)
    assert verdict is not None and not verdict.ok
    assert "rolled back from prod at 2023-11-16" in verdict.record
    assert "churn#prod!#3" in verdict.record
    # Back in staging after the fix, it soaks again from then.
    history.unassign("staging", V1, T0 + 41 * H).assign("staging", V1, T0 + 42 * H)
    assert not rules.check_soak(SOAK, history.events, V1, T0 + 50 * H).ok  # type: ignore[union-attr]
    assert rules.check_soak(SOAK, history.events, V1, T0 + 66 * H).ok  # type: ignore[union-attr]


def test_soak_refuses_a_stay_that_ended_too_early() -> None:
    history = History().assign("staging", V1, T0).unassign("staging", V1, T0 + 5 * H).events
    verdict = rules.check_soak(SOAK, history, V1, T0 + 48 * H)
    assert verdict is not None and not verdict.ok
    assert verdict.record.startswith("live in staging for 5h of the 24h required (it left")
    assert "again" in verdict.satisfy


@pytest.mark.parametrize(
    ("registration", "ok", "record"),
    [
        ({"gate": {"verdict": "passed", "against": "0.1.0"}}, True, "passed gate against 0.1.0"),
        ({"gate": {"verdict": "failed"}}, False, "recorded a failed gate"),
        (
            {"gate": {"verdict": "failed", "override": {"by": "x"}}},
            False,
            "failed gate (overridden at release)",
        ),
        ({"gate": {"verdict": "none", "note": "no gate: rules"}}, False, "judged no gate"),
        ({}, False, "recorded no gate verdict"),
    ],
)
def test_gate_passed_needs_a_recorded_pass(
    registration: Mapping[str, Any], ok: bool, record: str
) -> None:
    verdict = rules.check_gate(StagePolicy("prod", gate="passed"), V1, registration)
    assert verdict is not None and verdict.ok is ok and record in verdict.record
    assert rules.check_gate(StagePolicy("prod"), V1, registration) is None


def test_signed_asks_the_verifier_and_refuses_without_one() -> None:
    policy = StagePolicy("prod", signed=True)
    info = VersionInfo(V1, "churn@v0.1.0", "c" * 40, T0, {"signing": {"bundle": "x"}})
    seen: list[tuple[str, VersionInfo]] = []

    def valid(model: str, checked: VersionInfo) -> str | None:
        seen.append((model, checked))
        return None

    def tampered(model: str, checked: VersionInfo) -> str | None:
        return "the artifact's digest is not the signed one"

    ok = rules.check_signed(policy, "churn", info, valid)
    assert ok is not None and ok.ok and seen == [("churn", info)]
    bad = rules.check_signed(policy, "churn", info, tampered)
    assert bad is not None and not bad.ok and "digest is not the signed one" in bad.record
    assert "--sign" in bad.satisfy
    missing = rules.check_signed(policy, "churn", info, None)
    assert missing is not None and not missing.ok and "can verify" in missing.record
    assert rules.check_signed(StagePolicy("prod"), "churn", info, None) is None


def test_actor_rules_name_who_is_allowed() -> None:
    allowed = ("alice", "@acme/ml-leads")
    assert rules.check_actor("promote", None, "bob", [], "") is None
    nobody = rules.check_actor("promote", allowed, None, [], "")
    assert nobody is not None and not nobody.ok and "--actor" in nobody.satisfy
    bob = rules.check_actor("promote", allowed, "bob", [], "GitHub answered 500")
    assert bob is not None and not bob.ok
    assert bob.record == "bob is not among alice, @acme/ml-leads (GitHub answered 500)"
    assert bob.satisfy == "ask one of alice, @acme/ml-leads to run it"
    alice = rules.check_actor("promote", allowed, "alice", ["alice"], "")
    assert alice is not None and alice.ok


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("24h", 86400), ("30m", 1800), ("1d12h", 129600), ("2w", 1209600), ("90s", 90)],
)
def test_durations_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["24", "h", "24 hours", "1.5h", "-3h", "24H1", ""])
def test_malformed_durations_do_not_parse(text: str) -> None:
    assert parse_duration(text) is None


def test_durations_format_readably() -> None:
    assert [format_duration(s) for s in (0, 59, 3 * H, 26 * H, 50 * H, 90 * 60)] == [
        "0s",
        "59s",
        "3h",
        "26h",
        "2d2h",
        "1h30m",
    ]


def test_the_standing_of_signed_reads_only_whether_a_signature_is_there() -> None:
    policy = StagePolicy("prod", signed=True)
    none = rules.check_carries_signature(policy, V1, {})
    assert none is not None and not none.ok and none.record == "0.1.0 carries no signature"
    broken = rules.check_carries_signature(policy, V1, {"signing": {"method": "pgp"}})
    assert broken is not None and not broken.ok
    assert "its signature cannot be read" in broken.record and "method" in broken.record
    assert rules.check_carries_signature(StagePolicy("prod"), V1, {}) is None

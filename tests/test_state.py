"""The pure core: what a sequence of tags means, built from hand-made refs, no git involved."""

from __future__ import annotations

import json

from champion.registry.git import RefRecord
from champion.registry.state import build_state, order_events


def ref(
    name: str,
    commit: str,
    ts: int = 0,
    meta: dict[str, object] | None = None,
    annotated: bool = True,
) -> RefRecord:
    body = json.dumps({"schema": 1, **(meta or {})}) if meta is not None else "GTO wrote this"
    return RefRecord(name, annotated, commit, ts, "T <t@x>", "summary", body)


def test_the_latest_unretracted_assign_is_live() -> None:
    refs = [
        ref("churn@v1.0.0", "c1", 1),
        ref("churn@v2.0.0", "c2", 2),
        ref("churn#prod#1", "c1", 3),
        ref("churn#prod#2", "c2", 4),
    ]
    state = build_state("churn", refs)
    assert str(state.live["prod"].version) == "2.0.0"
    # An unassign of 2.0.0 retracts it, so the older assign that nothing retracted is live again.
    state = build_state("churn", [*refs, ref("churn#prod!#3", "c2", 5)])
    assert str(state.live["prod"].version) == "1.0.0"


def test_a_rollback_writes_unassign_then_assign_and_the_target_is_live() -> None:
    refs = [
        ref("churn@v1.0.0", "c1", 1),
        ref("churn@v2.0.0", "c2", 2),
        ref("churn#prod#1", "c1", 3),
        ref("churn#prod!#2", "c1", 4),
        ref("churn#prod#3", "c2", 4),
        ref("churn#prod!#4", "c2", 5, {"mark": "rolled-back", "version": "2.0.0"}),
        ref("churn#prod#5", "c1", 5, {"version": "1.0.0"}),
    ]
    state = build_state("churn", refs)
    assert str(state.live["prod"].version) == "1.0.0"
    assert state.live["prod"].tag == "churn#prod#5"
    rolled = {str(v.version): v.rolled_back for v in state.versions}
    assert rolled == {"1.0.0": False, "2.0.0": True}


def test_stages_are_independent_and_counters_are_per_model() -> None:
    refs = [
        ref("churn@v1.0.0", "c1", 1),
        ref("churn@v1.1.0", "c2", 2),
        ref("churn#staging#1", "c2", 3),
        ref("churn#prod#2", "c1", 3),
    ]
    state = build_state("churn", refs)
    assert {s: str(live.version) for s, live in state.live.items()} == {
        "staging": "1.1.0",
        "prod": "1.0.0",
    }
    assert state.max_counter == 2


def test_other_models_and_foreign_tags_are_ignored() -> None:
    refs = [
        ref("churn@v1.0.0", "c1", 1),
        ref("churn2@v9.0.0", "c9", 1),
        ref("release-1", "c1", 1),
        ref("models/churn=churn@v3.0.0", "c3", 1),
    ]
    state = build_state("churn", refs)
    assert [str(v.version) for v in state.versions] == ["1.0.0"]
    assert [str(v.version) for v in build_state("models/churn:churn", refs).versions] == ["3.0.0"]


def test_a_lightweight_tag_that_looks_like_ours_is_named_in_a_warning() -> None:
    state = build_state("churn", [ref("churn@v1.0.0", "c1", annotated=False)])
    assert state.versions == ()
    assert len(state.warnings) == 1
    assert "churn@v1.0.0 is a lightweight tag" in state.warnings[0]


def test_deregistered_versions_stay_listed_but_are_not_latest() -> None:
    refs = [
        ref("churn@v1.0.0", "c1", 1),
        ref("churn@v1.1.0", "c2", 2),
        ref("churn@v1.1.0!", "c2", 3),
    ]
    state = build_state("churn", refs)
    assert [(str(v.version), v.deregistered) for v in state.versions] == [
        ("1.0.0", False),
        ("1.1.0", True),
    ]
    assert state.latest is not None and str(state.latest.version) == "1.0.0"


def test_history_is_in_counter_order_with_registrations_anchored() -> None:
    # Tag dates disagree with counters (clock skew between runners): counters win; registrations
    # written by champion sit after the counter they recorded.
    refs = [
        ref("churn#prod#2", "c2", 10),
        ref("churn#prod#1", "c1", 50),
        ref("churn@v2.0.0", "c2", 5, {"after_counter": 1}),
        ref("churn@v1.0.0", "c1", 99, {"after_counter": 0}),
    ]
    order = [e.tag for e in order_events(build_state("churn", refs).history)]
    assert order == ["churn@v1.0.0", "churn#prod#1", "churn@v2.0.0", "churn#prod#2"]


def test_foreign_registrations_are_placed_by_date() -> None:
    refs = [
        ref("churn#prod#1", "c1", 20),
        ref("churn@v1.0.0", "c1", 10),
        ref("churn@v2.0.0", "c2", 30),
    ]
    order = [e.tag for e in build_state("churn", refs).history]
    assert order == ["churn@v1.0.0", "churn#prod#1", "churn@v2.0.0"]


def test_metadata_reads_back_and_plain_messages_give_none() -> None:
    state = build_state("churn", [ref("churn@v1.0.0", "c1", 1, {"artifact": {"sha256": "ab"}})])
    assert state.versions[0].metadata == {"schema": 1, "artifact": {"sha256": "ab"}}
    assert build_state("churn", [ref("churn@v1.0.0", "c1", 1)]).versions[0].metadata == {}

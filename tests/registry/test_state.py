"""The pure core: what a sequence of tags means, built from hand-made refs, no git involved."""

from __future__ import annotations

import json

import pytest

from champion.git import RefRecord
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


# --- tags that lie or crash (issue 14.4) ---------------------------------------------------------

BASE = [
    ref("churn@v0.1.0", "c1", 1, {"version": "0.1.0", "artifact": {"sha256": "a1"}}),
    ref("churn@v0.3.0", "c3", 2, {"version": "0.3.0", "artifact": {"sha256": "a3"}}),
]


def test_the_tag_name_and_commit_define_the_event_not_its_metadata() -> None:
    # On 0.3.0's commit, claiming to be about 0.1.0 (or a version nobody registered).
    for claim in ("0.1.0", "7.7.7"):
        state = build_state("churn", [*BASE, ref("churn#prod#5", "c3", 3, {"version": claim})])
        assert str(state.live["prod"].version) == "0.3.0"
        [warning] = state.warnings
        assert "churn#prod#5" in warning and f"version {claim!r}, not '0.3.0'" in warning
        assert state.history[-1].metadata == {}
    # A registration whose metadata names another version keeps no metadata (so no artifact to
    # serve: nothing unverifiable is served under its name).
    state = build_state("churn", [ref("churn@v0.3.0", "c3", 1, {"version": "0.1.0"})])
    assert state.versions[0].metadata == {}
    assert "churn@v0.3.0" in state.warnings[0]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"a":' * 150_000 + "1" + "}" * 150_000, "nests deeper than"),
        ('{"a": ' + "[" * 40 + "]" * 40 + "}", "nests deeper than"),
        ('{"after_counter": ' + "9" * 5000 + "}", "not valid JSON"),
        ('{"canary": "heavy"}', "wrong type for canary"),
        ('{"artifact": "models/x.bin"}', "wrong type for artifact"),
        ('{"artifact": {"size": "big"}}', "wrong type for artifact"),
        ('{"after_counter": true}', "wrong type for after_counter"),
        ('{"metrics": {"auc": {"candidate": "high"}}}', "wrong type for metrics"),
        ('{"x": "' + "y" * (1 << 20) + '"}', "characters long"),
        ("{not json", "not valid JSON"),
    ],
)
def test_malformed_metadata_is_a_warning_and_the_model_stays_readable(
    body: str, problem: str
) -> None:
    hostile = RefRecord("churn#prod#1", True, "c1", 3, "T <t@x>", "summary", body)
    state = build_state("churn", [*BASE, hostile])
    assert str(state.live["prod"].version) == "0.1.0"  # the event stands on its name and commit
    [warning] = state.warnings
    assert warning.startswith("tag churn#prod#1: ") and problem in warning


def test_near_miss_tags_are_ignored_and_named_in_one_warning() -> None:
    misses = [
        "churn#prod#-1",
        "churn@v1.0",
        "churn@v01.2.3",
        "churn#prod#1\u0660\u0660",
        "churn#prod",
    ]
    misses.append("churn#prod#" + "9" * 5000)
    state = build_state("churn", [*BASE, *(ref(name, "c1", 5) for name in misses)])
    assert state.live == {} and len(state.versions) == 2
    [warning] = state.warnings
    assert warning.startswith("6 tag(s) look like churn's but are not in GTO's grammar")
    for name in misses[:-1]:
        assert name in warning
    # Other models' tags are not near misses of this one.
    assert build_state("churn", [ref("churn2@v1", "c1"), ref("release-1", "c1")]).warnings == ()


def test_a_deregistered_version_is_live_nowhere() -> None:
    refs = [
        *BASE,
        ref("churn#prod#1", "c1", 3),
        ref("churn#prod#2", "c3", 4),  # GTO's plain re-assign: 0.1.0 was never unassigned
        ref("churn#staging#3", "c3", 5),
        ref("churn@v0.3.0!", "c3", 6),
    ]
    state = build_state("churn", refs)
    # Whoever wrote the tags: 0.3.0 is gone from both stages; 0.1.0's assign was never retracted.
    assert {s: str(live.version) for s, live in state.live.items()} == {"prod": "0.1.0"}
    assert state.stages == ["prod", "staging"]


def test_a_model_deprecated_as_a_whole() -> None:
    state = build_state(
        "churn", [*BASE, ref("churn#prod#1", "c1", 3), ref("churn@deprecated", "c1", 9)]
    )
    assert state.deprecated
    # A later event brings it back, as for GTO.
    later = build_state(
        "churn",
        [*BASE, ref("churn@deprecated", "c1", 3), ref("churn#prod#1", "c1", 9)],
    )
    assert not later.deprecated


def test_a_version_rolled_back_then_promoted_again_is_not_rolled_back() -> None:
    rolled = {"mark": "rolled-back", "version": "0.3.0"}
    refs = [
        *BASE,
        ref("churn#prod#1", "c1", 3),
        ref("churn#prod!#2", "c1", 4),
        ref("churn#prod#3", "c3", 5),
        ref("churn#prod!#4", "c3", 6, rolled),
        ref("churn#prod#5", "c1", 7),
    ]
    assert {str(v.version): v.rolled_back for v in build_state("churn", refs).versions} == {
        "0.1.0": False,
        "0.3.0": True,
    }
    again = build_state(
        "churn", [*refs, ref("churn#prod!#6", "c1", 8), ref("churn#prod#7", "c3", 9)]
    )
    assert str(again.live["prod"].version) == "0.3.0"
    assert not any(v.rolled_back for v in again.versions)
    # The past stays in the history.
    assert any(e.metadata.get("mark") == "rolled-back" for e in again.history)


def test_a_stage_tag_gto_reads_otherwise_is_named() -> None:
    # No version on that commit: GTO shows the commit itself as live.
    state = build_state("churn", [*BASE, ref("churn#prod#1", "c9", 3)])
    assert state.live == {}
    assert "churn#prod#1 is on commit c9, which holds no registered version" in state.warnings[0]
    # Two versions on one commit: GTO fails on the stage tag; champion reads the active one.
    two = [
        ref("churn@v0.1.0", "c1", 1),
        ref("churn@v0.1.0!", "c1", 2),
        ref("churn@v0.2.0", "c1", 3),
        ref("churn#prod#1", "c1", 4),
    ]
    state = build_state("churn", two)
    assert str(state.live["prod"].version) == "0.2.0"
    assert "holds 0.1.0 (churn@v0.1.0), 0.2.0 (churn@v0.2.0): GTO cannot tell" in state.warnings[0]
    # Dates and counters that disagree: GTO and DVC go by date, champion by counter.
    skewed = build_state(
        "churn", [*BASE, ref("churn#prod#1", "c1", 50), ref("churn#prod#2", "c3", 40)]
    )
    assert "churn#prod#2 is dated before churn#prod#1" in skewed.warnings[0]

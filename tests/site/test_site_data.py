"""The site's data from hand-made refs, no git: the timeline, the lanes, and what a hostile tag
can and cannot put on a page."""

from __future__ import annotations

import json
from itertools import groupby
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from champion.git import RefRecord
from champion.registry.state import build_state, stage_timeline
from champion.site import clean, data, timeline
from champion.site.links import Forge
from champion.site.schema import ModelJson

FORGE = Forge("github.com")
RUN = "https://github.com/octo/app/actions/runs/42"


def ref(name: str, commit: str, ts: int, meta: dict[str, Any] | None = None) -> RefRecord:
    body = json.dumps({"schema": 1, **(meta or {})})
    return RefRecord(name, True, commit, ts, "T <t@x>", "summary", body)


def model(refs: list[RefRecord], **options: Any) -> ModelJson:
    state = build_state("churn", refs)
    defaults: dict[str, Any] = {
        "description": "",
        "sections": {},
        "stages": ["staging", "prod"],
        "forge": FORGE,
        "recent_since": "1970-01-01T00:00:00Z",
    }
    return data.model_json(state, **{**defaults, **options})


PROMOTE_THEN_ROLLBACK = [
    ref("churn@v1.0.0", "c1", 100, {"message": "first", "actor": "alice", "run_url": RUN}),
    ref("churn#prod#1", "c1", 110, {"version": "1.0.0", "actor": "alice"}),
    ref("churn@v1.1.0", "c2", 200, {"after_counter": 1}),
    ref("churn#prod!#2", "c1", 210, {"version": "1.0.0", "replaced_by": "1.1.0"}),
    ref("churn#prod#3", "c2", 211, {"version": "1.1.0", "from": "1.0.0", "reason": "better"}),
    ref(
        "churn#prod!#4",
        "c2",
        300,
        {"version": "1.1.0", "replaced_by": "1.0.0", "mark": "rolled-back", "reason": "errors"},
    ),
    ref(
        "churn#prod#5",
        "c1",
        301,
        {
            "version": "1.0.0",
            "rollback": True,
            "to": "1.0.0",
            "reason": "errors",
            "actor": "bob",
            "run_id": "7",
        },
    ),
]


def test_an_unassign_that_makes_way_is_one_event_with_its_assign() -> None:
    events = model(PROMOTE_THEN_ROLLBACK)["events"]
    assert [(e["kind"], e["tags"]) for e in events] == [
        ("register", ["churn@v1.0.0"]),
        ("promote", ["churn#prod#1"]),
        ("register", ["churn@v1.1.0"]),
        ("promote", ["churn#prod!#2", "churn#prod#3"]),
        ("rollback", ["churn#prod!#4", "churn#prod#5"]),
    ]
    promote, rollback = events[3], events[4]
    assert (promote["version"], promote["previous"], promote["reason"]) == (
        "1.1.0",
        "1.0.0",
        "better",
    )
    assert (rollback["version"], rollback["previous"], rollback["actor"]) == (
        "1.0.0",
        "1.1.0",
        "bob",
    )
    # history's rule: `actor` counts when CI wrote the tag (a run recorded); the promote's
    # `actor: alice` has no run, so the site names its tagger, as `champion history` does.
    assert events[1]["actor"] == events[2]["actor"] != "alice"
    assert events[0]["actor"] == "alice"
    assert rollback["reason"] == "errors" and not rollback["automatic"]
    assert events[0]["reason"] == "first" and events[0]["run_url"] == RUN


def test_lanes_have_no_gap_where_an_unassign_made_way_and_mark_the_rollback() -> None:
    lanes = model(PROMOTE_THEN_ROLLBACK)["lanes"]
    assert lanes["staging"] == []
    assert [(s["version"], s["start"], s["end"], s["ended_by"]) for s in lanes["prod"]] == [
        ("1.0.0", "1970-01-01T00:01:50Z", "1970-01-01T00:03:31Z", "replaced"),
        ("1.1.0", "1970-01-01T00:03:31Z", "1970-01-01T00:05:01Z", "rolled-back"),
        ("1.0.0", "1970-01-01T00:05:01Z", None, None),
    ]


def test_a_lone_unassign_ends_a_stretch_and_leaves_the_stage_empty() -> None:
    refs = [
        ref("churn@v1.0.0", "c1", 100),
        ref("churn#prod#1", "c1", 110),
        ref("churn#prod!#2", "c1", 120, {"version": "1.0.0", "reason": "incident"}),
    ]
    built = model(refs)
    assert built["stages"]["prod"] is None
    assert [(s["version"], s["ended_by"]) for s in built["lanes"]["prod"]] == [
        ("1.0.0", "unassigned")
    ]
    assert built["events"][-1]["kind"] == "unassign"
    assert built["events"][-1]["previous"] == "1.0.0"


@st.composite
def histories(draw: st.DrawFn) -> list[RefRecord]:
    """Versions, then stage events in any order, GTO-style re-assigns and stray unassigns too."""
    count = draw(st.integers(1, 4))
    refs = [ref(f"churn@v1.{i}.0", f"c{i}", i) for i in range(count)]
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["prod", "staging"]), st.booleans(), st.integers(0, count - 1)
            ),
            max_size=25,
        )
    )
    for counter, (stage, unassign, index) in enumerate(steps, start=1):
        name = f"churn#{stage}{'!' if unassign else ''}#{counter}"
        refs.append(ref(name, f"c{index}", 100 + counter, {"version": f"1.{index}.0"}))
    return refs


@settings(max_examples=200, deadline=None)
@given(histories())
def test_lanes_agree_with_the_one_rule_after_every_event(refs: list[RefRecord]) -> None:
    state = build_state("churn", refs)
    lanes = timeline.lanes(state.history, ["prod", "staging"])
    for stage in ("prod", "staging"):
        lives = [str(v) if v else None for _, v in stage_timeline(state.history, stage)]
        expected = [v for v, _ in groupby(lives) if v is not None]
        assert [s["version"] for s in lanes[stage]] == expected
        open_spans = [s["version"] for s in lanes[stage] if s["end"] is None]
        live = state.live.get(stage)
        assert open_spans == ([str(live.version)] if live else [])


def test_a_watch_rollback_is_automatic_and_carries_its_evidence() -> None:
    evidence = {
        "version": "1.1.0",
        "stage": "prod",
        "source": "prom+https://prometheus.internal",
        "window": "3 consecutive readings",
        "interval_seconds": 30,
        "readings": 4,
        "from": "2026-01-01T00:00:00Z",
        "to": "2026-01-01T00:01:30Z",
        "breached": [
            {
                "rule": "error_rate < 0.05",
                "metric": "error_rate",
                "breached_readings": 3,
                "readings": [
                    {"at": "2026-01-01T00:00:30Z", "value": 0.06, "limit": 0.05},
                    {"at": "2026-01-01T00:01:00Z", "value": None, "limit": 0.05},
                    {"at": "2026-01-01T00:01:30Z", "value": "0.08", "limit": 0.05},
                ],
            }
        ],
    }
    watch = {"trigger": "watch", "evidence": evidence}
    refs = [
        *PROMOTE_THEN_ROLLBACK[:5],
        ref(
            "churn#prod!#4",
            "c2",
            300,
            {"version": "1.1.0", "replaced_by": "1.0.0", "mark": "rolled-back", **watch},
        ),
        ref("churn#prod#5", "c1", 301, {"version": "1.0.0", "rollback": True, **watch}),
    ]
    built = model(refs, recent_since="1970-01-01T00:04:00Z")
    rollback = built["events"][-1]
    assert rollback["kind"] == "rollback" and rollback["automatic"]
    assert rollback["evidence"] is not None
    [breach] = rollback["evidence"]["breached"]
    # A number that is not a number is no data, never text on a chart.
    assert [r["value"] for r in breach["readings"]] == [0.06, None, None]
    assert rollback["evidence"]["first_reading"] == "2026-01-01T00:00:00Z"
    [recent] = built["recent_rollbacks"]
    assert (recent["stage"], recent["rolled_back"], recent["to"], recent["automatic"]) == (
        "prod",
        "1.1.0",
        "1.0.0",
        True,
    )
    assert model(refs, recent_since="1970-01-01T00:06:00Z")["recent_rollbacks"] == []


def test_canary_start_promote_and_abort_read_as_such() -> None:
    refs = [
        ref("churn@v1.0.0", "c1", 100),
        ref("churn@v1.1.0", "c2", 101, {"after_counter": 0}),
        ref("churn#prod#1", "c1", 110),
        ref(
            "churn#prod-canary#2",
            "c2",
            120,
            {"version": "1.1.0", "canary": {"stage": "prod", "weight": 0.25}},
        ),
        ref(
            "churn#prod!#3",
            "c1",
            130,
            {"version": "1.0.0", "replaced_by": "1.1.0", "canary_promoted": True},
        ),
        ref("churn#prod#4", "c2", 131, {"version": "1.1.0", "canary_promoted": True}),
        ref("churn#prod-canary!#5", "c2", 132, {"version": "1.1.0", "canary_promoted": True}),
        ref("churn#prod-canary#6", "c1", 140, {"version": "1.0.0", "canary": {"weight": 0.1}}),
        ref("churn#prod-canary!#7", "c1", 150, {"version": "1.0.0", "mark": "canary-aborted"}),
    ]
    built = model(refs)
    kinds = [(e["kind"], e["version"], e["previous"], e["tags"][-1]) for e in built["events"]]
    assert kinds[3:] == [
        ("canary-start", "1.1.0", None, "churn#prod-canary#2"),
        ("canary-promote", "1.1.0", "1.0.0", "churn#prod-canary!#5"),
        ("canary-start", "1.0.0", None, "churn#prod-canary#6"),
        ("canary-abort", "1.0.0", "1.0.0", "churn#prod-canary!#7"),
    ]
    assert built["events"][3]["weight"] == 0.25
    assert list(built["stages"]) == ["staging", "prod", "prod-canary"]
    assert [s["version"] for s in built["lanes"]["prod-canary"]] == ["1.1.0", "1.0.0"]


HOSTILE = (
    "<script>document.title='pwned'</script><img src=x onerror=alert(1)> "
    "**bold** [click](https://evil.example/x) @octocat #12 \u202eevil\u202c \x1b[31mred"
)


def test_hostile_metadata_keeps_only_what_it_must_be() -> None:
    # Keys of the wrong type (an actor that is an object, a size that is a string, a metric that
    # is a boolean) never leave the registry's reader (registry/metadata.py); the values of the
    # right type that remain are the site's to check.
    meta = {
        "message": HOSTILE,
        "actor": {"login": "mallory"},
        "run_url": "javascript:alert(1)",
        "artifact": {"path": HOSTILE, "sha256": "<b>not a hash</b>", "size": 12},
        "data": {"sha256": "A" * 64},
        "metrics": {"accuracy": {"candidate": float("nan")}, "auc": {"candidate": 0.9}},
        "pull_request": {"number": 7, "url": "https://evil.example/octo/app/pull/7"},
        "signature": {"features": ["a"]},
    }
    built = model([ref("churn@v1.0.0", "c1", 100, meta)])
    [version] = built["versions"]
    assert version["message"] is not None
    assert "\u202e" not in version["message"] and "\x1b" not in version["message"]
    assert "<script>" in version["message"]  # kept as text: the template escapes it
    # An actor that is not a string is dropped: the site names the tagger (T), as history does.
    assert version["actor"] == "T" and version["run_url"] is None
    assert version["artifact"] == {
        "path": version["artifact"]["path"],
        "sha256": None,
        "size": 12,
        "tracked_by": None,
    }  # type: ignore[index]
    assert version["data"] == {"path": None, "sha256": None}
    assert version["metrics"] == {"auc": 0.9}
    assert version["pull_request"] == {"number": 7, "url": None}
    assert version["signature"] is None  # a model's input signature is not a signing bundle
    assert version["release_url"] is None


def test_text_is_capped_and_stripped() -> None:
    assert clean.text("a" * 5000, 10) == "a" * 9 + "…"
    assert clean.text("x\u2066y\x00z") == "x y z"
    assert clean.text(12) is None and clean.text("   ") is None
    assert (
        clean.finite_number(True) is None
        and clean.finite_number(float("inf")) is None
        and clean.finite_number(3) == 3.0
    )
    assert clean.version("v1.2.3") == "1.2.3" and clean.version("1.2") is None


def test_a_signing_bundle_shows_who_signed() -> None:
    meta = {"signing": {"bundle": {"mediaType": "x"}, "identity": "release@example.com"}}
    [version] = model([ref("churn@v1.0.0", "c1", 100, meta)])["versions"]
    assert version["signature"] == {"identity": "release@example.com"}
    meta = {"signing": {"bundle": {"mediaType": "x"}, "method": "key", "key_hint": "ab" * 32}}
    [version] = model([ref("churn@v1.0.0", "c1", 100, meta)])["versions"]
    assert version["signature"] == {"identity": "key abababababab"}
    # `signature` is the model's input/output signature, whatever it holds.
    meta = {"signature": {"bundle": {"mediaType": "x"}, "identity": "release@example.com"}}
    [version] = model([ref("churn@v1.0.0", "c1", 100, meta)])["versions"]
    assert version["signature"] is None


def test_links_are_rebuilt_from_checked_parts() -> None:
    meta = {
        "run_url": "https://github.com/octo/app/actions/runs/42/attempts/2",
        "pull_request": {"number": 9, "url": "https://github.com/octo/app/pull/9"},
    }
    [version] = model([ref("churn@v1.0.0", "c1", 100, meta)])["versions"]
    assert version["run_url"] == "https://github.com/octo/app/actions/runs/42/attempts/2"
    assert version["pull_request"] == {"number": 9, "url": "https://github.com/octo/app/pull/9"}
    assert version["release_url"] == "https://github.com/octo/app/releases/tag/churn%40v1.0.0"
    # Without a forge, nothing from a tag is a link.
    [bare] = model([ref("churn@v1.0.0", "c1", 100, meta)], forge=None)["versions"]
    assert bare["run_url"] is None and bare["pull_request"] == {"number": 9, "url": None}


def test_pages_of_different_models_never_collide_and_stay_in_their_folder() -> None:
    names = ["churn", "models/churn:churn", "models-churn:churn", "models_2fchurn:churn", "a/b"]
    pages = [data.page_of(n) for n in names]
    assert len(set(pages)) == len(pages)
    for page in pages:
        folder, _, file = page.partition("/")
        assert folder == "models" and "/" not in file and not file.startswith(".")
    assert data.page_of("models/churn:churn") == "models/models_2fchurn_3achurn.html"
    assert [data.folder_of(n) for n in ("churn", "models/churn:churn", "team/churn")] == [
        "",
        "models/churn",
        "team",
    ]


def test_the_gated_metrics_come_first_else_every_recorded_one() -> None:
    sections = {
        "gate": {"roc_auc": {"max_regression": 0.01}, "slices": {}, "policy": {}, "lift": {}},
        "metrics": ["roc_auc", {"name": "lift", "function": "m:f", "direction": "higher"}],
    }
    meta = {"metrics": {"roc_auc": {"candidate": 0.9}, "log_loss": {"candidate": 0.3}}}
    built = model([ref("churn@v1.0.0", "c1", 100, meta)], sections=sections)
    assert built["metrics"] == [
        {"name": "roc_auc", "direction": "higher", "gated": True},
        {"name": "lift", "direction": "higher", "gated": True},
    ]
    ungated = model([ref("churn@v1.0.0", "c1", 100, meta)])
    assert [(m["name"], m["direction"], m["gated"]) for m in ungated["metrics"]] == [
        ("log_loss", "lower", False),
        ("roc_auc", "higher", False),
    ]

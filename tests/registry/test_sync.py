"""registry/sync.py's decision, on hand-made refs: which tags only this clone has are pushed as
they are, which are deleted, which are left alone."""

from __future__ import annotations

import json

from champion.git import RefRecord
from champion.registry.plans import NewTag
from champion.registry.sync import reconcile
from champion.registry.tags import parse_tag


def planned(name: str, commit: str, **meta: object) -> NewTag:
    parsed = parse_tag(name)
    assert parsed is not None
    return NewTag(parsed, commit, f"summary of {name}", dict(meta))


def local(tag: NewTag, ts: int = 100, **other: object) -> RefRecord:
    body = json.dumps({"schema": 1, **tag.metadata, **other}, sort_keys=True, indent=2)
    return RefRecord(tag.tag, True, tag.commit, ts, "T <t@x>", tag.summary, body, oid="o")


def test_a_prefix_of_exactly_what_the_run_writes_is_reused() -> None:
    unassign = planned("churn#prod!#6", "c3", version="0.3.0")
    assign = planned("churn#prod#7", "c2", version="0.2.0")
    found = reconcile([unassign, assign], [local(unassign), local(assign)], set(), 50, stages=True)
    assert (found.reuse, found.drop) == (("churn#prod!#6", "churn#prod#7"), ())
    # The same tag with other metadata is not "exactly": it and everything after it is rewritten.
    other = local(unassign, reason="another reason")
    found = reconcile([unassign, assign], [other, local(assign)], set(), 50, stages=True)
    assert found.reuse == () and [r.name for r in found.drop] == ["churn#prod!#6", "churn#prod#7"]
    # Dated before what the remote has: GTO and DVC would order it wrongly, so it is rewritten.
    found = reconcile([unassign, assign], [local(unassign, ts=40)], set(), 50, stages=True)
    assert found.reuse == () and [r.name for r in found.drop] == ["churn#prod!#6"]


def test_what_is_in_the_way_is_dropped_and_the_rest_kept() -> None:
    register = planned("churn@v0.4.0", "c4", version="0.4.0")
    stale_stage = local(planned("churn#staging#9", "c1"))
    same_commit = local(planned("churn@v0.3.9", "c4"))
    elsewhere = local(planned("churn@v0.5.0", "c5"))
    divergent = local(planned("churn@v0.1.0", "c1"))  # the remote has another churn@v0.1.0
    refs = [stale_stage, same_commit, elsewhere, divergent]
    found = reconcile([register], refs, {"churn@v0.1.0"}, 0, stages=False)
    assert found.reuse == ()
    assert sorted(r.name for r in found.drop) == ["churn@v0.1.0", "churn@v0.3.9"]
    # A stage operation also drops the stage tags the remote never had.
    found = reconcile([register], refs, {"churn@v0.1.0"}, 0, stages=True)
    assert sorted(r.name for r in found.drop) == ["churn#staging#9", "churn@v0.1.0", "churn@v0.3.9"]

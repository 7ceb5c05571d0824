from __future__ import annotations

from champion.evaluation.signature import Signature, diff, suggest


def sig(
    *features: tuple[str, str],
    classes: tuple[str, ...] | None = ("0", "1"),
    task: str = "classification",
) -> Signature:
    return Signature(task, tuple(features), classes)


BASE = sig(("age", "int64"), ("plan", "string"), ("spend", "double"))


def test_no_change_is_a_patch_and_significant_improvement_a_minor() -> None:
    assert diff(BASE, BASE).bump == "patch"
    result = diff(BASE, BASE, improved=["roc_auc"])
    assert (result.bump, result.reasons) == ("minor", ("roc_auc improved significantly",))


def test_added_feature_is_minor_removed_renamed_retyped_are_major() -> None:
    added = diff(
        BASE, sig(("age", "int64"), ("plan", "string"), ("spend", "double"), ("tenure", "int64"))
    )
    assert added.bump == "minor"
    assert added.changes == ({"kind": "feature_added", "name": "tenure"},)
    removed = diff(BASE, sig(("age", "int64"), ("spend", "double")))
    assert removed.bump == "major"
    assert "feature removed: plan" in removed.reasons
    renamed = diff(BASE, sig(("age", "int64"), ("tier", "string"), ("spend", "double")))
    assert renamed.bump == "major"
    assert renamed.reasons == ("feature renamed: plan → tier",)
    retyped = diff(BASE, sig(("age", "double"), ("plan", "string"), ("spend", "double")))
    assert retyped.reasons == ("feature retyped: age int64 → double",)


def test_classes_or_task_change_is_major() -> None:
    assert diff(BASE, sig(*BASE.features, classes=("0", "1", "2"))).bump == "major"
    assert diff(BASE, sig(*BASE.features, classes=None, task="regression")).bump == "major"


def test_initial_version_and_round_trip() -> None:
    assert diff(None, BASE).reasons == ("initial version",)
    assert Signature.from_dict(BASE.as_dict()) == BASE


def test_latency_or_size_alone_never_make_a_minor() -> None:
    assert diff(BASE, BASE, improved=["latency_p95_ms", "size_bytes"]).bump == "patch"
    mixed = diff(BASE, BASE, improved=["latency_p95_ms", "f1"])
    assert (mixed.bump, mixed.reasons) == ("minor", ("f1 improved significantly",))


def test_a_failed_gate_suggests_no_release_whatever_the_signature_says() -> None:
    added = diff(BASE, sig(*BASE.features, ("tenure", "int64")), improved=["roc_auc"])
    assert suggest(added, gate_passed=True).bump == "minor"
    failed = suggest(added, gate_passed=False)
    assert failed.bump == "none"
    assert failed.reasons == ("the gate failed",)
    removed = diff(BASE, sig(("age", "int64")))
    assert suggest(removed, gate_passed=False).bump == "none"


def test_reasons_are_distinct() -> None:
    twice = diff(BASE, sig(*BASE.features, ("tenure", "int64")), improved=["roc_auc", "roc_auc"])
    assert twice.reasons == ("feature added: tenure", "roc_auc improved significantly")
    assert len(set(suggest(twice, gate_passed=True).reasons)) == 2

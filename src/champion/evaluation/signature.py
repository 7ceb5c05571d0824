"""A model's signature (its inputs and outputs) and what a change of it means for the version.

The suggested bump, first match wins:
- none (no release at all): the gate failed;
- major: a signature break, i.e. a feature removed, renamed or retyped, the classes changed, or
  the task changed;
- minor: a feature added, or a significant improvement of a gated *quality* metric (the whole
  interval of its improvement above zero); latency and size alone never make a minor;
- patch: anything else.
Every reason is listed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

BUMP_ORDER = ("patch", "minor", "major")
NO_RELEASE = "none"  # the suggestion when the gate failed
# Metrics about how a model runs, not how well it predicts: they never make a bump minor.
OPERATIONAL = ("latency_p50_ms", "latency_p95_ms", "size_bytes")


@dataclass(frozen=True)
class Signature:
    task: str
    features: tuple[tuple[str, str], ...]  # (name, dtype), in the model's order
    classes: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "features": [{"name": n, "dtype": d} for n, d in self.features],
            "n_features": len(self.features),
            "classes": list(self.classes) if self.classes is not None else None,
        }

    def restricted(self, used: Sequence[str]) -> Signature:
        """Only the features in `used` (the others were never used by the model)."""
        keep = set(used)
        return Signature(self.task, tuple(f for f in self.features if f[0] in keep), self.classes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        classes = data.get("classes")
        return cls(
            task=str(data.get("task", "")),
            features=tuple((str(f["name"]), str(f["dtype"])) for f in data.get("features", [])),
            classes=tuple(str(c) for c in classes) if classes is not None else None,
        )


def of_model(model: Any, task: str, names: Sequence[str], dtypes: dict[str, str]) -> Signature:
    classes = getattr(model, "classes_", None)
    return Signature(
        task=task,
        features=tuple((n, dtypes.get(n, "unknown")) for n in names),
        classes=tuple(str(c) for c in classes) if classes is not None else None,
    )


@dataclass(frozen=True)
class SignatureDiff:
    bump: str
    reasons: tuple[str, ...]
    changes: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def diff(
    champion: Signature | None, candidate: Signature, improved: Sequence[str] = ()
) -> SignatureDiff:
    """The suggested bump from champion to candidate, with every reason."""
    if champion is None:
        return SignatureDiff("minor", ("initial version",))
    changes: list[dict[str, Any]] = []
    major: list[str] = []
    minor: list[str] = []
    if champion.task != candidate.task:
        major.append(f"task changed: {champion.task} → {candidate.task}")
        changes.append({"kind": "task", "from": champion.task, "to": candidate.task})
    if champion.classes != candidate.classes and candidate.task == "classification":
        before, after = list(champion.classes or ()), list(candidate.classes or ())
        major.append(f"classes changed: {before} → {after}")
        changes.append({"kind": "classes", "from": before, "to": after})
    old, new = dict(champion.features), dict(candidate.features)
    removed = [n for n in old if n not in new]
    added = [n for n in new if n not in old]
    # A removal and an addition at the same position read as a rename.
    old_pos = {n: i for i, (n, _) in enumerate(champion.features)}
    new_pos = {n: i for i, (n, _) in enumerate(candidate.features)}
    renamed = {r: a for r in removed for a in added if old_pos[r] == new_pos[a]}
    for old_name, new_name in renamed.items():
        major.append(f"feature renamed: {old_name} → {new_name}")
        changes.append({"kind": "feature_renamed", "from": old_name, "to": new_name})
    for name in removed:
        if name not in renamed:
            major.append(f"feature removed: {name}")
            changes.append({"kind": "feature_removed", "name": name})
    for name in new:
        if name in old and old[name] != new[name]:
            major.append(f"feature retyped: {name} {old[name]} → {new[name]}")
            changes.append(
                {"kind": "feature_retyped", "name": name, "from": old[name], "to": new[name]}
            )
    for name in added:
        if name not in renamed.values():
            minor.append(f"feature added: {name}")
            changes.append({"kind": "feature_added", "name": name})
    minor += [f"{m} improved significantly" for m in improved if m not in OPERATIONAL]
    if major:
        return SignatureDiff("major", _distinct(major + minor), tuple(changes))
    if minor:
        return SignatureDiff("minor", _distinct(minor), tuple(changes))
    return SignatureDiff(
        "patch", ("no signature change and no significant improvement",), tuple(changes)
    )


@dataclass(frozen=True)
class Suggestion:
    bump: str  # major | minor | patch | none
    reasons: tuple[str, ...]


def suggest(change: SignatureDiff, *, gate_passed: bool) -> Suggestion:
    """What to release: nothing when the gate failed, else the bump the signature diff says."""
    if not gate_passed:
        return Suggestion(NO_RELEASE, ("the gate failed",))
    return Suggestion(change.bump, _distinct(change.reasons))


def _distinct(reasons: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(reasons))

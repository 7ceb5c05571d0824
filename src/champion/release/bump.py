"""Which bump a release gets, and why, first match wins: an explicit flag (or `release.bump`),
then a pull request label, then a `Model-Bump:` commit trailer, then the evaluation's suggestion,
then patch.

The evaluation suggests (champion.evaluation.signature): major for a signature break (a feature
removed, renamed or retyped, the classes or the task changed); minor for a feature added or a
significant improvement of a gated quality metric (never latency or size alone); patch otherwise;
and no release at all when the gate failed. A merged version whose gate failed is still
registered (the branch holds it) with the bump its signature says, and is not promoted
(champion.release.gate). Every reason is recorded once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from champion.errors import ChampionError

CHOICES = ("major", "minor", "patch", "skip")
LABEL_PREFIX = "champion:"
TRAILER = "Model-Bump"


@dataclass(frozen=True)
class Decision:
    bump: str  # major | minor | patch | skip
    reason: str
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def skip(self) -> bool:
        return self.bump == "skip"


def from_labels(labels: Sequence[str], where: str) -> str | None:
    picked = {label[len(LABEL_PREFIX) :] for label in labels if label.startswith(LABEL_PREFIX)}
    picked &= set(CHOICES)
    if len(picked) > 1:
        raise ChampionError(
            f"{where} has several bump labels ({', '.join(sorted(LABEL_PREFIX + p for p in picked))}): "
            "keep one"
        )
    return picked.pop() if picked else None


def from_trailers(values: Sequence[str], commit: str) -> str | None:
    cleaned = {v.strip().lower() for v in values if v.strip()}
    bad = cleaned - set(CHOICES)
    if bad:
        raise ChampionError(
            f"commit {commit[:12]} has a {TRAILER} trailer {sorted(bad)[0]!r}: use one of "
            f"{', '.join(CHOICES)}"
        )
    if len(cleaned) > 1:
        raise ChampionError(f"commit {commit[:12]} has several {TRAILER} trailers: keep one")
    return cleaned.pop() if cleaned else None


def decide(
    *,
    explicit: str | None,
    label: str | None,
    label_source: str,
    trailer: str | None,
    suggestion: tuple[str, str] | None,
) -> Decision:
    if explicit and explicit != "auto":
        return Decision(explicit, f"--bump {explicit}")
    warnings: list[str] = []
    if label and trailer and label != trailer:
        warnings.append(
            f"the label {LABEL_PREFIX}{label} on {label_source} and the commit's {TRAILER}: "
            f"{trailer} disagree: the label wins"
        )
    if label:
        return Decision(label, f"label {LABEL_PREFIX}{label} on {label_source}", tuple(warnings))
    if trailer:
        return Decision(trailer, f"commit trailer {TRAILER}: {trailer}")
    if suggestion:
        return Decision(suggestion[0], suggestion[1])
    return Decision("patch", "no label, trailer or evaluation to go by: patch")

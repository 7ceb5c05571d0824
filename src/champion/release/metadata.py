"""What a release records in its version's tag (the registry reads it back, as untrusted input, in
registry/metadata.py), and the bump its evaluation suggests."""

from __future__ import annotations

from typing import Any

from champion.evaluation.report import Report
from champion.release import bump as bumps
from champion.release.evidence import Pull


def suggestion(
    evaluation: Report | None, *, first: bool = True, stage: str | None = None
) -> tuple[str, str] | None:
    if evaluation is None:
        return None
    if evaluation.get("initial") and not first:
        # Nothing live in the stage to compare with, but versions exist: "initial version" would
        # say minor for what is no first version.
        return "patch", f"evaluation: no version live in {stage} to compare with: patch"
    return _evaluation_bump(evaluation), f"evaluation: {'; '.join(evaluation_reasons(evaluation))}"


def _evaluation_bump(evaluation: Report) -> str:
    """The evaluation's suggestion. A failed gate suggests no release, but the branch holds the
    artifact, so it is registered all the same (not promoted): with the bump its signature
    says, since consumers of that version see its signature either way."""
    suggested = str(evaluation["suggested"]["bump"])
    return str(evaluation["signature"]["bump"]) if suggested == "none" else suggested


def evaluation_reasons(evaluation: Report) -> list[str]:
    suggested = evaluation["suggested"]
    signature = list(evaluation["signature"]["reasons"])
    if suggested["bump"] == "none":
        reasons = ["the gate failed", *signature]
    else:
        reasons = list(suggested.get("reasons") or signature)
    return list(dict.fromkeys(reasons))


def tag_metadata(
    artifact: dict[str, Any],
    evaluation: Report | None,
    pull: Pull,
    decision: bumps.Decision,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"artifact": artifact, "bump_reasons": [decision.reason]}
    if evaluation is not None:
        meta["metrics"] = {
            m["name"]: {"candidate": m["candidate"], "champion": m["champion"], "delta": m["delta"]}
            for m in evaluation["metrics"]
        }
        # Each reason once: the decision's (unless it is the evaluation's, joined), then the
        # evaluation's, which stay on record when a flag, label or trailer decided.
        reasons = evaluation_reasons(evaluation)
        joined = f"evaluation: {'; '.join(reasons)}"
        first = [] if decision.reason == joined else [decision.reason]
        meta["bump_reasons"] = list(dict.fromkeys([*first, *reasons]))
        data = evaluation.get("data")
        if data:
            meta["data"] = {"path": data["path"], "sha256": data["sha256"]}
        if evaluation["signature"].get("candidate"):
            meta["signature"] = evaluation["signature"]["candidate"]
        meta["libraries"] = evaluation.get("tool", {})
        champion = evaluation.get("champion")
        meta["evaluated_against"] = champion["version"] if champion else None
        if evaluation.get("run_url"):
            meta["evaluation_run_url"] = evaluation["run_url"]
    if pull.number:
        meta["pull_request"] = {"number": pull.number, "url": pull.url}
    return meta

"""Whether a release may promote: its gate's verdict against the version live in the stage, and
an explicit override of a failed one (issue 13: a failed gate used to be promoted all the same).

A version is always registered (it is what the branch holds); it is promoted only when its gate
passed, when there is no gate to pass (no rules, or no evaluation data), or when someone overrode
a failed gate: a `champion:override-gate` label on the pull request, or `--allow-failed-gate
REASON`. Who overrode and why go into the tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from champion.config import ModelConfig
from champion.evaluation.report import Report

OVERRIDE_LABEL = "champion:override-gate"
PASSED, FAILED, NONE = "passed", "failed", "none"


@dataclass(frozen=True)
class Verdict:
    status: str  # passed | failed | none (no gate, or nothing to evaluate it on)
    stage: str | None  # the stage whose live version was the champion
    against: str | None  # that version; None for a first version
    source: str  # where the verdict comes from: "pull request report" | "evaluation" | ""
    reasons: tuple[str, ...] = ()
    note: str = ""  # why there is no verdict

    def as_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "verdict": self.status,
            "stage": self.stage,
            "against": self.against,
            "source": self.source or None,
            "reasons": list(self.reasons),
        }
        if self.note:
            meta["note"] = self.note
        return meta

    def describe(self) -> str:
        """One line: `gate failed against prod's 0.1.0: reason; reason`."""
        if self.status == NONE:
            return self.note
        against = f"{self.stage}'s {self.against}" if self.against else "no champion"
        text = f"gate {self.status} against {against}"
        if self.reasons:
            text += f": {'; '.join(self.reasons)}"
        return text


@dataclass(frozen=True)
class Override:
    by: str
    reason: str
    via: str  # "label champion:override-gate on pull request #8" | "--allow-failed-gate"

    def as_metadata(self) -> dict[str, str]:
        return {"by": self.by, "reason": self.reason, "via": self.via}


def has_gate(spec: ModelConfig) -> bool:
    """Rules to judge: a metric rule or slice rules (a `policy:` alone judges nothing)."""
    gate = spec.gate
    rules = [k for k in gate if k not in ("slices", "policy")]
    return bool(rules or (gate.get("slices") or {}).get("rules"))


def has_data(spec: ModelConfig) -> bool:
    return bool((spec.data and spec.data.target) or spec.declared_format == "metrics")


def without_gate(spec: ModelConfig, stage: str | None) -> Verdict | None:
    """The verdict when there is nothing to judge, saying why; None when there is."""
    if not has_gate(spec):
        return Verdict(NONE, stage, None, "", note="no gate: rules in champion.yaml")
    if not has_data(spec):
        return Verdict(NONE, stage, None, "", note="no evaluation data (data: in champion.yaml)")
    return None


def from_report(report: Report, stage: str | None, source: str) -> Verdict:
    gate = report["gate"]
    champion = report.get("champion")
    return Verdict(
        PASSED if gate["passed"] else FAILED,
        stage,
        champion["version"] if champion else None,
        source,
        tuple(str(r) for r in gate.get("reasons", [])),
    )


def may_promote(verdict: Verdict, override: Override | None) -> bool:
    return verdict.status != FAILED or override is not None

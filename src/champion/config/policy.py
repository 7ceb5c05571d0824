"""`policy:` in champion.yaml (issue 20), checked on load: every stage named, every key known,
every duration and actor well formed; a mistake names the file and line (through the document's
`error`). What the rules mean for a version is champion.policy's to judge."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from champion.errors import ChampionError

KeyPath = tuple[str | int, ...]
ErrorAt = Callable[[KeyPath, str], ChampionError]

KEYS = ("after", "soak", "gate", "signed", "promote", "rollback")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(?:[0-9]{1,6}[smhdw])+")
_PART = re.compile(r"([0-9]+)([smhdw])")
# GitHub's own rules: a login is 1-39 letters, digits and single inner hyphens (an App's bot
# account adds `[bot]`); a team is named by its organization and its slug.
_LOGIN = r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}"
LOGIN_RE = re.compile(rf"{_LOGIN}(?:\[bot\])?")
TEAM_RE = re.compile(rf"@(?P<org>{_LOGIN})/(?P<slug>[A-Za-z0-9][A-Za-z0-9_-]{{0,99}})")
# A workflow file of this repository: a watch's automatic rollback runs as its workflow.
WORKFLOW_RE = re.compile(r"workflow:(?P<file>[A-Za-z0-9._-]+\.ya?ml)")


@dataclass(frozen=True)
class StagePolicy:
    """The rules a version must meet to go live in `stage`. None: the rule is not set."""

    stage: str
    after: str | None = None
    soak: int | None = None  # seconds
    soak_text: str | None = None  # as champion.yaml wrote it, for messages
    gate: str | None = None  # "passed"
    signed: bool = False
    promote: tuple[str, ...] | None = None  # None: whoever may push tags
    rollback: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        """As champion.yaml spells it, for --json."""
        out: dict[str, Any] = {}
        if self.after is not None:
            out["after"] = self.after
        if self.soak is not None:
            out["soak"] = self.soak_text or format_duration(self.soak)
        if self.gate is not None:
            out["gate"] = self.gate
        if self.signed:
            out["signed"] = True
        if self.promote is not None:
            out["promote"] = list(self.promote)
        if self.rollback is not None:
            out["rollback"] = list(self.rollback)
        return out


def parse_duration(text: str) -> int | None:
    """`24h`, `30m`, `1d12h`, `2w` -> seconds; None when malformed."""
    compact = text.strip().lower().replace(" ", "")
    if not _DURATION.fullmatch(compact):
        return None
    return sum(int(n) * _UNITS[u] for n, u in _PART.findall(compact))


def format_duration(seconds: float) -> str:
    """The largest units first, at most two: 26h -> `26h`, 50h -> `2d2h`, 90m -> `1h30m`."""
    left = max(0, int(seconds))
    parts = []
    for unit, size in sorted(_UNITS.items(), key=lambda kv: -kv[1]):
        if unit == "w" or (unit == "d" and left < 2 * size):
            continue  # `1w3d` reads worse than `10d`, and `1d2h` worse than `26h`
        if left >= size:
            parts.append(f"{left // size}{unit}")
            left %= size
        if len(parts) == 2:
            break
    return "".join(parts) or "0s"


def actor_problem(entry: object) -> str | None:
    if not isinstance(entry, str):
        return f"must be a GitHub login or an @org/team, got {type(entry).__name__} {entry!r}"
    if entry.startswith("@"):
        if TEAM_RE.fullmatch(entry):
            return None
        return (
            f"{entry!r} is not a team: write @ORG/TEAM-SLUG, the organization's login and the "
            "team's slug as in its URL (github.com/orgs/ORG/teams/TEAM-SLUG)"
        )
    if entry.startswith("workflow:"):
        if WORKFLOW_RE.fullmatch(entry):
            return None
        return f"{entry!r} is not a workflow: write workflow:FILE.yml, a file in .github/workflows"
    if LOGIN_RE.fullmatch(entry):
        return None
    return (
        f"{entry!r} is not a GitHub login (letters, digits and single hyphens, at most 39) nor "
        "an @org/team nor workflow:FILE.yml"
    )


def parse_policy(
    data: object, stages: Sequence[str], error: ErrorAt, path: KeyPath = ("policy",)
) -> dict[str, StagePolicy]:
    """The stages' rules from the `policy:` mapping. The structure (mappings, known keys, the
    plain types) was checked by config's schema already; this checks what the values mean."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise error(path, f"policy must be a mapping of stage names to rules, got {data!r}")
    policies = {}
    for stage, rules in data.items():
        where: KeyPath = (*path, stage)
        if stage not in stages:
            raise error(
                where,
                f"policy names the stage {stage!r}, which is not one of stages "
                f"({', '.join(stages)}): add it to stages: or fix the name",
            )
        policies[str(stage)] = _stage_policy(str(stage), rules or {}, stages, error, where)
    return policies


def _stage_policy(
    stage: str, rules: Mapping[str, Any], stages: Sequence[str], error: ErrorAt, where: KeyPath
) -> StagePolicy:
    for key in rules:
        if key not in KEYS:
            raise error((*where, key), f"unknown key {key!r} in policy.{stage}; known: {KEYS}")
    after = rules.get("after")
    if after is not None and (after not in stages or after == stage):
        others = ", ".join(s for s in stages if s != stage) or "none"
        raise error(
            (*where, "after"),
            f"policy.{stage}.after must be another stage (one of {others}), got {after!r}",
        )
    soak = None
    if "soak" in rules:
        raw = rules["soak"]
        soak = parse_duration(raw) if isinstance(raw, str) else None
        if soak is None:
            raise error(
                (*where, "soak"),
                f"policy.{stage}.soak {raw!r} is not a duration: write a number and a unit, "
                "e.g. 30m, 24h, 7d or 1d12h (s, m, h, d, w)",
            )
        if after is None:
            raise error(
                (*where, "soak"),
                f"policy.{stage}.soak needs after: the stage the version must have soaked in",
            )
    gate = rules.get("gate")
    if gate is not None and gate != "passed":
        raise error((*where, "gate"), f"policy.{stage}.gate must be passed, got {gate!r}")
    signed = rules.get("signed", False)
    if not isinstance(signed, bool):
        raise error((*where, "signed"), f"policy.{stage}.signed must be true or false")
    lists: dict[str, tuple[str, ...] | None] = {}
    for key in ("promote", "rollback"):
        entries = rules.get(key)
        if entries is None:
            lists[key] = None
            continue
        if not isinstance(entries, list) or not entries:
            raise error(
                (*where, key),
                f"policy.{stage}.{key} must list GitHub logins or @org/teams (leave it out to let "
                "whoever may push tags do it)",
            )
        for i, entry in enumerate(entries):
            problem = actor_problem(entry)
            if problem:
                raise error((*where, key, i), f"policy.{stage}.{key}: {problem}")
        lists[key] = tuple(entries)
    return StagePolicy(
        stage,
        after=after,
        soak=soak,
        soak_text=rules["soak"].strip() if soak is not None else None,
        gate=gate,
        signed=signed,
        promote=lists["promote"],
        rollback=lists["rollback"],
    )

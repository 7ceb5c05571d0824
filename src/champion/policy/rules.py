"""The rules, judged without git or network: a version's record (its stage events and its
registration, as the model's own tags say) against one stage's policy. Each verdict says what the
record is and, when it falls short, what would satisfy the rule.

Time comes in as `now` (seconds since the epoch), so soak is tested with any clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from champion.config.policy import StagePolicy, format_duration
from champion.registry.state import Event, VersionInfo, stage_timeline
from champion.registry.tags import Action, Version
from champion.signing.bundle import SigningError
from champion.signing.record import read_record

# A signature check of a model's version (its tag, commit and registration metadata): None when
# valid, else what is wrong. guard.signature_check makes it from the signing engine's verifier
# (issue 18); the rule only asks.
SignatureCheck = Callable[[str, VersionInfo], "str | None"]


@dataclass(frozen=True)
class Verdict:
    rule: str  # after | soak | gate | signed | promote | rollback
    ok: bool
    record: str  # the version's (or actor's) record against the rule
    satisfy: str = ""  # what would satisfy it, when it is not met
    # soak: the moment the version has soaked long enough (None: never, as things stand)
    eligible_at: int | None = None

    def describe(self, stage: str) -> str:
        text = f"policy.{stage}.{self.rule}: {self.record}"
        return f"{text}; {self.satisfy}" if self.satisfy else text


@dataclass(frozen=True)
class Interval:
    start: int | None
    end: int | None  # None: still live
    ended_by: Event | None = None

    @property
    def rolled_back(self) -> bool:
        return self.ended_by is not None and _is_rollback_of(self.ended_by)


def when(timestamp: int | None) -> str:
    if timestamp is None:
        return "an unknown time"
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_rollback_of(event: Event, version: Version | None = None) -> bool:
    return (
        event.action is Action.UNASSIGN
        and event.metadata.get("mark") == "rolled-back"
        and (version is None or event.version == version)
    )


def intervals(history: Sequence[Event], stage: str, version: Version) -> list[Interval]:
    """When `version` was live in `stage`, by the one rule replayed over the stage's events."""
    found: list[Interval] = []
    start: int | None = None
    live_before: Version | None = None
    for event, live in stage_timeline(history, stage):
        if live == version and live_before != version:
            start = event.timestamp
        elif live_before == version and live != version:
            found.append(Interval(start, event.timestamp, event))
        live_before = live
    if live_before == version:
        found.append(Interval(start, None))
    return found


def check_after(
    policy: StagePolicy, history: Sequence[Event], version: Version, now: int
) -> Verdict | None:
    if policy.after is None:
        return None
    spans = intervals(history, policy.after, version)
    satisfy = f"promote {version} to {policy.after} first"
    if not spans:
        return Verdict("after", False, f"{version} was never live in {policy.after}", satisfy)
    last = spans[-1]
    if last.end is None:
        return Verdict(
            "after", True, f"{version} is live in {policy.after} since {when(last.start)}"
        )
    return Verdict("after", True, f"{version} was live in {policy.after} until {when(last.end)}")


def check_soak(
    policy: StagePolicy, history: Sequence[Event], version: Version, now: int
) -> Verdict | None:
    """Its latest stay in `after` lasted (or has lasted so far) at least `soak`, and nothing rolled
    it back, in any stage, since that stay began."""
    if policy.soak is None or policy.after is None:
        return None
    after, need = policy.after, policy.soak
    required = policy.soak_text or format_duration(need)
    spans = intervals(history, after, version)
    if not spans:
        return Verdict(
            "soak",
            False,
            f"{version} has not been live in {after} (0s of the {required} required)",
            f"promote it to {after} and let it serve there for {required}",
        )
    last = spans[-1]
    if last.start is None:
        return Verdict(
            "soak",
            False,
            f"the date {version} went live in {after} is unknown (its tag carries none)",
            "run the command in a clone that has the tags (git fetch --tags), not against "
            "ls-remote",
        )
    rollbacks = [
        e
        for e in history
        if _is_rollback_of(e, version) and e.timestamp is not None and e.timestamp >= last.start
    ]
    if rollbacks:
        back = rollbacks[-1]
        return Verdict(
            "soak",
            False,
            f"{version} was rolled back from {back.name.stage} at {when(back.timestamp)} "
            f"({back.tag}), after it went live in {after} at {when(last.start)}",
            f"fix it and release a new version, or promote {version} to {after} again and let it "
            f"serve there for {required}",
        )
    end = now if last.end is None else (last.end or now)
    served = max(0, end - last.start)
    record = f"live in {after} for {format_duration(served)} of the {required} required"
    eligible = last.start + need
    if served >= need:
        return Verdict("soak", True, record, eligible_at=eligible)
    if last.end is not None:
        return Verdict(
            "soak",
            False,
            f"{record} (it left {after} at {when(last.end)})",
            f"promote it to {after} again and let it serve there for {required}",
        )
    return Verdict(
        "soak",
        False,
        record,
        f"wait until {when(eligible)} (another {format_duration(eligible - now)})",
        eligible_at=eligible,
    )


def check_gate(
    policy: StagePolicy, version: Version, registration: Mapping[str, Any]
) -> Verdict | None:
    """The registration recorded a passed gate: a release that evaluated it (release engine's
    `gate` metadata). An overridden failed gate is not a pass."""
    if policy.gate is None:
        return None
    gate = registration.get("gate")
    verdict = gate.get("verdict") if isinstance(gate, Mapping) else None
    satisfy = (
        "release it from a pull request whose evaluation passes the gate (champion release with "
        "gate rules and data in champion.yaml)"
    )
    if verdict == "passed":
        against = gate.get("against") if isinstance(gate, Mapping) else None
        return Verdict(
            "gate",
            True,
            f"{version}'s release recorded a passed gate"
            + (f" against {against}" if against else ""),
        )
    if verdict == "failed":
        override = gate.get("override") if isinstance(gate, Mapping) else None
        how = " (overridden at release)" if override else ""
        return Verdict("gate", False, f"{version}'s release recorded a failed gate{how}", satisfy)
    if verdict == "none":
        note = gate.get("note") if isinstance(gate, Mapping) else None
        return Verdict(
            "gate",
            False,
            f"{version}'s release judged no gate ({note or 'nothing to judge'})",
            satisfy,
        )
    return Verdict(
        "gate",
        False,
        f"{version}'s registration recorded no gate verdict (registered without an evaluation)",
        satisfy,
    )


def check_signed(
    policy: StagePolicy, model: str, info: VersionInfo, verify: SignatureCheck | None
) -> Verdict | None:
    if not policy.signed:
        return None
    version = info.version
    if verify is None:
        return Verdict(
            "signed",
            False,
            "nothing here can verify its signature",
            "name the key or Sigstore identity to verify by under signing: in champion.yaml",
        )
    problem = verify(model, info)
    if problem is None:
        return Verdict("signed", True, f"{version}'s signature verifies")
    return Verdict(
        "signed",
        False,
        f"{version}'s signature does not verify: {problem}",
        "promote a version signed by the key or identity signing: names (champion release "
        "--sign, or register --sign)",
    )


def check_carries_signature(
    policy: StagePolicy, version: Version, registration: Mapping[str, Any]
) -> Verdict | None:
    """For status and history: whether the registration carries a signature at all. Whether it
    verifies is judged when the version is promoted (it fetches the artifact)."""
    if not policy.signed:
        return None
    satisfy = "promote a version signed by the key or identity signing: names (release --sign)"
    try:
        signed = read_record(registration, f"{version}'s registration")
    except SigningError as e:
        return Verdict("signed", False, f"its signature cannot be read: {e}", satisfy)
    if signed is None:
        return Verdict("signed", False, f"{version} carries no signature", satisfy)
    return Verdict("signed", True, f"{version} carries a signature, verified when it is promoted")


def check_actor(
    rule: str, allowed: Sequence[str] | None, actor: str | None, member_of: Sequence[str], why: str
) -> Verdict | None:
    """`member_of`: the entries of `allowed` the actor matched (logins, teams, workflows), as the
    actors module found them; `why`: what it learned otherwise (a team it could not read)."""
    if allowed is None:
        return None
    listed = ", ".join(allowed)
    if actor is None:
        return Verdict(
            rule,
            False,
            "no acting identity is known",
            "run it under GitHub Actions (GITHUB_ACTOR) or name yourself with --actor LOGIN",
        )
    if member_of:
        return Verdict(rule, True, f"{actor} is allowed as {member_of[0]}")
    record = f"{actor} is not among {listed}"
    if why:
        record += f" ({why})"
    return Verdict(rule, False, record, f"ask one of {listed} to run it")


def standing(
    policy: StagePolicy,
    history: Sequence[Event],
    version: Version,
    registration: Mapping[str, Any],
    now: int,
) -> list[Verdict]:
    """The version's standing for `policy.stage` on the rules of its record: for status and
    history. Not who runs it, nor whether its signature verifies (both need the network): that a
    signature is there at all."""
    found = [
        check_after(policy, history, version, now),
        check_soak(policy, history, version, now),
        check_gate(policy, version, registration),
    ]
    return [v for v in found if v is not None]

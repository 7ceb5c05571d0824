"""Each rule of `policy:` through the CLI, with real git and a bare origin: a refusal is exit 2,
names the rule, the version's record and what would satisfy it, and writes nothing (no tag in
this clone or the origin, no pointer); the same command passes once the record meets the rule.
Soak is judged at an injected time (champion.policy.guard.CLOCK)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import champion.policy.guard as guard
from testing.releases import tag_metadata
from testing.repos import Repo, Result, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]
H = 3600
BASE = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn.bin
    pointer: ../pointers
"""


def cli(capsys: Capsys, repo: Repo, *args: str) -> Result:
    return run_cli(capsys, repo.path, *args)


def ok(capsys: Capsys, repo: Repo, *args: str) -> str:
    result = cli(capsys, repo, *args)
    assert result.code == 0, f"champion {' '.join(args)}: {result.err}"
    return result.out


def with_policy(repo: Repo, policy: str) -> None:
    (repo.path / "champion.yaml").write_text(BASE + "policy:\n" + policy)


def build(tmp_path: Path, capsys: Capsys, versions: int = 2) -> Repo:
    """churn 0.1.0 .. 0.N.0 registered and pushed, nothing live yet, no policy."""
    repo = make_repo(tmp_path, BASE)
    ok(capsys, repo, "register", "churn", "--push")
    for i in range(2, versions + 1):
        repo.commit_artifact(f"model v{i}")
        ok(capsys, repo, "register", "churn", "--bump", "minor", "--push")
    return repo


def snapshot(repo: Repo) -> tuple[list[str], list[str], dict[str, str]]:
    """This clone's tags, the origin's, and every file the pointer folder holds."""
    folder = repo.path.parent / "pointers"
    files = folder.rglob("*") if folder.exists() else ()
    pointers = {str(p): p.read_bytes().hex() for p in files if p.is_file()}
    return repo.tags(), repo.remote_tags(), pointers


def refused(capsys: Capsys, repo: Repo, *args: str) -> str:
    """Runs a write the policy must refuse, with and without --push; checks nothing was written."""
    before = snapshot(repo)
    for push in ((), ("--push",)):
        result = cli(capsys, repo, *args, *push)
        assert result.code == 2, f"champion {' '.join(args)} was not refused: {result.out}"
        assert "refuses to" in result.err and "nothing was written" in result.err
        assert snapshot(repo) == before
    return result.err


def live(capsys: Capsys, repo: Repo, stage: str) -> str | None:
    data = json.loads(ok(capsys, repo, "status", "churn", "--json"))
    found = data["models"][0]["stages"].get(stage)
    return None if found is None else str(found["version"])


def test_after_refuses_a_version_never_live_in_the_stage_before(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = build(tmp_path, capsys)
    with_policy(repo, "  prod: {after: staging}\n")
    err = refused(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod")
    assert "refuses to promote churn 0.1.0 to prod" in err
    assert (
        "policy.prod.after: 0.1.0 was never live in staging; promote 0.1.0 to staging first" in err
    )
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "staging", "--push")
    out = ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    assert "promoted churn 0.1.0 to prod" in out
    assert live(capsys, repo, "prod") == "0.1.0"
    assert (repo.path.parent / "pointers" / "prod.json").exists()


def test_soak_refuses_until_the_version_served_long_enough(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = build(tmp_path, capsys)
    with_policy(repo, "  prod: {after: staging, soak: 24h}\n")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "staging", "--push")
    start = time.time()
    monkeypatch.setattr(guard, "CLOCK", lambda: start + 3 * H + 30)
    err = refused(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod")
    assert "policy.prod.soak: live in staging for 3h" in err
    assert "of the 24h required; wait until " in err and "(another 20h" in err
    monkeypatch.setattr(guard, "CLOCK", lambda: start + 24 * H + 30)
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    assert live(capsys, repo, "prod") == "0.1.0"


def test_soak_refuses_a_version_rolled_back_meanwhile(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = build(tmp_path, capsys)
    for version in ("0.1.0", "0.2.0"):
        ok(capsys, repo, "promote", "churn", version, "--stage", "staging", "--push")
    ok(capsys, repo, "rollback", "churn", "--stage", "staging", "--reason", "bad", "--push")
    with_policy(repo, "  prod: {after: staging, soak: 1h}\n")
    monkeypatch.setattr(guard, "CLOCK", lambda: time.time() + 2 * H)
    err = refused(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod")
    assert "policy.prod.soak: 0.2.0 was rolled back from staging at" in err
    assert "churn#staging!#4" in err
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")


METRICS = """\
stages: [staging, prod]
models:
  llm:
    path: eval/metrics.json
    format: metrics
    metrics: [{name: rouge, direction: higher}]
    gate: {rouge: {min: 0.3}}
policy:
  prod: {gate: passed}
"""


def test_gate_passed_needs_a_release_that_recorded_a_passed_gate(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = make_repo(tmp_path, METRICS, commit=False)
    metrics = repo.path / "eval" / "metrics.json"
    metrics.parent.mkdir()
    for rouge, message in ((0.5, "passes"), (0.1, "fails"), (0.6, "unjudged")):
        metrics.write_text(json.dumps({"rouge": rouge}))
        repo.git("add", ".")
        repo.git("commit", "-q", "-m", message)
        if message == "unjudged":
            ok(capsys, repo, "register", "llm", "--bump", "minor", "--push")  # no verdict
            continue
        result = cli(
            capsys, repo, "release", "llm", "--promote", "staging", "--bump", "minor", "--push"
        )
        assert result.code == (0 if message == "passes" else 1), result.err
    before = snapshot(repo)
    failed = cli(capsys, repo, "promote", "llm", "0.2.0", "--stage", "prod", "--push")
    assert failed.code == 2
    assert "policy.prod.gate: 0.2.0's release recorded a failed gate; release it from" in failed.err
    unjudged = cli(capsys, repo, "promote", "llm", "0.3.0", "--stage", "prod", "--push")
    assert unjudged.code == 2
    assert "0.3.0's registration recorded no gate verdict" in unjudged.err
    assert snapshot(repo) == before
    out = ok(capsys, repo, "promote", "llm", "0.1.0", "--stage", "prod", "--push")
    assert "promoted llm 0.1.0 to prod" in out


def test_release_promote_refused_by_the_policy_registers_and_holds_the_version(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = build(tmp_path, capsys, versions=1)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    with_policy(repo, "  prod: {after: staging}\n")
    repo.commit_artifact("model v2")
    out = tmp_path / "outputs"
    result = cli(
        capsys, repo, "release", "churn", "--promote", "prod", "--bump", "minor", "--push",
        "--github-output", str(out),
    )  # fmt: skip
    assert result.code == 2
    assert "refuses to promote churn 0.2.0 to prod" in result.err
    assert "0.2.0 was never live in staging" in result.err
    assert "The version is registered" in result.err
    assert "NOT promoted to prod: champion.yaml's policy refused it" in result.out
    assert repo.remote_tags() == ["churn@v0.1.0", "churn@v0.2.0"]
    assert not (repo.path.parent / "pointers").exists()
    assert "promoted=false" in out.read_text()
    assert "not promoted, champion.yaml's policy refused it" in summary.read_text()


def test_rollback_is_exempt_from_after_soak_and_gate_only_its_actors_apply(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = build(tmp_path, capsys)
    for version in ("0.1.0", "0.2.0"):  # straight to prod, before there was a policy
        ok(capsys, repo, "promote", "churn", version, "--stage", "prod", "--push")
    rules = "after: staging, soak: 24h, gate: passed"
    with_policy(repo, f"  prod: {{{rules}, rollback: [bob]}}\n")
    err = refused(capsys, repo, "rollback", "churn", "--reason", "errors", "--actor", "carol")
    assert "refuses to roll churn in prod back to 0.1.0" in err
    assert "policy.prod.rollback: carol is not among bob; ask one of bob to run it" in err
    assert "after" not in err.split("nothing was written")[1]  # only who, not the record
    dry = cli(capsys, repo, "rollback", "churn", "--reason", "x", "--dry-run", "--actor", "carol")
    assert dry.code == 2 and "policy.prod.rollback" in dry.err
    out = ok(capsys, repo, "rollback", "churn", "--reason", "errors", "--actor", "bob", "--push")
    assert "back from 0.2.0 to 0.1.0" in out
    assert live(capsys, repo, "prod") == "0.1.0"
    # Recorded in the tags as GITHUB_ACTOR is.
    assert tag_metadata(repo.origin, "churn#prod#5")["actor"] == "bob"
    # Without `rollback:`, whoever may push tags may roll back; a promotion is still judged.
    with_policy(repo, f"  prod: {{{rules}}}\n")
    refused(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod")
    ok(capsys, repo, "rollback", "churn", "--to", "0.2.0", "--reason", "fixed", "--push")


def test_canary_start_and_promote_answer_to_the_stages_policy(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = build(tmp_path, capsys)
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    with_policy(repo, "  prod: {after: staging, promote: [alice], rollback: [bob]}\n")
    err = refused(capsys, repo, "canary", "start", "churn", "0.2.0", "--actor", "alice")
    assert "refuses to make churn 0.2.0 the canary of prod" in err
    assert "policy.prod.after: 0.2.0 was never live in staging" in err
    ok(capsys, repo, "promote", "churn", "0.2.0", "--stage", "staging", "--push")
    ok(capsys, repo, "canary", "start", "churn", "0.2.0", "--actor", "alice", "--push")
    err = refused(capsys, repo, "canary", "promote", "churn", "--actor", "carol")
    assert "refuses to promote churn 0.2.0 to prod" in err and "carol is not among alice" in err
    err = refused(capsys, repo, "canary", "abort", "churn", "--actor", "alice")
    assert "refuses to abort the canary churn 0.2.0 of prod" in err
    ok(capsys, repo, "canary", "promote", "churn", "--actor", "alice", "--push")
    assert live(capsys, repo, "prod") == "0.2.0"


def test_unassign_is_judged_by_who_may_promote(tmp_path: Path, capsys: Capsys) -> None:
    repo = build(tmp_path, capsys)
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "staging", "--push")
    with_policy(repo, "  staging: {promote: [alice]}\n")
    err = refused(capsys, repo, "unassign", "churn", "--stage", "staging", "--actor", "bob")
    assert "refuses to unassign churn 0.1.0 from staging" in err
    err = refused(capsys, repo, "unassign", "churn", "--stage", "staging")
    assert "no acting identity is known" in err
    ok(capsys, repo, "unassign", "churn", "--stage", "staging", "--actor", "alice", "--push")
    assert live(capsys, repo, "staging") is None


def test_a_stage_without_policy_and_a_registration_are_not_judged(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = build(tmp_path, capsys, versions=1)
    with_policy(repo, "  prod: {after: staging, promote: [alice]}\n")
    repo.commit_artifact("model v2")
    ok(capsys, repo, "register", "churn", "--bump", "minor", "--push", "--actor", "carol")
    ok(capsys, repo, "promote", "churn", "0.2.0", "--stage", "staging", "--push")
    assert tag_metadata(repo.origin, "churn@v0.2.0")["actor"] == "carol"


def test_status_and_history_show_the_standing_and_json_carries_it(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = build(tmp_path, capsys)
    with_policy(repo, "  prod: {after: staging, soak: 24h, promote: [alice]}\n")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "staging", "--push")
    staged = int(
        repo.git("for-each-ref", "--format=%(taggerdate:unix)", "refs/tags/churn#staging#1")
    )
    due = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(staged + 24 * H))
    monkeypatch.setattr(guard, "CLOCK", lambda: staged + 3 * H)
    assert f"churn → prod: 0.1.0 eligible from {due}" in ok(capsys, repo, "status")
    data = json.loads(ok(capsys, repo, "status", "--json"))["models"][0]["policy"]["prod"]
    assert data["rules"] == {"after": "staging", "soak": "24h", "promote": ["alice"]}
    candidate = data["candidate"]
    assert (candidate["version"], candidate["eligible"]) == ("0.1.0", False)
    assert candidate["eligible_from"] == due
    soak = next(r for r in candidate["rules"] if r["rule"] == "soak")
    assert soak["record"] == "live in staging for 3h of the 24h required"
    history = json.loads(ok(capsys, repo, "history", "churn", "--json"))["policy"]["prod"]
    by_version = {v["version"]: v for v in history["versions"]}
    assert by_version["0.2.0"]["eligible"] is False and by_version["0.2.0"]["eligible_from"] is None
    assert by_version["0.1.0"]["eligible_from"] == due
    text = ok(capsys, repo, "history", "churn")
    assert "policy standing for prod:" in text
    assert "0.2.0 not eligible (after: 0.2.0 was never live in staging" in text

    monkeypatch.setattr(guard, "CLOCK", lambda: staged + 25 * H)
    assert f"churn → prod: 0.1.0 eligible (since {due})" in ok(capsys, repo, "status")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--actor", "alice", "--push")
    # Live there now: nothing left to promote to prod.
    data = json.loads(ok(capsys, repo, "status", "--json"))["models"][0]["policy"]["prod"]
    assert data["candidate"] is None


def test_without_a_policy_the_json_shapes_are_as_before(tmp_path: Path, capsys: Capsys) -> None:
    repo = build(tmp_path, capsys, versions=1)
    assert "policy" not in json.loads(ok(capsys, repo, "status", "--json"))["models"][0]
    assert "policy" not in json.loads(ok(capsys, repo, "history", "churn", "--json"))


def test_actor_is_recorded_and_checked_without_a_policy_too(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = build(tmp_path, capsys, versions=1)
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "staging", "--actor", "dana", "--push")
    assert tag_metadata(repo.origin, "churn#staging#1")["actor"] == "dana"
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    before = snapshot(repo)
    result = cli(capsys, repo, "unassign", "churn", "--stage", "staging", "--actor", "mallory")
    assert result.code == 2 and "--actor mallory differs from GITHUB_ACTOR alice" in result.err
    result = cli(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--actor", "a b")
    assert result.code == 2 and "--actor 'a b' is not a GitHub login" in result.err
    assert snapshot(repo) == before

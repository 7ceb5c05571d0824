"""`policy:` in champion.yaml is checked on load: a mistake is exit 2 with the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from champion.config import load_config
from testing.repos import make_repo, run_cli

HEAD = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn.bin
policy:
  prod:
"""


@pytest.mark.parametrize(
    ("rules", "line", "message"),
    [
        ("    after: qa\n", 7, "policy.prod.after must be another stage"),
        ("    after: prod\n", 7, "policy.prod.after must be another stage"),
        ("    afterr: staging\n", 7, "unknown key 'afterr' in policy.prod (did you mean 'after'?)"),
        ("    after: staging\n    soak: 24 hours\n", 8, "soak '24 hours' is not a duration"),
        ("    after: staging\n    soak: 24\n", 8, "soak 24 is not a duration"),
        ("    soak: 24h\n", 7, "soak needs after"),
        ("    gate: green\n", 7, "gate must be passed"),
        ("    signed: yes please\n", 7, "must be true or false"),
        ("    promote: [alice, 'bob smith']\n", 7, "'bob smith' is not a GitHub login"),
        ("    promote:\n      - alice\n      - -bob\n", 9, "'-bob' is not a GitHub login"),
        ("    rollback: ['@acme']\n", 7, "'@acme' is not a team: write @ORG/TEAM-SLUG"),
        ("    rollback: ['@acme/on call']\n", 7, "is not a team"),
        ("    rollback: ['workflow:watch']\n", 7, "is not a workflow"),
        ("    rollback: []\n", 7, "must list GitHub logins or @org/teams"),
        ("    rollback: alice\n", 7, "must list GitHub logins"),
    ],
)
def test_bad_policy_is_refused_on_load_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rules: str, line: int, message: str
) -> None:
    repo = make_repo(tmp_path, HEAD + rules)
    result = run_cli(capsys, repo.path, "status")
    assert result.code == 2, result.err
    assert f"champion.yaml:{line}:" in result.err
    assert message in result.err


def test_a_policy_for_an_unknown_stage_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = HEAD.replace("  prod:\n", "  prod: {after: staging}\n  qa:\n    gate: passed\n")
    repo = make_repo(tmp_path, config)
    result = run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod")
    assert result.code == 2
    assert "champion.yaml:7: policy names the stage 'qa', which is not one of stages" in result.err
    assert repo.tags() == []


def test_a_whole_policy_loads(tmp_path: Path) -> None:
    config = HEAD + (
        "    after: staging\n    soak: 1d12h\n    gate: passed\n    signed: true\n"
        "    promote: [alice, 'dependabot[bot]', '@acme/ml-leads']\n"
        "    rollback: ['@acme/oncall', 'workflow:watch.yml']\n"
        "  staging: {promote: [ci-bot]}\n"
        # signed: verifies by signing:'s key (its file is read when a write needs it).
        "signing: {public_key: keys/release.pub.pem}\n"
    )
    repo = make_repo(tmp_path, config)
    policy = load_config(repo.path).policy
    prod = policy["prod"]
    assert (prod.after, prod.soak, prod.gate, prod.signed) == ("staging", 129600, "passed", True)
    assert prod.promote == ("alice", "dependabot[bot]", "@acme/ml-leads")
    assert prod.rollback == ("@acme/oncall", "workflow:watch.yml")
    assert policy["staging"].promote == ("ci-bot",) and policy["staging"].after is None
    assert prod.as_dict()["soak"] == "1d12h"

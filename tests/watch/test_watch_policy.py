"""A watch's automatic rollback under champion.yaml's policy: it runs as its workflow, which
`rollback:` can name (workflow:watch.yml); run from any other identity it is refused and nothing
is written (tests/watch/conftest.py: 0.2.0 live in prod after 0.1.0)."""

from __future__ import annotations

import pytest

from testing.metrics_server import sequence, serve
from testing.repos import Repo, run_cli

POLICY = (
    "policy:\n  prod: {after: staging, soak: 24h, rollback: ['@acme/oncall', workflow:watch.yml]}\n"
)
REF = "octo/app/.github/workflows/{}@refs/heads/main"


def watch(project: Repo) -> tuple[int, str, str]:
    config = project.path / "champion.yaml"
    config.write_text(config.read_text() + POLICY)
    with serve(sequence("error_rate", [0.2, 0.2, 0.2])) as server:
        result = run_cli(
            project.capsys,  # type: ignore[attr-defined]
            project.path,
            "watch", "churn", "--interval", "0.05s", "--source", f"{server.url}/metrics",
            "--rule", "error_rate < 0.05", "--rollback", "--push",
        )  # fmt: skip
    return result.code, result.out, result.err


def test_the_watch_workflow_may_roll_back(project: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("GITHUB_WORKFLOW_REF", REF.format("watch.yml"))
    code, out, err = watch(project)
    assert code == 1, err
    assert "rolled churn in prod back from 0.2.0 to 0.1.0" in out  # soak and after do not apply


def test_another_identity_is_refused_and_nothing_is_written(
    project: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("GITHUB_WORKFLOW_REF", REF.format("nightly.yml"))
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_not_a_real_token_0123456789abcdef")
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # nothing listens: unreadable
    from champion.github import client

    monkeypatch.setattr(client, "PACE", client.FAST)
    before = project.tags(), project.remote_tags()
    code, out, err = watch(project)
    assert code == 1
    assert "rolled churn" not in out
    assert "no automatic rollback: it failed" in err
    assert "policy.prod.rollback: octocat is not among @acme/oncall, workflow:watch.yml" in err
    assert "did not answer" in err  # the team could not be read: a refusal, never a pass
    assert (project.tags(), project.remote_tags()) == before

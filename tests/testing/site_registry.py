"""One registry for the site's tests (tests/site/), built once per session with the real command line: a model
gated in metrics-only mode (its own evaluation writes `metrics/llm.json`) released five times
under a fake GitHub Actions run (so its tags record run URLs), promoted, rolled back by hand with
a hostile reason, rolled back by `champion watch` on a breached rule, deregistered; a monorepo
model declared in `models/fraud/dvc.yaml`; and a hostile tag another tool wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from champion.cli import main
from testing.repos import Repo, make_repo

CONFIG = """\
stages: [staging, prod]
gate_stage: prod
models:
  llm:
    path: metrics/llm.json
    description: An LLM judged by its own evaluation
    format: metrics
    metrics: [accuracy, {name: latency_ms, direction: lower}]
    gate:
      accuracy: {min: 0.5}
      latency_ms: {max_regression_rel: 0.5}
"""
FRAUD_DVC_YAML = "artifacts:\n  fraud:\n    path: fraud.bin\n    desc: Fraud scorer\n"
SERVER, REPOSITORY = "https://github.com", "octo/app"
HOSTILE = (
    "<script>document.title='pwned'</script><img src=x onerror=\"document.title='img'\"> "
    "**bold** [click](https://evil.example/x) @octocat #12 <a href=https://evil.example>a</a>"
)
# (accuracy, latency_ms) of each release, 0.1.0 to 0.1.3
RELEASES = [(0.80, 30.0), (0.85, 32.0), (0.70, 35.0), (0.90, 31.0)]
FOREIGN_TAG_BODY = {
    "schema": 1,
    "message": HOSTILE,
    "run_url": "javascript:document.title='run'",
    "pull_request": {"number": 3, "url": "https://evil.example/octo/app/pull/3"},
    "artifact": {"path": "metrics/llm.json", "sha256": "<b>x</b>", "size": 1},
    "metrics": {"accuracy": {"candidate": "0.99"}},
}


@dataclass(frozen=True)
class Registry:
    repo: Repo
    base: Path

    def cli(self, *args: str, code: int = 0) -> None:
        assert main(["-C", str(self.repo.path), *args]) == code, args


def _release(
    reg: Registry, mp: pytest.MonkeyPatch, run: int, accuracy: float, latency: float
) -> None:
    path = reg.repo.path / "metrics" / "llm.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"accuracy": accuracy, "latency_ms": latency}))
    reg.repo.git("add", "metrics/llm.json")
    reg.repo.git("commit", "-q", "-m", f"evaluate with accuracy {accuracy}")
    mp.setenv("GITHUB_RUN_ID", str(run))
    reg.cli("release", "llm", "--promote", "prod")


def build(base: Path) -> Registry:
    repo = make_repo(base, CONFIG, commit=False)
    repo.git("add", "champion.yaml")
    repo.git("commit", "-q", "-m", "declare llm")
    reg = Registry(repo, base)
    with pytest.MonkeyPatch.context() as mp:
        for var, value in (("GITHUB_SERVER_URL", SERVER), ("GITHUB_REPOSITORY", REPOSITORY)):
            mp.setenv(var, value)
        mp.setenv("GITHUB_ACTOR", "alice")
        _release(reg, mp, 101, *RELEASES[0])
        _release(reg, mp, 102, *RELEASES[1])
        reg.cli("promote", "llm", "0.1.1", "--stage", "staging")
        _release(reg, mp, 103, *RELEASES[2])
        mp.setenv("GITHUB_RUN_ID", "104")
        mp.setenv("GITHUB_ACTOR", "bob")
        reg.cli("rollback", "llm", "--reason", HOSTILE)
        mp.setenv("GITHUB_ACTOR", "alice")
        _release(reg, mp, 105, *RELEASES[3])
        # Production breaches its rule: watch rolls 0.1.3 back, past the rolled-back 0.1.2.
        source = base / "live-metrics.json"
        source.write_text(json.dumps({"error_rate": 0.2}))
        mp.setenv("GITHUB_RUN_ID", "106")
        mp.setenv("GITHUB_ACTOR", "github-actions[bot]")
        reg.cli(
            "watch", "llm", "--source", str(source), "--rule", "error_rate < 0.05",
            "--window", "2", "--interval", "0.05s", "--cooldown", "0s", "--rollback",
            code=1,
        )  # fmt: skip
    reg.cli("deregister", "llm", "0.1.0", "--reason", "superseded")
    fraud = repo.path / "models" / "fraud"
    fraud.mkdir(parents=True)
    (fraud / "dvc.yaml").write_text(FRAUD_DVC_YAML)
    (fraud / "fraud.bin").write_bytes(b"fraud scorer 1")
    repo.git("add", "models/fraud")
    repo.git("commit", "-q", "-m", "add the fraud scorer")
    reg.cli("register", "models/fraud:fraud")
    reg.cli("promote", "models/fraud:fraud", "0.1.0", "--stage", "prod")
    # Another tool (or someone with push rights) wrote a tag full of hostile text.
    message = "Register llm v0.0.9\n\n" + json.dumps(FOREIGN_TAG_BODY)
    repo.git(
        "tag", "-a", "llm@v0.0.9", "-m", message, repo.git("rev-list", "--max-parents=0", "HEAD")
    )
    return reg

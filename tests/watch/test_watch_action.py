"""`champion watch` through the root action's entry point (`python -m champion.ci.action`): the
multiline inputs become one command line, a header's value comes from the calling step's env:,
and every output the watch and its rollback write is one action.yml declares."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from champion.ci import action
from testing.metrics_server import serve
from testing.releases import read_outputs
from testing.repos import Repo

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-t0ken-value"


def test_a_breach_rolls_back_through_the_action_with_its_outputs_declared(
    project: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs_file = project.path.parent / "github-output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs_file))
    monkeypatch.setenv("METRICS_AUTH", f"Bearer {SECRET}")  # the step's env:, not an input
    inputs = {
        "COMMAND": "watch",
        "WORKING_DIRECTORY": str(project.path),
        "MODEL": "churn",
        "STAGE": "prod",
        "RULES": "error_rate < 0.05\n\nlatency <= 300\n",
        "METRICS": "latency=/latency/p95",
        "HEADERS": "Authorization=METRICS_AUTH",
        "INTERVAL": "0.05s",
        "ROLLBACK": "true",
        "PUSH": "true",
    }
    before = project.remote_tags()
    answers = [{"error_rate": v, "latency": {"p95": 120}} for v in (0.09, 0.1, 0.2)]
    with serve(answers) as server:
        inputs["SOURCE"] = server.url
        code = action.main({f"CHAMPION_INPUT_{k}": v for k, v in inputs.items()})
    printed = capsys.readouterr()
    assert code == 1, printed.err
    assert {s.headers["authorization"] for s in server.seen} == {f"Bearer {SECRET}"}
    assert SECRET not in printed.out + printed.err
    outputs = read_outputs(outputs_file)
    assert outputs["verdict"] == "breached" and outputs["rolled-back"] == "true"
    assert (outputs["watched-version"], outputs["from"], outputs["to"]) == (
        "0.2.0",
        "0.2.0",
        "0.1.0",
    )
    assert "error_rate < 0.05" in outputs["breach"] and outputs["readings"] == "3"
    declared = yaml.safe_load((ROOT / "action.yml").read_text())["outputs"]
    assert set(outputs) <= set(declared), set(outputs) - set(declared)
    assert len(set(project.remote_tags()) - set(before)) == 2  # the unassign and the assign

"""What champion publishes or writes for others follows the umask, like any new file: a service
running as another user reads the pointer, the artifact copied beside it and report.json
(issue 15 item 2: mkstemp's 0600 made them readable by their owner only)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from champion.evaluation.report import write_report
from testing.deploy import ok, run
from testing.releases import Capsys
from testing.repos import Repo

REPORT = Path(__file__).parent / "render" / "reports" / "passing.json"


@pytest.fixture(params=[0o022, 0o027, 0o002], ids=lambda m: f"umask-{m:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    mask: int = request.param
    old = os.umask(mask)
    try:
        yield mask
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_pointer_and_the_artifact_beside_it_follow_the_umask(
    project: Repo, capsys: Capsys, umask: int
) -> None:
    pointers = project.path.parent / "pointers"
    for old in pointers.rglob("*.json"):
        old.unlink()  # published when the template was built, under the default umask
    for old in (pointers / "artifacts").iterdir():
        old.unlink()
    ok(run(capsys, project, "promote", "churn", "0.2.0", "--stage", "prod", "--push"))
    artifact = next((pointers / "artifacts").iterdir())
    assert mode(pointers / "prod.json") == 0o666 & ~umask
    assert mode(artifact) == 0o666 & ~umask


def test_report_json_follows_the_umask(tmp_path: Path, umask: int) -> None:
    target = write_report(tmp_path / "out" / "report.json", json.loads(REPORT.read_text()))
    assert mode(target) == 0o666 & ~umask

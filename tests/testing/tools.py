"""Other tools reading and writing the same registry (GTO's CLI), and a clock for git writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testing.repos import run_cli

TIMEOUT = 60

_GTO = Path(sys.executable).with_name("gto")


def gto_command() -> list[str]:
    """The `gto` executable installed next to this interpreter (gto has no `__main__`)."""
    if _GTO.exists():
        return [str(_GTO)]
    return [sys.executable, "-c", "from gto.cli import app; app()"]


def run_gto(cwd: Path, *args: str) -> str:
    """Runs `gto ARGS` in `cwd` as a subprocess with the test's environment; returns stdout."""
    proc = subprocess.run(
        [*gto_command(), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=TIMEOUT,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"gto {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout


def gto_json(cwd: Path, *args: str) -> Any:
    return json.loads(run_gto(cwd, *args, "--json"))


def champion_json(capsys: pytest.CaptureFixture[str], cwd: Path, *args: str) -> Any:
    """Runs `champion -C cwd ARGS --json` in-process and parses what it printed."""
    result = run_cli(capsys, cwd, *args, "--json")
    assert result.code == 0, result.err
    assert "warning" not in result.err, result.err
    return json.loads(result.out)


class GitClock:
    """Pins the second that git records for the next commits and tags (GIT_COMMITTER_DATE and
    GIT_AUTHOR_DATE), then moves it on by `step` seconds at each `tick()`. `step=0` puts every
    write in the same second, as a fast script or CI job does. Only tools that run the git CLI
    honour it (champion does; GTO writes tags through a library and uses the real clock)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, start: int, step: int = 1) -> None:
        self.monkeypatch = monkeypatch
        self.now = start
        self.step = step
        self._set()

    def _set(self) -> None:
        stamp = f"@{self.now} +0000"
        self.monkeypatch.setenv("GIT_COMMITTER_DATE", stamp)
        self.monkeypatch.setenv("GIT_AUTHOR_DATE", stamp)

    def tick(self) -> int:
        self.now += self.step
        self._set()
        return self.now

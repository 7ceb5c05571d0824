"""cli.py's error handler: a closed stdout is a quiet exit, not "a bug in champion"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from testing.repos import make_repo


def _with_closed_stdout(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    read, write = os.pipe()
    os.close(read)  # the reader (`| head`) is gone before champion writes a line
    try:
        return subprocess.run(
            [sys.executable, "-m", "champion", *args],
            cwd=cwd,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)


def test_a_closed_stdout_is_a_quiet_exit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    proc = _with_closed_stdout(repo.path, "status")
    assert proc.stderr == ""
    assert proc.returncode == 141  # as a shell reports a process SIGPIPE ended


def test_an_open_stdout_still_gets_the_output(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "champion", "status"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()  # something was written, so the closed pipe above was hit

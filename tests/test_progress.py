"""Progress (issue 17): an evaluation shows a percentage and rows per second on a terminal, and
writes nothing of it to a stderr that is not one (a CI log, a pipe). The real switch is tried
with a pseudo-terminal as the CLI's stderr."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from champion import progress
from testing.models import save, train, write_eval
from testing.repos import Repo, make_repo, run_cli

CONFIG = """\
models:
  churn:
    path: models/churn.joblib
    data: {path: data/eval.csv, target: target}
"""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Repo:
    repo = make_repo(tmp_path, CONFIG, commit=False)
    save(train("good"), repo.path / "models" / "churn.joblib")
    write_eval(repo.path / "data" / "eval.csv", n=20_000)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "model")
    assert run_cli(capsys, repo.path, "register", "churn").code == 0
    save(train("better"), repo.path / "models" / "churn.joblib")
    return repo


def evaluate(repo: Repo, stderr: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "champion", "evaluate", "churn", "--out", str(repo.path / "r.json")],
        cwd=repo.path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )


def test_an_evaluation_on_a_terminal_shows_a_percentage_and_rows_per_second(
    project: Repo,
) -> None:
    leader, follower = pty.openpty()
    proc = evaluate(project, follower)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait(timeout=120) == 0, seen.decode(errors="replace")
    text = seen.decode(errors="replace")
    assert "evaluating: 100%" in text
    assert "20,000 rows" in text and "rows/s" in text


def test_an_evaluation_into_a_pipe_or_a_log_draws_no_progress(project: Repo) -> None:
    proc = evaluate(project, subprocess.PIPE)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert b"rows/s" not in err and b"%|" not in err and b"\r" not in err
    assert b"rows/s" not in out


def test_the_sink_draws_only_on_a_terminal() -> None:
    terminal, log = Terminal(), io.StringIO()
    with progress.on_terminal(terminal):
        assert progress.enabled()
        progress.report("evaluating", 5_000, 0.5)
        progress.finish("evaluating")
    with progress.on_terminal(log):
        assert not progress.enabled()
        progress.report("evaluating", 5_000, 0.5)
    assert " 50%|" in terminal.getvalue() and "5,000 rows" in terminal.getvalue()
    assert log.getvalue() == ""
    assert not progress.enabled()  # outside, nothing is installed: the library stays silent

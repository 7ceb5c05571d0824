"""status, versions and history as aligned tables, verdicts coloured where colour is allowed
(issue 17): on a terminal unless NO_COLOR, or with FORCE_COLOR; never in --json; the colour
codes are champion's own, a tag's text is escaped."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from champion.render.tables import plain
from testing.repos import Repo, run_cli

GREEN, RED = "\x1b[32m", "\x1b[31m"


@pytest.fixture
def rolled(project: Repo, capsys: pytest.CaptureFixture[str]) -> Repo:
    """0.2.0 promoted over 0.1.0, then rolled back to it: every kind of verdict is there."""
    assert run_cli(capsys, project.path, "promote", "churn", "0.2.0", "--stage", "prod").code == 0
    back = run_cli(capsys, project.path, "rollback", "churn", "--reason", "errors doubled")
    assert back.code == 0, back.err
    return project


@pytest.mark.parametrize(
    ("command", "painted"),
    [
        (("status",), [f"{GREEN}0.1.0", f"{RED}0.2.0"]),
        (("versions", "churn"), [f"{GREEN}prod", f"{RED}rolled back"]),
        (("history", "churn"), [f"{GREEN}assign", f"{RED}rolled back"]),
    ],
)
def test_verdicts_are_coloured_when_colour_is_allowed_and_the_columns_stay_aligned(
    rolled: Repo,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: tuple[str, ...],
    painted: list[str],
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    plain_out = run_cli(capsys, rolled.path, *command).out
    assert "\x1b" not in plain_out  # capsys is no terminal: no colour
    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = run_cli(capsys, rolled.path, *command).out
    for expected in painted:
        assert expected in coloured, coloured
    assert plain(coloured) == plain_out  # the same table, the same alignment
    monkeypatch.setenv("NO_COLOR", "1")  # wins over FORCE_COLOR
    assert run_cli(capsys, rolled.path, *command).out == plain_out


def test_json_is_unchanged_by_colour(
    rolled: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = run_cli(capsys, rolled.path, "history", "churn", "--json").out
    monkeypatch.setenv("FORCE_COLOR", "1")
    after = run_cli(capsys, rolled.path, "history", "churn", "--json").out
    assert after == before and "\x1b" not in after
    assert json.loads(after)["events"]


def test_on_a_terminal_status_is_coloured_unless_no_color(rolled: Repo) -> None:
    def on_a_terminal(**env: str) -> str:
        leader, follower = pty.openpty()
        full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "champion", "status"],
            cwd=rolled.path,
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=subprocess.PIPE,
            env={**full, "TERM": "xterm", **env},
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        os.close(leader)
        assert proc.wait(timeout=60) == 0
        return seen.decode()

    assert f"{GREEN}0.1.0" in on_a_terminal()
    assert "\x1b" not in on_a_terminal(NO_COLOR="1")


def test_a_tags_own_escape_codes_never_reach_the_terminal(
    project: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    project.commit_artifact("model 4", "models/churn.bin")
    hostile = "retrained \x1b[2J\x1b[31mOK"
    assert run_cli(capsys, project.path, "register", "churn", "-m", hostile).code == 0
    out = run_cli(capsys, project.path, "history", "churn").out
    assert "<U+001B>[2J" in out
    assert "\x1b[2J" not in out and "\x1b[31mOK" not in out

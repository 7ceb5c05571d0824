"""The token never reaches the console or the log, whatever GitHub answers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from testing.github import NOT_ACCESSIBLE, TOKEN, FakeGitHub, Fault
from testing.repos import run_cli

FAULTS = {  # what GitHub answers, and whether PyGithub's debug log sees an answer
    "403 on the write": ([Fault("POST", 403, NOT_ACCESSIBLE)], True),
    "5xx until the retries run out": ([Fault("GET", 502, {"message": "Server Error"})] * 10, False),
    "an answer that quotes the token": ([Fault("GET", 400, {"message": f"bad {TOKEN}"})], True),
    "a 404": ([Fault("GET", 404, {"message": "Not Found"})], True),
}


@pytest.mark.parametrize(("faults", "logged"), FAULTS.values(), ids=FAULTS.keys())
def test_the_token_is_never_printed_or_logged(
    fake: FakeGitHub,
    report_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    faults: list[Fault],
    logged: bool,
) -> None:
    caplog.set_level(logging.DEBUG, logger="github")  # its requests and responses, in full
    fake.faults += list(faults)
    result = run_cli(capsys, tmp_path, "comment", "--report", str(report_path), "--pr", "5")
    assert result.code == 2, result.out + result.err
    assert result.err.startswith("error: ")
    assert ("api.github.com" in caplog.text) is logged  # the log was listening
    assert TOKEN not in result.out + result.err + caplog.text
    assert TOKEN[4:20] not in result.out + result.err + caplog.text


def test_bad_credentials_are_reported_without_the_token(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.user_fault = Fault(
        "GET",
        401,
        {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
    )
    result = run_cli(capsys, tmp_path, "comment", "--report", str(report_path), "--pr", "5")
    assert result.code == 2
    assert "401 Bad credentials" in result.err
    assert TOKEN not in result.out + result.err

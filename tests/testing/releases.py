"""Helpers for the `champion release` tests: reading the origin, `$GITHUB_OUTPUT`, DVC, pushes."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testing.repos import Repo, Result, git, run_cli

Capsys = pytest.CaptureFixture[str]
_OUTPUTS = itertools.count()


def release(capsys: Capsys, repo: Repo, *args: str) -> Result:
    return run_cli(capsys, repo.path, "release", *args)


def released(capsys: Capsys, repo: Repo, *args: str) -> dict[str, str]:
    """Runs `champion release ARGS --github-output F`, asserts exit 0, returns the outputs."""
    out = repo.path.parent / f"github-output-{next(_OUTPUTS)}"
    result = release(capsys, repo, *args, "--github-output", str(out))
    assert result.code == 0, f"release {' '.join(args)}: {result.out}{result.err}"
    return read_outputs(out)


def read_outputs(path: Path) -> dict[str, str]:
    """`$GITHUB_OUTPUT` as a dict: `name=value` lines and `name<<DELIMITER` blocks."""
    values: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        name, value = line.split("=", 1)
        values[name] = value
        i += 1
    return values


def origin_tag_objects(repo: Repo) -> dict[str, str]:
    """Every tag of the origin: name -> tag object id (a moved or rewritten tag changes it)."""
    out = git(repo.origin, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/tags")
    return dict(line.split(" ", 1) for line in out.splitlines())


def local_tag_objects(repo: Repo) -> dict[str, str]:
    out = git(repo.path, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/tags")
    return dict(line.split(" ", 1) for line in out.splitlines())


def tag_metadata(where: Path, tag: str) -> dict[str, Any]:
    """The JSON body of an annotated tag's message, read in `where` (a work tree or the origin)."""
    body = git(where, "for-each-ref", "--format=%(contents:body)", f"refs/tags/{tag}")
    data = json.loads(body)
    assert isinstance(data, dict)
    return data


def tag_commit(where: Path, tag: str) -> str:
    return git(where, "rev-parse", f"refs/tags/{tag}^{{commit}}")


def log_pushes(repo: Repo) -> Path:
    """Installs a pre-receive hook in the origin that records the refs of every push, one line
    per push; returns the log."""
    log = repo.origin.parent / "pushes.log"
    hook = repo.origin / "hooks" / "pre-receive"
    hook.write_text(
        "#!/bin/sh\nrefs=''\nwhile read old new ref; do refs=\"$refs ${ref#refs/tags/}\"; done\n"
        f"echo \"$refs\" >> '{log}'\nexit 0\n"
    )
    hook.chmod(0o755)
    return log


def pushes(log: Path, *, other_refs: bool = False) -> list[set[str]]:
    """The tags of each push. The counter ref a push of stage tags also moves
    (refs/champion/counters/..., see tests/registry/test_counter_lease.py) is left out unless
    `other_refs`."""
    if not log.exists():
        return []
    found = [set(line.split()) for line in log.read_text().splitlines() if line.strip()]
    return (
        found if other_refs else [{r for r in refs if not r.startswith("refs/")} for refs in found]
    )


def refuse_pushes(repo: Repo, message: str = "tags are frozen") -> None:
    hook = repo.origin / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
    hook.chmod(0o755)


def dvc(repo: Repo, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"dvc {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def status_json(capsys: Capsys, repo: Repo, *args: str) -> dict[str, Any]:
    result = run_cli(capsys, repo.path, "status", "--json", *args)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert isinstance(data, dict)
    return data

"""STYLE.md's layers: only commands reach GitHub code; the registry, evaluation, rendering and the
CLI module itself load without PyGithub."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import champion.cli, champion.registry, champion.evaluation.run, champion.render.markdown
loaded = [m for m in sys.modules if m == "github" or m.startswith(("github.", "champion.github"))]
print(" ".join(loaded))
"""


def test_the_core_never_imports_github_code() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=120
    )
    assert proc.stdout.strip() == ""


def test_the_comment_command_does() -> None:
    code = CHECK.replace("champion.render.markdown", "champion.commands.comment")
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert "champion.github" in proc.stdout  # the check above can see an import

"""The policy's core (schema, rules, guard) loads no GitHub code, and the registry knows the guard
only as a protocol: it imports nothing of champion.policy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import champion.registry

CHECK = """
import sys
import champion.config, champion.policy.guard, champion.policy.rules, champion.project
loaded = [m for m in sys.modules if m == "github" or m.startswith(("github.", "champion.github"))]
print(" ".join(loaded))
"""


def test_the_policy_core_loads_no_github_code() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=120
    )
    assert proc.stdout.strip() == ""


def test_the_registry_imports_no_policy_code() -> None:
    folder = Path(champion.registry.__file__).parent
    for source in folder.glob("*.py"):
        text = source.read_text()
        assert "champion.policy" not in text and "champion.github" not in text, source

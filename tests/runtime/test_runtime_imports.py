"""A service depends on the runtime lightly: it loads neither the registry, GitHub code, the CLI,
the commands nor DVC (ARCHITECTURE.md's layers)."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = (
    "champion.cli",
    "champion.commands",
    "champion.evaluation",
    "champion.github",
    "champion.registry",
)
CHECK = """
import sys
import {module}
print(" ".join(sorted(m for m in sys.modules if m.startswith(("champion", "dvc", "github")))))
"""


def loaded_by(module: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(proc.stdout.split())


def _forbidden(modules: set[str]) -> set[str]:
    return {
        m
        for m in modules
        if m in ("dvc", "github")
        or m.startswith(("dvc.", "github."))
        or any(m == f or m.startswith(f"{f}.") for f in FORBIDDEN)
    }


def test_the_runtime_loads_no_registry_evaluation_github_cli_or_dvc() -> None:
    modules = loaded_by("champion.runtime")
    assert "champion.runtime._live" in modules
    assert _forbidden(modules) == set()


def test_the_runtime_loads_only_the_light_part_of_signing() -> None:
    """LiveModel(public_key=...) verifies bundles: signing.bundle and the tag's record, never
    the parts that read the registry, champion.yaml or artifacts at a commit."""
    modules = loaded_by("champion.runtime")
    signing = {m for m in modules if m.startswith("champion.signing")}
    assert "champion.signing.bundle" in signing
    assert signing <= {"champion.signing", "champion.signing.bundle", "champion.signing.record"}
    heavy = ("champion.config", "champion.project", "champion.artifacts", "champion.git")
    assert not {m for m in modules if any(m == h or m.startswith(f"{h}.") for h in heavy)}


def test_the_check_can_see_them() -> None:
    seen = _forbidden(loaded_by("champion.cli, champion.registry"))
    assert {"champion.cli", "champion.registry"} <= seen

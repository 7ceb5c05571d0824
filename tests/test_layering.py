"""ARCHITECTURE.md's layers, read from the code's own imports (every `import`, also those inside
functions): what each folder may never import, and that nothing imports the CLI; then as Python
loads them: only commands reach GitHub code (the runtime's own check is
tests/runtime/test_runtime_imports.py)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import champion

PACKAGE = Path(champion.__file__).parent


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


IMPORTS = {_module(p): _imports(p) for p in PACKAGE.rglob("*.py")}


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in prefixes)


def offenders(folder: str, never: tuple[str, ...]) -> dict[str, list[str]]:
    return {
        module: sorted(i for i in imports if _within(i, never))
        for module, imports in IMPORTS.items()
        if _within(module, (folder,)) and any(_within(i, never) for i in imports)
    }


NETWORK = ("requests", "urllib.request", "http.client", "socket", "github", "fsspec", "s3fs")
MODEL_LOADERS = ("joblib", "pickle", "skops", "onnxruntime", "sklearn", "champion.loading")
UPPER = ("champion.cli", "champion.commands")
# What a service must not load through the runtime (tests/runtime checks it as Python loads).
LIGHT_NEVER = (
    *UPPER,
    "champion.github",
    "champion.registry",
    "champion.evaluation",
    "champion.config",
    "champion.project",
    "champion.artifacts",
    "champion.git",
    "dvc",
)

RULES = {
    # Plain git: works on any CI, judges nothing (champion.yaml's policy reaches its write loop
    # as a StageGuard the command layer passes in).
    "champion.registry": (
        *UPPER,
        "champion.github",
        "champion.policy",
        "champion.evaluation",
        "champion.release",
        "champion.deploy",
        "champion.watch",
        "champion.render",
        "champion.site",
    ),
    # The baseline's artifact arrives through champion.artifacts; no network of its own.
    "champion.evaluation": (*UPPER, *NETWORK, "champion.github", "champion.release"),
    # Renderers read report.json and never load a model.
    "champion.render": (*UPPER, *MODEL_LOADERS, "champion.github", "champion.evaluation.run"),
    # A service depends on the runtime lightly.
    "champion.runtime": (
        *UPPER,
        "champion.github",
        "champion.registry",
        "champion.evaluation",
        "champion.config",
        "dvc",
    ),
    # The edges below every concept reach up into none of them.
    "champion.loading": (*UPPER, "champion.registry", "champion.evaluation", "champion.github"),
    "champion.git": (*UPPER, "champion.registry", "champion.evaluation", "champion.github"),
    "champion.files": (*UPPER, "champion.registry", "champion.evaluation", "champion.github"),
    # ci.action is an entry point, like cli.py; what the run says and the writers of its
    # outputs are edges every layer may use.
    "champion.ci.context": (*UPPER, "champion.registry", "champion.evaluation", "champion.github"),
    "champion.ci.workflow": (*UPPER, "champion.registry", "champion.evaluation", "champion.github"),
    "champion.config": (
        *UPPER,
        "champion.github",
        "champion.release",
        "champion.deploy",
        "champion.policy",
    ),
    # The policy judges a model's own tags (registry) against champion.yaml's policy: (config);
    # teams come through the GitHub edge. What it guards never reaches back into it.
    "champion.policy": (
        *UPPER,
        "champion.evaluation",
        "champion.release",
        "champion.deploy",
        "champion.watch",
        "champion.render",
        "champion.site",
    ),
    "champion.deploy": (
        *UPPER,
        "champion.evaluation",
        "champion.release",
        "champion.watch",
        "champion.policy",
    ),
    # A release's --promote meets the policy inside the registry's write loop, as PolicyRefused.
    "champion.release": (*UPPER, "champion.watch", "champion.policy"),
    "champion.watch": (*UPPER, "champion.evaluation", "champion.release", "champion.policy"),
    "champion.site": (*UPPER, *MODEL_LOADERS, "champion.evaluation.run"),
    # Below the concepts that make a version live or read its tag (release, deploy,
    # evaluation); above the registry, config and the edges it checks artifacts with.
    "champion.signing": (
        *UPPER,
        "champion.github",
        "champion.evaluation",
        "champion.release",
        "champion.deploy",
        "champion.watch",
        "champion.render",
        "champion.site",
        "champion.runtime",
        "champion.policy",  # the policy's `signed` rule asks signing, never the other way
    ),
    # What the runtime imports of it: a bundle and a tag's record, checked, nothing heavier.
    "champion.signing.bundle": (*LIGHT_NEVER,),
    "champion.signing.record": (*LIGHT_NEVER,),
}


@pytest.mark.parametrize("folder", sorted(RULES))
def test_a_layer_never_imports_what_it_must_not(folder: str) -> None:
    assert offenders(folder, RULES[folder]) == {}


def test_the_runtime_imports_only_the_light_part_of_signing() -> None:
    """signing.bundle (verify a file or folder against a bundle) and signing.record; check,
    make and policy read the registry and champion.yaml, which a service has not (what the
    package's __init__ loads with them: tests/runtime/test_runtime_imports.py)."""
    used = {
        i
        for module, imports in IMPORTS.items()
        if _within(module, ("champion.runtime",))
        for i in imports
        if _within(i, ("champion.signing",))
    }
    assert used and all(
        _within(i, ("champion.signing.bundle", "champion.signing.record")) for i in used
    ), used


def test_no_module_imports_the_cli() -> None:
    assert {m for m, i in IMPORTS.items() if "champion.cli" in i} == {"champion.__main__"}


def test_only_the_cli_and_the_commands_import_commands() -> None:
    users = {m for m, i in IMPORTS.items() if any(_within(x, ("champion.commands",)) for x in i)}
    assert {m for m in users if not _within(m, ("champion.cli", "champion.commands"))} == set()


def test_the_check_sees_an_import_inside_a_function() -> None:
    # champion.cli imports its commands lazily, inside _dispatch.
    assert any(_within(i, ("champion.commands",)) for i in IMPORTS["champion.cli"])
    assert offenders("champion.cli", ("champion.commands",))


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


POLICY_CHECK = CHECK.replace(
    "champion.render.markdown",
    "champion.config, champion.policy.guard, champion.policy.rules, champion.project",
)


def test_the_policy_loads_github_code_only_to_read_a_team() -> None:
    # A policy of logins, stages and durations judges without GitHub's client; opening a project
    # builds the guard, so this runs on every command.
    proc = subprocess.run(
        [sys.executable, "-c", POLICY_CHECK],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert proc.stdout.strip() == ""


def test_only_the_policy_s_team_lookup_reaches_github() -> None:
    reach = offenders("champion.policy", ("champion.github", "github"))
    assert set(reach) == {"champion.policy.actors"}


def test_the_policy_is_used_by_the_project_and_the_standing_commands_alone() -> None:
    users = {m for m, i in IMPORTS.items() if any(_within(x, ("champion.policy",)) for x in i)}
    outside = {m for m in users if not _within(m, ("champion.policy",))}
    assert outside == {"champion.project", "champion.commands.history", "champion.commands.status"}


def test_the_comment_command_does() -> None:
    code = CHECK.replace("champion.render.markdown", "champion.commands.comment")
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert "champion.github" in proc.stdout  # the check above can see an import

"""actions/install.sh, which every action runs first: the cache key (with the project's
requirements), a venv found in place used as is (one install per job), the requirements installed
into champion's environment, and a requirement that does not install named (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from testing.wheels import build_wheel

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "actions" / "install.sh"


def install_sh(
    mode: str, workspace: Path, temp: Path, **env: str
) -> tuple[int, str, dict[str, str]]:
    out = workspace.parent / f"output-{len(list(workspace.parent.glob('output-*')))}"
    full = {
        **os.environ,
        "GITHUB_OUTPUT": str(out),
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(temp),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "CHAMPION_PYTHON": sys.executable,
        **env,
    }
    proc = subprocess.run(
        ["bash", str(SCRIPT), mode], cwd=workspace, env=full, capture_output=True, text=True
    )
    values = {}
    if out.exists():
        values = dict(line.split("=", 1) for line in out.read_text().splitlines())
    return proc.returncode, proc.stdout + proc.stderr, values


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


def test_the_key_holds_a_hash_of_the_requirements_and_a_missing_one_is_named(
    workspace: Path, tmp_path: Path
) -> None:
    code, text, plain = install_sh("key", workspace, tmp_path)
    assert code == 0, text
    assert plain["key"].startswith("champion-") and plain["restore-keys"] == ""
    assert plain["venv"] == f"{tmp_path}/champion-action/{plain['key']}"  # in the job's temp
    assert (plain["in-place"], plain["ready"]) == ("false", "false")

    (workspace / "requirements.txt").write_text("lightgbm==4.5.0\n")
    code, text, first = install_sh(
        "key", workspace, tmp_path, CHAMPION_REQUIREMENTS="requirements.txt"
    )
    assert code == 0, text
    assert first["key"].startswith(plain["key"] + "-req-")
    assert first["restore-keys"] == plain["key"]  # champion alone, the requirements on top
    assert first["venv"] == plain["venv"]  # the same folder: a restored venv is never moved
    (workspace / "requirements.txt").write_text("lightgbm==4.6.0\n")
    _, _, changed = install_sh("key", workspace, tmp_path, CHAMPION_REQUIREMENTS="requirements.txt")
    assert changed["key"] != first["key"]

    (workspace / "pyproject.toml").write_text('[project]\nname = "app"\n')
    code, text, extra = install_sh(
        "key", workspace, tmp_path, CHAMPION_REQUIREMENTS="requirements.txt\n.[train]"
    )
    assert code == 0, text
    assert extra["key"] not in (first["key"], changed["key"])

    code, text, _ = install_sh("key", workspace, tmp_path, CHAMPION_REQUIREMENTS="reqs.txt")
    assert code == 2
    assert "::error title=champion install::requirements: 'reqs.txt' is neither" in text


def seeded_venv(path: Path) -> Path:
    """champion's venv as a warm cache restores it: champion importable, the stamp written."""
    venv.EnvBuilder(with_pip=False).create(path)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(path), "platbase": str(path)}))
    (site / "zz-deps.pth").write_text(f"{sysconfig.get_path('purelib')}\n{ROOT / 'src'}\n")
    (path / ".champion-installed").touch()
    return path


def test_a_venv_in_place_is_used_as_is_unless_its_requirements_differ(
    workspace: Path, tmp_path: Path
) -> None:
    _, _, values = install_sh("key", workspace, tmp_path)
    seeded_venv(Path(values["venv"]))
    code, text, again = install_sh("key", workspace, tmp_path)
    assert code == 0, text
    assert (again["in-place"], again["ready"]) == ("true", "true")
    assert "used as is" in text
    (workspace / "requirements.txt").write_text("x\n")
    _, _, wanted = install_sh("key", workspace, tmp_path, CHAMPION_REQUIREMENTS="requirements.txt")
    assert (wanted["in-place"], wanted["ready"]) == ("true", "false")  # install them on top


def test_the_requirements_are_installed_next_to_champion_once(
    workspace: Path, tmp_path: Path
) -> None:
    wheel = build_wheel(workspace / "vendor", "featurize", "0.1.0", {"featurize": "SAMPLES = 7\n"})
    (workspace / "requirements.txt").write_text(f"./vendor/{wheel.name}\n")
    env = {"CHAMPION_REQUIREMENTS": "requirements.txt"}
    _, _, values = install_sh("key", workspace, tmp_path, **env)
    venv_path = seeded_venv(Path(values["venv"]))
    code, text, _ = install_sh("install", workspace, tmp_path, CHAMPION_VENV=str(venv_path), **env)
    assert code == 0, text
    assert "installing the project's requirements: requirements.txt" in text
    python = venv_path / "bin" / "python"
    found = subprocess.run(
        [python, "-c", "import featurize; print(featurize.SAMPLES)"], capture_output=True, text=True
    )
    assert found.stdout.strip() == "7", found.stderr
    _, _, after = install_sh("key", workspace, tmp_path, **env)
    assert after["ready"] == "true"  # the next step of the job uses it as is
    code, text, _ = install_sh("install", workspace, tmp_path, CHAMPION_VENV=str(venv_path), **env)
    assert code == 0 and "installing" not in text


def test_a_requirement_that_does_not_install_exits_2_naming_it(
    workspace: Path, tmp_path: Path
) -> None:
    (workspace / "requirements.txt").write_text("./vendor/featurize-9.9.9-py3-none-any.whl\n")
    env = {"CHAMPION_REQUIREMENTS": "requirements.txt"}
    _, _, values = install_sh("key", workspace, tmp_path, **env)
    venv_path = seeded_venv(Path(values["venv"]))
    summary = tmp_path / "summary.md"
    code, text, _ = install_sh(
        "install",
        workspace,
        tmp_path,
        CHAMPION_VENV=str(venv_path),
        GITHUB_STEP_SUMMARY=str(summary),
        **env,
    )
    assert code == 2, text
    assert (
        "::error title=champion install::requirements: 'requirements.txt' does not install" in text
    )
    assert "requirements.txt" in summary.read_text()
    assert not (venv_path / ".champion-requirements").exists()  # the next run tries again

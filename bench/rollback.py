"""Rollback benchmark: how long `champion rollback` takes, and how soon a service serves the result.

Builds a project with a bare git origin, a local DVC remote and three versions of a real
scikit-learn model (each DVC-tracked and pushed), promoted to prod in turn, with a local pointer
folder. Then:

1. `champion rollback MODEL --reason ... --push` (a fresh process; it checks the target's artifact
   in the DVC remote, pushes two tags atomically and publishes the pointer), --runs times; between
   runs a promotion (not timed) makes the bad version live again. Baselines in the same run:
   `champion status MODEL` (the process start and a registry read), and `git push --atomic` of
   two tags to the same origin (the write it cannot avoid). Target: under 2 s.
2. A `LiveModel` polling the pointer every second (`--poll`): the time from a pointer change (a
   rollback's publication, written here with `champion.deploy.pointer.write`, as `publish` does) until
   predictions come from the new version, --swaps times. Baseline: the poll interval; the
   expected mean is half of it plus the load.

Prints figures and ratios; never fails because something is slow. Exits 1 if a step goes wrong.

    .venv/bin/python bench/rollback.py [--runs 5] [--swaps 10] [--poll 1.0] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

MODEL = "clf"
TARGET_SECONDS = 2.0
CONFIG = f"""\
stages: [staging, prod]
models:
  {MODEL}:
    path: models/{MODEL}.joblib
    pointer: ../pointers
"""
ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
for _var in ("GITHUB_RUN_ID", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_TOKEN"):
    ENV.pop(_var, None)
CHAMPION = [sys.executable, "-m", "champion"]
DVC = [sys.executable, "-m", "dvc"]


def sh(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"`{' '.join(cmd)}` failed:\n{proc.stderr[-2000:]}")
    return proc.stdout


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    sh(cmd, cwd)
    return time.perf_counter() - start


def build(workdir: Path) -> Path:
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    repo, origin = workdir / "work", workdir / "origin.git"
    sh(["git", "init", "-q", "--bare", "-b", "main", str(origin)], workdir)
    sh(["git", "init", "-q", "-b", "main", str(repo)], workdir)
    sh(["git", "remote", "add", "origin", str(origin)], repo)
    (repo / "champion.yaml").write_text(CONFIG)
    sh([*DVC, "init", "-q"], repo)
    sh([*DVC, "remote", "add", "-d", "local", str(workdir / "dvc-remote")], repo)
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-q", "-m", "project"], repo)
    x, y = make_classification(n_samples=2000, n_features=20, random_state=0)
    (repo / "models").mkdir()
    for n in (1, 2, 3):
        model = LogisticRegression(C=0.1 * n, max_iter=500).fit(x, y)
        joblib.dump(model, repo / "models" / f"{MODEL}.joblib")
        sh([*DVC, "add", "-q", f"models/{MODEL}.joblib"], repo)
        sh([*DVC, "push", "-q"], repo)
        sh(["git", "add", "-A"], repo)
        sh(["git", "commit", "-q", "-m", f"train {n}"], repo)
        sh(["git", "push", "-q", "origin", "main"], repo)
        sh([*CHAMPION, "register", MODEL, "--bump", "minor", "--push"], repo)
        sh([*CHAMPION, "promote", MODEL, f"0.{n}.0", "--stage", "prod", "--push"], repo)
        time.sleep(1.0)  # whole-second tag dates, as GTO and DVC order them
    return repo


def bench_rollback(repo: Path, runs: int) -> dict[str, float]:
    rollbacks, statuses, pushes = [], [], []
    head = sh(["git", "rev-parse", "HEAD"], repo).strip()
    for i in range(runs):
        statuses.append(timed([*CHAMPION, "status", MODEL], repo))
        rollbacks.append(
            timed([*CHAMPION, "rollback", MODEL, "--reason", f"bench run {i}", "--push"], repo)
        )
        live = json.loads(sh([*CHAMPION, "status", MODEL, "--json"], repo))
        version = live["models"][0]["stages"]["prod"]["version"]
        if version != "0.2.0":
            sys.exit(f"after rollback {i}, prod is {version}, expected 0.2.0")
        sh([*CHAMPION, "promote", MODEL, "0.3.0", "--stage", "prod", "--push"], repo)
        # The floor of the write: two annotated tags pushed atomically to the same origin.
        names = [f"bench/{i}/a", f"bench/{i}/b"]
        for name in names:
            sh(["git", "tag", "-a", "-m", "bench", name, head], repo)
        pushes.append(timed(["git", "push", "-q", "--atomic", "origin", *names], repo))
    return {
        "rollback": statistics.median(rollbacks),
        "rollback_max": max(rollbacks),
        "status": statistics.median(statuses),
        "push": statistics.median(pushes),
    }


def bench_swap(workdir: Path, swaps: int, poll: float) -> list[float]:
    from champion.deploy import pointer
    from champion.deploy.store import Store
    from champion.runtime import LiveModel

    store = Store(str(workdir / "pointers"))
    current = pointer.read(store, "prod")
    if current is None:
        sys.exit("no pointer was published")
    # The two versions a rollback moves between, as their pointers.
    other_version = "0.3.0" if current.version == "0.2.0" else "0.2.0"
    sh([*CHAMPION, "promote", MODEL, other_version, "--stage", "prod", "--push"], workdir / "work")
    other = pointer.read(store, "prod")
    assert other is not None and other.version == other_version
    swapped = threading.Event()
    model = LiveModel(
        MODEL,
        str(workdir / "pointers"),
        workdir / "serving-cache",
        poll_interval=poll,
        on_swap=lambda _swap: swapped.set(),
    )
    latencies = []
    counter = max(current.counter, other.counter)
    try:
        for i in range(swaps):
            target = current if i % 2 == 0 else other
            counter += 1
            swapped.clear()
            time.sleep(poll * (0.37 * i % 1))  # changes land at different points of the poll cycle
            changed_at = time.time()
            outcome = pointer.write(store, replace(target, counter=counter)).outcome
            if outcome != "written":
                sys.exit(f"the pointer was not written: {outcome}")
            while model.version != target.version:
                if time.time() - changed_at > 10 * poll + 10:
                    sys.exit(f"LiveModel never served {target.version}: {model.health()}")
                time.sleep(0.002)
            latencies.append(time.time() - changed_at)
    finally:
        model.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed rollbacks (median kept)")
    parser.add_argument("--swaps", type=int, default=10, help="pointer changes LiveModel follows")
    parser.add_argument("--poll", type=float, default=1.0, help="LiveModel's poll interval, s")
    parser.add_argument("--workdir", help="build here (must not exist) and keep it")
    args = parser.parse_args()

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench-rb-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ENV["GIT_CONFIG_GLOBAL"] = str(workdir / "gitconfig")
    ENV["DVC_SITE_CACHE_DIR"] = str(workdir / "dvc-site-cache")
    print(f"building the project in {workdir} ...")
    repo = build(workdir)

    r = bench_rollback(repo, args.runs)
    print()
    print(f"champion rollback, median of {args.runs} (max {r['rollback_max']:.2f} s):")
    print(f"  rollback                 {r['rollback']:.3f} s   target < {TARGET_SECONDS:.0f} s")
    print(
        f"  baseline: champion status {r['status']:.3f} s   ratio {r['rollback'] / r['status']:.1f}x"
    )
    print(
        f"  baseline: git push --atomic of two tags {r['push']:.3f} s   ratio {r['rollback'] / r['push']:.1f}x"
    )
    print(f"  share of the target used: {r['rollback'] / TARGET_SECONDS:.2f}")

    latencies = bench_swap(workdir, args.swaps, args.poll)
    mean, p50 = statistics.mean(latencies), statistics.median(latencies)
    worst = max(latencies)
    print()
    print(
        f"pointer change -> LiveModel serves the new version ({args.swaps} swaps, poll {args.poll} s):"
    )
    print(f"  mean {mean:.3f} s, median {p50:.3f} s, max {worst:.3f} s")
    print(
        f"  ratio to the poll interval: mean {mean / args.poll:.2f}x, max {worst / args.poll:.2f}x"
    )


if __name__ == "__main__":
    main()

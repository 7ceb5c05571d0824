"""Site benchmark: `champion site` for a repository of many models, against `champion history` of
every model, in the same run.

Builds the repository bench/registry.py builds (`git fast-import`: MODELS x VERSIONS annotated
version tags plus the stage tags champion would have written, rollbacks included), checks that
the site's registry.json names the live versions the generator implies for every model and lists
each model's tags in the order they were written, then times, each run a fresh process, best of
--runs after a warm-up:

- `champion site --out DIR`: every model's refs in one git call, every page rendered and written;
- `champion history MODEL` for every model, one process after another: what reading the same
  events takes with the command line (the baseline of the ratio);
- `champion status` (every model), and `python -c 'import champion.cli'` (the floor of a process).

Then, in one process, where a build's time goes: reading the refs, gathering the data, rendering
the pages, writing the files.

    .venv/bin/python bench/site.py [--models 20] [--versions 500] [--runs 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from registry import (
    BenchError,
    Command,
    Runner,
    Timing,
    bench_env,
    build,
    executable,
    fmt,
    model_names,
    print_table,
    workspace,
)

RUNS = 3
# Run in the benchmark's own process: where one build's time goes.
BREAKDOWN = """
import json, sys, tempfile, time
from pathlib import Path
from champion.project import open_project
from champion.site import data, links, pages

t0 = time.perf_counter()
project = open_project(sys.argv[1])
names = sorted(project.config.models)
t1 = time.perf_counter()
states = project.registry.states(names)
t2 = time.perf_counter()
forge = links.forge(None)
since = data.recent_since(int(time.time()), 7)
models = [
    data.model_json(states[n], description="", sections=project.config.models[n].sections,
                    stages=list(project.config.stages), forge=forge, recent_since=since)
    for n in names
]
site = data.site_json(models, now=int(time.time()), recent_days=7,
                      stages=list(project.config.stages), gate_stage=project.config.gate_stage)
t3 = time.perf_counter()
files = pages.render(site, int(time.time()))
t4 = time.perf_counter()
with tempfile.TemporaryDirectory() as out:
    pages.write(Path(out), files, set())
t5 = time.perf_counter()
size = sum(len(text.encode()) for text in files.values())
print(json.dumps({"config": t1 - t0, "refs": t2 - t1, "gather": t3 - t2, "render": t4 - t3,
                  "write": t5 - t4, "bytes": size, "files": len(files)}))
"""


def check(repo: Path, out: Path, runner: Runner, champion: Path, histories: dict) -> None:  # type: ignore[type-arg]
    """The site says what the generator wrote: live versions, latest, and every tag in order."""
    runner.once(Command("site", (str(champion), "site", "--out", str(out)), repo))
    site = json.loads((out / "registry.json").read_text())
    by_name = {m["model"]: m for m in site["models"]}
    if sorted(by_name) != sorted(histories):
        raise BenchError(f"registry.json lists {sorted(by_name)}, expected {sorted(histories)}")
    for name, history in histories.items():
        model = by_name[name]
        expected = history.expected_status()
        got = {
            "latest": model["latest"],
            "stages": {
                s: (model["stages"].get(s) or {}).get("version") for s in ("staging", "prod")
            },
        }
        if got != expected:
            raise BenchError(
                f"{name}: the site says {got}, the generated history implies {expected}"
            )
        tags = [t for e in model["events"] for t in e["tags"]]
        if tags != history.tags:
            raise BenchError(f"{name}: the site's events list {len(tags)} tags, not the {len(history.tags)} written, in order")  # fmt: skip
        if not (out / model["page"]).is_file():
            raise BenchError(f"{name}: {model['page']} was not written")
    events = sum(len(m["events"]) for m in site["models"])
    print(
        f"  check ok: {len(by_name)} models, {events} events, live versions as generated",
        flush=True,
    )


def history_all(runner: Runner, champion: Path, repo: Path, models: Sequence[str]) -> float:
    start = time.perf_counter()
    for name in models:
        runner.once(Command(f"history {name}", (str(champion), "history", name), repo))
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--versions", type=int, default=500)
    parser.add_argument(
        "--runs", type=int, default=RUNS, help=f"timed runs, best kept; default {RUNS}"
    )
    parser.add_argument(
        "--workdir", help="build the repository here (kept) instead of a temp folder"
    )
    args = parser.parse_args(argv)
    if args.models < 1 or args.versions < 1 or args.runs < 1:
        parser.error("--models, --versions and --runs must be at least 1")
    try:
        with workspace(args.workdir) as root:
            return run(args, root)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace, root: Path) -> int:
    champion = executable("champion")
    runner = Runner(bench_env(pycache=root / "pycache"))
    repo = root / "repo"
    names = model_names(args.models)
    histories = build(repo, names, args.versions).histories
    out = root / "site"
    check(repo, out, runner, champion, histories)

    site_cmd = Command("champion site", (str(champion), "site", "--out", str(out)), repo)
    status_cmd = Command("champion status (all models)", (str(champion), "status"), repo)
    floor = Command(
        "python -c 'import champion.cli' (floor)",
        (sys.executable, "-c", "import champion.cli"),
        repo,
    )
    print(f"\ntiming (best of {args.runs} after a warm-up; each run a fresh process)", flush=True)
    timings = runner.best_of([site_cmd, status_cmd, floor], args.runs)
    history_all(runner, champion, repo, names)  # warm-up
    hist = Timing(
        f"champion history MODEL, all {len(names)} models in turn",
        tuple(history_all(runner, champion, repo, names) for _ in range(args.runs)),
    )
    print(f"  {hist.label}: {fmt(hist.best)} s", flush=True)
    timings.insert(1, hist)
    print_table(timings)

    site, status = timings[0], timings[2]
    assert site.best is not None and hist.best is not None and status.best is not None
    print("\nratio                                     value")
    print(f"site / history of every model             {site.best / hist.best:8.2f}x")
    print(f"site / status of every model              {site.best / status.best:8.2f}x")

    proc = subprocess.run(
        [sys.executable, "-c", BREAKDOWN, str(repo)],
        env=runner.env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(f"the in-process breakdown failed: {proc.stderr}")
    parts = json.loads(proc.stdout)
    print("\none build in one process (s): " + ", ".join(
        f"{k} {parts[k]:.3f}" for k in ("config", "refs", "gather", "render", "write")
    ))  # fmt: skip
    print(f"the site: {parts['files']} files, {parts['bytes'] / 1e6:.1f} MB")
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Evaluation benchmark: `champion evaluate` on a 1,000,000-row CSV, against a bare script and mlflow.

Generates (numpy, seeded) an evaluation set of 20 numeric features and a binary target, and two
HistGradientBoostingClassifier models (100 and 150 iterations) trained on a separate 200,000-row
sample of the same distribution. Then it prints, each with its baseline from the same run:

1. the wall time of `champion evaluate` (the real CLI in a git repository; intervals included)
   against a bare script that reads the CSV with pandas, calls predict_proba and predict on both
   models and computes the same scikit-learn metrics, without intervals. Target: <= 0.8x;
2. the time champion spends on intervals, measured in-process on the same rows: `metrics.compute`
   with both models (points and paired intervals) against the same metrics without a champion
   (points only). Target: <= 5% of champion's wall time;
3. the peak RSS of both on a 10,000,000-row CSV (about 4 GB; --skip-10m). Target: under 1.5 GiB
   plus the models;
4. with --mlflow-python, `mlflow.models.evaluate` on each model plus
   `mlflow.validate_evaluation_results`, on the same rows. Target: champion at least 5x faster;
5. the prediction cache: with the champion released (its predictions on the evaluation set
   recorded), `champion evaluate` using those recorded predictions against the same command
   loading and running the champion's model (`--champion-predictions recorded` / `model`), in
   turn. Target: faster (the champion's predictions are skipped; reading the data, loading the
   candidate and starting the process are not), identical reports.

Every timed command is a fresh process, started through a small intermediate process that
measures its wall time and peak RSS (the max RSS over the intermediate's children only). It never
fails because something is slow; it exits 1 when champion's metric values differ from
scikit-learn's by more than 1e-6, or when a step cannot run.

    .venv/bin/python bench/evaluate.py [--rows 1000000] [--runs 1] [--workdir DIR] [--skip-10m]
                                       [--mlflow-python PATH] [--seed 0]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ROWS = 1_000_000
BIG_ROWS = 10_000_000
WARMUP_ROWS = 10_000
TRAIN_ROWS = 200_000
FEATURES = [f"x{i}" for i in range(20)]
TARGET = "target"
CHUNK_ROWS = 250_000  # rows generated and written at a time: the generator stays under ~150 MB
CSV_BYTES_PER_ROW = 400  # 20 full-precision doubles and a 0/1 target: 395 bytes measured
EVAL_STREAM, TRAIN_STREAM = 0, 1  # numpy seed sequences [seed, stream, chunk]
ITERATIONS = {"champion": 100, "candidate": 150}
MODEL = "clf"
METRICS = ["roc_auc", "accuracy", "f1", "log_loss", "brier"]
TOLERANCE = 1e-6
GIB = 1 << 30
TARGET_WALL_RATIO = 0.8
TARGET_INTERVAL_SHARE = 0.05
TARGET_PEAK_BYTES = int(1.5 * GIB)  # plus the models' size
TARGET_MLFLOW_SPEEDUP = 5.0
TIMEOUT = 3600.0  # per timed command
IN_PROCESS_RUNS = 7  # best of, for the in-process metric timings (about 0.2 s each at 1M rows)
NAME, EMAIL = "Bench", "bench@example.com"

CONFIG = f"""\
stages: [staging, prod]
models:
  {MODEL}:
    path: models/{MODEL}.joblib
    data: {{path: eval.csv, target: {TARGET}}}
    metrics: [{", ".join(METRICS)}]
    gate:
      roc_auc: {{min: 0.5, max_regression: 0.01}}
"""

# Runs argv, then writes its wall time and peak RSS as JSON to the first argument. It is a fresh
# small process, so RUSAGE_CHILDREN covers that one command (and what it waited for) and not the
# benchmark's own memory (Linux records the parent's RSS in a vforked child at exec).
MEASURE = """\
import json, resource, subprocess, sys, time

out, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
code = subprocess.call(argv)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
with open(out, "w") as f:
    json.dump({"seconds": seconds, "peak_bytes": peak}, f)
sys.exit(code)
"""

# What a user without champion would write: pandas reads the CSV, both models predict, and
# scikit-learn scores them. No intervals.
BARE = """\
import json, sys, time

import joblib
import pandas as pd
from sklearn import metrics

csv, candidate, champion = sys.argv[1:4]
timings = {"read_s": 0.0, "predict_s": 0.0, "metrics_s": 0.0}
start = time.perf_counter()
frame = pd.read_csv(csv)
x, y = frame.drop(columns=["target"]), frame["target"]
timings["read_s"] = time.perf_counter() - start
values = {}
for who, path in (("candidate", candidate), ("champion", champion)):
    model = joblib.load(path)
    start = time.perf_counter()
    proba = model.predict_proba(x)
    labels = model.predict(x)
    timings["predict_s"] += time.perf_counter() - start
    start = time.perf_counter()
    values[who] = {
        "roc_auc": metrics.roc_auc_score(y, proba[:, 1]),
        "accuracy": metrics.accuracy_score(y, labels),
        "f1": metrics.f1_score(y, labels),
        "log_loss": metrics.log_loss(y, proba),
        "brier": metrics.brier_score_loss(y, proba[:, 1]),
    }
    timings["metrics_s"] += time.perf_counter() - start
print(json.dumps({"values": values, "timings": timings}))
"""

# Saves both joblib models as mlflow sklearn models (untimed: done once), in mlflow's default
# format (skops since mlflow 3.x: its trees must be trusted explicitly).
MLFLOW_SAVE = """\
import shutil, sys

import joblib
import mlflow.sklearn

TRUSTED = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
for source, dest in zip(sys.argv[1::2], sys.argv[2::2]):
    shutil.rmtree(dest, ignore_errors=True)  # an incomplete earlier save
    mlflow.sklearn.save_model(joblib.load(source), dest, skops_trusted_types=TRUSTED)
"""

# mlflow's evaluation of the same pair: the default classifier evaluator on each model (each its
# own run in a local file store), then validate_evaluation_results with a roc_auc threshold.
MLFLOW_EVALUATE = """\
import json, sys, time
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import MetricThreshold
from mlflow.models.evaluation.validation import ModelValidationFailedException

csv, candidate, champion, store = sys.argv[1:5]
mlflow.set_tracking_uri(Path(store).resolve().as_uri())
mlflow.set_experiment("bench")
start = time.perf_counter()
frame = pd.read_csv(csv)
read_s = time.perf_counter() - start
start = time.perf_counter()
results = {}
for who, uri in (("candidate", candidate), ("champion", champion)):
    with mlflow.start_run(run_name=who):
        results[who] = mlflow.models.evaluate(
            uri, frame, targets="target", model_type="classifier", evaluators=["default"]
        )
evaluate_s = time.perf_counter() - start
start = time.perf_counter()
try:
    mlflow.validate_evaluation_results(
        {"roc_auc": MetricThreshold(threshold=0.5, greater_is_better=True)},
        results["candidate"],
        results["champion"],
    )
    verdict = "passed"
except ModelValidationFailedException as e:
    verdict = f"failed: {e}"
validate_s = time.perf_counter() - start
print(json.dumps({
    "version": mlflow.__version__,
    "timings": {"read_s": read_s, "evaluate_s": evaluate_s, "validate_s": validate_s},
    "verdict": verdict,
    "metrics": {who: r.metrics for who, r in results.items()},
}, default=float))
"""


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


# --- the data and the models ----------------------------------------------------------------


def sample(seed: int, stream: int, index: int, rows: int) -> tuple[FloatArray, IntArray]:
    """Chunk `index` of a stream: standard normal features, a target drawn from a logistic model
    with interactions and curvature, so that more boosting iterations help a little."""
    rng = np.random.default_rng([seed, stream, index])
    x = rng.standard_normal((rows, len(FEATURES)))
    logit = (
        1.2 * x[:, 0]
        - 0.8 * x[:, 1]
        + 0.6 * x[:, 2] * x[:, 3]
        + 0.8 * np.sin(2 * x[:, 4])
        + 0.5 * (x[:, 5] ** 2 - 1)
        - 0.4 * np.abs(x[:, 6])
        + 0.3 * x[:, 7] * x[:, 8]
        + 0.2 * x[:, 9]
        - 0.5
    )
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return x, y


def chunks(rows: int) -> Iterator[tuple[int, int]]:
    """(index, rows) of each chunk; a file of N rows is the first N rows of the stream."""
    for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
        yield index, min(CHUNK_ROWS, rows - start)


def write_csv(path: Path, rows: int, seed: int) -> Path:
    """The first `rows` rows of the evaluation stream, written chunk by chunk; kept and reused
    when it exists (it is renamed into place only once complete)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if path.exists():
        return path
    start = time.perf_counter()
    partial = path.with_suffix(".partial")
    schema = pa.schema(
        [*(pa.field(f, pa.float64()) for f in FEATURES), pa.field(TARGET, pa.int64())]
    )
    options = pacsv.WriteOptions(quoting_style="none")
    with pacsv.CSVWriter(partial, schema, write_options=options) as writer:
        for index, size in chunks(rows):
            x, y = sample(seed, EVAL_STREAM, index, size)
            columns = [pa.array(x[:, j]) for j in range(x.shape[1])] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
    os.replace(partial, path)
    size_gb = path.stat().st_size / 1e9
    print(
        f"wrote {path.name}: {rows:,} rows, {size_gb:.2f} GB in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    return path


def train(models: Path, seed: int) -> dict[str, Path]:
    """Both models, fitted on a DataFrame (so they have feature_names_in_) of TRAIN_ROWS rows;
    kept and reused when they exist. Early stopping is off so that max_iter is what they run."""
    import joblib
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    from sklearn.ensemble import HistGradientBoostingClassifier

    paths = {who: models / f"hgb-{n}-seed{seed}.joblib" for who, n in ITERATIONS.items()}
    if all(p.exists() for p in paths.values()):
        return paths
    models.mkdir(parents=True, exist_ok=True)
    parts = [sample(seed, TRAIN_STREAM, i, n) for i, n in chunks(TRAIN_ROWS)]
    frame = pd.DataFrame(np.concatenate([x for x, _ in parts]), columns=FEATURES)
    y = np.concatenate([y for _, y in parts])
    for who, n in ITERATIONS.items():
        start = time.perf_counter()
        model = HistGradientBoostingClassifier(max_iter=n, early_stopping=False, random_state=seed)
        joblib.dump(model.fit(frame, y), paths[who])
        print(f"trained {paths[who].name} in {time.perf_counter() - start:.1f} s", flush=True)
    return paths


def enough_disk(folder: Path, rows: int) -> str | None:
    """None when `rows` rows of CSV fit with 1 GiB to spare; else why not."""
    need = rows * CSV_BYTES_PER_ROW + GIB
    free = shutil.disk_usage(folder).free
    if free >= need:
        return None
    return f"{free / GIB:.1f} GiB free in {folder}, the {rows:,}-row CSV needs {need / GIB:.1f} GiB"


# --- the project ----------------------------------------------------------------------------


def git(repo: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"git {' '.join(args)} failed in {repo}: {proc.stderr}")
    return proc.stdout


def make_repo(repo: Path, csv: Path, candidate: Path, env: dict[str, str]) -> Path:
    """A git repository with `champion.yaml` committed, the candidate in the working tree and
    `eval.csv` a link to the generated file. Safe to run again on the same folder."""
    (repo / "models").mkdir(parents=True, exist_ok=True)
    (repo / "champion.yaml").write_text(CONFIG)
    shutil.copyfile(candidate, repo / "models" / f"{MODEL}.joblib")
    link = repo / "eval.csv"
    link.unlink(missing_ok=True)
    link.symlink_to(csv.resolve())
    (repo / ".gitignore").write_text("eval.csv\nreport*.json\n")
    git(repo, env, "init", "-q", "-b", "main")
    git(repo, env, "add", "champion.yaml", ".gitignore")
    if git(repo, env, "status", "--porcelain", "--untracked-files=no").strip():
        git(repo, env, "commit", "-q", "-m", "champion.yaml")
    return repo


def bench_env(pycache: Path) -> dict[str, str]:
    """A fixed git identity, no system git config, no analytics or telemetry; Python keeps its
    bytecode in the work folder, so no timed run compiles champion's sources."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        PYTHONPYCACHEPREFIX=str(pycache),
        DVC_NO_ANALYTICS="1",
        MLFLOW_DISABLE_TELEMETRY="true",
        MLFLOW_ALLOW_FILE_STORE="true",  # mlflow >= 3.x refuses its file store without it
        DO_NOT_TRACK="true",
        GIT_PYTHON_REFRESH="quiet",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME=NAME,
        GIT_AUTHOR_EMAIL=EMAIL,
        GIT_COMMITTER_NAME=NAME,
        GIT_COMMITTER_EMAIL=EMAIL,
    )
    for var in ("GITHUB_ACTOR", "GITHUB_OUTPUT", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"):
        env.pop(var, None)
    return env


# --- running and measuring ------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_bytes: int
    stdout: str
    report: dict[str, Any] | None = None  # champion's report of this very run


@dataclass(frozen=True)
class Runner:
    root: Path
    env: dict[str, str]

    def run(self, label: str, argv: Sequence[str], cwd: Path, timeout: float = TIMEOUT) -> Run:
        """One command through the measuring process; its own session, so that a timeout ends
        the command too."""
        out = self.root / f"measure-{os.getpid()}.json"  # two benchmarks may share a workdir
        out.unlink(missing_ok=True)
        wrapper = [sys.executable, str(self.root / "measure.py"), str(out), *argv]
        with subprocess.Popen(
            wrapper,
            cwd=cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as proc:
            try:
                stdout, stderr = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                raise BenchError(f"{label} timed out after {timeout:.0f} s") from None
        if proc.returncode != 0:
            raise BenchError(f"{label} exited {proc.returncode}: {stderr.strip()[-3000:]}")
        measured = json.loads(out.read_text())
        return Run(measured["seconds"], measured["peak_bytes"], stdout)


@dataclass(frozen=True)
class Command:
    label: str
    argv: tuple[str, ...]
    cwd: Path
    report: Path | None = None  # read after each run, so the fastest run keeps its own timings


def best_of(runner: Runner, commands: Sequence[Command], runs: int) -> list[list[Run]]:
    """`runs` rounds taken in turn across the commands, so a change in the machine's load weighs
    on all of them alike."""
    results: list[list[Run]] = [[] for _ in commands]
    for round_ in range(runs):
        for cmd, bucket in zip(commands, results, strict=True):
            run = runner.run(cmd.label, cmd.argv, cmd.cwd)
            if cmd.report is not None:
                run = replace(run, report=json.loads(cmd.report.read_text()))
            bucket.append(run)
            print(
                f"  {cmd.label} (run {round_ + 1}/{runs}): {run.seconds:.2f} s, "
                f"peak RSS {gib(run.peak_bytes)}",
                flush=True,
            )
    return results


def fastest(runs: Sequence[Run]) -> Run:
    return min(runs, key=lambda r: r.seconds)


def last_json(stdout: str) -> dict[str, Any]:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise BenchError(f"no JSON result in the output: {stdout[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


@dataclass(frozen=True)
class Tools:
    """The commands compared, for one pair of models."""

    champion: Path
    repo: Path
    root: Path
    models: dict[str, Path]

    def evaluate(self, label: str, data: Path | None = None) -> Command:
        argv = [str(self.champion), "evaluate", MODEL, "--baseline", str(self.models["champion"])]
        argv += ["--out", str(self.report), "--no-fail"]
        if data is not None:
            argv += ["--data", str(data)]
        return Command(label, tuple(argv), self.repo, self.report)

    def bare(self, label: str, csv: Path) -> Command:
        script = str(self.root / "bare.py")
        models = (str(self.models["candidate"]), str(self.models["champion"]))
        return Command(label, (sys.executable, script, str(csv), *models), self.root)

    @property
    def report(self) -> Path:
        return self.root / f"report-{os.getpid()}.json"

    def read_report(self) -> dict[str, Any]:
        report: dict[str, Any] = json.loads(self.report.read_text())
        return report


# --- correctness ----------------------------------------------------------------------------


def disagreements(report: dict[str, Any], bare: dict[str, Any]) -> list[str]:
    """Where champion's report and scikit-learn (in the bare script) differ by more than 1e-6."""
    problems = []
    reported = {m["name"]: m for m in report["metrics"]}
    for who in ("candidate", "champion"):
        for name in METRICS:
            expected = bare["values"][who][name]
            got = reported.get(name, {}).get(who)
            if got is None or not abs(got - expected) <= TOLERANCE:
                problems.append(f"{name} of the {who}: champion {got}, scikit-learn {expected}")
    return problems


def check(report: dict[str, Any], bare: dict[str, Any], rows: int) -> list[str]:
    problems = disagreements(report, bare)
    if report["data"]["rows"] != rows:
        problems.append(f"champion's report counts {report['data']['rows']:,} rows, not {rows:,}")
    if problems:
        for p in problems:
            print(f"  check FAILED at {rows:,} rows: {p}", flush=True)
    else:
        print(
            f"  check ok at {rows:,} rows: champion's {len(METRICS)} metrics of both models equal "
            f"scikit-learn's to {TOLERANCE:g}",
            flush=True,
        )
    return problems


# --- figure 1: wall time --------------------------------------------------------------------


@dataclass(frozen=True)
class WallTime:
    champion: Run
    bare: Run
    report: dict[str, Any]
    bare_out: dict[str, Any]
    problems: list[str]


def time_evaluate(runner: Runner, tools: Tools, csv: Path, rows: int, runs: int) -> WallTime:
    print(f"\n1. wall time at {rows:,} rows (best of {runs}; each a fresh process)", flush=True)
    champion_runs, bare_runs = best_of(
        runner,
        [tools.evaluate("champion evaluate"), tools.bare("bare pandas + scikit-learn", csv)],
        runs,
    )
    champion, bare = fastest(champion_runs), fastest(bare_runs)
    # The fastest runs' own report and output: their timings break down their wall times.
    assert champion.report is not None
    bare_out = last_json(bare.stdout)
    problems = check(champion.report, bare_out, rows)
    return WallTime(champion, bare, champion.report, bare_out, problems)


# --- figure 5: the prediction cache ----------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    cached: Run
    full: Run
    problems: list[str]


def recorded_repo(tools: Tools, csv: Path, env: dict[str, str], runner: Runner) -> Path:
    """A repository whose champion (the 100-iteration model) is released to prod, so that its
    predictions on `csv` are recorded (a local ref: no origin, no push); the 150-iteration
    model is the candidate in the working tree. Made once per work folder."""
    repo = tools.root / "repo-recorded"
    model = repo / "models" / f"{MODEL}.joblib"
    if not (repo / ".git").exists():
        make_repo(repo, csv, tools.models["champion"], env)
        git(repo, env, "add", "-f", f"models/{MODEL}.joblib")
        git(repo, env, "commit", "-q", "-m", "champion")
        print("  releasing the champion (untimed: a fresh evaluation records its predictions)")
        runner.run("champion release", (str(tools.champion), "release", "--promote", "prod"), repo)
    (repo / "eval.csv").unlink(missing_ok=True)
    (repo / "eval.csv").symlink_to(csv.resolve())
    shutil.copyfile(tools.models["candidate"], model)
    return repo


def time_recorded(
    runner: Runner, tools: Tools, csv: Path, env: dict[str, str], rows: int, runs: int
) -> Recorded:
    print(f"\n5. the prediction cache at {rows:,} rows (best of {runs}, in turn)", flush=True)
    repo = recorded_repo(tools, csv, env, runner)
    commands = []
    for how in ("recorded", "model"):
        out = tools.root / f"report-{how}-{os.getpid()}.json"
        argv = (str(tools.champion), "evaluate", MODEL, "--champion-predictions", how)
        argv += ("--out", str(out), "--no-fail")
        commands.append(Command(f"champion evaluate --champion-predictions {how}", argv, repo, out))
    cached_runs, full_runs = best_of(runner, commands, runs)
    cached, full = fastest(cached_runs), fastest(full_runs)
    assert cached.report is not None and full.report is not None
    problems = []
    if cached.report["champion"]["predictions"]["from"] != "recorded":
        problems.append(f"the cached run did not use them: {cached.report['champion']}")
    for key in ("metrics", "slices", "gate", "signature", "suggested"):
        if cached.report[key] != full.report[key]:
            problems.append(f"the report's {key} differ between the cached and the full run")
    t_cached, t_full = cached.report["timings"], full.report["timings"]
    for label, t in (("recorded", t_cached), ("model", t_full)):
        parts = ", ".join(
            f"{k} {t.get(k, 0.0):.2f} s"
            for k in ("load_s", "read_s", "predict_candidate_s", "predict_champion_s", "metrics_s")
        )
        print(f"  {label}: {parts}")
    print(
        "  check "
        + ("ok: the same metrics, intervals, slices and verdict" if not problems else "FAILED")
    )
    for problem in problems:
        print(f"  check FAILED: {problem}")
    return Recorded(cached, full, problems)


def print_breakdown(wall: WallTime) -> None:
    t = wall.report["timings"]
    inside = t["total_s"]
    print(f"\n  champion evaluate, {wall.champion.seconds:.2f} s wall (its report's timings):")
    for key in ("load_s", "read_s", "predict_candidate_s", "predict_champion_s", "metrics_s"):
        print(f"    {key:<22}{t.get(key, 0.0):8.2f} s  {share(t.get(key, 0.0), inside)}")
    print(f"    {'slices_s':<22}{t.get('slices_s', 0.0):8.2f} s")
    print(f"    {'total_s':<22}{inside:8.2f} s")
    outside = wall.champion.seconds - inside
    print(f"    {'outside evaluate()':<22}{outside:8.2f} s  (interpreter, imports, report, render)")
    b = wall.bare_out["timings"]
    print(f"  bare script, {wall.bare.seconds:.2f} s wall:")
    for key in ("read_s", "predict_s", "metrics_s"):
        print(f"    {key:<22}{b[key]:8.2f} s  {share(b[key], wall.bare.seconds)} of its wall time")


# --- figure 2: intervals --------------------------------------------------------------------


@dataclass(frozen=True)
class IntervalCost:
    paired: float  # metrics.compute with both models: points and intervals
    points: float  # metrics.compute of each model alone: points only
    sklearn: float  # the bare script's scikit-learn calls on the same arrays
    parts: dict[str, float]  # each interval method alone

    @property
    def intervals(self) -> float:
        return max(self.paired - self.points, 0.0)


def timed(runs: int, fn: Callable[[], object]) -> float:
    best = math.inf
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure_intervals(csv: Path, models: dict[str, Path], runs: int) -> IntervalCost:
    """champion's own reading and prediction (in this process), then the metrics with and
    without the champion's predictions: without them, `compute` computes no interval."""
    import joblib

    from champion.evaluation import metrics
    from champion.evaluation.data import DataSpec, Reader
    from champion.evaluation.predict import evaluate_rows, feature_plan
    from champion.evaluation.run import Stats

    reader = Reader(DataSpec(csv, TARGET))
    cand, champ = joblib.load(models["candidate"]), joblib.load(models["champion"])
    ev = evaluate_rows(
        reader,
        "classification",
        (cand, feature_plan(cand, reader, "candidate")),
        (champ, feature_plan(champ, reader, "champion")),
    )
    assert ev.champion is not None
    specs = metrics.resolve_metrics(METRICS, "classification", 2)
    s = Stats()
    truth, a, b = ev.truth, ev.champion, ev.candidate
    compute = functools.partial(
        metrics.compute, specs, truth, level=s.level, resamples=s.resamples, seed=s.seed
    )

    def points() -> None:
        compute(b, None)
        compute(a, None)

    return IntervalCost(
        paired=timed(runs, lambda: compute(b, a)),
        points=timed(runs, points),
        sklearn=timed(runs, lambda: sklearn_points(truth.y, a, b)),
        parts=interval_parts(truth.y, a, b, s, runs),
    )


def sklearn_points(y: Any, *models: Any) -> None:
    from sklearn import metrics as skm

    for p in models:  # a binary model's proba is its class-1 column, as scikit-learn takes it
        skm.roc_auc_score(y, p.positive_proba)
        skm.accuracy_score(y, p.labels)
        skm.f1_score(y, p.labels)
        skm.log_loss(y, p.positive_proba)
        skm.brier_score_loss(y, p.positive_proba)


def interval_parts(y: Any, a: Any, b: Any, s: Any, runs: int) -> dict[str, float]:
    """Each interval method alone, with its own point work: the joint table (accuracy, f1),
    DeLong (roc_auc) and the paired standard error of per-row losses (log_loss, brier)."""
    from champion.evaluation import metrics, stats

    specs = metrics.resolve_metrics(["accuracy", "f1"], "classification", 2)
    fns = {spec.name: metrics.count_metric(spec) for spec in specs}
    positive = y == 1
    pa, pb = a.positive_proba, b.positive_proba
    loss_a, loss_b = (pa - y) ** 2, (pb - y) ** 2

    def table() -> None:
        joint = stats.JointTable.build(y.astype(np.int64), a.labels, b.labels, 2)
        stats.table_bootstrap(joint, fns, resamples=s.resamples, seed=s.seed, level=s.level)

    return {
        "joint-table bootstrap (accuracy, f1), table built": timed(runs, table),
        "DeLong (roc_auc), both AUCs included": timed(
            runs, lambda: stats.delong(positive, pa, pb, s.level)
        ),
        "two AUCs alone (weighted_auc), for comparison": timed(
            runs, lambda: (stats.weighted_auc(positive, pa), stats.weighted_auc(positive, pb))
        ),
        "paired SE of one per-row loss (brier)": timed(
            runs, lambda: stats.paired_se(loss_a, loss_b, None, s.level)
        ),
    }


def print_intervals(cost: IntervalCost, wall: WallTime) -> None:
    print(f"  metrics.compute, both models, points + intervals: {cost.paired:8.3f} s")
    print(f"  metrics.compute, each model alone, points only:    {cost.points:8.3f} s")
    print(f"  scikit-learn's 5 metrics x 2 models (bare script): {cost.sklearn:8.3f} s")
    print(f"  => intervals (the difference, 0 if negative): {cost.intervals:.3f} s")
    for label, seconds in cost.parts.items():
        print(f"     {label:<52}{seconds:8.3f} s")
    total = wall.champion.seconds
    print(
        f"  intervals / champion evaluate's wall time ({total:.2f} s): "
        f"{share(cost.intervals, total).strip()}; an upper bound, all of metrics.compute: "
        f"{share(cost.paired, total).strip()} (the report's metrics_s: "
        f"{wall.report['timings']['metrics_s']:.3f} s)",
        flush=True,
    )


# --- figure 3: memory at 10M rows -----------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    champion: Run | None
    bare: Run | None
    models_bytes: int
    note: str = ""
    problems: tuple[str, ...] = ()


def measure_memory(runner: Runner, tools: Tools, data: Path, seed: int) -> Memory:
    print(f"\n3. peak RSS at {BIG_ROWS:,} rows (one run each)", flush=True)
    models_bytes = sum(p.stat().st_size for p in tools.models.values())
    csv = data / f"eval-{BIG_ROWS}-seed{seed}.csv"
    short = None if csv.exists() else enough_disk(data, BIG_ROWS)
    if short:
        print(f"  skipped: {short}", flush=True)
        return Memory(None, None, models_bytes, f"skipped: {short}")
    write_csv(csv, BIG_ROWS, seed)
    champion = runner.run("champion evaluate (10M)", tools.evaluate("", csv).argv, tools.repo)
    print(f"  champion evaluate: peak RSS {gib(champion.peak_bytes)}, {champion.seconds:.1f} s")
    report = tools.read_report()
    bare = runner.run("bare script (10M)", tools.bare("", csv).argv, tools.root)
    print(f"  bare pandas + scikit-learn: peak RSS {gib(bare.peak_bytes)}, {bare.seconds:.1f} s")
    problems = check(report, last_json(bare.stdout), BIG_ROWS)
    return Memory(champion, bare, models_bytes, problems=tuple(problems))


# --- figure 4: mlflow -----------------------------------------------------------------------


@dataclass(frozen=True)
class Mlflow:
    run: Run | None
    out: dict[str, Any]
    note: str = ""


def mlflow_usable(python: str | None) -> str | None:
    """None when `python` can import mlflow, pandas and scikit-learn; else why not."""
    if python is None:
        return "no --mlflow-python given"
    if not Path(python).is_file():
        return f"--mlflow-python {python} does not exist"
    proc = subprocess.run(
        [python, "-c", "import mlflow, pandas, sklearn, joblib"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return f"{python} cannot import mlflow, pandas, scikit-learn and joblib: {last}"
    return None


def time_mlflow(
    runner: Runner, tools: Tools, python: str | None, csvs: tuple[Path, Path], runs: int
) -> Mlflow:
    print("\n4. mlflow.models.evaluate x 2 + mlflow.validate_evaluation_results", flush=True)
    why_not = mlflow_usable(python)
    if why_not or python is None:
        print(f"  skipped: {why_not}", flush=True)
        return Mlflow(None, {}, f"skipped: {why_not}")
    python = os.path.abspath(python)  # not resolved: a venv's python is a link out of the venv
    saved = {who: tools.root / "mlflow-models" / path.stem for who, path in tools.models.items()}
    missing = [
        arg
        for who, d in saved.items()
        if not (d / "MLmodel").exists()
        for arg in (str(tools.models[who]), str(d))
    ]
    if missing:
        runner.run(
            "mlflow save_model", (python, str(tools.root / "mlflow_save.py"), *missing), tools.root
        )
    store = tools.root / "mlruns"
    script = str(tools.root / "mlflow_evaluate.py")

    def command(label: str, csv: Path) -> Command:
        argv = (
            python,
            script,
            str(csv),
            str(saved["candidate"]),
            str(saved["champion"]),
            str(store),
        )
        return Command(label, argv, tools.root)

    runner.run("mlflow warm-up", command("", csvs[0]).argv, tools.root)
    timed_runs = best_of(runner, [command("mlflow evaluate + validate", csvs[1])], runs)[0]
    best = fastest(timed_runs)
    return Mlflow(best, last_json(best.stdout))


def print_mlflow(result: Mlflow, bare: dict[str, Any]) -> None:
    if result.run is None:
        return
    out, t = result.out, result.out["timings"]
    print(
        f"  mlflow {out['version']}: read_csv {t['read_s']:.2f} s, evaluate x 2 "
        f"{t['evaluate_s']:.2f} s, validate {t['validate_s']:.3f} s; verdict {out['verdict']}"
    )
    for who in ("candidate", "champion"):
        got = out["metrics"][who]
        print(
            f"  mlflow's {who}: roc_auc {got.get('roc_auc')}, accuracy "
            f"{got.get('accuracy_score')} (scikit-learn: {bare['values'][who]['roc_auc']}, "
            f"{bare['values'][who]['accuracy']})"
        )


# --- report ---------------------------------------------------------------------------------


def gib(n: float) -> str:
    return f"{n / GIB:.2f} GiB"


def share(part: float, whole: float) -> str:
    return f"{100 * part / whole:5.1f}%" if whole > 0 else "-"


@dataclass(frozen=True)
class Row:
    figure: str
    champion: str
    baseline: str
    ratio: str
    target: str
    met: bool | None  # None: not measured

    def cells(self) -> list[str]:
        verdict = "" if self.met is None else ("met" if self.met else "MISSED")
        return [self.figure, self.champion, self.baseline, self.ratio, f"{self.target} {verdict}"]


def summary_rows(
    wall: WallTime,
    cost: IntervalCost,
    memory: Memory | None,
    mlflow: Mlflow,
    cache: Recorded,
    rows: int,
) -> list[Row]:
    ratio = wall.champion.seconds / wall.bare.seconds
    interval_share = cost.intervals / wall.champion.seconds
    out = [
        Row(
            f"1. wall time, {rows:,} rows (baseline: bare script)",
            f"{wall.champion.seconds:.2f} s",
            f"{wall.bare.seconds:.2f} s",
            f"{ratio:.2f}x",
            f"<= {TARGET_WALL_RATIO}x",
            ratio <= TARGET_WALL_RATIO,
        ),
        Row(
            "2. intervals (baseline: champion's wall time)",
            f"{cost.intervals:.3f} s",
            f"{wall.champion.seconds:.2f} s",
            share(cost.intervals, wall.champion.seconds).strip(),
            f"<= {TARGET_INTERVAL_SHARE:.0%} (points included: "
            f"{share(cost.paired, wall.champion.seconds).strip()})",
            interval_share <= TARGET_INTERVAL_SHARE,
        ),
    ]
    if memory is not None:
        out.append(memory_row(memory))
    out.append(mlflow_row(mlflow, wall, rows))
    cache_ratio = cache.cached.seconds / cache.full.seconds
    assert cache.full.report is not None
    champion_predicts = cache.full.report["timings"].get("predict_champion_s", 0.0)
    saved = cache.full.seconds - cache.cached.seconds
    out.append(
        Row(
            f"5. recorded champion predictions, {rows:,} rows (baseline: loading the champion)",
            f"{cache.cached.seconds:.2f} s",
            f"{cache.full.seconds:.2f} s",
            f"{cache_ratio:.2f}x",
            f"< 1x, identical reports (saved {saved:.2f} s; the champion's predictions took "
            f"{champion_predicts:.2f} s)",
            cache_ratio < 1 and not cache.problems,
        )
    )
    return out


def memory_row(memory: Memory) -> Row:
    limit = TARGET_PEAK_BYTES + memory.models_bytes
    target = f"< 1.5 GiB + models ({memory.models_bytes / (1 << 20):.1f} MiB)"
    label = f"3. peak RSS, {BIG_ROWS:,} rows (baseline: bare script)"
    if memory.champion is None or memory.bare is None:
        return Row(label, "-", "-", "-", f"{target}; {memory.note}", None)
    peak, bare = memory.champion.peak_bytes, memory.bare.peak_bytes
    return Row(label, gib(peak), gib(bare), f"{peak / bare:.2f}x", target, peak < limit)


def mlflow_row(mlflow: Mlflow, wall: WallTime, rows: int) -> Row:
    label = f"4. mlflow evaluate + validate, {rows:,} rows"
    target = f"champion >= {TARGET_MLFLOW_SPEEDUP:.0f}x faster"
    if mlflow.run is None:
        return Row(label, "-", "-", "-", f"{target}; {mlflow.note}", None)
    speedup = mlflow.run.seconds / wall.champion.seconds
    return Row(
        label,
        f"{wall.champion.seconds:.2f} s",
        f"{mlflow.run.seconds:.2f} s",
        f"{speedup:.1f}x faster",
        target,
        speedup >= TARGET_MLFLOW_SPEEDUP,
    )


def print_summary(rows: Sequence[Row]) -> None:
    header = ["figure", "champion", "baseline", "ratio", "target"]
    table = [header, *(r.cells() for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    print()
    for line in table:
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=False))
        ]
        print("  ".join([*cells, line[-1]]).rstrip())


# --- main -----------------------------------------------------------------------------------


@contextmanager
def workspace(path: str | None) -> Iterator[Path]:
    if path is not None:
        root = Path(path).resolve()
        root.mkdir(parents=True, exist_ok=True)
        yield root
        return
    with tempfile.TemporaryDirectory(prefix="champion-bench-evaluate-") as tmp:
        yield Path(tmp)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=ROWS, help=f"evaluation rows; default {ROWS:,}")
    parser.add_argument("--runs", type=int, default=1, help="timed runs per command, best kept")
    parser.add_argument("--workdir", help="keep the data, models and repository here (reused)")
    parser.add_argument("--skip-10m", action="store_true", help="do not measure memory at 10M rows")
    parser.add_argument(
        "--mlflow-python", metavar="PATH", help="a python with mlflow, pandas and scikit-learn"
    )
    parser.add_argument("--seed", type=int, default=0, help="of the data and the models")
    args = parser.parse_args(argv)
    if args.rows < 1000 or args.runs < 1:
        parser.error("--rows must be at least 1000 and --runs at least 1")
    return args


def executable(name: str) -> Path:
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise BenchError(f"{path} not found: install the project first (make venv)")
    return path


def prepare(root: Path, args: argparse.Namespace, env: dict[str, str]) -> tuple[Tools, Path, Path]:
    """Scripts, data, models and the repository; returns the tools, the warm-up and eval CSVs."""
    for name, text in (
        ("measure.py", MEASURE),
        ("bare.py", BARE),
        ("mlflow_save.py", MLFLOW_SAVE),
        ("mlflow_evaluate.py", MLFLOW_EVALUATE),
    ):
        (root / name).write_text(text)
    data = root / "data"
    data.mkdir(exist_ok=True)
    small = write_csv(data / f"eval-{WARMUP_ROWS}-seed{args.seed}.csv", WARMUP_ROWS, args.seed)
    csv = write_csv(data / f"eval-{args.rows}-seed{args.seed}.csv", args.rows, args.seed)
    models = train(root / "models", args.seed)
    repo = make_repo(root / "repo", csv, models["candidate"], env)
    return Tools(executable("champion"), repo, root, models), small, csv


def source_state() -> str:
    """The commit of the champion sources measured, and whether src/ has uncommitted changes."""
    here = Path(__file__).resolve().parent.parent
    run = subprocess.run
    head = run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True)
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    status = ["git", "status", "--porcelain", "--untracked-files=no", "--", "src"]
    dirty = run(status, cwd=here, capture_output=True, text=True).stdout.strip()
    return head.stdout.strip() + (" + uncommitted changes in src/" if dirty else "")


def run(args: argparse.Namespace, root: Path) -> int:
    env = bench_env(root / "pycache")
    runner = Runner(root, env)
    before = source_state()
    print(f"champion sources: {before}", flush=True)
    tools, small, csv = prepare(root, args, env)
    print("warm-up (untimed, 10,000 rows: bytecode and page caches)", flush=True)
    runner.run("champion warm-up", tools.evaluate("", small).argv, tools.repo)
    runner.run("bare warm-up", tools.bare("", small).argv, tools.root)

    wall = time_evaluate(runner, tools, csv, args.rows, args.runs)
    print_breakdown(wall)
    print(f"\n2. intervals, in-process on the same {args.rows:,} rows", flush=True)
    cost = measure_intervals(csv, tools.models, max(args.runs, IN_PROCESS_RUNS))
    print_intervals(cost, wall)
    mlflow = time_mlflow(runner, tools, args.mlflow_python, (small, csv), args.runs)
    print_mlflow(mlflow, wall.bare_out)
    cache = time_recorded(runner, tools, csv, env, args.rows, args.runs)
    memory = None if args.skip_10m else measure_memory(runner, tools, root / "data", args.seed)
    if args.skip_10m:
        print("\n3. peak RSS at 10M rows: skipped (--skip-10m)")
    print_summary(summary_rows(wall, cost, memory, mlflow, cache, args.rows))
    print(
        f"\n  peak RSS at {args.rows:,} rows: champion {gib(wall.champion.peak_bytes)}, "
        f"bare script {gib(wall.bare.peak_bytes)}"
    )
    after = source_state()
    if after != before:
        print(f"\nwarning: champion's sources changed during the run ({before} -> {after})")
    problems = wall.problems + list(memory.problems if memory else ())
    if problems:
        print(f"error: champion's metrics differ from scikit-learn's: {problems}", file=sys.stderr)
        return 1
    if cache.problems:
        print(f"error: the prediction cache: {cache.problems}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with workspace(args.workdir) as root:
            return run(args, root)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

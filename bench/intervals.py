"""Interval benchmark: every interval method of `champion.evaluation.stats` at 1,000,000 rows,
against one resample of a naive row bootstrap.

A naive paired row bootstrap draws n rows and recomputes each metric of both models with
scikit-learn; 2000 of those make one interval. The methods here resample a sufficient statistic
instead (the joint label table, DeLong's placements, per-row losses), so their cost is one pass
over the rows plus a part that does not depend on n. The row-bootstrap fallback (weighted or
multiclass ROC AUC, custom metrics) is timed too, at its cap of PAIRED_BOOTSTRAP_MAX resamples.

Prints figures and ratios; it never fails because something is slow. It exits 1 only when a
point value disagrees with scikit-learn.

    .venv/bin/python bench/intervals.py [--rows 1000000] [--resamples 2000] [--seed 0]
                                        [--skip-fallback]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn import metrics as skm

from champion.evaluation import metrics, stats
from champion.evaluation.outputs import Predictions, Truth

BINARY = [
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "brier",
]


def best_of(runs: int, fn: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def binary_case(n: int, seed: int) -> tuple[Truth, Predictions, Predictions]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    sa = y + rng.normal(0, 1, n)
    sb = 0.7 * sa + 0.8 * y + rng.normal(0, 0.7, n)
    pa, pb = 1 / (1 + np.exp(-(sa - 1.0))), 1 / (1 + np.exp(-(sb - 1.2)))

    def outputs(p: np.ndarray[Any, Any]) -> Predictions:
        return Predictions(labels=(p > 0.5).astype(np.int64), proba=np.column_stack([1 - p, p]))

    truth = Truth("classification", y, (0, 1), rng.uniform(0.2, 3.0, n))
    return truth, outputs(pb), outputs(pa)


def naive_resample(truth: Truth, cand: Predictions, champ: Predictions, seed: int) -> None:
    """One resample of the naive paired row bootstrap: n rows drawn, all metrics recomputed with
    scikit-learn for both models."""
    idx = np.random.default_rng(seed).integers(0, truth.n, truth.n)
    y = truth.y[idx]
    for p in (cand, champ):
        assert p.labels is not None and p.proba is not None
        labels, proba = p.labels[idx], p.proba[idx]
        skm.accuracy_score(y, labels)
        skm.balanced_accuracy_score(y, labels)
        skm.precision_score(y, labels, zero_division=0)
        skm.recall_score(y, labels, zero_division=0)
        skm.f1_score(y, labels, zero_division=0)
        skm.roc_auc_score(y, proba[:, 1])
        skm.log_loss(y, y_proba=proba)
        skm.brier_score_loss(y, proba[:, 1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3, help="timed runs per figure; best is kept")
    parser.add_argument("--skip-fallback", action="store_true", help="do not time the fallback")
    args = parser.parse_args(argv)
    n, b, seed, runs = args.rows, args.resamples, args.seed, args.runs

    truth, cand, champ = binary_case(n, seed)
    unweighted = Truth(truth.task, truth.y, truth.classes)
    y, positive = truth.y, truth.y == 1
    assert cand.labels is not None and champ.labels is not None
    assert cand.proba is not None and champ.proba is not None
    pa, pb = champ.proba[:, 1], cand.proba[:, 1]

    # correctness first: the fast point values are scikit-learn's
    specs = metrics.resolve_metrics(BINARY, "classification", 2)
    values = {v.name: v for v in metrics.compute(specs, unweighted, cand, champ, resamples=b)}
    expected = {
        "accuracy": skm.accuracy_score(y, cand.labels),
        "f1": skm.f1_score(y, cand.labels),
        "roc_auc": skm.roc_auc_score(y, pb),
        "log_loss": skm.log_loss(y, y_proba=cand.proba),
    }
    bad = [k for k, v in expected.items() if abs(v - (values[k].candidate or np.nan)) > 1e-9]
    if bad:
        print(f"FAILED: point values differ from scikit-learn: {bad}")
        return 1

    table_metrics = {s.name: metrics.count_metric(s) for s in specs if s.kind == "table"}
    ll_a = -np.log(np.where(positive, pa, 1 - pa))
    ll_b = -np.log(np.where(positive, pb, 1 - pb))
    rng = np.random.default_rng(seed)
    yr = rng.normal(0, 1, n)
    sq_a, sq_b = (yr - (yr + rng.normal(0, 1, n))) ** 2, (yr - (yr + rng.normal(0, 0.9, n))) ** 2
    batches_a = [rng.gamma(2.0, 0.01, 10_000) for _ in range(100)]
    batches_b = [x * rng.uniform(0.8, 1.0) for x in batches_a]
    w = truth.weight

    rows: list[tuple[str, str, float]] = []

    def timed(label: str, method: str, fn: Callable[[], Any]) -> None:
        rows.append((label, method, best_of(runs, fn)))

    timed(
        "5 count metrics (table built + resampled)",
        stats.JOINT_TABLE,
        lambda: stats.table_bootstrap(
            stats.JointTable.build(y, champ.labels, cand.labels, 2), table_metrics, resamples=b
        ),
    )
    timed(
        "5 count metrics, weighted",
        stats.JOINT_TABLE,
        lambda: stats.table_bootstrap(
            stats.JointTable.build(y, champ.labels, cand.labels, 2, w), table_metrics, resamples=b
        ),
    )
    timed("roc_auc", stats.DELONG, lambda: stats.delong(positive, pa, pb))
    timed(
        "log_loss (per-row losses given)",
        stats.PAIRED_SE,
        lambda: stats.paired_se(ll_a, ll_b, None, 0.95),
    )
    timed("log_loss, weighted", stats.PAIRED_SE, lambda: stats.paired_se(ll_a, ll_b, w, 0.95))
    timed("rmse", stats.DELTA_METHOD, lambda: stats.rmse_interval(sq_a, sq_b, None, 0.95))
    timed("r2", stats.DELTA_METHOD, lambda: stats.r2_interval(sq_a, sq_b, yr, None, 0.95))
    per_batch_a = [float(x.mean()) for x in batches_a]
    per_batch_b = [float(x.mean()) for x in batches_b]
    timed(
        "latency p95, 100 batches, one per-row figure each",
        stats.BATCH_BOOTSTRAP,
        lambda: stats.batch_bootstrap(per_batch_a, per_batch_b, 0.95, resamples=b),
    )
    timed(
        "latency p95, 100 batches x 10,000 per-row values",
        stats.BATCH_BOOTSTRAP,
        lambda: stats.batch_bootstrap(batches_a, batches_b, 0.95, resamples=b),
    )
    timed(
        f"compute(): all {len(BINARY)} binary metrics, points + intervals",
        "(all of the above kinds)",
        lambda: metrics.compute(specs, unweighted, cand, champ, resamples=b),
    )
    if not args.skip_fallback:
        ss_a, ss_b = stats.SortedScore.of(pa), stats.SortedScore.of(pb)
        assert w is not None
        weights = w

        def weighted_auc_delta(idx: np.ndarray[Any, Any]) -> float:
            mult = weights * np.bincount(idx, minlength=n)
            return ss_b.auc(positive, mult) - ss_a.auc(positive, mult)

        timed(
            f"weighted roc_auc fallback ({stats.PAIRED_BOOTSTRAP_MAX} resamples)",
            stats.PAIRED_BOOTSTRAP,
            lambda: stats.paired_bootstrap(n, weighted_auc_delta, b, seed, 0.95, weights),
        )

    naive = best_of(min(runs, 2), lambda: naive_resample(truth, cand, champ, seed))
    fast_total = sum(t for label, _, t in rows if not label.startswith(("compute", "weighted roc")))

    print(f"rows: {n:,}   resamples per bootstrap: {b}   best of {runs} runs, seconds\n")
    print(f"{'interval':<58} {'method':<24} {'s':>8} {'/ naive':>8}")
    for label, method, t in rows:
        print(f"{label:<58} {method:<24} {t:8.3f} {t / naive:8.3f}")
    print(f"{'one naive row-bootstrap resample (8 metrics x 2 models)':<58} {'':<24} {naive:8.3f}")
    print()
    print(f"all fast interval methods above, together: {fast_total:.3f} s")
    print(f"a naive {b}-resample row bootstrap would take about {naive * b:,.0f} s")
    print(f"ratio naive bootstrap / fast methods: {naive * b / fast_total:,.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Paired intervals for a difference candidate - champion measured on the same rows.

Where a sufficient statistic exists the cost does not grow with the row count once it is built:
count metrics resample the KxKxK table of (truth, champion label, candidate label), means of
per-row losses and the smooth functions of them (rmse, r2) use the normal approximation of their
linearisation, and binary ROC AUC uses DeLong's placement values. Everything else falls back to a
row bootstrap whose resamples are capped (PAIRED_BOOTSTRAP_MAX).

All randomness comes from `np.random.default_rng(seed)`: the same inputs and seed give the same
interval.

Over 400 lines: one interval method per kind of metric, each with its sufficient statistic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.integer[Any]]  # class codes of any integer type
BoolArray = npt.NDArray[np.bool_]
# One timed batch: its per-row values, or one number that every row of the batch shares.
Batch = float | FloatArray

JOINT_TABLE = "joint-table-bootstrap"
DELONG = "delong"
PAIRED_SE = "paired-se"
DELTA_METHOD = "delta-method"
PAIRED_BOOTSTRAP = "paired-bootstrap"
BATCH_BOOTSTRAP = "batch-bootstrap"

# A row bootstrap recomputes the metrics on n rows per resample (about 1.7 s per resample at
# 1,000,000 rows for eight binary metrics of two models through scikit-learn, bench/intervals.py);
# it is the fallback for metrics without a sufficient statistic, so it gets few resamples.
PAIRED_BOOTSTRAP_MAX = 200
# Cells drawn per chunk of table resamples: bounds memory when K is large.
_CHUNK_CELLS = 2_000_000


@dataclass(frozen=True)
class Interval:
    """A confidence interval of candidate - champion. `resamples` is the number of bootstrap
    resamples behind it (after any cap), 0 for the normal-approximation methods."""

    low: float
    high: float
    level: float
    method: str
    resamples: int = 0


def _z(level: float) -> float:
    return NormalDist().inv_cdf(0.5 + level / 2)


def normal_interval(delta: float, se: float, level: float, method: str) -> Interval | None:
    if not (math.isfinite(delta) and math.isfinite(se)):
        return None
    half = _z(level) * se
    return Interval(delta - half, delta + half, level, method)


def percentile_interval(
    deltas: FloatArray, level: float, method: str, resamples: int
) -> Interval | None:
    """The percentile interval of bootstrap deltas; resamples where the metric is undefined (a
    class missing from the resample, say) are dropped, and if most are, there is no interval."""
    finite = deltas[np.isfinite(deltas)]
    if finite.size == 0 or finite.size * 2 < deltas.size:
        return None
    alpha = (1 - level) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return Interval(float(low), float(high), level, method, resamples)


# --- paired standard errors and the delta method ----------------------------------------------


def _mean(x: FloatArray, weight: FloatArray | None) -> float:
    return float(np.average(x, weights=weight))


def linearized_se(psi: FloatArray) -> float:
    """Standard error of an estimator whose linearisation is sum(psi), psi_i being row i's
    influence term already divided by the (weighted) row count. The n/(n-1) factor makes it the
    familiar sd(d)/sqrt(n) for an unweighted mean."""
    n = psi.shape[0]
    if n < 2:
        return math.nan
    return math.sqrt(float(np.dot(psi, psi)) * n / (n - 1))


def _influence(
    x: FloatArray, mean: float, weight: FloatArray | None, *, in_place: bool = False
) -> FloatArray:
    """Influence terms of a weighted mean: w_i (x_i - mean) / sum(w); `in_place` overwrites x
    with them instead of allocating (the same values)."""
    out = np.subtract(x, mean, out=x if in_place else None)
    if weight is not None:
        np.multiply(weight, out, out=out)
    out /= x.shape[0] if weight is None else float(weight.sum())
    return out


def paired_se(
    loss_a: FloatArray, loss_b: FloatArray, weight: FloatArray | None, level: float
) -> Interval | None:
    """Mean of per-row losses: delta = mean(loss_b - loss_a), se = sd(d) / sqrt(n); weighted, the
    linearised (sandwich) standard error of a weighted mean."""
    d = loss_b - loss_a
    delta = _mean(d, weight)
    psi = _influence(d, delta, weight, in_place=True)  # d is ours: one row-sized array, not three
    return normal_interval(delta, linearized_se(psi), level, PAIRED_SE)


def rmse_interval(
    sq_a: FloatArray, sq_b: FloatArray, weight: FloatArray | None, level: float
) -> Interval | None:
    """rmse = sqrt(mse). With mse_a and mse_b estimated on the same rows,
    d(rmse_b - rmse_a) = d(mse_b) / (2 rmse_b) - d(mse_a) / (2 rmse_a), so row i contributes
    psi_i = infl_b,i / (2 rmse_b) - infl_a,i / (2 rmse_a), which keeps their correlation."""
    mse_a, mse_b = _mean(sq_a, weight), _mean(sq_b, weight)
    if mse_a <= 0 or mse_b <= 0:
        return None  # sqrt is not differentiable at a perfect fit
    rmse_a, rmse_b = math.sqrt(mse_a), math.sqrt(mse_b)
    psi = _influence(sq_b, mse_b, weight) / (2 * rmse_b) - _influence(sq_a, mse_a, weight) / (
        2 * rmse_a
    )
    return normal_interval(rmse_b - rmse_a, linearized_se(psi), level, DELTA_METHOD)


def r2_interval(
    sq_a: FloatArray, sq_b: FloatArray, y: FloatArray, weight: FloatArray | None, level: float
) -> Interval | None:
    """r2 = 1 - mse / var_y with var_y shared, so delta = r2_b - r2_a = D / V where
    D = mean(sq_a - sq_b) and V = mean((y - ybar)^2). Both are means over the same rows; the ratio
    linearises to psi_i = (infl(D)_i - delta * infl(V)_i) / V. (Estimating ybar adds nothing at
    first order: dV/dybar = -2 mean(y - ybar) = 0.)"""
    ybar = _mean(y, weight)
    dev = (y - ybar) ** 2
    v = _mean(dev, weight)
    if v <= 0:
        return None  # constant truth: scikit-learn's r2 is 1.0 or 0.0, not a smooth function
    diff = sq_a - sq_b
    d = _mean(diff, weight)
    delta = d / v
    psi = (_influence(diff, d, weight) - delta * _influence(dev, v, weight)) / v
    return normal_interval(delta, linearized_se(psi), level, DELTA_METHOD)


# --- ROC AUC: placements, DeLong, a presorted weighted AUC ------------------------------------


@dataclass(frozen=True)
class SortedScore:
    """One score vector sorted once, with its groups of tied values, so that the (weighted)
    Mann-Whitney AUC for any row weights costs O(n) instead of a new sort."""

    # Positions fit int32 below 2**31 rows: half the memory of int64 at 10M rows.
    order: npt.NDArray[Any]  # rows by increasing score
    starts: npt.NDArray[Any]  # first sorted position of each group of equal scores
    group: npt.NDArray[Any]  # group of each row (in row order)

    @classmethod
    def of(cls, score: FloatArray) -> SortedScore:
        index = np.int32 if score.shape[0] < 2**31 else np.int64
        order = np.argsort(score).astype(index)
        s = score[order]
        new = np.empty(s.shape[0], dtype=bool)
        new[:1] = True
        np.not_equal(s[1:], s[:-1], out=new[1:])
        del s  # the sorted copy is not needed past the group boundaries
        starts = np.flatnonzero(new).astype(index)
        ranks = np.cumsum(new, dtype=index)
        del new
        ranks -= 1
        group = np.empty(ranks.shape[0], dtype=index)
        group[order] = ranks
        return cls(order, starts, group)

    def group_sums(self, values: FloatArray) -> FloatArray:
        return np.add.reduceat(values[self.order], self.starts)

    def auc(self, positive: BoolArray, weight: FloatArray) -> float:
        """sum over (positive, negative) pairs of w_i w_j [s_i > s_j] + 1/2 [s_i == s_j],
        over the product of the weight totals: the trapezoidal ROC area."""
        if self.order.shape[0] == 0:
            return math.nan
        pos = self.group_sums(np.where(positive, weight, 0.0))
        neg = self.group_sums(np.where(positive, 0.0, weight))
        total_pos, total_neg = float(pos.sum()), float(neg.sum())
        if total_pos <= 0 or total_neg <= 0:
            return math.nan
        below = np.cumsum(neg) - neg
        return float(np.dot(pos, below + 0.5 * neg)) / (total_pos * total_neg)


def weighted_auc(positive: BoolArray, score: FloatArray, weight: FloatArray | None = None) -> float:
    w = np.ones(score.shape[0]) if weight is None else weight
    return SortedScore.of(score).auc(positive, w)


def placements(positive: BoolArray, score: FloatArray) -> tuple[float, FloatArray, FloatArray]:
    """DeLong's structural components by midranks (Sun & Xu 2014) in O(n log n): for each
    positive, the share of negatives below it (ties count 1/2), V10; for each negative, the share
    of positives above it, V01. Returns (auc, V10, V01); both components average to the AUC."""
    s = SortedScore.of(score)
    # Per group of tied scores: how many positives and negatives (exact integer counts).
    pos = np.add.reduceat(positive[s.order].astype(s.order.dtype), s.starts)
    neg = np.diff(s.starts, append=s.order.dtype.type(score.shape[0]))
    neg -= pos
    m, n = float(pos.sum(dtype=np.int64)), float(neg.sum(dtype=np.int64))
    # Group-sized arrays are as long as the data when few scores tie: one float array at a
    # time, computed in place (the same operations, so the same values).
    v10_group = np.cumsum(neg, dtype=np.float64)
    v10_group -= 0.5 * neg
    v10_group /= n
    del neg
    v10 = v10_group[s.group[positive]]
    del v10_group
    v01_group = np.cumsum(pos, dtype=np.float64)
    np.subtract(m, v01_group, out=v01_group)
    v01_group += 0.5 * pos
    v01_group /= m
    v01 = v01_group[s.group[~positive]]
    return float(v10.mean()), v10, v01


def _cov(x: FloatArray, y: FloatArray) -> float:
    size = int(x.shape[0])
    return (float(np.dot(x, y)) - size * float(x.mean()) * float(y.mean())) / (size - 1)


@dataclass(frozen=True)
class DeLongResult:
    auc_a: float
    auc_b: float
    var_a: float
    var_b: float
    cov: float
    interval: Interval | None


def delong(
    positive: BoolArray, score_a: FloatArray, score_b: FloatArray, level: float = 0.95
) -> DeLongResult:
    """Paired DeLong (DeLong, DeLong & Clarke-Pearson 1988): both AUCs and the normal interval of
    auc_b - auc_a, with S = S10 / m + S01 / n from the placements' sample covariances. Unweighted.
    Needs two rows of each class for the covariances; with fewer the interval is None."""
    m, n = int(positive.sum()), int((~positive).sum())
    if m == 0 or n == 0:
        return DeLongResult(math.nan, math.nan, math.nan, math.nan, math.nan, None)
    auc_a, v10_a, v01_a = placements(positive, score_a)
    auc_b, v10_b, v01_b = placements(positive, score_b)
    if m < 2 or n < 2:
        return DeLongResult(auc_a, auc_b, math.nan, math.nan, math.nan, None)
    # Sample covariances from dot products: no stacked or centred copies of the placements,
    # which at 10M rows would be the evaluation's largest allocation (placements lie in [0, 1],
    # so the sums lose nothing that matters).
    var_a = _cov(v10_a, v10_a) / m + _cov(v01_a, v01_a) / n
    var_b = _cov(v10_b, v10_b) / m + _cov(v01_b, v01_b) / n
    cov = _cov(v10_a, v10_b) / m + _cov(v01_a, v01_b) / n
    var_delta = max(var_a + var_b - 2 * cov, 0.0)
    interval = normal_interval(auc_b - auc_a, math.sqrt(var_delta), level, DELONG)
    return DeLongResult(auc_a, auc_b, var_a, var_b, cov, interval)


# --- the joint-table bootstrap ----------------------------------------------------------------


@dataclass(frozen=True)
class JointTable:
    """The non-empty cells of the KxKxK table of (truth, champion label, candidate label) codes:
    the sufficient statistic of every count metric of both models and of their pairing.

    With sample weights each cell also keeps the sum and spread of its rows' weights. A resample
    draws the cells' row counts as Multinomial(n, counts / n), exactly like drawing n rows, and
    gives a cell drawn c times the weight c * mean_w + sqrt(c) * sd_w * Z, Z ~ N(0, 1): the sum of
    the weights of c rows drawn from that cell (exact when weights are constant within a cell, a
    normal approximation of that sum otherwise), clipped at 0.
    """

    k: int
    cells: IntArray  # flat index truth * K² + champion * K + candidate
    counts: IntArray
    weight_sum: FloatArray | None = None
    weight_sd: FloatArray | None = None

    @classmethod
    def build(
        cls,
        y: CodeArray,
        labels_a: CodeArray,
        labels_b: CodeArray,
        k: int,
        weight: FloatArray | None = None,
    ) -> JointTable:
        # In place, in int64 whatever the codes' type: one row-sized array, not four.
        flat = y.astype(np.int64)
        flat *= k
        flat += labels_a
        flat *= k
        flat += labels_b
        counts = np.bincount(flat, minlength=k**3)
        cells = np.flatnonzero(counts).astype(np.int64)
        if weight is None:
            return cls(k, cells, counts[cells].astype(np.int64))
        wsum = np.bincount(flat, weights=weight, minlength=k**3)[cells].astype(np.float64)
        wsq = np.bincount(flat, weights=weight * weight, minlength=k**3)[cells].astype(np.float64)
        c = counts[cells].astype(np.float64)
        var = np.maximum(wsq / c - (wsum / c) ** 2, 0.0)
        return cls(k, cells, counts[cells].astype(np.int64), wsum, np.sqrt(var))

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def confusions(self, values: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(B, C) cell values to the champion's and the candidate's (B, K, K) confusion matrices,
        truth on the first axis."""
        k = self.k
        truth, rest = np.divmod(self.cells, k * k)
        label_a, label_b = np.divmod(rest, k)
        out = []
        for label in (label_a, label_b):
            target = truth * k + label
            order = np.argsort(target, kind="stable")
            first = np.ones(order.shape[0], dtype=bool)
            first[1:] = target[order][1:] != target[order][:-1]
            conf = np.zeros((values.shape[0], k * k))
            conf[:, target[order][first]] = np.add.reduceat(
                values[:, order], np.flatnonzero(first), axis=1
            )
            out.append(conf.reshape(-1, k, k))
        return out[0], out[1]

    def point(self) -> tuple[FloatArray, FloatArray]:
        values = self.counts.astype(np.float64) if self.weight_sum is None else self.weight_sum
        a, b = self.confusions(values[np.newaxis, :])
        return a[0], b[0]

    def resample(
        self, resamples: int, rng: np.random.Generator
    ) -> Iterator[tuple[FloatArray, FloatArray]]:
        n, cells = self.n, self.cells.shape[0]
        p = self.counts / n
        chunk = max(1, _CHUNK_CELLS // cells)
        for start in range(0, resamples, chunk):
            size = min(chunk, resamples - start)
            drawn = rng.multinomial(n, p, size=size).astype(np.float64)
            if self.weight_sum is not None and self.weight_sd is not None:
                mean_w = self.weight_sum / self.counts
                noise = rng.standard_normal(drawn.shape) * np.sqrt(drawn) * self.weight_sd
                drawn = np.maximum(drawn * mean_w + noise, 0.0)
            yield self.confusions(drawn)


BatchMetric = Callable[[FloatArray], FloatArray]


def table_bootstrap(
    table: JointTable,
    metrics: Mapping[str, BatchMetric],
    *,
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Interval | None]:
    """One multinomial resampling of the joint table, shared by all count metrics: each metric
    maps a (B, K, K) batch of confusion matrices to B values, and its interval is the percentile
    interval of metric(candidate) - metric(champion)."""
    if table.n == 0:
        return dict.fromkeys(metrics)
    rng = np.random.default_rng(seed)
    deltas: dict[str, list[FloatArray]] = {name: [] for name in metrics}
    with np.errstate(divide="ignore", invalid="ignore"):
        for conf_a, conf_b in table.resample(resamples, rng):
            for name, fn in metrics.items():
                deltas[name].append(fn(conf_b) - fn(conf_a))
    return {
        name: percentile_interval(np.concatenate(d), level, JOINT_TABLE, resamples)
        for name, d in deltas.items()
    }


# --- bootstraps over rows and over batches ----------------------------------------------------


def paired_bootstrap(
    n: int,
    stat_fn: Callable[[IntArray], float],
    resamples: int = PAIRED_BOOTSTRAP_MAX,
    seed: int = 0,
    level: float = 0.95,
    weights: FloatArray | None = None,
) -> Interval | None:
    """The fallback: draw n rows with replacement (the same rows for both models),
    `stat_fn(indices)` returns the delta on them. Resamples are capped at PAIRED_BOOTSTRAP_MAX and
    the count is recorded in the interval. Rows of zero weight carry no information and are never
    drawn."""
    rows = np.arange(n, dtype=np.int64) if weights is None else np.flatnonzero(weights > 0)
    if rows.shape[0] < 2:
        return None
    resamples = min(resamples, PAIRED_BOOTSTRAP_MAX)
    rng = np.random.default_rng(seed)
    deltas = np.empty(resamples)
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(resamples):
            deltas[i] = stat_fn(rows[rng.integers(0, rows.shape[0], rows.shape[0])])
    return percentile_interval(deltas, level, PAIRED_BOOTSTRAP, resamples)


class _PooledBatches:
    """The per-row values of several batches, for the quantile of the pooled rows when batch b is
    repeated m_b times. The rows are sorted once and cut into G blocks of L = sqrt(N) rows;
    cum[j, b] counts the rows of batch b in blocks 0..j. Under multiplicities m the pooled count
    at the end of block j is cum[j] @ m, so an order statistic is found in its block with one
    matrix product, then among that block's L rows: O(G * batches + L) per resample instead of a
    sort of the N pooled rows."""

    def __init__(self, batches: Sequence[Batch]) -> None:
        arrays = [_rows(b) for b in batches]
        values = np.concatenate(arrays)
        sizes = [a.shape[0] for a in arrays]
        order = np.argsort(values)  # the order among equal values does not matter
        self.values = values[order]
        self.batch = np.repeat(np.arange(len(batches)), sizes)[order]
        self.sizes = np.array(sizes, dtype=np.int64)
        n, nb = self.values.shape[0], len(batches)
        self.block = max(1, math.isqrt(n))
        blocks = -(-n // self.block)
        block_of = np.arange(n) // self.block
        counts = np.bincount(block_of * nb + self.batch, minlength=blocks * nb)
        self.cum = np.cumsum(counts.reshape(blocks, nb), axis=0).astype(np.float64)

    def order_stats(self, mult: IntArray, targets: IntArray) -> FloatArray:
        """Value of the targets[r]-th (0-based) smallest pooled row under multiplicities
        mult[r]."""
        n, span = self.values.shape[0], np.arange(self.block)
        out = np.empty(targets.shape[0])
        step = max(1, _CHUNK_CELLS // self.block)
        for first in range(0, targets.shape[0], step):
            m, t = mult[first : first + step], targets[first : first + step]
            r = np.arange(t.shape[0])
            ends = m.astype(np.float64) @ self.cum.T  # pooled count at the end of each block
            j = (ends <= t[:, np.newaxis]).sum(axis=1)  # the block holding order statistic t
            before = np.where(j > 0, ends[r, np.maximum(j - 1, 0)], 0.0)
            rows = j[:, np.newaxis] * self.block + span
            inside = rows < n
            w = np.where(inside, m[r[:, np.newaxis], self.batch[np.minimum(rows, n - 1)]], 0)
            k = (before[:, np.newaxis] + np.cumsum(w, axis=1) <= t[:, np.newaxis]).sum(axis=1)
            out[first : first + step] = self.values[np.minimum(j * self.block + k, n - 1)]
        return out

    def quantile(self, mult: IntArray, q: float) -> FloatArray:
        """numpy's default ("linear") quantile of the pooled rows, for each row of mult."""
        total = mult @ self.sizes
        h = q * (total - 1)
        below = np.floor(h).astype(np.int64)
        above = np.minimum(below + 1, total - 1)
        both = self.order_stats(np.vstack([mult, mult]), np.concatenate([below, above]))
        low, high = both[: below.shape[0]], both[below.shape[0] :]
        return np.asarray(low + (h - below) * (high - low), dtype=np.float64)


def _rows(batch: Batch) -> FloatArray:
    return np.atleast_1d(np.asarray(batch, dtype=np.float64)).ravel()


def pooled_quantile(batches: Sequence[Batch], q: float) -> float:
    return float(np.quantile(np.concatenate([_rows(b) for b in batches]), q))


def batch_bootstrap(
    batches_a: Sequence[Batch],
    batches_b: Sequence[Batch],
    q: float,
    *,
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval | None:
    """Latency quantiles: batch i was timed for both models, so the batches are the paired units.
    Each resample draws batches with replacement, the same ones for both models, and takes the
    quantile q of each model's pooled per-row values; the interval is the percentile interval of
    the difference b - a."""
    keep = [i for i in range(len(batches_a)) if np.size(batches_a[i]) and np.size(batches_b[i])]
    if len(keep) < 2:
        return None
    pooled_a = _PooledBatches([batches_a[i] for i in keep])
    pooled_b = _PooledBatches([batches_b[i] for i in keep])
    rng = np.random.default_rng(seed)
    mult = rng.multinomial(len(keep), np.full(len(keep), 1 / len(keep)), size=resamples)
    deltas = pooled_b.quantile(mult, q) - pooled_a.quantile(mult, q)
    return percentile_interval(deltas, level, BATCH_BOOTSTRAP, resamples)

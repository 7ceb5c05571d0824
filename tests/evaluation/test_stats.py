"""The interval methods against references: a published DeLong example, DeLong's O(n²)
definitions, and a plain paired row bootstrap on a few hundred rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.metrics import confusion_matrix, roc_auc_score

from champion.evaluation import metrics, stats
from champion.evaluation.outputs import Predictions, Truth
from champion.evaluation.stats import Interval

Array = np.ndarray[Any, Any]

# The fast intervals are checked against a plain paired row bootstrap (4000 resamples, seeded):
# each endpoint must lie within this fraction of the reference interval's width. Observed on
# these data: at most ~4% for the table bootstrap and DeLong, ~2% for paired-se and rmse, ~6%
# for r2 (its bootstrap distribution is a little skewed; the delta method is symmetric).
TOLERANCE = 0.10
REFERENCE_RESAMPLES = 4000


def row_bootstrap(
    n: int, delta: Callable[[Array], float], level: float = 0.95
) -> tuple[float, float]:
    rng = np.random.default_rng(12345)
    d = np.array([delta(rng.integers(0, n, n)) for _ in range(REFERENCE_RESAMPLES)])
    d = d[np.isfinite(d)]
    low, high = np.quantile(d, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def assert_agrees(fast: Interval | None, reference: tuple[float, float]) -> None:
    assert fast is not None
    width = reference[1] - reference[0]
    assert width > 0
    assert abs(fast.low - reference[0]) <= TOLERANCE * width, (fast, reference)
    assert abs(fast.high - reference[1]) <= TOLERANCE * width, (fast, reference)


def two_models(seed: int, n: int = 400) -> dict[str, Array]:
    """Binary truth and two correlated score vectors, their labels, and positive weights."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(np.int64)
    sa = y + rng.normal(0, 1, n)
    sb = 0.7 * sa + 0.8 * y + rng.normal(0, 0.7, n)
    pa, pb = 1 / (1 + np.exp(-(sa - 0.4))), 1 / (1 + np.exp(-(sb - 0.6)))
    return {
        "y": y,
        "pa": pa,
        "pb": pb,
        "la": (pa > 0.5).astype(np.int64),
        "lb": (pb > 0.5).astype(np.int64),
        "w": rng.uniform(0.2, 3.0, n),
    }


def regression(seed: int, n: int = 400) -> dict[str, Array]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    y = 2 * x + rng.normal(0, 1, n)
    ya = 2 * x + rng.normal(0, 0.8, n)
    yb = 1.8 * x + 0.4 * (ya - 2 * x) + rng.normal(0, 0.5, n)
    return {"y": y, "sqa": (y - ya) ** 2, "sqb": (y - yb) ** 2, "w": rng.uniform(0.2, 3.0, n)}


def rank_auc(positive: Array, score: Array) -> float:
    """Mann-Whitney AUC from midranks, independent of the code under test."""
    ranks = rankdata(score)
    m = int(positive.sum())
    return float((ranks[positive].sum() - m * (m + 1) / 2) / (m * (len(score) - m)))


# --- DeLong -----------------------------------------------------------------------------------

# Hanley & McNeil (1982), "The meaning and use of the area under a receiver operating
# characteristic (ROC) curve", Radiology 143:29-36, Table 1: one reader's 5-point ratings of 109
# CT images (1 definitely normal ... 5 definitely abnormal). They report an area of 0.893.
# The same data are Example 1 of Stata's manual [R] roctab (https://www.stata.com/manuals/rroctab.pdf),
# whose default standard error is DeLong's: "roctab disease rating" prints
# Obs 109, ROC Area 0.8932, Std. Err. 0.0307, asymptotic normal 95% CI [0.83295, 0.95339].
HANLEY_NORMAL = [33, 6, 6, 11, 2]
HANLEY_ABNORMAL = [3, 2, 2, 11, 33]


def hanley_mcneil() -> tuple[Array, Array]:
    ratings = np.arange(1, 6, dtype=np.float64)
    score = np.concatenate([np.repeat(ratings, HANLEY_NORMAL), np.repeat(ratings, HANLEY_ABNORMAL)])
    positive = np.repeat([False, True], [sum(HANLEY_NORMAL), sum(HANLEY_ABNORMAL)])
    return positive, score


def test_delong_matches_the_published_hanley_mcneil_example() -> None:
    positive, score = hanley_mcneil()
    other = np.where(positive, score, 6 - score)  # any second test; only the first is published
    r = stats.delong(positive, score, other)
    assert round(r.auc_a, 3) == 0.893  # Hanley & McNeil
    assert round(r.auc_a, 4) == 0.8932  # Stata
    assert round(r.var_a**0.5, 4) == 0.0307
    half = 1.959963984540054 * r.var_a**0.5
    assert r.auc_a - half == pytest.approx(0.83295, abs=5e-6)
    assert r.auc_a + half == pytest.approx(0.95339, abs=5e-6)


# DeLong, DeLong & Clarke-Pearson (1988)'s own example, as typed into SAS/STAT's PROC LOGISTIC
# Example "Comparing Receiver Operating Characteristic Curves"
# (https://support.sas.com/documentation/cdl/en/statug/68162/HTML/default/statug_logistic_examples08.htm):
# albumin, total protein, K-G score and the outcome of 43 patients (the paper's 49 less six with
# missing values). The paper publishes areas rounded to two digits for all 49, so these rows are
# used to check the covariances against the paper's definitions, which tie-heavy data exercise.
DELONG_1988 = """
3.0 5.8 10 0  3.2 6.3 5 1  3.9 6.8 3 1  2.8 4.8 6 0  3.2 5.8 3 1  0.9 4.0 5 0  2.5 5.7 8 0
1.6 5.6 5 1  3.8 5.7 5 1  3.7 6.7 6 1  3.2 5.4 4 1  3.8 6.6 6 1  4.1 6.6 5 1  3.6 5.7 5 1
4.3 7.0 4 1  3.6 6.7 4 0  2.3 4.4 6 1  4.2 7.6 4 0  4.0 6.6 6 0  3.5 5.8 6 1  3.8 6.8 7 1
3.0 4.7 8 0  4.5 7.4 5 1  3.7 7.4 5 1  3.1 6.6 6 1  4.1 8.2 6 1  4.3 7.0 5 1  4.3 6.5 4 1
3.2 5.1 5 1  2.6 4.7 6 1  3.3 6.8 6 0  1.7 4.0 7 0  3.7 6.1 5 1  3.3 6.3 7 1  4.2 7.7 6 1
3.5 6.2 5 1  2.9 5.7 9 0  2.1 4.8 7 1  2.8 6.2 8 0  4.0 7.0 7 1  3.3 5.7 6 1  3.7 6.9 5 1
3.6 6.6 5 1
"""


def structural_components(positive: Array, scores: list[Array]) -> tuple[Array, Array]:
    """DeLong 1988, section 2, literally: psi over all m x n pairs, V10, V01, S10, S01 and
    S = S10 / m + S01 / n, for the vector of AUCs. O(m n)."""
    v10, v01, theta = [], [], []
    for s in scores:
        x, y = s[positive][:, None], s[~positive][None, :]
        psi = (x > y) + 0.5 * (x == y)
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
        theta.append(psi.mean())
    m, n = int(positive.sum()), int((~positive).sum())
    s10 = np.cov(np.vstack(v10))
    s01 = np.cov(np.vstack(v01))
    return np.array(theta), s10 / m + s01 / n


@pytest.mark.parametrize("pair", [(0, 1), (0, 2), (1, 2)], ids=["alb-tp", "alb-kg", "tp-kg"])
def test_delong_covariance_equals_the_quadratic_definition(pair: tuple[int, int]) -> None:
    data = np.array(DELONG_1988.split(), dtype=np.float64).reshape(-1, 4)
    positive = data[:, 3] == 1
    data[:, 2] = 12 - data[:, 2]  # the paper's transformation: higher means better, like alb, tp
    a, b = data[:, pair[0]], data[:, pair[1]]
    theta, s = structural_components(positive, [a, b])
    r = stats.delong(positive, a, b)
    assert (r.auc_a, r.auc_b) == pytest.approx(tuple(theta), abs=1e-12)
    assert r.auc_a == pytest.approx(roc_auc_score(positive, a), abs=1e-12)
    assert (r.var_a, r.var_b, r.cov) == pytest.approx((s[0, 0], s[1, 1], s[0, 1]), abs=1e-14)
    se = float(np.sqrt(s[0, 0] + s[1, 1] - 2 * s[0, 1]))
    assert r.interval is not None and r.interval.method == stats.DELONG
    assert r.interval.low == pytest.approx(theta[1] - theta[0] - 1.959963984540054 * se, abs=1e-12)
    assert r.interval.high == pytest.approx(theta[1] - theta[0] + 1.959963984540054 * se, abs=1e-12)


def test_delong_covariance_on_random_tied_scores() -> None:
    rng = np.random.default_rng(4)
    positive = rng.random(300) < 0.3
    a = np.round(rng.normal(positive * 1.0, 1.0), 1)
    b = np.round(0.5 * a + rng.normal(positive * 0.8, 1.0), 1)
    theta, s = structural_components(positive, [a, b])
    r = stats.delong(positive, a, b)
    assert (r.auc_a, r.auc_b, r.var_a, r.var_b, r.cov) == pytest.approx(
        (theta[0], theta[1], s[0, 0], s[1, 1], s[0, 1]), abs=1e-13
    )


def test_delong_without_two_rows_of_each_class_has_no_interval() -> None:
    positive = np.array([True, False, False])
    r = stats.delong(positive, np.array([0.9, 0.1, 0.2]), np.array([0.8, 0.3, 0.1]))
    assert r.auc_a == 1.0 and r.interval is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delong_agrees_with_the_row_bootstrap(seed: int) -> None:
    d = two_models(seed)
    positive = d["y"] == 1
    r = stats.delong(positive, d["pa"], d["pb"])
    reference = row_bootstrap(
        len(d["y"]),
        lambda i: rank_auc(positive[i], d["pb"][i]) - rank_auc(positive[i], d["pa"][i]),
    )
    assert_agrees(r.interval, reference)


# --- the joint-table bootstrap ----------------------------------------------------------------


def test_joint_table_confusions_equal_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y, a, b = (rng.integers(0, 3, 500) for _ in range(3))
    w = rng.uniform(0.1, 2, 500)
    table = stats.JointTable.build(y, a, b, 3, w)
    conf_a, conf_b = table.point()
    np.testing.assert_allclose(conf_a, confusion_matrix(y, a, labels=[0, 1, 2], sample_weight=w))
    np.testing.assert_allclose(conf_b, confusion_matrix(y, b, labels=[0, 1, 2], sample_weight=w))
    assert table.cells.shape[0] <= 27 and table.n == 500


def _confusion(y: Array, labels: Array, k: int, w: Array | None) -> Array:
    flat = np.bincount(y * k + labels, weights=w, minlength=k * k)
    return flat.reshape(1, k, k).astype(np.float64)


TABLE_METRICS = {
    "accuracy": metrics.accuracy,
    "balanced_accuracy": metrics.balanced_accuracy,
    "f1": metrics.prf("f1", "binary"),
    "precision": metrics.prf("precision", "binary"),
    "recall_macro": metrics.prf("recall", "macro"),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_joint_table_bootstrap_agrees_with_the_row_bootstrap(seed: int, weighted: bool) -> None:
    d = two_models(seed)
    y, la, lb = d["y"], d["la"], d["lb"]
    w = d["w"] if weighted else None
    table = stats.JointTable.build(y, la, lb, 2, w)
    fast = stats.table_bootstrap(table, TABLE_METRICS, resamples=REFERENCE_RESAMPLES, seed=seed)
    for name, fn in TABLE_METRICS.items():

        def delta(i: Array, fn: Any = fn) -> float:
            wi = None if w is None else w[i]
            return float(
                fn(_confusion(y[i], lb[i], 2, wi))[0] - fn(_confusion(y[i], la[i], 2, wi))[0]
            )

        assert_agrees(fast[name], row_bootstrap(len(y), delta))
        assert fast[name] is not None and fast[name].method == stats.JOINT_TABLE  # type: ignore[union-attr]


def test_joint_table_bootstrap_agrees_with_the_row_bootstrap_multiclass() -> None:
    rng = np.random.default_rng(5)
    n, k = 500, 4
    y = rng.integers(0, k, n)
    la = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
    lb = np.where(rng.random(n) < 0.3, la, np.where(rng.random(n) < 0.7, y, rng.integers(0, k, n)))
    f1 = metrics.prf("f1", "macro")
    fast = stats.table_bootstrap(
        stats.JointTable.build(y, la, lb, k), {"f1": f1}, seed=1, resamples=4000
    )
    reference = row_bootstrap(
        n,
        lambda i: float(
            f1(_confusion(y[i], lb[i], k, None))[0] - f1(_confusion(y[i], la[i], k, None))[0]
        ),
    )
    assert_agrees(fast["f1"], reference)


# --- paired standard errors and the delta method ----------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_paired_se_agrees_with_the_row_bootstrap(seed: int, weighted: bool) -> None:
    d = two_models(seed)
    y, w = d["y"], (d["w"] if weighted else None)
    loss_a = -np.log(np.where(y == 1, d["pa"], 1 - d["pa"]))
    loss_b = -np.log(np.where(y == 1, d["pb"], 1 - d["pb"]))

    def delta(i: Array) -> float:
        wi = None if w is None else w[i]
        return float(np.average(loss_b[i], weights=wi) - np.average(loss_a[i], weights=wi))

    fast = stats.paired_se(loss_a, loss_b, w, 0.95)
    assert fast is not None and fast.method == stats.PAIRED_SE
    assert_agrees(fast, row_bootstrap(len(y), delta))


def test_paired_se_unweighted_is_sd_over_root_n() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    iv = stats.paired_se(a, b, None, 0.90)
    d = b - a
    se = d.std(ddof=1) / np.sqrt(50)
    assert iv is not None
    assert (iv.low, iv.high) == pytest.approx(
        (d.mean() - 1.6448536 * se, d.mean() + 1.6448536 * se)
    )
    # unit weights give the same interval
    assert stats.paired_se(a, b, np.ones(50), 0.90) == pytest.approx(iv)
    assert stats.paired_se(a[:1], b[:1], None, 0.95) is None  # one row: no spread to estimate


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rmse_and_r2_delta_method_agree_with_the_row_bootstrap(seed: int, weighted: bool) -> None:
    d = regression(seed)
    y, sqa, sqb = d["y"], d["sqa"], d["sqb"]
    w = d["w"] if weighted else None

    def rmse(i: Array, sq: Array) -> float:
        return float(np.sqrt(np.average(sq[i], weights=None if w is None else w[i])))

    def r2(i: Array, sq: Array) -> float:
        wi = None if w is None else w[i]
        var = np.average((y[i] - np.average(y[i], weights=wi)) ** 2, weights=wi)
        return float(1 - np.average(sq[i], weights=wi) / var)

    fast = stats.rmse_interval(sqa, sqb, w, 0.95)
    assert fast is not None and fast.method == stats.DELTA_METHOD
    assert_agrees(fast, row_bootstrap(len(y), lambda i: rmse(i, sqb) - rmse(i, sqa)))
    fast = stats.r2_interval(sqa, sqb, y, w, 0.95)
    assert fast is not None and fast.method == stats.DELTA_METHOD
    assert_agrees(fast, row_bootstrap(len(y), lambda i: r2(i, sqb) - r2(i, sqa)))


def test_degenerate_regression_intervals() -> None:
    y = np.ones(10)
    assert stats.r2_interval(np.ones(10), np.zeros(10), y, None, 0.95) is None  # constant truth
    assert stats.rmse_interval(np.zeros(10), np.ones(10), None, 0.95) is None  # perfect fit


# --- the row bootstrap, the batch bootstrap, reproducibility ----------------------------------


def test_paired_bootstrap_is_capped_and_skips_zero_weight_rows() -> None:
    w = np.array([1.0, 0.0, 2.0, 0.0, 1.0, 3.0])
    drawn: set[int] = set()

    def stat(i: Array) -> float:
        drawn.update(i.tolist())
        return float(i.mean())

    iv = stats.paired_bootstrap(6, stat, resamples=5000, seed=0, weights=w)
    assert iv is not None and iv.resamples == stats.PAIRED_BOOTSTRAP_MAX
    assert iv.method == stats.PAIRED_BOOTSTRAP
    assert drawn == {0, 2, 4, 5}


def test_batch_bootstrap_equals_pooling_the_drawn_batches() -> None:
    rng = np.random.default_rng(3)
    a = [rng.gamma(2.0, 1.0, rng.integers(1, 40)) for _ in range(12)]
    b = [x * rng.uniform(0.7, 1.1) for x in a]
    for q in (0.5, 0.95):
        iv = stats.batch_bootstrap(a, b, q, resamples=300, seed=9)
        # the same draws, done naively: materialise each resample's rows and ask numpy
        draw = np.random.default_rng(9).multinomial(12, np.full(12, 1 / 12), size=300)

        def pooled(batches: list[Array], m: Array, q: float = q) -> float:
            rows = [np.tile(x, c) for x, c in zip(batches, m, strict=True)]
            return float(np.quantile(np.concatenate(rows), q))

        deltas = np.array([pooled(b, m) - pooled(a, m) for m in draw])
        low, high = np.quantile(deltas, [0.025, 0.975])
        assert iv is not None and iv.method == stats.BATCH_BOOTSTRAP
        assert (iv.low, iv.high) == pytest.approx((low, high), abs=1e-12)
    assert stats.batch_bootstrap(a[:1], b[:1], 0.5) is None  # one batch: no spread


def _binary_case() -> tuple[Truth, Predictions, Predictions]:
    d = two_models(0)
    truth = Truth("classification", d["y"], (0, 1))
    cand = Predictions(labels=d["lb"], proba=np.column_stack([1 - d["pb"], d["pb"]]))
    champ = Predictions(labels=d["la"], proba=np.column_stack([1 - d["pa"], d["pa"]]))
    return truth, cand, champ


def test_same_seed_same_intervals_other_seed_other_bootstrap_intervals() -> None:
    truth, cand, champ = _binary_case()
    specs = metrics.resolve_metrics(["accuracy", "f1", "roc_auc", "log_loss"], "classification", 2)
    items = [
        {"name": "mcc", "function": "sklearn.metrics:matthews_corrcoef", "direction": "higher"}
    ]
    specs += metrics.resolve_metrics(items, "classification", 2)
    first = metrics.compute(specs, truth, cand, champ, seed=1)
    again = metrics.compute(specs, truth, cand, champ, seed=1)
    other = metrics.compute(specs, truth, cand, champ, seed=2)
    assert first == again
    changed = {v.name for v, o in zip(first, other, strict=True) if v.interval != o.interval}
    assert changed == {"accuracy", "f1", "mcc"}  # the bootstraps; DeLong and paired-se are exact

    rng_batches = np.random.default_rng(0)
    a = [rng_batches.gamma(2.0, 1.0, 30) for _ in range(10)]
    b = [x * 0.9 for x in a]
    assert stats.batch_bootstrap(a, b, 0.95, seed=1) == stats.batch_bootstrap(a, b, 0.95, seed=1)
    assert stats.batch_bootstrap(a, b, 0.95, seed=1) != stats.batch_bootstrap(a, b, 0.95, seed=2)


def test_weighted_binary_auc_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(8)
    positive = rng.random(200) < 0.5
    score = np.round(rng.normal(positive * 0.7, 1.0), 1)
    w = rng.uniform(0.1, 4, 200)
    assert stats.weighted_auc(positive, score, w) == pytest.approx(
        roc_auc_score(positive, score, sample_weight=w), abs=1e-12
    )

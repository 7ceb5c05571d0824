"""Point values against scikit-learn, on real fitted models; metric resolution; tiny inputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from champion.errors import ConfigError
from champion.evaluation import metrics, stats
from champion.evaluation.metrics import METRICS, MetricValue, compute, resolve_metrics
from champion.evaluation.outputs import Predictions, Truth

Case = tuple[Truth, Predictions, Predictions]


def _weights(n: int) -> np.ndarray[Any, Any]:
    return np.random.default_rng(7).uniform(0.2, 3.0, n)


def _classification(loader: Any, weighted: bool) -> Case:
    x, y = loader(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.5, random_state=0)
    champion = GaussianNB().fit(x_tr, y_tr)
    candidate = LogisticRegression(max_iter=2000).fit(x_tr, y_tr)
    classes = tuple(candidate.classes_.tolist())
    truth = Truth(
        "classification",
        y_te.astype(np.int64),
        classes,
        _weights(len(y_te)) if weighted else None,
    )

    def outputs(model: Any) -> Predictions:
        return Predictions(
            labels=model.predict(x_te).astype(np.int64), proba=model.predict_proba(x_te)
        )

    return truth, outputs(candidate), outputs(champion)


def _regression(weighted: bool) -> Case:
    x, y = load_diabetes(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.5, random_state=0)
    champion = DecisionTreeRegressor(max_depth=3, random_state=0).fit(x_tr, y_tr)
    candidate = LinearRegression().fit(x_tr, y_tr)
    truth = Truth(
        "regression", y_te.astype(np.float64), weight=_weights(len(y_te)) if weighted else None
    )
    return (
        truth,
        Predictions(values=candidate.predict(x_te)),
        Predictions(values=champion.predict(x_te)),
    )


CASES = {
    "binary": lambda w: _classification(load_breast_cancer, w),
    "multiclass": lambda w: _classification(load_wine, w),
    "digits": lambda w: _classification(load_digits, w),  # K = 10
    "regression": _regression,
}


def sklearn_value(name: str, truth: Truth, p: Predictions) -> float:
    """The reference: scikit-learn's own function for the metric."""
    y, w, k = truth.y, truth.weight, truth.k
    labels = list(range(k))
    if name in ("mae", "rmse", "r2", "mape"):
        fn = {
            "mae": skm.mean_absolute_error,
            "rmse": skm.root_mean_squared_error,
            "r2": skm.r2_score,
            "mape": skm.mean_absolute_percentage_error,
        }[name]
        return float(fn(y, p.values, sample_weight=w))
    assert p.proba is not None and p.labels is not None
    if name == "accuracy":
        return float(skm.accuracy_score(y, p.labels, sample_weight=w))
    if name == "balanced_accuracy":
        return float(skm.balanced_accuracy_score(y, p.labels, sample_weight=w))
    if name == "roc_auc":
        if k == 2:
            return float(skm.roc_auc_score(y, p.proba[:, 1], sample_weight=w))
        return float(
            skm.roc_auc_score(y, p.proba, multi_class="ovr", average="macro", sample_weight=w)
        )
    if name == "log_loss":
        return float(skm.log_loss(y, y_proba=p.proba, labels=labels, sample_weight=w))
    if name == "brier":
        proba = p.proba[:, 1] if k == 2 else p.proba
        return float(skm.brier_score_loss(y, proba, labels=labels, sample_weight=w))
    base, _, average = name.partition("_")
    average = average or ("binary" if k == 2 else "macro")
    fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[base]
    return float(fn(y, p.labels, average=average, zero_division=0, sample_weight=w))


def _names(case: str) -> list[str]:
    task = "regression" if case == "regression" else "classification"
    names = [n for n, d in METRICS.items() if task in d.tasks and d.kind != "operational"]
    if case != "binary":
        names = [n for n in names if not n.endswith("_binary")]
    return names


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", list(CASES))
def test_point_values_equal_scikit_learn(case: str, weighted: bool) -> None:
    truth, cand, champ = CASES[case](weighted)
    names = _names(case)
    specs = resolve_metrics(names, truth.task, truth.k if truth.k else 2)
    values = compute(specs, truth, cand, champ, resamples=200)
    assert [v.name for v in values] == names
    for v in values:
        expected_cand = sklearn_value(v.name, truth, cand)
        expected_champ = sklearn_value(v.name, truth, champ)
        assert v.candidate == pytest.approx(expected_cand, abs=1e-9, rel=1e-9), v.name
        assert v.champion == pytest.approx(expected_champ, abs=1e-9, rel=1e-9), v.name
        assert v.delta == pytest.approx(expected_cand - expected_champ, abs=1e-9, rel=1e-9)
        assert v.interval is not None, v.name
        assert v.interval.low <= v.interval.high
        assert v.direction == METRICS[v.name].direction


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_default_methods(weighted: bool) -> None:
    truth, cand, champ = CASES["binary"](weighted)
    specs = resolve_metrics(["accuracy", "f1", "roc_auc", "log_loss", "brier"], "classification", 2)
    methods = {v.name: v.interval.method for v in compute(specs, truth, cand, champ) if v.interval}
    auc = stats.PAIRED_BOOTSTRAP if weighted else stats.DELONG
    assert methods == {
        "accuracy": stats.JOINT_TABLE,
        "f1": stats.JOINT_TABLE,
        "roc_auc": auc,
        "log_loss": stats.PAIRED_SE,
        "brier": stats.PAIRED_SE,
    }
    truth, cand, champ = CASES["regression"](weighted)
    specs = resolve_metrics(["mae", "mape", "rmse", "r2"], "regression", 2)
    methods = {v.name: v.interval.method for v in compute(specs, truth, cand, champ) if v.interval}
    assert methods == {
        "mae": stats.PAIRED_SE,
        "mape": stats.PAIRED_SE,
        "rmse": stats.DELTA_METHOD,
        "r2": stats.DELTA_METHOD,
    }
    truth, cand, champ = CASES["multiclass"](weighted)
    (auc_value,) = compute(resolve_metrics(["roc_auc"], "classification", 3), truth, cand, champ)
    assert auc_value.interval is not None
    assert auc_value.interval.method == stats.PAIRED_BOOTSTRAP
    assert auc_value.interval.resamples == stats.PAIRED_BOOTSTRAP_MAX  # capped from 2000


def test_decision_function_scores_give_roc_auc_but_no_log_loss() -> None:
    x, y = load_breast_cancer(return_X_y=True)
    x = StandardScaler().fit_transform(x)
    svc = LinearSVC(C=0.01).fit(x[::2], y[::2])
    truth = Truth("classification", y[1::2].astype(np.int64), (0, 1))
    cand = Predictions(labels=svc.predict(x[1::2]), score=svc.decision_function(x[1::2]))
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(x[::2], y[::2])
    tree_proba = tree.predict_proba(x[1::2])
    champ = Predictions(labels=tree.predict(x[1::2]), proba=tree_proba)
    auc, loss = compute(
        resolve_metrics(["roc_auc", "log_loss"], "classification", 2), truth, cand, champ
    )
    assert auc.candidate == pytest.approx(skm.roc_auc_score(truth.y, cand.score), abs=1e-12)
    assert auc.champion == pytest.approx(skm.roc_auc_score(truth.y, tree_proba[:, 1]), abs=1e-12)
    assert auc.interval is not None and auc.interval.method == stats.DELONG
    assert loss.candidate is None and loss.delta is None and "predict_proba" in loss.note
    # the other way round: the candidate has probabilities, the champion does not
    (loss,) = compute(resolve_metrics(["log_loss"], "classification", 2), truth, champ, cand)
    assert loss.candidate == pytest.approx(skm.log_loss(truth.y, y_proba=tree_proba), abs=1e-12)
    assert loss.champion is None and loss.interval is None and "champion" in loss.note


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_one_probability_column_and_int8_codes_give_the_same_values(weighted: bool) -> None:
    """What evaluate_rows keeps for a binary model (its class-1 column, int8 codes) gives exactly
    the values of the (n, 2) probabilities and int64 codes, when p0 = 1 - p1."""
    truth, cand, champ = CASES["binary"](weighted)

    def wide(p: Predictions) -> Predictions:
        assert p.proba is not None
        return Predictions(p.labels, np.column_stack([1 - p.proba[:, 1], p.proba[:, 1]]))

    def compact(p: Predictions) -> Predictions:
        assert p.proba is not None and p.labels is not None
        return Predictions(p.labels.astype(np.int8), np.ascontiguousarray(p.proba[:, 1]))

    small = Truth(truth.task, truth.y.astype(np.int8), truth.classes, truth.weight)
    specs = resolve_metrics(_names("binary"), "classification", 2)
    expected = compute(specs, truth, wide(cand), wide(champ), resamples=200)
    assert compute(specs, small, compact(cand), compact(champ), resamples=200) == expected
    assert all(v.candidate is not None and v.interval is not None for v in expected)


def test_no_champion_reports_the_candidate_only() -> None:
    truth, cand, _ = CASES["binary"](False)
    specs = resolve_metrics(["accuracy", "roc_auc", "log_loss"], "classification", 2)
    for v in compute(specs, truth, cand, None):
        assert v.candidate == pytest.approx(sklearn_value(v.name, truth, cand), abs=1e-12)
        assert (v.champion, v.delta, v.interval) == (None, None, None)


def _tiny(y: list[int], a: list[int], b: list[int], k: int = 2) -> Case:
    def proba(labels: list[int]) -> np.ndarray[Any, Any]:
        p = np.full((len(labels), k), 0.1 / (k - 1))
        p[np.arange(len(labels)), labels] = 0.9
        return p

    truth = Truth("classification", np.array(y, dtype=np.int64), tuple(range(k)))
    cand = Predictions(labels=np.array(b, dtype=np.int64), proba=proba(b))
    champ = Predictions(labels=np.array(a, dtype=np.int64), proba=proba(a))
    return truth, cand, champ


@pytest.mark.parametrize(
    "rows",
    [([1], [1], [0]), ([0, 0, 0], [0, 1, 0], [0, 0, 0]), ([1, 0], [1, 0], [1, 1])],
    ids=["one-row", "one-class", "two-rows"],
)
def test_tiny_inputs_do_not_raise(rows: tuple[list[int], list[int], list[int]]) -> None:
    truth, cand, champ = _tiny(*rows)
    names = _names("binary")
    values = compute(resolve_metrics(names, "classification", 2), truth, cand, champ)
    by_name = {v.name: v for v in values}
    acc = by_name["accuracy"]
    assert acc.candidate == pytest.approx(skm.accuracy_score(truth.y, cand.labels))
    if len(set(truth.y.tolist())) == 1:
        auc = by_name["roc_auc"]
        assert auc.candidate is None and "one class" in auc.note
    for v in values:
        if v.interval is not None:
            assert math.isfinite(v.interval.low) and math.isfinite(v.interval.high)


def test_multiclass_auc_with_a_class_missing_from_the_truth_says_so() -> None:
    truth, cand, champ = _tiny([0, 1, 1, 0], [0, 1, 2, 0], [0, 1, 1, 2], k=3)
    (auc,) = compute(resolve_metrics(["roc_auc"], "classification", 3), truth, cand, champ)
    assert auc.candidate is None and "absent: 2" in auc.note


def test_no_rows() -> None:
    truth = Truth("regression", np.zeros(0))
    empty = Predictions(values=np.zeros(0))
    (v,) = compute(resolve_metrics(["mae"], "regression", 2), truth, empty, empty)
    assert v == MetricValue("mae", "lower", None, None, None, None, "no rows to evaluate")


# --- custom metrics ---------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_custom_metrics_are_imported_and_bootstrapped(weighted: bool) -> None:
    truth, cand, champ = CASES["binary"](weighted)
    items = [
        {"name": "mcc", "function": "sklearn.metrics:matthews_corrcoef", "direction": "higher"},
        {
            "name": "avg_precision",
            "function": "sklearn.metrics:average_precision_score",
            "direction": "higher",
            "input": "proba",
        },
    ]
    specs = resolve_metrics(items, "classification", 2)
    mcc, ap = compute(specs, truth, cand, champ, seed=3)
    w = truth.weight
    assert cand.labels is not None and champ.labels is not None
    assert mcc.candidate == pytest.approx(
        skm.matthews_corrcoef(truth.y, cand.labels, sample_weight=w)
    )
    assert mcc.champion == pytest.approx(
        skm.matthews_corrcoef(truth.y, champ.labels, sample_weight=w)
    )
    assert cand.proba is not None
    assert ap.candidate == pytest.approx(
        skm.average_precision_score(truth.y, cand.proba[:, 1], sample_weight=w)
    )
    for v in (mcc, ap):
        assert v.interval is not None and v.interval.method == stats.PAIRED_BOOTSTRAP
        assert v.interval.resamples == stats.PAIRED_BOOTSTRAP_MAX
        assert v.interval.low <= v.delta <= v.interval.high  # type: ignore[operator]


def test_custom_metric_gets_the_original_labels() -> None:
    truth = Truth("classification", np.array([0, 1, 1, 0]), ("no", "yes"))
    cand = Predictions(labels=np.array([0, 1, 0, 0]))
    champ = Predictions(labels=np.array([1, 1, 1, 0]))
    item = {"name": "yes_hits", "function": "operator:countOf", "direction": "higher"}
    spec = resolve_metrics([item], "classification", 2)[0]
    # operator.countOf(a, b) takes no sample_weight: its failure becomes a note, not a crash
    (v,) = compute([spec], truth, cand, champ)
    assert v.candidate is None and "operator:countOf raised TypeError" in v.note
    seen: list[Any] = []

    def record(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
        seen.append((list(y_true), list(y_pred)))
        return float(np.mean(y_true == y_pred))

    spec = metrics.MetricSpec(
        "agree", "higher", "custom", function=record, source="t:record", input="labels"
    )
    compute([spec], truth, cand, None)
    assert seen == [(["no", "yes", "yes", "no"], ["no", "yes", "no", "no"])]


# --- resolving names --------------------------------------------------------------------------


def test_f1_resolves_to_binary_for_two_classes_and_macro_for_more() -> None:
    assert [s.average for s in resolve_metrics(["f1", "precision"], "classification", 2)] == [
        "binary",
        "binary",
    ]
    assert resolve_metrics(["recall"], "classification", 5)[0].average == "macro"
    assert resolve_metrics(["f1_weighted"], "classification", 2)[0].average == "weighted"


def test_unknown_metric_names_it_and_suggests() -> None:
    with pytest.raises(ConfigError) as e:
        resolve_metrics(["accuracy", "acuracy"], "classification", 2)
    message = str(e.value)
    assert "'acuracy'" in message and "did you mean 'accuracy'" in message
    assert "roc_auc" in message  # lists the known names


def test_metric_for_the_wrong_task() -> None:
    with pytest.raises(ConfigError, match=r"'mae'.*classification"):
        resolve_metrics(["mae"], "classification", 2)
    with pytest.raises(ConfigError, match="'roc_auc'"):
        resolve_metrics(["roc_auc"], "regression", 2)
    with pytest.raises(ConfigError, match=r"'f1_binary'.*f1_macro"):
        resolve_metrics(["f1_binary"], "classification", 3)


def test_duplicate_metric() -> None:
    with pytest.raises(ConfigError, match="'f1' is listed twice"):
        resolve_metrics(["f1", "f1"], "classification", 2)


@pytest.mark.parametrize(
    ("item", "needle"),
    [
        (
            {"name": "m", "function": "no_such_pkg.mod:fn", "direction": "higher"},
            "no_such_pkg.mod:fn",
        ),
        ({"name": "m", "function": "math:no_such_fn", "direction": "higher"}, "math:no_such_fn"),
        ({"name": "m", "function": "math.pi", "direction": "higher"}, "math.pi"),
        ({"name": "m", "function": "math:pi", "direction": "higher"}, "math:pi"),
        ({"name": "m", "function": "math:fsum", "direction": "up"}, "math:fsum"),
        (
            {"name": "m", "function": "math:fsum", "direction": "lower", "input": "values"},
            "math:fsum",
        ),
        ({"function": "math:fsum", "direction": "lower"}, "needs a name"),
        ({"name": "f1", "function": "math:fsum", "direction": "lower"}, "built-in"),
    ],
)
def test_bad_custom_metric(item: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as e:
        resolve_metrics([item], "classification", 2)
    assert needle in str(e.value)


def test_direction() -> None:
    assert metrics.direction("roc_auc") == "higher"
    assert metrics.direction("log_loss") == "lower"
    assert metrics.direction("latency_p95_ms") == "lower"
    assert metrics.direction("val.my_score") is None


# --- operational ------------------------------------------------------------------------------


def test_latency_and_size() -> None:
    rng = np.random.default_rng(1)
    champ = [rng.gamma(2.0, 1.0, 50) for _ in range(20)]
    cand = [b * 0.8 for b in champ]
    v = metrics.latency_metric("latency_p95_ms", 0.95, champ, cand, seed=2)
    assert v.candidate == pytest.approx(np.quantile(np.concatenate(cand), 0.95))
    assert v.champion == pytest.approx(np.quantile(np.concatenate(champ), 0.95))
    assert v.direction == "lower" and v.interval is not None
    assert v.interval.method == stats.BATCH_BOOTSTRAP and v.interval.high < 0
    # the evaluation times fixed batches and records one per-row figure per batch
    per_batch_champ = [float(b.mean()) for b in champ]
    per_batch_cand = [float(b.mean()) for b in cand]
    v = metrics.latency_metric("latency_p50_ms", 0.5, per_batch_champ, per_batch_cand)
    assert v.candidate == pytest.approx(np.median(per_batch_cand))
    assert v.interval is not None and v.interval.high < 0
    alone = metrics.latency_metric("latency_p50_ms", 0.5, None, cand)
    assert alone.champion is None and alone.interval is None
    with pytest.raises(ConfigError, match="latency_p99_ms"):
        metrics.latency_metric("latency_p99_ms", 0.99, champ, cand)
    size = metrics.size_metric(1000, 1500)
    assert (size.name, size.direction, size.candidate, size.champion, size.delta) == (
        "size_bytes",
        "lower",
        1500.0,
        1000.0,
        500.0,
    )
    assert size.interval is None
    assert metrics.size_metric(None, 10).delta is None


def test_operational_specs_are_skipped_by_compute() -> None:
    truth, cand, champ = CASES["binary"](False)
    specs = resolve_metrics(["latency_p95_ms", "accuracy", "size_bytes"], "classification", 2)
    assert [v.name for v in compute(specs, truth, cand, champ)] == ["accuracy"]

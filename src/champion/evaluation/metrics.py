"""The metrics `champion evaluate` reports, each for the candidate and the champion on the same
rows, with the delta (candidate - champion) and a paired interval of it (see `stats`).

Point values equal scikit-learn's: `accuracy_score`, `balanced_accuracy_score`,
`precision|recall|f1_score(zero_division=0)` (default labels: the classes present in the truth or
the predictions), `roc_auc_score` (multiclass: `multi_class="ovr", average="macro"`), `log_loss`,
`brier_score_loss` (multiclass: the mean over rows of sum_k (p_k - onehot_k)², binary:
mean (p_1 - y)²), `mean_absolute_error`, `root_mean_squared_error`, `r2_score` and
`mean_absolute_percentage_error`, weighted by `Truth.weight` when it is set. They are computed here,
vectorised, from the same sufficient statistics the intervals use.

A custom metric `{name, function: "package.module:function", direction, input}` is called as
`fn(y_true, y_pred, sample_weight=None) -> float`, with y_true the original class labels
(`Truth.classes[code]`, so functions written against the user's own labels work) or the regression
targets, and y_pred the predicted labels (input: labels), the probability of class code 1 in a
binary task or the (n, K) probabilities otherwise (input: proba), or the predicted values (input:
values). Its interval is the capped paired row bootstrap.

Latency and size are measured by the caller: `latency_metric` and `size_metric` build their
values; `compute` skips them.

Over 400 lines: the catalogue of built-in metrics (a few lines each) and the custom ones.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from champion.errors import ConfigError
from champion.evaluation import stats
from champion.evaluation.outputs import CodeArray, FloatArray, IntArray, Predictions, Truth
from champion.evaluation.stats import Interval

HIGHER, LOWER = "higher", "lower"
CLASSIFICATION, REGRESSION = "classification", "regression"
_BOTH = (CLASSIFICATION, REGRESSION)
CUSTOM_INPUTS = {CLASSIFICATION: ("labels", "proba"), REGRESSION: ("values",)}


@dataclass(frozen=True)
class MetricDef:
    name: str
    direction: str
    tasks: tuple[str, ...]
    kind: str  # table | auc | loss | rmse | r2 | operational
    average: str = ""  # precision, recall, f1: binary | macro | weighted | auto


def _defs() -> dict[str, MetricDef]:
    defs = [
        MetricDef("accuracy", HIGHER, (CLASSIFICATION,), "table"),
        MetricDef("balanced_accuracy", HIGHER, (CLASSIFICATION,), "table"),
        MetricDef("roc_auc", HIGHER, (CLASSIFICATION,), "auc"),
        MetricDef("log_loss", LOWER, (CLASSIFICATION,), "loss"),
        MetricDef("brier", LOWER, (CLASSIFICATION,), "loss"),
        MetricDef("mae", LOWER, (REGRESSION,), "loss"),
        MetricDef("mape", LOWER, (REGRESSION,), "loss"),
        MetricDef("rmse", LOWER, (REGRESSION,), "rmse"),
        MetricDef("r2", HIGHER, (REGRESSION,), "r2"),
        MetricDef("latency_p50_ms", LOWER, _BOTH, "operational"),
        MetricDef("latency_p95_ms", LOWER, _BOTH, "operational"),
        MetricDef("size_bytes", LOWER, _BOTH, "operational"),
    ]
    for base in ("precision", "recall", "f1"):
        defs.append(MetricDef(base, HIGHER, (CLASSIFICATION,), "table", "auto"))
        for average in ("binary", "macro", "weighted"):
            defs.append(MetricDef(f"{base}_{average}", HIGHER, (CLASSIFICATION,), "table", average))
    return {d.name: d for d in defs}


METRICS: Mapping[str, MetricDef] = _defs()


def direction(name: str) -> str | None:
    """Which way is better for a built-in metric, "higher" or "lower"; None for a name this
    module does not know (a metrics file's own metric, a custom one), so that the caller can
    ask the config."""
    d = METRICS.get(name)
    return d.direction if d else None


@dataclass(frozen=True)
class MetricSpec:
    """A validated metric item: a built-in (kind from METRICS, `average` resolved for K) or a
    custom one (kind "custom", with its imported `function`)."""

    name: str
    direction: str
    kind: str
    average: str = ""
    function: Callable[..., float] | None = None
    source: str = ""  # "package.module:function" of a custom metric
    input: str = ""  # custom: labels | proba | values


@dataclass(frozen=True)
class MetricValue:
    name: str
    direction: str
    candidate: float | None
    champion: float | None
    delta: float | None
    interval: Interval | None
    note: str = ""


# --- resolving the config's metrics: list -----------------------------------------------------


def _unknown(name: str) -> str:
    import difflib  # only on the error path

    close = difflib.get_close_matches(name, list(METRICS), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"unknown metric {name!r}{hint}; known metrics: {', '.join(METRICS)}; or a custom "
        "metric {name: ..., function: 'package.module:function', direction: higher|lower, "
        "input: labels|proba|values}"
    )


def resolve_metrics(items: Iterable[object], task: str, k: int) -> list[MetricSpec]:
    """Validate the `metrics:` items of a model for its task and class count K."""
    specs: list[MetricSpec] = []
    for item in items:
        spec = _custom(item, task) if isinstance(item, Mapping) else _builtin(item, task, k)
        if any(s.name == spec.name for s in specs):
            raise ConfigError(f"metric {spec.name!r} is listed twice in metrics:")
        specs.append(spec)
    return specs


def _builtin(item: object, task: str, k: int) -> MetricSpec:
    if not isinstance(item, str):
        raise ConfigError(f"a metric must be a name or a mapping, not {item!r}")
    if item not in METRICS:
        raise ConfigError(_unknown(item))
    d = METRICS[item]
    if task not in d.tasks:
        raise ConfigError(
            f"metric {item!r} applies to {' and '.join(d.tasks)} models, and this model's task "
            f"is {task}"
        )
    average = d.average
    if average == "auto":
        average = "binary" if k == 2 else "macro"
    if average == "binary" and k != 2:
        base = item.removesuffix("_binary")
        raise ConfigError(
            f"metric {item!r} needs a binary task (2 classes), this one has {k}; "
            f"use {base}_macro or {base}_weighted"
        )
    return MetricSpec(d.name, d.direction, d.kind, average)


def _custom(item: Mapping[Any, Any], task: str) -> MetricSpec:
    name, source = item.get("name"), item.get("function")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a custom metric needs a name: {dict(item)!r}")
    if name in METRICS:
        raise ConfigError(f"custom metric {name!r} has the name of a built-in metric; rename it")
    unknown_keys = set(item) - {"name", "function", "direction", "input"}
    if unknown_keys:
        raise ConfigError(f"custom metric {name!r}: unknown keys {sorted(map(str, unknown_keys))}")
    dir_ = item.get("direction")
    if dir_ not in (HIGHER, LOWER):
        raise ConfigError(
            f"custom metric {name!r} (function {source!r}): direction must be higher or lower, "
            f"not {dir_!r}"
        )
    allowed = CUSTOM_INPUTS.get(task, ())
    input_ = item.get("input", allowed[0] if allowed else None)
    if input_ not in allowed:
        raise ConfigError(
            f"custom metric {name!r} (function {source!r}): input must be one of "
            f"{', '.join(allowed)} for a {task} model, not {input_!r}"
        )
    fn = _import(name, source)
    return MetricSpec(name, str(dir_), "custom", function=fn, source=str(source), input=input_)


def _import(name: str, source: object) -> Callable[..., float]:
    if not isinstance(source, str) or source.count(":") != 1:
        raise ConfigError(
            f"custom metric {name!r}: function must read 'package.module:function', not {source!r}"
        )
    module_name, attr = source.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(
            f"custom metric {name!r}: cannot import module {module_name!r} of function "
            f"{source!r} ({e})"
        ) from e
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ConfigError(
            f"custom metric {name!r}: function {source!r} not found (module {module_name!r} has "
            f"no callable {attr!r})"
        )
    return fn  # type: ignore[no-any-return]


# --- count metrics on batches of confusion matrices (truth on axis 1, prediction on axis 2) ---


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def accuracy(conf: FloatArray) -> FloatArray:
    return _ratio(np.trace(conf, axis1=1, axis2=2), conf.sum(axis=(1, 2)))


def balanced_accuracy(conf: FloatArray) -> FloatArray:
    support = conf.sum(axis=2)
    recall = _ratio(np.diagonal(conf, axis1=1, axis2=2), support)
    present = support > 0  # scikit-learn drops classes absent from the truth
    return _ratio((recall * present).sum(axis=1), present.sum(axis=1).astype(np.float64))


def prf(which: str, average: str) -> Callable[[FloatArray], FloatArray]:
    """precision, recall or f1 with scikit-learn's zero_division=0; binary scores class code 1;
    macro averages over the classes present in the truth or the predictions."""

    def metric(conf: FloatArray) -> FloatArray:
        tp = np.diagonal(conf, axis1=1, axis2=2)
        predicted, actual = conf.sum(axis=1), conf.sum(axis=2)
        if which == "precision":
            score = _ratio(tp, predicted)
        elif which == "recall":
            score = _ratio(tp, actual)
        else:
            score = _ratio(2 * tp, predicted + actual)
        if average == "binary":
            return np.asarray(score[:, 1], dtype=np.float64)
        if average == "weighted":
            return _ratio((score * actual).sum(axis=1), actual.sum(axis=1))
        present = (predicted > 0) | (actual > 0)
        return _ratio((score * present).sum(axis=1), present.sum(axis=1).astype(np.float64))

    return metric


def count_metric(spec: MetricSpec) -> Callable[[FloatArray], FloatArray]:
    """The batch function of a count metric (kind "table")."""
    if spec.name == "accuracy":
        return accuracy
    if spec.name == "balanced_accuracy":
        return balanced_accuracy
    return prf(spec.name.split("_")[0], spec.average)


# --- compute ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rows:
    truth: Truth
    candidate: Predictions
    champion: Predictions | None
    level: float
    resamples: int
    seed: int

    @property
    def paired(self) -> bool:
        return self.champion is not None

    @property
    def other(self) -> Predictions:
        """The champion, or the candidate again when there is none (its interval is dropped)."""
        return self.champion if self.champion is not None else self.candidate

    def value(
        self, spec: MetricSpec, cand: float | None, champ: float | None, interval: Interval | None
    ) -> MetricValue:
        if not self.paired:
            return MetricValue(spec.name, spec.direction, _finite(cand), None, None, None)
        cand, champ = _finite(cand), _finite(champ)
        delta = cand - champ if cand is not None and champ is not None else None
        return MetricValue(spec.name, spec.direction, cand, champ, delta, interval)


def _finite(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _missing(spec: MetricSpec, note: str) -> MetricValue:
    return MetricValue(spec.name, spec.direction, None, None, None, None, note)


def _champion_missing(spec: MetricSpec, candidate: float, note: str) -> MetricValue:
    """The candidate has what the metric needs, the champion does not."""
    return MetricValue(spec.name, spec.direction, _finite(candidate), None, None, None, note)


def compute(
    specs: Iterable[MetricSpec],
    truth: Truth,
    candidate: Predictions,
    champion: Predictions | None,
    *,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> list[MetricValue]:
    """Every metric of `specs` except the operational ones (latency, size), in their order."""
    rows = _Rows(truth, candidate, champion, level, resamples, seed)
    specs = [s for s in specs if s.kind != "operational"]
    if truth.n == 0:
        return [_missing(s, "no rows to evaluate") for s in specs]
    tables = _tables([s for s in specs if s.kind == "table"], rows)
    out = []
    for spec in specs:
        if spec.kind == "table":
            out.append(tables[spec.name])
        elif spec.kind == "auc":
            out.append(_roc_auc(spec, rows))
        elif spec.kind == "custom":
            out.append(_custom_value(spec, rows))
        else:
            out.append(_loss(spec, rows))
    return out


def _tables(specs: list[MetricSpec], rows: _Rows) -> dict[str, MetricValue]:
    if not specs:
        return {}
    cand, other, truth = rows.candidate.labels, rows.other.labels, rows.truth
    if cand is None or other is None:
        return {s.name: _missing(s, "needs predicted labels") for s in specs}
    k = max(truth.k, int(truth.y.max()) + 1, int(cand.max()) + 1, int(other.max()) + 1)
    y = cast(CodeArray, truth.y)  # a classification's truth: class codes
    table = stats.JointTable.build(y, other, cand, k, truth.weight)
    conf_a, conf_b = table.point()
    fns = {s.name: count_metric(s) for s in specs}
    intervals: Mapping[str, Interval | None] = {}
    if rows.paired:
        intervals = stats.table_bootstrap(
            table, fns, resamples=rows.resamples, seed=rows.seed, level=rows.level
        )
    return {
        s.name: rows.value(
            s,
            float(fns[s.name](conf_b[np.newaxis])[0]),
            float(fns[s.name](conf_a[np.newaxis])[0]),
            intervals.get(s.name),
        )
        for s in specs
    }


def _roc_auc(spec: MetricSpec, rows: _Rows) -> MetricValue:
    truth = rows.truth
    y = truth.y
    k = truth.k
    if k <= 2:
        positive = y == 1
        if positive.all() or not positive.any():
            return _missing(spec, "the truth has one class only: ROC AUC is undefined")
        sa, sb = rows.other.positive_score, rows.candidate.positive_score
        if sb is None:
            return _missing(spec, "needs predict_proba or decision_function")
        if not rows.paired:
            return rows.value(spec, stats.weighted_auc(positive, sb, truth.weight), None, None)
        if sa is None:
            w = np.ones(truth.n) if truth.weight is None else truth.weight
            note = "the champion has neither predict_proba nor decision_function"
            return _champion_missing(spec, stats.weighted_auc(positive, sb, w), note)
        if truth.weight is None:
            r = stats.delong(positive, sa, sb, rows.level)
            return rows.value(spec, r.auc_b, r.auc_a, r.interval)
        ss_a, ss_b = stats.SortedScore.of(sa), stats.SortedScore.of(sb)

        def binary(w: FloatArray) -> tuple[float, float]:
            return ss_a.auc(positive, w), ss_b.auc(positive, w)

        return _bootstrapped(spec, rows, binary)
    pa, pb = rows.other.proba, rows.candidate.proba
    missing = sorted(set(range(k)) - set(np.unique(y).tolist()))
    if missing:
        absent = ", ".join(repr(truth.classes[c]) for c in missing)
        return _missing(
            spec, f"multiclass ROC AUC needs every class in the truth; absent: {absent}"
        )
    if pb is None:
        return _missing(spec, "multiclass ROC AUC needs predict_proba")
    if pa is None:
        w = np.ones(truth.n) if truth.weight is None else truth.weight
        auc = np.mean([stats.weighted_auc(y == c, pb[:, c], w) for c in range(k)])
        return _champion_missing(spec, float(auc), "the champion has no predict_proba")
    positives = [y == c for c in range(k)]
    sorted_a = [stats.SortedScore.of(pa[:, c]) for c in range(k)]
    sorted_b = [stats.SortedScore.of(pb[:, c]) for c in range(k)]

    def ovr(w: FloatArray) -> tuple[float, float]:
        a = [s.auc(p, w) for s, p in zip(sorted_a, positives, strict=True)]
        b = [s.auc(p, w) for s, p in zip(sorted_b, positives, strict=True)]
        return float(np.mean(a)), float(np.mean(b))

    return _bootstrapped(spec, rows, ovr)


def _bootstrapped(
    spec: MetricSpec, rows: _Rows, pair: Callable[[FloatArray], tuple[float, float]]
) -> MetricValue:
    """ROC AUC with no sufficient statistic: `pair(row weights)` gives both models' values, a
    resample is the row weights times each row's multiplicity, on presorted scores."""
    n = rows.truth.n
    w = np.ones(n) if rows.truth.weight is None else rows.truth.weight
    a, b = pair(w)
    interval = None
    if rows.paired:

        def delta(idx: IntArray) -> float:
            ra, rb = pair(w * np.bincount(idx, minlength=n))
            return rb - ra

        interval = stats.paired_bootstrap(
            n, delta, rows.resamples, rows.seed, rows.level, rows.truth.weight
        )
    return rows.value(spec, b, a, interval)


def _per_row(name: str, truth: Truth, p: Predictions) -> FloatArray | str:
    """The per-row loss whose (weighted) mean is the metric, or why there is none."""
    if name in ("mae", "mape", "rmse", "r2"):
        if p.values is None:
            return "needs predicted values"
        err = truth.y.astype(np.float64) - p.values
        if name == "mae":
            return np.abs(err)
        if name == "mape":  # scikit-learn's: |y - y_hat| / max(|y|, eps)
            scale = np.maximum(np.abs(truth.y), np.finfo(np.float64).eps)
            return np.asarray(np.abs(err) / scale, dtype=np.float64)
        return err * err
    if p.proba is None:
        return "needs predict_proba"
    y = truth.y
    if name == "log_loss":  # clipped to [eps, 1 - eps] like scikit-learn
        eps = np.finfo(p.proba.dtype).eps
        picked: FloatArray
        if p.proba.ndim == 2:
            picked = p.proba[np.arange(y.shape[0]), y]
        else:  # class 0's probability is 1 - p, as scikit-learn takes a binary model's column
            picked = 1 - p.proba
            np.copyto(picked, p.proba, where=y == 1)
        # In place: at 10,000,000 rows each per-row temporary is 76 MiB.
        np.clip(picked, eps, 1 - eps, out=picked)
        np.log(picked, out=picked)
        np.negative(picked, out=picked)
        return picked
    positive = p.positive_proba
    if positive is not None:
        loss = positive - y
        np.square(loss, out=loss)
        return loss
    onehot = np.zeros_like(p.proba)
    onehot[np.arange(y.shape[0]), y] = 1.0
    return np.asarray(((p.proba - onehot) ** 2).sum(axis=1), dtype=np.float64)


def _loss(spec: MetricSpec, rows: _Rows) -> MetricValue:
    truth, w = rows.truth, rows.truth.weight
    lb = _per_row(spec.name, truth, rows.candidate)
    if isinstance(lb, str):
        return _missing(spec, lb)
    # r2 alone needs the truth as floats (a copy as long as the data).
    y = truth.y.astype(np.float64) if spec.name == "r2" else None
    b = _point(spec.name, lb, y, w)
    la = _per_row(spec.name, truth, rows.other)
    if isinstance(la, str):
        return _champion_missing(spec, b, f"the champion {la}")
    a = _point(spec.name, la, y, w)
    interval = None
    if rows.paired and spec.name == "rmse":
        interval = stats.rmse_interval(la, lb, w, rows.level)
    elif rows.paired and spec.name == "r2":
        assert y is not None
        interval = stats.r2_interval(la, lb, y, w, rows.level)
    elif rows.paired:
        interval = stats.paired_se(la, lb, w, rows.level)
    return rows.value(spec, b, a, interval)


def _point(name: str, loss: FloatArray, y: FloatArray | None, w: FloatArray | None) -> float:
    if name == "rmse":
        return math.sqrt(np.average(loss, weights=w))
    if name == "r2":
        assert y is not None
        return _r2(loss, y, w)
    return float(np.average(loss, weights=w))


def _r2(sq: FloatArray, y: FloatArray, w: FloatArray | None) -> float:
    sse = float(np.average(sq, weights=w))
    sst = float(np.average((y - np.average(y, weights=w)) ** 2, weights=w))
    if sst == 0:  # scikit-learn's force_finite
        return 1.0 if sse == 0 else 0.0
    return 1 - sse / sst


def _custom_value(spec: MetricSpec, rows: _Rows) -> MetricValue:
    """A custom function gets y_true as the original labels (classification) or values, y_pred
    as labels, the positive-class probability (binary), the (n, K) probabilities or the values."""
    truth, fn = rows.truth, spec.function
    assert fn is not None
    classes = np.asarray(truth.classes)
    y_true = classes[truth.y] if truth.task == CLASSIFICATION and classes.size else truth.y

    def inputs(p: Predictions) -> Any:
        if spec.input == "labels":
            return None if p.labels is None else classes[p.labels]
        if spec.input == "proba":
            positive = p.positive_proba
            return p.proba if positive is None else positive
        return p.values

    pred_b, pred_a = inputs(rows.candidate), inputs(rows.other)
    if pred_b is None:
        return _missing(spec, f"{spec.source} needs predicted {spec.input}")
    w = truth.weight

    def call(pred: Any, idx: IntArray | slice) -> float:
        return float(fn(y_true[idx], pred[idx], sample_weight=None if w is None else w[idx]))

    everything = slice(None)
    try:
        b = call(pred_b, everything)
        if not rows.paired:
            return rows.value(spec, b, None, None)
        if pred_a is None:
            return _champion_missing(spec, b, f"the champion has no predicted {spec.input}")
        a = call(pred_a, everything)
    except Exception as e:  # a user's function: report its failure as a note, not a crash
        return _missing(spec, f"{spec.source} raised {type(e).__name__}: {e}")
    interval = None
    if rows.paired:

        def delta(idx: IntArray) -> float:
            try:
                return call(pred_b, idx) - call(pred_a, idx)
            except Exception:  # undefined on this resample (a class missing, say)
                return math.nan

        interval = stats.paired_bootstrap(truth.n, delta, rows.resamples, rows.seed, rows.level, w)
    return rows.value(spec, b, a, interval)


# --- operational metrics, measured by the caller ----------------------------------------------


def latency_metric(
    name: str,
    q: float,
    per_row_ms_champion_batches: Sequence[stats.Batch] | None,
    per_row_ms_candidate_batches: Sequence[stats.Batch],
    *,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> MetricValue:
    """Quantile q of the per-row latency over all timed batches (numpy's linear quantile). A batch
    is its rows' latencies or one number, the per-row time of the whole batch. Batch i must be the
    same input rows for both models: batches are the units of the paired interval."""
    if name not in ("latency_p50_ms", "latency_p95_ms"):
        raise ConfigError(f"unknown latency metric {name!r}; known: latency_p50_ms, latency_p95_ms")
    cand = stats.pooled_quantile(per_row_ms_candidate_batches, q)
    if per_row_ms_champion_batches is None:
        return MetricValue(name, LOWER, cand, None, None, None)
    champ = stats.pooled_quantile(per_row_ms_champion_batches, q)
    interval = stats.batch_bootstrap(
        per_row_ms_champion_batches,
        per_row_ms_candidate_batches,
        q,
        resamples=resamples,
        seed=seed,
        level=level,
    )
    note = "" if interval else "one timed batch: no interval"
    return MetricValue(name, LOWER, cand, champ, cand - champ, interval, note)


def size_metric(champion_bytes: int | None, candidate_bytes: int) -> MetricValue:
    champ = None if champion_bytes is None else float(champion_bytes)
    delta = None if champ is None else float(candidate_bytes) - champ
    return MetricValue("size_bytes", LOWER, float(candidate_bytes), champ, delta, None)

"""Both models predict the same rows, one chunk at a time; what is kept is compact and per row.

A classifier with predict_proba is called once per chunk; its labels are the argmax of the
probabilities (calling predict as well would repeat the work). A two-class model keeps its label
codes and its class-1 column only, and the target is coded chunk by chunk: the per-row state is a
code per row and model plus one float per row and model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from champion import progress
from champion.evaluation.data import DataError, Reader, column_values
from champion.evaluation.features import (
    FeaturePlan,
    call,
    feature_plan,
    infer_task,
    inputs,
    method_of,
    prediction_error,
)
from champion.evaluation.outputs import (
    CodeArray,
    FloatArray,
    IntArray,
    Predictions,
    Truth,
    code_dtype,
)
from champion.evaluation.recorded import Outputs

LATENCY_BATCH_ROWS = 1_000
LATENCY_BATCHES = 20

__all__ = ["Evaluated", "FeaturePlan", "evaluate_rows", "feature_plan", "infer_task"]


@dataclass
class _Side:
    """One model's running outputs: predicted chunk by chunk, or recorded at its release."""

    who: str
    model: Any  # None when its recorded outputs stand in for it
    plan: FeaturePlan | None
    task: str
    recorded: Outputs | None = None
    method: str = ""
    classes: list[Any] = field(default_factory=list)  # the model's classes_
    chunks: list[Any] = field(default_factory=list)  # codes into the model's classes, or raw labels
    # proba (m, k), its class-1 column (m,) for a two-class model, or decision scores (m,)
    scores: list[FloatArray] = field(default_factory=list)
    seconds: float = 0.0
    sample: Any = None  # the first rows, for latency
    two_classes: bool = False  # predict_proba of a model with two classes_

    def __post_init__(self) -> None:
        if self.recorded is not None:
            r = self.recorded
            self.method, self.two_classes = r.method, r.two_classes
            self.classes = list(r.classes) if r.classes is not None else []
            self.chunks = [r.labels] if r.labels is not None else []
            self.scores = [r.scores] if r.scores is not None else []
            return
        self.method = method_of(self.model, self.task)
        self.classes = list(getattr(self.model, "classes_", []))
        if self.method == "predict_proba":
            self.two_classes = len(self.classes) == 2

    @property
    def predicts(self) -> bool:
        return self.recorded is None

    def outputs(self, rows: int) -> Outputs:
        """What the pass kept, each list joined into one array once (and kept joined)."""
        self.chunks[:] = [_concat(self.chunks)] if self.chunks else []
        self.scores[:] = [_concat(self.scores)] if self.scores else []
        classes = getattr(self.model, "classes_", None)
        return Outputs(
            task=self.task,
            method=self.method,
            classes=np.asarray(classes) if classes is not None else None,
            labels=self.chunks[0] if self.chunks else None,
            scores=self.scores[0] if self.scores else None,
            rows=rows,
        )

    def call(self, x: Any) -> Any:
        return call(self.model, self.method, x)

    def predict(self, x: Any, offset: int, reader: Reader) -> None:
        start = time.perf_counter()
        try:
            out = np.asarray(self.call(x))
        except Exception as e:
            raise prediction_error(self.who, e, x, reader) from e
        self.seconds += time.perf_counter() - start
        if self.method == "predict" and self.task == "classification":
            self.chunks.append(out)
            return
        values = out.astype(np.float64, copy=False)
        bad = ~np.isfinite(values)
        if bad.any():
            first = int(np.argwhere(bad)[0][0]) + offset
            raise DataError(
                f"{self.who} produced {int(bad.sum())} NaN or infinite predictions (first at data row "
                f"{first}): check the model and the data's missing values"
            )
        if self.two_classes and values.shape == (values.shape[0], 2):
            # The argmax of two columns, and the one column the metrics need: half the memory.
            self.chunks.append(np.greater(values[:, 1], values[:, 0]).view(np.int8))
            self.scores.append(values[:, 1].copy())
            return
        # Otherwise labels are derived once at the end, from all the scores.
        self.scores.append(values.ravel() if self.task == "regression" else values)


class _Target:
    """The target of a classification as codes in order of first appearance, chunk by chunk:
    the final codes (into the sorted classes) are known only once every value has been seen."""

    def __init__(self) -> None:
        self.values: dict[Any, int] = {}
        self.codes: list[CodeArray] = []

    def add(self, raw: Any) -> None:
        uniques = np.unique(raw)
        known = [self.values.setdefault(v, len(self.values)) for v in uniques.tolist()]
        mapping = np.array(known, dtype=code_dtype(len(self.values)))
        self.codes.append(mapping[np.searchsorted(uniques, raw)])

    def recode(self, index: dict[Any, int]) -> CodeArray:
        """The codes into the classes `index` numbers, the chunks replaced one at a time."""
        final = np.array([index[v] for v in self.values], dtype=code_dtype(len(index)))
        for i, codes in enumerate(self.codes):
            self.codes[i] = final[codes]
        whole: CodeArray = _concat(self.codes)
        return whole


@dataclass(frozen=True)
class Evaluated:
    truth: Truth
    candidate: Predictions
    champion: Predictions | None
    slices: dict[str, tuple[IntArray, list[str]]]  # column -> (per-row codes, code -> value)
    latency_ms: dict[str, list[float]]  # "candidate"/"champion" -> per-row ms of each fixed batch
    predict_seconds: dict[str, float]
    read_seconds: float
    raw: dict[str, Outputs]  # "candidate"/"champion" -> what it predicted, to be recorded


def evaluate_rows(
    reader: Reader,
    task: str,
    candidate: tuple[Any, FeaturePlan],
    champion: tuple[Any, FeaturePlan | None] | None,
    *,
    latency: bool = False,
    recorded: Outputs | None = None,
) -> Evaluated:
    """Both models on every row. With `recorded`, the champion's outputs recorded at its
    release stand in for its predictions; its model (if given) is only timed for latency."""
    sides = [_Side("candidate", candidate[0], candidate[1], task)]
    if champion is not None or recorded is not None:
        model, plan = champion if champion is not None else (None, None)
        sides.append(_Side("champion", model, plan, task, recorded=recorded))
    spec = reader.spec
    target_codes = _Target() if task == "classification" else None
    ys: list[Any] = []  # a regression's target values
    weights: list[FloatArray] = []
    slice_codes: dict[str, list[IntArray]] = {s: [] for s in spec.slices}
    slice_values: dict[str, dict[str, int]] = {s: {} for s in spec.slices}
    offset = 0
    start = time.perf_counter()
    for batch in reader.batches():
        target = batch.column(spec.target)
        if target.null_count:
            raise DataError(
                f"evaluation data {spec.display}: target column {spec.target!r} has "
                f"{target.null_count} missing values in rows {offset}..{offset + batch.num_rows - 1}"
            )
        if target_codes is not None:
            target_codes.add(target.to_numpy(zero_copy_only=False))
        else:
            ys.append(target.to_numpy(zero_copy_only=False))
        if spec.weight:
            w = column_values(batch, spec.weight).astype(np.float64)
            if not np.isfinite(w).all() or (w < 0).any():
                raise DataError(
                    f"evaluation data {spec.display}: weight column {spec.weight!r} has missing, "
                    "infinite or negative values"
                )
            weights.append(w)
        for s in spec.slices:
            slice_codes[s].append(_encode(column_values(batch, s), slice_values[s]))
        matrices: dict[FeaturePlan, Any] = {}
        for side in sides:
            if side.plan is None or not (side.predicts or (latency and side.sample is None)):
                continue
            x = matrices.get(side.plan)
            if x is None:
                x = matrices[side.plan] = inputs(reader, batch, side.plan)
            if latency and side.sample is None:
                side.sample = x[: LATENCY_BATCH_ROWS * LATENCY_BATCHES]
            if side.predicts:
                side.predict(x, offset, reader)
        offset += batch.num_rows
        progress.report("evaluating", offset, reader.fraction(offset))
    progress.finish("evaluating")
    total = time.perf_counter() - start
    if offset == 0:
        raise DataError(
            f"evaluation data {spec.display} has no rows: an empty evaluation set gates nothing"
        )
    for side in sides:
        if side.recorded is not None and side.recorded.rows != offset:
            raise DataError(
                f"the {side.who}'s recorded predictions hold {side.recorded.rows} rows, evaluation "
                f"data {spec.display} {offset}: evaluate with --champion-predictions model"
            )
    raw = {side.who: side.outputs(offset) for side in sides if side.predicts}
    if target_codes is not None:
        truth, outputs = _align(target_codes, sides, spec.display)
    else:
        truth, outputs = _regression(_concat(ys), sides, spec.display)
    weight = np.concatenate(weights) if weights else None
    if weight is not None and weight.sum() <= 0:
        raise DataError(
            f"evaluation data {spec.display}: the weights in {spec.weight!r} sum to zero"
        )
    truth = Truth(truth.task, truth.y, truth.classes, weight)
    slices = {s: (np.concatenate(slice_codes[s]), list(slice_values[s])) for s in spec.slices}
    return Evaluated(
        truth=truth,
        candidate=outputs[0],
        champion=outputs[1] if len(outputs) > 1 else None,
        slices=slices,
        latency_ms=_latency(sides) if latency else {},
        predict_seconds={side.who: side.seconds for side in sides if side.predicts},
        read_seconds=total - sum(side.seconds for side in sides),
        raw=raw,
    )


def _encode(values: Any, codes: dict[str, int]) -> IntArray:
    uniques, inverse = np.unique(values.astype(str), return_inverse=True)
    mapping = np.array([codes.setdefault(str(u), len(codes)) for u in uniques], dtype=np.int64)
    return mapping[inverse.ravel()]


def _sorted_union(*groups: Sequence[Any]) -> list[Any]:
    union = {v for g in groups for v in g}
    try:
        return sorted(union)
    except TypeError:
        return sorted(union, key=str)


def _regression(y_raw: Any, sides: list[_Side], data: str) -> tuple[Truth, list[Predictions]]:
    try:
        y = y_raw.astype(np.float64)
    except (TypeError, ValueError) as e:
        raise DataError(
            f"evaluation data {data}: the target is not numeric, but the task is regression"
        ) from e
    return Truth("regression", y), [Predictions(values=np.concatenate(s.scores)) for s in sides]


def _align(target: _Target, sides: list[_Side], data: str) -> tuple[Truth, list[Predictions]]:
    y_values = _sorted_union(list(target.values))
    model_classes = [s.classes for s in sides]
    raw_predicted = [
        np.unique(np.concatenate(s.chunks)).tolist() for s in sides if s.method == "predict"
    ]
    classes = _sorted_union(y_values, *model_classes, *raw_predicted)
    for side, own in zip(sides, model_classes, strict=True):
        if own and not set(own) & set(y_values):
            raise DataError(
                f"the target's values in {data} ({', '.join(map(str, y_values[:10]))}) share none "
                f"with the classes of the {side.who} ({', '.join(map(str, own[:10]))}): is the target "
                "column the right one, with the same encoding?"
            )
    index = {c: i for i, c in enumerate(classes)}
    y = target.recode(index)
    outputs = []
    for side, own in zip(sides, model_classes, strict=True):
        outputs.append(_predictions(side, own, index, len(classes)))
    return Truth("classification", y, tuple(classes)), outputs


def _concat(parts: list[Any]) -> Any:
    """One array from the chunks' arrays; the list is emptied so they are freed as early as can be."""
    whole = parts[0] if len(parts) == 1 else np.concatenate(parts)
    parts.clear()
    return whole


def _predictions(side: _Side, own: list[Any], index: dict[Any, int], k: int) -> Predictions:
    codes = code_dtype(k)
    if side.method == "predict":
        raw = _concat(side.chunks)
        return Predictions(labels=np.array([index[v] for v in raw.tolist()], dtype=codes))
    to_union = np.array([index[c] for c in own], dtype=codes)
    scores = _concat(side.scores)
    if side.method == "predict_proba" and side.chunks:  # a two-class model's own labels
        return _two_classes(_concat(side.chunks), scores, to_union, k)
    if side.method == "predict_proba":
        if len(own) != k:  # the model knows fewer classes than the data and the other model
            proba = np.zeros((scores.shape[0], k), dtype=np.float64)
            proba[:, to_union] = scores
            scores = proba
        # Both class lists are sorted, so the argmax over the union's columns is the model's own.
        return Predictions(labels=scores.argmax(axis=1).astype(codes), proba=scores)
    if scores.ndim == 1:
        labels = to_union[(scores > 0).astype(np.int64)]
        return Predictions(labels=labels, score=scores if k == 2 else None)
    return Predictions(labels=to_union[scores.argmax(axis=1)])


def _two_classes(
    own_labels: CodeArray, positive: FloatArray, to_union: CodeArray, k: int
) -> Predictions:
    """A two-class model's outputs from its own label codes and its class-1 column."""
    if k == 2 and to_union.tolist() == [0, 1]:
        return Predictions(labels=own_labels, proba=positive)
    # The data has classes the model does not know: (n, K) columns, the model's first class at
    # 1 - p, as scikit-learn's metrics read a binary model's one column.
    proba = np.zeros((positive.shape[0], k), dtype=np.float64)
    proba[:, to_union[0]] = 1 - positive
    proba[:, to_union[1]] = positive
    return Predictions(labels=to_union[own_labels], proba=proba)


def _latency(sides: list[_Side]) -> dict[str, list[float]]:
    """Per-row milliseconds over fixed batches, both models on the same batches, in turn."""
    sides = [side for side in sides if side.sample is not None]
    per_row: dict[str, list[float]] = {side.who: [] for side in sides}
    rows = min(len(side.sample) for side in sides)
    size = min(LATENCY_BATCH_ROWS, rows)
    for lo in range(0, rows - size + 1, size):
        for side in sides:
            batch = side.sample[lo : lo + size]
            start = time.perf_counter()
            side.call(batch)
            per_row[side.who].append((time.perf_counter() - start) * 1000 / size)
    return per_row

"""What the metrics are computed from: the evaluation rows' truth and each model's outputs,
aligned row by row, as compact arrays (the feature matrix is never kept whole).

Class codes are stored in the smallest integer type that holds them (`code_dtype`) and a binary
model's probabilities as one column: at 10,000,000 rows the truth and both models' outputs take
about 0.18 GiB instead of 0.56 GiB with int64 codes and (n, 2) probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.integer[Any]]  # class codes 0..K-1: int8 for up to 128 classes


def code_dtype(k: int) -> np.dtype[np.signedinteger[Any]]:
    """The smallest signed integer type for the codes 0..k-1 (signed, so that a difference of
    two codes cannot wrap around)."""
    for candidate in (np.int8, np.int16, np.int32):
        if k - 1 <= np.iinfo(candidate).max:
            return np.dtype(candidate)
    return np.dtype(np.int64)


@dataclass(frozen=True)
class Truth:
    """`y` holds class codes 0..K-1 (classification, `classes[code]` is the label) or floats
    (regression). `weight` is None when the evaluation set has no weight column."""

    task: str  # "classification" | "regression"
    y: CodeArray | FloatArray
    classes: tuple[object, ...] = ()
    weight: FloatArray | None = None

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def k(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class Predictions:
    """One model's outputs on the same rows as `Truth`.

    classification: `labels` (codes into Truth.classes) always; `proba` when the model has
    predict_proba: (n, K), columns in Truth.classes order, or in a binary task (n,), the
    probability of class code 1 (what `predict.evaluate_rows` keeps: half the memory); `score`
    (n,) for a binary model that only has decision_function (higher means the positive class,
    code 1).
    regression: `values` (n,).
    """

    labels: CodeArray | None = None
    proba: FloatArray | None = None
    score: FloatArray | None = None
    values: FloatArray | None = None

    @property
    def positive_proba(self) -> FloatArray | None:
        """The probability of class code 1 in a binary task, whichever shape `proba` has."""
        if self.proba is None:
            return None
        if self.proba.ndim == 1:
            return self.proba
        return self.proba[:, 1] if self.proba.shape[1] == 2 else None

    @property
    def positive_score(self) -> FloatArray | None:
        """A score for class code 1 in a binary task: the probability, else the decision score."""
        proba = self.positive_proba
        return proba if proba is not None else self.score

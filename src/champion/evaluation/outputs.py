"""What the metrics are computed from: the evaluation rows' truth and each model's outputs,
aligned row by row, as compact arrays (the feature matrix is never kept whole)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Truth:
    """`y` holds class codes 0..K-1 (classification, `classes[code]` is the label) or floats
    (regression). `weight` is None when the evaluation set has no weight column."""

    task: str  # "classification" | "regression"
    y: IntArray | FloatArray
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

    classification: `labels` (codes into Truth.classes) always; `proba` (n, K), columns in
    Truth.classes order, when the model has predict_proba; `score` (n,) for a binary model that
    only has decision_function (higher means the positive class, code 1).
    regression: `values` (n,).
    """

    labels: IntArray | None = None
    proba: FloatArray | None = None
    score: FloatArray | None = None
    values: FloatArray | None = None

    @property
    def positive_score(self) -> FloatArray | None:
        """A score for class code 1 in a binary task: the probability, else the decision score."""
        if self.proba is not None and self.proba.shape[1] == 2:
            return self.proba[:, 1]
        return self.score

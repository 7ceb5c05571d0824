"""Real scikit-learn models and evaluation sets for the evaluation tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

FEATURES = [f"f{i}" for i in range(5)]


def dataset(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    x, y = make_classification(
        n_samples=n, n_features=5, n_informative=3, n_redundant=1, flip_y=0.05, random_state=seed
    )
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["region"] = np.where(np.arange(n) % 4 == 0, "eu", "us")
    frame["target"] = y
    return frame


def train(kind: str = "good", n: int = 3000, features: list[str] | None = None) -> Any:
    """good: a logistic regression; better: the same with interactions of the informative
    features; noise: fitted on shuffled labels (about as good as a coin)."""
    frame = dataset(n, seed=1)
    cols = features or FEATURES
    y = frame["target"].to_numpy()
    if kind == "noise":
        y = np.random.default_rng(0).permutation(y)
    model = LogisticRegression(C=1.0 if kind != "weak" else 0.0005, max_iter=1000)
    return model.fit(frame[cols], y)


def save(model: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path)
    return path


def write_eval(path: Path, n: int = 2000, seed: int = 2, **overrides: Any) -> Path:
    frame = dataset(n, seed)
    for column, value in overrides.items():
        frame[column] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


class NaNModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier whose probabilities are NaN on some rows (a real failure mode)."""

    def fit(self, x: Any, y: Any) -> NaNModel:
        self.classes_ = np.unique(y)
        self.n_features_in_ = np.asarray(x).shape[1]
        return self

    def predict_proba(self, x: Any) -> Any:
        p = np.full((len(x), 2), 0.5)
        p[::7] = np.nan
        return p


class CategoryOnly(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier that, like XGBoost without enable_categorical's data, accepts `plan` only as
    a pandas category, and declares nothing about it."""

    def fit(self, x: Any, y: Any) -> CategoryOnly:
        self.classes_ = np.unique(y)
        self.feature_names_in_ = np.asarray(x.columns, dtype=object)
        return self

    def predict_proba(self, x: Any) -> Any:
        if not isinstance(x["plan"].dtype, pd.CategoricalDtype):
            raise TypeError(f"plan must be a category, got {x['plan'].dtype}")
        p = np.where(x["plan"] == "gold", 0.8, 0.3)
        return np.column_stack([1 - p, p])


def _cell(value: Any) -> str:
    if value is None:
        return "None"
    if value is pd.NA:
        return "NA"
    if isinstance(value, (bool, np.bool_)):
        return f"bool:{bool(value)}"
    if isinstance(value, (int, np.integer)):
        return f"int:{int(value)}"
    if isinstance(value, (float, np.floating)):
        return "nan" if np.isnan(value) else f"float:{float(value)!r}"
    return f"{type(value).__name__}:{value}"


class Fingerprint(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A classifier whose probability is a hash of every value it is given, with its Python
    type and its column's dtype: a 7 for a "007", a date for a string, None for NaN, int64 for
    float64 each change the prediction. Two ways of reading a file agree on it only when they
    give the model the same frame."""

    def fit(self, x: Any, y: Any) -> Fingerprint:
        self.classes_ = np.unique(y)
        self.feature_names_in_ = np.asarray(x.columns, dtype=object)
        return self

    def predict_proba(self, x: Any) -> Any:
        import hashlib

        dtypes = "|".join(f"{c}:{x[c].dtype}" for c in x.columns)
        cells = [x[c].astype(object).map(_cell).tolist() for c in x.columns]
        p = np.array(
            [
                int(hashlib.sha256(f"{dtypes}|{'|'.join(row)}".encode()).hexdigest()[:12], 16)
                / 16**12
                for row in zip(*cells, strict=True)
            ]
        ).reshape(-1)
        if not cells:
            p = np.full(len(x), 0.5)
        return np.column_stack([1 - p, p])

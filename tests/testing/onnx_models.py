"""Real ONNX models: scikit-learn estimators converted by skl2onnx, in the shapes teams ship."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from skl2onnx import convert_sklearn, to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from testing.models import FEATURES, dataset, train


def write(onx: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(onx.SerializeToString())
    return path


def tensor_classifier(path: Path, *, zipmap: bool, kind: str = "good") -> tuple[Path, Any]:
    """testing.models' logistic regression as ONNX with one float input [None, 5] fed the
    feature columns in order; probabilities as skl2onnx's default ZipMap or a plain tensor."""
    model = train(kind)
    sample = dataset(5)[FEATURES].to_numpy(dtype=np.float32)
    onx = to_onnx(model, sample, options={id(model): {"zipmap": zipmap}})
    return write(onx, path), model


def per_column_classifier(path: Path, frame: pd.DataFrame, target: str) -> tuple[Path, Any]:
    """A pipeline over numeric and string columns, converted with one input per column, each
    named after its column (skl2onnx's way for a DataFrame with mixed types); ZipMap output."""
    features = [c for c in frame.columns if c != target]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(frame[c])]
    strings = [c for c in features if c not in numeric]
    pipeline = make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), numeric),
                ("cat", OneHotEncoder(handle_unknown="ignore"), strings),
            ]
        ),
        _logistic(),
    ).fit(frame[numeric + strings], frame[target])
    inputs = [(c, FloatTensorType([None, 1])) for c in numeric]
    inputs += [(c, StringTensorType([None, 1])) for c in strings]
    return write(convert_sklearn(pipeline, initial_types=inputs), path), pipeline


def regressor(path: Path, frame: pd.DataFrame, target: str) -> tuple[Path, Any]:
    x = frame[FEATURES].to_numpy(dtype=np.float32)
    model = RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0)
    model.fit(frame[FEATURES].to_numpy(), frame[target].to_numpy())
    return write(to_onnx(model, x[:1]), path), model


def _logistic() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)

"""What a model is given: which columns, in which form, and which of them it really uses.

Asked of the model itself, never stricter than scikit-learn (issue 15 item 3): a column its
ColumnTransformer drops need not be in the data, and it is not part of the model's signature.
A model that declares categorical features (LightGBM's pandas categories, XGBoost's `c`
feature types, a HistGradientBoosting fitted on pandas categories, a `feature_types` list) gets
those columns as pandas categories, with its own categories where it records them (issue 12).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from champion.evaluation.data import DataError, Reader, numeric_matrix

PROBE_ROWS = 100


@dataclass(frozen=True)
class FeaturePlan:
    names: tuple[str, ...]  # the columns given to the model, in the model's order
    matrix: bool  # a float matrix (a model fitted without column names); else a DataFrame
    # (column, the model's categories or None for the data's) for each categorical column
    categories: tuple[tuple[str, tuple[Any, ...] | None], ...] = ()
    used: tuple[str, ...] = ()  # the columns the model uses: its signature


def infer_task(model: Any) -> str:
    from sklearn.base import is_classifier, is_regressor

    if hasattr(model, "classes_") or hasattr(model, "predict_proba"):
        return "classification"
    try:
        if is_classifier(model):
            return "classification"
        if is_regressor(model):
            return "regression"
    except (AttributeError, TypeError):
        pass  # scikit-learn >= 1.6 asks for its tags: not an estimator (a loader's object, ONNX)
    return "regression" if not hasattr(model, "decision_function") else "classification"


def method_of(model: Any, task: str) -> str:
    if task == "regression":
        return "predict"
    for method in ("predict_proba", "decision_function"):
        if hasattr(model, method):
            return method
    return "predict"


def call(model: Any, method: str, x: Any) -> Any:
    with warnings.catch_warnings():
        # A model fitted on a DataFrame warns when given the same columns as a plain matrix.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        warnings.filterwarnings("ignore", message="X has feature names, but")
        return getattr(model, method)(x)


def inputs(reader: Reader, batch: Any, plan: FeaturePlan) -> Any:
    if plan.matrix:
        return numeric_matrix(batch, plan.names)
    return reader.frame(batch, plan.names, dict(plan.categories))


def feature_plan(model: Any, reader: Reader, who: str, task: str | None = None) -> FeaturePlan:
    """The columns `model` gets from the evaluation data, checked by predicting the first rows
    (so a refusal is reported before the long pass, in the model's own words)."""
    columns = {c.name: c for c in reader.columns}
    fitted = fitted_names(model)
    missing: list[str] = []
    if fitted is not None:
        leaked = [n for n in fitted if n in (reader.spec.target, reader.spec.weight)]
        if leaked:
            raise DataError(
                f"{who} uses {leaked[0]!r} as a feature, but it is the target or weight column"
            )
        names = [n for n in fitted if n in columns]
        missing = [n for n in fitted if n not in columns]
    else:
        names = [c.name for c in reader.feature_columns]
        expected = getattr(model, "n_features_in_", None)
        if expected is not None and expected != len(names):
            raise DataError(
                f"{who} expects {expected} features, but evaluation data {reader.spec.display} has "
                f"{len(names)} feature columns ({', '.join(names[:20])}) besides the target, weight "
                "and slices: the feature columns do not match the model"
            )
    categories = {n: c for n, c in declared_categories(model).items() if n in columns}
    textual = [n for n, c in categories.items() if c and any(isinstance(v, str) for v in c)]
    reader.read_as_text(textual)  # a category "007" must not be read as the number 7
    plan = FeaturePlan(
        names=tuple(names),
        matrix=fitted is None and not categories and all(columns[n].numeric for n in names),
        categories=tuple(categories.items()),
        used=tuple(n for n in used_columns(model, names) if n in columns),
    )
    _probe(model, reader, plan, who, task or "classification", missing)
    return plan


def _probe(
    model: Any, reader: Reader, plan: FeaturePlan, who: str, task: str, missing: list[str]
) -> None:
    head = reader.head()
    if not head.num_rows:
        return
    x = inputs(reader, head.slice(0, PROBE_ROWS), plan)
    try:
        call(model, method_of(model, task), x)
    except Exception as e:
        if missing:
            raise DataError(
                f"{who} cannot predict without columns that evaluation data "
                f"{reader.spec.display} lacks ({', '.join(missing[:20])}); the model says: "
                f"{type(e).__name__}: {e}"
            ) from e
        raise prediction_error(who, e, x, reader) from e


def prediction_error(who: str, error: Exception, x: Any, reader: Reader) -> DataError:
    """Says what the model was given, so that a dtype it wanted otherwise can be declared."""
    return DataError(
        f"{who} failed to predict on evaluation data {reader.spec.display} "
        f"({type(error).__name__}: {error}). It was given {describe(x)}, as pandas reads the "
        f"file: if the model needs another dtype for a column, declare it in "
        f"{reader.spec.dtypes_key} in champion.yaml (e.g. plan: category)"
    )


def describe(x: Any) -> str:
    dtypes = getattr(x, "dtypes", None)
    if dtypes is None:
        return f"a float matrix of {np.shape(x)[1] if np.ndim(x) == 2 else '?'} columns"
    listed = [f"{name} ({dtype})" for name, dtype in dtypes.items()]
    more = f", … ({len(listed)} in all)" if len(listed) > 12 else ""
    return f"a DataFrame with columns {', '.join(listed[:12])}{more}"


def fitted_names(model: Any) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(_receiver(model), "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else None


def _receiver(model: Any) -> Any:
    """The estimator that first receives the DataFrame: a Pipeline's first real step."""
    steps = getattr(model, "steps", None)
    if isinstance(steps, list):
        for _, step in steps:
            if step is not None and step != "passthrough":
                return _receiver(step)
    return model


def declared_categories(model: Any) -> dict[str, tuple[Any, ...] | None]:
    """Column -> categories for the columns the model declares categorical."""
    est = _receiver(model)
    for find in (_lightgbm, _xgboost, _histgradientboosting, _feature_types):
        try:
            found = find(est)
        except Exception:  # an attribute of another library's version: not a declaration
            found = None
        if found:
            return found
    return {}


def _lightgbm(est: Any) -> dict[str, tuple[Any, ...] | None] | None:
    booster = getattr(est, "booster_", None) or est
    pandas_categorical = getattr(booster, "pandas_categorical", None)
    if not pandas_categorical or not hasattr(booster, "feature_name"):
        return None
    names = booster.feature_name()
    indices = (getattr(booster, "params", None) or {}).get("categorical_column") or []
    # LightGBM records the categories of the pandas category columns it was fitted on, in the
    # frame's order; categorical_column also counts integer columns named categorical by hand,
    # which then cannot be told apart.
    if len(indices) != len(pandas_categorical):
        return None
    return {names[i]: tuple(cats) for i, cats in zip(indices, pandas_categorical, strict=True)}


def _xgboost(est: Any) -> dict[str, tuple[Any, ...] | None] | None:
    get_booster = getattr(est, "get_booster", None)
    booster = get_booster() if callable(get_booster) else None
    types = getattr(booster, "feature_types", None)
    if booster is None or not types or "c" not in types:
        return None
    names = booster.feature_names
    recorded: dict[str, tuple[Any, ...] | None] = {}
    try:  # XGBoost 3.1+ records the categories; older versions need the data's own
        for name, values in booster.get_categories(export_to_arrow=True).to_arrow():
            if values is not None:
                recorded[name] = tuple(values.to_pylist())
    except Exception:
        pass
    return {n: recorded.get(n) for n, t in zip(names, types, strict=True) if t == "c"}


def _histgradientboosting(est: Any) -> dict[str, tuple[Any, ...] | None] | None:
    mask = getattr(est, "is_categorical_", None)
    names = getattr(est, "feature_names_in_", None)
    if mask is None or names is None or getattr(est, "categorical_features", None) != "from_dtype":
        return None
    # It encodes categories by value, so the data's own categories do.
    return {str(n): None for n, c in zip(names, mask, strict=True) if c}


def _feature_types(est: Any) -> dict[str, tuple[Any, ...] | None] | None:
    types = getattr(est, "feature_types", None)
    names = fitted_names(est)
    if not isinstance(types, (list, tuple)) or names is None or len(types) != len(names):
        return None
    return {n: None for n, t in zip(names, types, strict=True) if t in ("c", "category")}


def used_columns(model: Any, names: Sequence[str]) -> list[str]:
    """The columns the model uses: all of them, except those its ColumnTransformer drops."""
    est = _receiver(model)
    transformers = getattr(est, "transformers_", None)
    fitted = getattr(est, "feature_names_in_", None)
    if transformers is None or fitted is None:
        return list(names)
    fitted = [str(n) for n in fitted]
    used: set[str] = set()
    for _, transformer, selected in transformers:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        resolved = _resolve(selected, fitted)
        if resolved is None:  # a selection this code does not understand: keep every column
            return list(names)
        used.update(resolved)
    return [n for n in names if n in used]


def _resolve(selected: Any, fitted: list[str]) -> list[str] | None:
    if isinstance(selected, str):
        return [selected]
    if isinstance(selected, (int, np.integer)):
        return [fitted[int(selected)]]
    if isinstance(selected, slice):
        if all(isinstance(b, (int, type(None))) for b in (selected.start, selected.stop)):
            return fitted[selected]
        return None
    try:
        values = np.asarray(selected)
    except Exception:
        return None
    if values.size == 0:
        return []
    if values.dtype == bool:
        return [n for n, keep in zip(fitted, values, strict=False) if keep]
    if np.issubdtype(values.dtype, np.integer):
        return [fitted[int(i)] for i in values]
    if values.dtype.kind in "UO":
        return [str(v) for v in values]
    return None

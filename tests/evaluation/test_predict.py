"""What evaluate_rows keeps per row: equal to what the models say, in the compact form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

from champion.evaluation.data import DataSpec, Reader
from champion.evaluation.predict import evaluate_rows, feature_plan
from testing.models import FEATURES, dataset, train


def _evaluate(path: Path, *models: Any) -> Any:
    reader = Reader(DataSpec(path, "target"), chunk_bytes=16 << 10)  # several chunks
    plans = [(m, feature_plan(m, reader, f"model {i}")) for i, m in enumerate(models)]
    return evaluate_rows(reader, "classification", plans[0], plans[1] if len(plans) > 1 else None)


def test_a_two_class_model_keeps_its_class_1_column_and_int8_codes(tmp_path: Path) -> None:
    frame = dataset(3000, seed=2)
    frame["target"] = np.where(frame["target"] == 1, "yes", "no")
    # "yes" rows first: the target's codes in order of appearance are not the classes' order
    frame = frame.sort_values("target", ascending=False, kind="stable")
    frame.to_csv(tmp_path / "eval.csv", index=False)
    y = frame["target"].to_numpy()
    x = frame[FEATURES]
    candidate = LogisticRegression(max_iter=1000).fit(x, y)  # string classes
    champion = GaussianNB().fit(x, y)
    ev = _evaluate(tmp_path / "eval.csv", candidate, champion)
    assert ev.truth.classes == ("no", "yes")
    assert ev.truth.y.dtype == np.int8
    assert (np.asarray(ev.truth.classes)[ev.truth.y] == y).all()
    for p, model in ((ev.candidate, candidate), (ev.champion, champion)):
        assert p.proba.shape == (len(frame),) and p.labels.dtype == np.int8
        wide = model.predict_proba(x)
        np.testing.assert_allclose(p.proba, wide[:, 1], rtol=1e-12, atol=0)
        assert np.array_equal(p.labels, wide.argmax(axis=1))


def test_a_class_the_two_class_model_does_not_know_gives_all_columns(tmp_path: Path) -> None:
    frame = dataset(1200, seed=2)
    frame.loc[frame.index[::10], "target"] = 2  # in the data, unknown to the model
    frame.to_csv(tmp_path / "eval.csv", index=False)
    model = train("good")
    ev = _evaluate(tmp_path / "eval.csv", model)
    assert ev.truth.classes == (0, 1, 2)
    assert np.array_equal(ev.truth.y, frame["target"].to_numpy())
    p1 = model.predict_proba(frame[FEATURES])[:, 1]
    columns = np.column_stack([1 - p1, p1, np.zeros_like(p1)])
    np.testing.assert_allclose(ev.candidate.proba, columns, rtol=1e-12, atol=0)
    assert np.array_equal(ev.candidate.labels, model.predict(frame[FEATURES]))


def test_multiclass_models_keep_every_column(tmp_path: Path) -> None:
    frame = dataset(1200, seed=2)
    frame["target"] = pd.qcut(frame["f0"] + frame["f1"], 3, labels=False)
    frame.to_csv(tmp_path / "eval.csv", index=False)
    model = GaussianNB().fit(frame[FEATURES], frame["target"])
    ev = _evaluate(tmp_path / "eval.csv", model)
    assert ev.candidate.proba.shape == (1200, 3) and ev.candidate.labels.dtype == np.int8
    np.testing.assert_allclose(ev.candidate.proba, model.predict_proba(frame[FEATURES]), rtol=1e-12)

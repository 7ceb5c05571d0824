"""Real LightGBM, XGBoost and scikit-learn models as teams ship them: pandas categories, a
Pipeline whose ColumnTransformer drops an ID column (issue 12 finding 5, issue 15 item 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from champion.evaluation.data import DataSpec, Reader
from champion.evaluation.predict import evaluate_rows, feature_plan
from champion.evaluation.report import read_report
from testing.models import CategoryOnly, save
from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]
FEATURES = ["tenure", "plan", "region", "spend"]
# In an order of the team's choosing, not sorted: the model's own order must reach it.
CATEGORIES = {"plan": ["pro", "basic", "gold"], "region": ["us", "eu", "apac"]}


def churn(n: int, seed: int, unseen: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plans = CATEGORIES["plan"] + (["enterprise"] if unseen else [])
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{seed}{i:05d}" for i in range(n)],
            "tenure": rng.integers(0, 60, n),
            "plan": rng.choice(plans, n),
            "region": rng.choice(CATEGORIES["region"], n),
            "spend": np.round(rng.gamma(2.0, 30.0, n), 2),
        }
    )
    logit = 0.04 * frame["tenure"] - 1.2 * (frame["plan"] == "basic") + 0.01 * frame["spend"] - 1
    frame["churned"] = (logit + rng.logistic(size=n) > 0).astype(int)
    return frame


def as_categories(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column, categories in CATEGORIES.items():
        known = out[column].where(out[column].isin(categories))
        out[column] = pd.Categorical(known, categories=categories)
    return out


def fit(kind: str) -> Any:
    train = churn(2000, seed=1)
    x, y = as_categories(train[FEATURES]), train["churned"]
    if kind == "lightgbm":
        import lightgbm

        return lightgbm.LGBMClassifier(n_estimators=30, verbose=-1).fit(x, y)
    if kind == "xgboost":
        import xgboost

        return xgboost.XGBClassifier(n_estimators=30, enable_categorical=True).fit(x, y)
    return HistGradientBoostingClassifier(max_iter=30, categorical_features="from_dtype").fit(x, y)


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost", "hist_gradient_boosting"])
def test_a_native_categorical_model_gets_pandas_categories(tmp_path: Path, kind: str) -> None:
    model = fit(kind)
    path = tmp_path / "eval.csv"
    churn(3000, seed=2, unseen=True).to_csv(path, index=False)
    reader = Reader(DataSpec(path, "churned"), chunk_bytes=32 << 10)  # several chunks
    plan = feature_plan(model, reader, "candidate", "classification")
    declared = dict(plan.categories)
    assert set(declared) == {"plan", "region"}
    if kind != "hist_gradient_boosting":  # it encodes by value: the data's categories do
        assert declared["plan"] == tuple(CATEGORIES["plan"])
    ev = evaluate_rows(reader, "classification", (model, plan), None)
    expected = model.predict_proba(as_categories(pd.read_csv(path)[FEATURES]))[:, 1]
    np.testing.assert_array_equal(ev.candidate.proba, expected)


CONFIG = """\
models:
  churn:
    path: models/churn.joblib
    data: {{path: data/eval.csv, target: churned{extra}}}
    metrics: [roc_auc, accuracy]
"""


def project(tmp_path: Path, model: Any, extra: str = "") -> Repo:
    repo = make_repo(tmp_path, CONFIG.format(extra=extra), commit=False)
    save(model, repo.path / "models/churn.joblib")
    (repo.path / "data").mkdir()
    churn(1500, seed=2).to_csv(repo.path / "data/eval.csv", index=False)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "model")
    return repo


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_champion_evaluate_gates_a_categorical_model_with_its_true_metrics(
    tmp_path: Path, capsys: Capsys, kind: str
) -> None:
    model = fit(kind)
    repo = project(tmp_path, model)
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(tmp_path / "r.json"))
    assert result.code == 0, result.err
    report = read_report(tmp_path / "r.json")
    frame = pd.read_csv(repo.path / "data/eval.csv")
    expected = roc_auc_score(
        frame["churned"], model.predict_proba(as_categories(frame[FEATURES]))[:, 1]
    )
    roc_auc = next(m for m in report["metrics"] if m["name"] == "roc_auc")
    assert roc_auc["candidate"] == pytest.approx(expected, abs=1e-12)


def test_a_model_refusing_a_dtype_is_told_what_it_got_and_data_dtypes_fixes_it(
    tmp_path: Path, capsys: Capsys
) -> None:
    train = churn(200, seed=1)
    model = CategoryOnly().fit(train[FEATURES], train["churned"])
    repo = project(tmp_path, model)
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(tmp_path / "r.json"))
    assert result.code == 2
    assert "plan must be a category" in result.err  # the model's own words
    assert "plan (str)" in result.err  # what it was given
    assert "champion.yaml: models.churn.data.dtypes" in result.err  # and where to say otherwise
    assert not (tmp_path / "r.json").exists()
    (repo.path / "champion.yaml").write_text(CONFIG.format(extra=", dtypes: {plan: category}"))
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(tmp_path / "r.json"))
    assert result.code == 0, result.err


@pytest.mark.parametrize(
    ("dtypes", "needle"),
    [
        ("{plan: categorical}", "models.churn.data.dtypes.plan: unknown dtype 'categorical'"),
        ("{tier: category}", "declares a dtype for column 'tier'"),
    ],
)
def test_bad_data_dtypes_exit_2_naming_the_file_and_key(
    tmp_path: Path, capsys: Capsys, dtypes: str, needle: str
) -> None:
    train = churn(200, seed=1)
    repo = project(tmp_path, CategoryOnly().fit(train[FEATURES], train["churned"]))
    (repo.path / "champion.yaml").write_text(CONFIG.format(extra=f", dtypes: {dtypes}"))
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(tmp_path / "r.json"))
    assert result.code == 2
    assert needle in result.err and "champion.yaml" in result.err
    assert not (tmp_path / "r.json").exists()


def pipeline(features: list[str]) -> Any:
    """A Pipeline fitted on a frame with an ID column its ColumnTransformer drops."""
    train = churn(2000, seed=1)
    encode = ColumnTransformer(
        [
            ("numbers", StandardScaler(), ["tenure", "spend"]),
            ("categories", OneHotEncoder(handle_unknown="ignore"), ["plan", "region"]),
        ],
        remainder="drop",
    )
    return make_pipeline(encode, LogisticRegression()).fit(train[features], train["churned"])


def test_a_column_the_pipeline_drops_is_neither_required_nor_in_its_signature(
    tmp_path: Path, capsys: Capsys
) -> None:
    with_id = pipeline(["customer_id", *FEATURES])
    assert "customer_id" in with_id.feature_names_in_
    repo = project(tmp_path, with_id)
    frame = pd.read_csv(repo.path / "data/eval.csv").drop(columns=["customer_id"])
    frame.to_csv(repo.path / "data/eval.csv", index=False)  # the evaluation set has no IDs
    repo.git("commit", "-qam", "evaluation set without IDs")
    released = run_cli(capsys, repo.path, "release", "--promote", "prod")
    assert released.code == 0, released.err
    # scikit-learn predicts without the column; so does champion, with the same values.
    retrained = pipeline(FEATURES)
    save(retrained, repo.path / "models/churn.joblib")
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(tmp_path / "r.json"))
    assert result.code == 0, result.err
    report = read_report(tmp_path / "r.json")
    signature = report["signature"]
    names = [f["name"] for f in signature["champion"]["features"]]
    assert names == FEATURES  # the recorded signature of the released version
    assert [f["name"] for f in signature["candidate"]["features"]] == FEATURES
    assert signature["bump"] != "major" and signature["changes"] == []
    roc_auc = next(m for m in report["metrics"] if m["name"] == "roc_auc")
    expected = roc_auc_score(frame["churned"], with_id.predict_proba(frame)[:, 1])
    assert roc_auc["champion"] == pytest.approx(expected, abs=1e-12)


def test_a_pipeline_missing_a_column_it_uses_reports_what_scikit_learn_says(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = project(tmp_path, pipeline(FEATURES))
    frame = pd.read_csv(repo.path / "data/eval.csv").drop(columns=["plan"])
    frame.to_csv(repo.path / "data/eval.csv", index=False)
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(tmp_path / "r.json"))
    assert result.code == 2
    assert "lacks (plan)" in result.err
    assert "columns are missing: {'plan'}" in result.err  # scikit-learn's own words

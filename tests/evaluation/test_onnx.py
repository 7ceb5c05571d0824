"""ONNX models, as skl2onnx writes them, evaluated by real onnxruntime: predictions equal the
scikit-learn model's, whatever the input and output style, and bad cases exit 2 with a reason."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, roc_auc_score

from champion.loading.onnx import OnnxClassifier, OnnxError
from champion.loading.verified import load
from testing import onnx_models
from testing.models import FEATURES, dataset, save, train, write_eval
from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]

CONFIG = """\
models:
  churn:
    path: {path}
    data: {{path: data/eval.csv, target: target, slices: [region]}}
    metrics: [roc_auc, accuracy, log_loss]
    stats: {{resamples: 200}}
    gate:
      roc_auc: {{max_regression: 0.05}}
"""


def project(tmp_path: Path, path: str = "models/churn.onnx", config: str = CONFIG) -> Repo:
    repo = make_repo(tmp_path, config.format(path=path), commit=False)
    write_eval(repo.path / "data/eval.csv")
    return repo


def evaluate(capsys: Capsys, repo: Repo, *args: str) -> tuple[int, Any, str]:
    from champion.evaluation.report import read_report

    out = repo.path / "report.json"
    out.unlink(missing_ok=True)
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(out), *args)
    return result.code, read_report(out) if out.exists() else None, result.out + result.err


def metric(report: Any, name: str, who: str = "candidate") -> float:
    [found] = [m for m in report["metrics"] if m["name"] == name]
    return float(found[who])


@pytest.mark.parametrize("zipmap", [True, False], ids=["zipmap", "tensor"])
def test_the_adapter_predicts_as_the_scikit_learn_model_does(tmp_path: Path, zipmap: bool) -> None:
    path, model = onnx_models.tensor_classifier(tmp_path / "m.onnx", zipmap=zipmap)
    loaded = load(path, label="candidate", source="m.onnx", fmt="onnx")
    onnx_model = loaded.obj
    assert isinstance(onnx_model, OnnxClassifier)
    assert onnx_model.classes_.tolist() == model.classes_.tolist() == [0, 1]
    assert onnx_model.n_features_in_ == 5
    frame = dataset(500, seed=7)
    # A plain float64 matrix (what evaluation passes for numeric features) and a DataFrame.
    for x in (frame[FEATURES].to_numpy(), frame[FEATURES]):
        proba = onnx_model.predict_proba(x)
        assert proba.dtype == np.float64 and proba.shape == (500, 2)
        np.testing.assert_allclose(proba, model.predict_proba(frame[FEATURES]), atol=1e-5)
        sure = np.abs(proba[:, 1] - 0.5) > 1e-3  # float32 may flip a row at exactly 0.5
        assert (onnx_model.predict(x)[sure] == model.predict(frame[FEATURES])[sure]).all()


def test_a_zipmap_list_of_dicts_reads_as_the_probability_columns(tmp_path: Path) -> None:
    """champion exposes the tensor a ZipMap reads (faster); a graph that keeps its weights in
    external files keeps its ZipMap, whose dicts are read as the columns, in class order."""
    import onnxruntime

    path, model = onnx_models.tensor_classifier(tmp_path / "m.onnx", zipmap=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    kept = OnnxClassifier(session, "m.onnx", "output_label", "output_probability", True, [0, 1])
    x = dataset(300, seed=3)[FEATURES]
    np.testing.assert_allclose(kept.predict_proba(x), model.predict_proba(x), atol=1e-5)
    unzipped = load(path, label="candidate", source="m.onnx", fmt="onnx").obj
    assert unzipped._scores != "output_probability"  # the ZipMap's input, not its output
    np.testing.assert_array_equal(unzipped.predict_proba(x), kept.predict_proba(x))
    swapped = OnnxClassifier(session, "m.onnx", "output_label", "output_probability", True, [1, 0])
    with pytest.raises(OnnxError, match="ZipMap's classes"):
        swapped.predict_proba(x)


def test_an_onnx_champion_and_candidate_are_evaluated_with_their_real_predictions(
    tmp_path: Path, capsys: Capsys
) -> None:
    """The champion (ZipMap) is fetched at its tag's commit, the candidate (a tensor of
    probabilities) read from the working tree: both formats inferred from `.onnx`."""
    repo = project(tmp_path)
    _, weak = onnx_models.tensor_classifier(
        repo.path / "models/churn.onnx", zipmap=True, kind="weak"
    )
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "weak onnx champion")
    assert run_cli(capsys, repo.path, "register", "churn", "--version", "0.1.0").code == 0
    assert run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod").code == 0
    _, good = onnx_models.tensor_classifier(repo.path / "models/churn.onnx", zipmap=False)

    code, report, text = evaluate(capsys, repo)
    assert code == 0, text
    assert report["format"] == "onnx" and report["champion"]["format"] == "onnx"
    frame = pd.read_csv(repo.path / "data/eval.csv")
    y = frame["target"]
    expected = {
        "candidate": roc_auc_score(y, good.predict_proba(frame[FEATURES])[:, 1]),
        "champion": roc_auc_score(y, weak.predict_proba(frame[FEATURES])[:, 1]),
    }
    for who, value in expected.items():
        assert metric(report, "roc_auc", who) == pytest.approx(value, abs=1e-5), who


def test_inputs_named_after_columns_get_each_column_by_name(tmp_path: Path, capsys: Capsys) -> None:
    """A pipeline over numeric and string columns, one ONNX input per column: the file's column
    order differs from the graph's inputs, and a column the model does not use is ignored."""
    repo = project(tmp_path)
    frame = dataset(3000, seed=1)
    frame["plan"] = np.where(frame["f2"] > 0.3, "pro", "basic")
    frame = frame.drop(columns=["region"])
    _, pipeline = onnx_models.per_column_classifier(
        repo.path / "models/churn.onnx", frame[[*FEATURES, "plan", "target"]], "target"
    )
    evaluation = dataset(1500, seed=2)
    evaluation["plan"] = np.where(evaluation["f2"] > 0.3, "pro", "basic")
    evaluation = evaluation[["plan", "target", "region", *reversed(FEATURES)]]
    evaluation.to_csv(repo.path / "data/eval.csv", index=False)

    loaded = load(repo.path / "models/churn.onnx", label="candidate", source="x", fmt="onnx")
    assert loaded.obj.feature_names_in_.tolist() == [*FEATURES, "plan"]
    code, report, text = evaluate(capsys, repo)
    assert code == 0, text
    read = pd.read_csv(repo.path / "data/eval.csv")
    expected = roc_auc_score(read["target"], pipeline.predict_proba(read)[:, 1])
    assert metric(report, "roc_auc") == pytest.approx(expected, abs=1e-5)


def test_a_single_input_fed_the_wrong_number_of_columns_exits_2_naming_both_counts(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = project(tmp_path)
    onnx_models.tensor_classifier(repo.path / "models/churn.onnx", zipmap=True)
    write_eval(repo.path / "data/eval.csv", extra=1.0)  # a sixth feature column
    code, report, text = evaluate(capsys, repo)
    assert code == 2 and report is None, text
    assert "candidate models/churn.onnx expects 5 features" in text
    assert "6 feature columns" in text
    assert "Traceback" not in text


def test_the_adapter_itself_refuses_a_wrong_count(tmp_path: Path) -> None:
    path, _ = onnx_models.tensor_classifier(tmp_path / "m.onnx", zipmap=False)
    model = load(path, label="artifact", source="m.onnx", fmt="onnx").obj
    with pytest.raises(OnnxError, match=r"artifact m\.onnx takes 5 features, but was given 3"):
        model.predict_proba(np.zeros((4, 3)))


def test_an_onnx_regressor(tmp_path: Path, capsys: Capsys) -> None:
    config = CONFIG.replace("target: target, slices: [region]}}", "target: y}}").replace(
        "[roc_auc, accuracy, log_loss]", "[mae, rmse]"
    )
    config = config.replace("roc_auc: {{max_regression: 0.05}}", "mae: {{max_regression: 1}}")
    repo = project(tmp_path, config=config)
    train_frame = dataset(2000, seed=1).assign(y=lambda f: 3 * f["f0"] - f["f1"])
    _, model = onnx_models.regressor(repo.path / "models/churn.onnx", train_frame, "y")
    evaluation = dataset(800, seed=2).assign(y=lambda f: 3 * f["f0"] - f["f1"])
    evaluation[[*FEATURES, "y"]].to_csv(repo.path / "data/eval.csv", index=False)

    code, report, text = evaluate(capsys, repo)
    assert code == 0, text
    assert report["task"] == "regression"
    expected = mean_absolute_error(evaluation["y"], model.predict(evaluation[FEATURES].to_numpy()))
    assert metric(report, "mae") == pytest.approx(expected, rel=1e-4)


def test_without_onnxruntime_the_error_names_the_install_command(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = project(tmp_path)
    onnx_models.tensor_classifier(repo.path / "models/churn.onnx", zipmap=True)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    code, _, text = evaluate(capsys, repo)
    assert code == 2, text
    assert "install onnxruntime" in text and "pip install 'champion[onnx]'" in text


def test_an_unknown_suffix_without_format_is_never_guessed(tmp_path: Path, capsys: Capsys) -> None:
    repo = project(tmp_path, path="models/churn.model")
    save(train("good"), repo.path / "models/churn.model")  # a joblib file: champion must not guess
    code, report, text = evaluate(capsys, repo)
    assert code == 2 and report is None, text
    assert "cannot tell its format" in text
    assert "set format:" in text and "joblib, pickle, skops, onnx, metrics" in text
    # Declared, it loads.
    config = (repo.path / "champion.yaml").read_text()
    (repo.path / "champion.yaml").write_text(
        config.replace("path: models/churn.model", "path: models/churn.model\n    format: joblib")
    )
    code, report, text = evaluate(capsys, repo)
    assert code == 0, text
    assert report["format"] == "joblib"


def test_a_corrupt_onnx_file_exits_2(tmp_path: Path, capsys: Capsys) -> None:
    repo = project(tmp_path)
    (repo.path / "models").mkdir()
    (repo.path / "models/churn.onnx").write_bytes(b"not a protobuf at all" * 10)
    code, _, text = evaluate(capsys, repo)
    assert code == 2, text
    assert "candidate models/churn.onnx cannot be loaded as ONNX" in text


def test_a_folder_loads_as_onnx_only_when_declared_and_holding_one_graph(
    tmp_path: Path, capsys: Capsys
) -> None:
    config = CONFIG.replace("    path: {path}\n", "    path: {path}\n    format: onnx\n")
    repo = project(tmp_path, path="models/churn", config=config)
    _, model = onnx_models.tensor_classifier(repo.path / "models/churn/graph.onnx", zipmap=True)
    (repo.path / "models/churn/README.md").write_text("exported by skl2onnx\n")
    code, report, text = evaluate(capsys, repo)
    assert code == 0, text
    frame = pd.read_csv(repo.path / "data/eval.csv")
    expected = roc_auc_score(frame["target"], model.predict_proba(frame[FEATURES])[:, 1])
    assert metric(report, "roc_auc") == pytest.approx(expected, abs=1e-5)
    # Without format: onnx (and without a loader), a folder is not guessed at.
    (repo.path / "champion.yaml").write_text(CONFIG.format(path="models/churn"))
    code, report, text = evaluate(capsys, repo)
    assert code == 2 and report is None, text
    assert "candidate models/churn is a folder: champion loads a folder only through" in text
    assert "loader: 'module:function'" in text

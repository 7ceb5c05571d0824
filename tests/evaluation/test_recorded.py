"""The champion's predictions recorded at its release, used by `evaluate` while the evaluation
data is unchanged and they verify; the library versions recorded with them (issue 12)."""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.svm import LinearSVC

from champion.evaluation import environment, recorded
from champion.evaluation.data import DataSpec, Reader
from champion.evaluation.predict import evaluate_rows, feature_plan
from champion.evaluation.report import read_report
from champion.project import open_project
from champion.registry import Version
from testing.models import FEATURES, dataset, save, train, write_eval
from testing.releases import dvc, released, tag_metadata
from testing.repos import Repo, git, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]
MODEL = "models/churn.joblib"
CONFIG = """\
stages: [staging, prod]
models:
  churn:
    path: {path}
    data: {{path: data/eval.csv, target: target, slices: [region]}}
    metrics: [{metrics}]
    stats: {{resamples: 200}}
    gate:
      roc_auc: {{max_regression: 0.05}}
      slices: {{min_size: 100, rules: {{roc_auc: {{max_regression: 0.1}}}}}}
"""
METRICS = "roc_auc, accuracy, f1, log_loss, brier, size_bytes"


def project(tmp_path: Path, champion: Any, metrics: str = METRICS, path: str = MODEL) -> Repo:
    repo = make_repo(tmp_path, CONFIG.format(metrics=metrics, path=path), commit=False)
    save(champion, repo.path / path)
    write_eval(repo.path / "data/eval.csv", n=1500)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "champion")
    repo.git("push", "-q", "origin", "main")
    return repo


def evaluate(capsys: Capsys, repo: Repo, *args: str) -> tuple[int, dict[str, Any] | None, str]:
    out = repo.path.parent / "report.json"
    out.unlink(missing_ok=True)
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(out), *args)
    return result.code, read_report(out) if out.exists() else None, result.out + result.err


def judged(report: dict[str, Any]) -> Any:
    """Everything that depends on the champion's predictions."""
    return {
        "metrics": report["metrics"],
        "slices": report["slices"],
        "gate": report["gate"],
        "signature": report["signature"],
        "suggested": report["suggested"],
    }


def test_a_release_records_its_predictions_and_a_clone_gates_with_them(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = project(tmp_path, train("good"))
    released(capsys, repo, "--push", "--promote", "prod")
    meta = tag_metadata(repo.origin, "churn@v0.1.0")
    record = meta["predictions"]
    eval_sha256 = hashlib.sha256((repo.path / "data/eval.csv").read_bytes()).hexdigest()
    assert record["data_sha256"] == eval_sha256 and record["rows"] == 1500
    assert (
        record["store"] == "git"
        and record["ref"] == f"refs/champion/predictions/{record['sha256']}"
    )
    stored = git(repo.origin, "cat-file", "-p", f"{record['ref']}^{{tree}}")
    assert stored.endswith("\tpredictions.npz")
    import sklearn

    assert meta["model_libraries"]["scikit-learn"] == sklearn.__version__
    assert "numpy" in meta["model_libraries"]
    # A pull request's job: a fresh clone, which has the tags but not the predictions' ref.
    clone = repo.clone(tmp_path / "clone")
    git(clone.path, "fetch", "-q", "--tags", "origin")
    save(train("good", features=["f0", "f1", "f2", "f3"]), clone.path / MODEL)
    code, fast, text = evaluate(capsys, clone)
    assert fast is not None, text
    assert fast["champion"]["predictions"] == {"from": "recorded", "note": None}
    assert fast["champion"]["sha256"] == meta["artifact"]["sha256"]
    code_full, full, _ = evaluate(capsys, clone, "--champion-predictions", "model")
    assert full is not None and full["champion"]["predictions"]["from"] == "model"
    assert code == code_full
    assert judged(fast) == judged(full)  # the same metrics, intervals, slices and verdict
    assert "predict_champion_s" not in fast["timings"] and "predict_champion_s" in full["timings"]


def test_changed_data_or_settings_fall_back_to_the_model_and_say_why(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = project(tmp_path, train("good"))
    released(capsys, repo, "--push", "--promote", "prod")
    save(train("weak"), repo.path / MODEL)
    write_eval(repo.path / "data/eval.csv", n=1400)
    code, report, text = evaluate(capsys, repo)
    assert report is not None, text
    assert report["champion"]["predictions"]["from"] == "model"
    assert "evaluation data changed" in report["champion"]["predictions"]["note"]
    code, report, text = evaluate(capsys, repo, "--champion-predictions", "recorded")
    assert code == 2 and report is None
    assert "recorded predictions cannot be used: the evaluation data changed" in text
    repo.git("checkout", "-q", "data/eval.csv")
    (repo.path / "champion.yaml").write_text(
        CONFIG.format(metrics=METRICS, path=MODEL).replace("slices: [region]", "slices: []")
    )
    code, report, text = evaluate(capsys, repo)
    assert report is not None, text
    assert (
        "settings (data.dtypes, target, weight or slices) changed"
        in (report["champion"]["predictions"]["note"])
    )


def test_predictions_that_do_not_verify_are_not_used(tmp_path: Path, capsys: Capsys) -> None:
    repo = project(tmp_path, train("good"))
    released(capsys, repo, "--push", "--promote", "prod")
    ref = tag_metadata(repo.origin, "churn@v0.1.0")["predictions"]["ref"]
    # Someone rewrote the ref, in this clone and on the origin, with other predictions.
    other = repo.path.parent / "other.npz"
    other.write_bytes(b"not the recorded predictions")
    blob = repo.git("hash-object", "-w", str(other))
    tree = git(repo.path, "mktree", input=f"100644 blob {blob}\tpredictions.npz\n")
    commit = repo.git("commit-tree", tree, "-m", "forged")
    repo.git("update-ref", ref, commit)
    repo.git("push", "-q", "--force", "origin", f"{ref}:{ref}")
    save(train("weak"), repo.path / MODEL)
    _code, report, text = evaluate(capsys, repo)
    assert report is not None, text
    assert report["champion"]["predictions"]["from"] == "model"
    assert "does not match the sha256 its tag records" in report["champion"]["predictions"]["note"]


def test_a_champion_whose_pickle_no_longer_loads_is_gated_from_its_predictions(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The team's package that the champion's class came from was renamed since its release:
    its pickle cannot be loaded in the pull request's environment."""
    package = tmp_path / "site"
    package.mkdir()
    (package / "churnlib.py").write_text(
        "from sklearn.linear_model import LogisticRegression\n\n\n"
        "class ChurnModel(LogisticRegression):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(package))
    churnlib = importlib.import_module("churnlib")
    frame = dataset(3000, seed=1)
    champion = churnlib.ChurnModel(max_iter=1000).fit(frame[FEATURES], frame["target"])
    repo = project(tmp_path, champion, metrics=METRICS + ", latency_p95_ms")
    released(capsys, repo, "--push", "--promote", "prod")
    (package / "churnlib.py").unlink()
    monkeypatch.delitem(sys.modules, "churnlib")
    importlib.invalidate_caches()
    save(train("good"), repo.path / MODEL)
    code, report, text = evaluate(capsys, repo)
    assert report is not None, text
    assert report["champion"]["predictions"]["from"] == "recorded"
    assert "cannot be loaded here" in report["champion"]["predictions"]["note"]
    metrics = {m["name"]: m for m in report["metrics"]}
    assert metrics["roc_auc"]["champion"] is not None  # gated on the recorded predictions
    assert metrics["latency_p95_ms"]["champion"] is None
    assert "latency is not measured" in metrics["latency_p95_ms"]["note"]
    assert report["gate"]["verdict"] in ("passed", "failed")
    code, report, text = evaluate(capsys, repo, "--champion-predictions", "model")
    assert code == 2 and report is None
    assert "churnlib" in text


# The pickle of a model from scikit-learn 1.3, whose private module 1.4 removed: what loading an
# old champion in an upgraded environment fails with.
OLD_PICKLE = b"\x80\x02csklearn.ensemble._gb_losses\nBinomialDeviance\nq\x00)\x81q\x01."


def test_a_version_mismatch_names_the_library_and_both_versions(
    tmp_path: Path, capsys: Capsys
) -> None:
    import sklearn

    repo = project(tmp_path, train("good"))
    (repo.path / MODEL).write_bytes(OLD_PICKLE)
    repo.git("commit", "-qam", "a model trained with scikit-learn 1.3.2")
    proj = open_project(repo.path)
    artifact = {
        "path": MODEL,
        "sha256": hashlib.sha256(OLD_PICKLE).hexdigest(),
        "size": len(OLD_PICKLE),
        "tracked_by": "git",
    }
    libraries = {"numpy": np.__version__, "scikit-learn": "1.3.2"}
    proj.registry.register(
        "churn",
        repo.git("rev-parse", "HEAD"),
        version=Version.parse("0.1.0"),
        metadata={"artifact": artifact, "model_libraries": libraries},
        promote="prod",
    )
    save(train("good"), repo.path / MODEL)
    code, report, text = evaluate(capsys, repo)
    assert code == 2 and report is None
    assert "sklearn.ensemble._gb_losses" in text
    assert f"scikit-learn 1.3.2 when registered, {sklearn.__version__} here" in text
    assert "pip install 'scikit-learn==1.3.2'" in text
    described = text.split("mismatch:")[1].split(". Install")[0]
    assert "numpy" not in described  # numpy did not change


def test_model_libraries_name_the_distributions_a_model_comes_from() -> None:
    import lightgbm

    frame = dataset(300, seed=1)
    model = lightgbm.LGBMClassifier(n_estimators=3, verbose=-1).fit(
        frame[FEATURES], frame["target"]
    )
    found = environment.model_libraries(model)
    assert found["lightgbm"] == lightgbm.__version__
    assert {"numpy", "scikit-learn"} <= set(found)
    assert not {"builtins", "collections", "copyreg"} & set(found)


def test_a_dvc_tracked_champion_keeps_its_predictions_in_the_dvc_remote(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = project(tmp_path, train("good"))
    dvc(repo, "init", "-q")
    remote = tmp_path / "dvc-remote"
    dvc(repo, "remote", "add", "-d", "local", str(remote))
    repo.git("rm", "-q", "--cached", MODEL)
    dvc(repo, "add", "-q", MODEL)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "champion in DVC")
    repo.git("push", "-q", "origin", "main")
    released(capsys, repo, "--push", "--promote", "prod")
    record = tag_metadata(repo.origin, "churn@v0.1.0")["predictions"]
    assert record["store"] == "dvc"
    md5 = record["md5"]
    assert (remote / "files" / "md5" / md5[:2] / md5[2:]).is_file()
    # A pull request's machine: no DVC cache, only the remote.
    clone = repo.clone(tmp_path / "clone")
    git(clone.path, "fetch", "-q", "--tags", "origin")
    save(train("good", features=["f0", "f1", "f2", "f3"]), clone.path / MODEL)
    _code, fast, text = evaluate(capsys, clone)
    assert fast is not None, text
    assert fast["champion"]["predictions"] == {"from": "recorded", "note": None}
    _, full, _ = evaluate(capsys, clone, "--champion-predictions", "model")
    assert full is not None and judged(fast) == judged(full)


def _write_and_read(outputs: recorded.Outputs, path: Path) -> recorded.Outputs:
    sha256, size = recorded.write(outputs, path)
    data = path.read_bytes()
    assert (hashlib.sha256(data).hexdigest(), len(data)) == (sha256, size)
    assert recorded.write(outputs, path.with_suffix(".again")) == (sha256, size)  # deterministic
    return recorded.read(data, outputs.rows)


@pytest.mark.parametrize(
    ("name", "make", "task"),
    [
        ("two classes", lambda x, y: LogisticRegression(max_iter=500).fit(x, y), "classification"),
        ("three classes", lambda x, y: GaussianNB().fit(x, y % 3), "classification"),
        ("strings", lambda x, y: GaussianNB().fit(x, np.where(y, "yes", "no")), "classification"),
        ("decision function", lambda x, y: LinearSVC().fit(x, y), "classification"),
        ("regression", lambda x, y: LinearRegression().fit(x, y), "regression"),
    ],
)
def test_recorded_outputs_stand_in_for_the_model_exactly(
    tmp_path: Path, name: str, make: Any, task: str
) -> None:
    frame = dataset(2000, seed=2)
    frame["target"] = frame["target"] + (frame["f0"] > 1).astype(int)  # three values
    if name in ("two classes", "decision function"):
        frame["target"] = frame["target"].clip(0, 1)
    if name == "strings":
        frame["target"] = np.where(frame["target"] > 0, "yes", "no")
    path = tmp_path / "eval.csv"
    frame.to_csv(path, index=False)
    train_frame = dataset(2000, seed=1)
    model = make(train_frame[FEATURES], train_frame["target"].to_numpy())
    candidate = (
        LogisticRegression(max_iter=500).fit(
            train_frame[FEATURES], pd.Series(frame["target"].to_numpy()[:2000])
        )
        if task == "classification"
        else LinearRegression().fit(train_frame[FEATURES], frame["f1"])
    )

    def run(recorded_outputs: recorded.Outputs | None) -> Any:
        reader = Reader(DataSpec(path, "target"), chunk_bytes=16 << 10)
        plans = [feature_plan(m, reader, "m", task) for m in (candidate, model)]
        champion = None if recorded_outputs is not None else (model, plans[1])
        return evaluate_rows(
            reader, task, (candidate, plans[0]), champion, recorded=recorded_outputs
        )

    full = run(None)
    outputs = _write_and_read(full.raw["champion"], tmp_path / "p.npz")
    fast = run(outputs)
    for field in ("labels", "proba", "score", "values"):
        a, b = getattr(full.champion, field), getattr(fast.champion, field)
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(full.truth.y, fast.truth.y)
    assert full.truth.classes == fast.truth.classes


def test_json_of_the_meta_is_sorted_and_versioned(tmp_path: Path) -> None:
    outputs = recorded.Outputs("regression", "predict", None, None, np.arange(3.0), 3)
    recorded.write(outputs, tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz", allow_pickle=False) as npz:
        assert json.loads(str(npz["meta"]))["format"] == recorded.FORMAT

"""Where the two models come from: a DVC remote at a git revision, skops files, metrics files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from champion.evaluation.report import read_report
from testing.models import save, train, write_eval
from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]


def dvc(repo: Repo, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=repo.path,
        check=True,
        capture_output=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )


def test_champion_is_read_from_the_dvc_remote_at_its_revision(
    tmp_path: Path, capsys: Capsys
) -> None:
    config = "models:\n  churn:\n    path: models/churn.joblib\n    data: {path: data/eval.csv, target: target}\n"
    repo = make_repo(tmp_path, config, commit=False)
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "local", str(tmp_path / "dvc-remote"))
    save(train("good"), repo.path / "models/churn.joblib")
    write_eval(repo.path / "data/eval.csv")
    dvc(repo, "add", "-q", "models/churn.joblib")
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "champion in DVC")
    dvc(repo, "push", "-q")
    assert run_cli(capsys, repo.path, "register", "churn").code == 0
    assert run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod").code == 0
    versions = json.loads(run_cli(capsys, repo.path, "versions", "churn", "--json").out)
    assert versions["versions"][0]["metadata"]["artifact"]["tracked_by"] == "dvc"
    # Nothing local: the champion's bytes can only come from the DVC remote.
    shutil.rmtree(repo.path / ".dvc" / "cache")
    save(train("weak"), repo.path / "models/churn.joblib")
    out = tmp_path / "report.json"
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(out))
    assert result.code == 0, result.err
    report = read_report(out)
    assert report["champion"]["tag"] == "churn@v0.1.0"
    assert report["champion"]["sha256"] == versions["versions"][0]["metadata"]["artifact"]["sha256"]
    assert report["champion"]["sha256"] != report["candidate"]["sha256"]


SKOPS_CONFIG = """\
models:
  churn:
    path: models/churn.skops
    format: skops
    data: {path: data/eval.csv, target: target}
"""


def test_skops_loads_only_trusted_types(tmp_path: Path, capsys: Capsys) -> None:
    import skops.io as sio
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from testing.models import FEATURES, dataset

    repo = make_repo(tmp_path, SKOPS_CONFIG, commit=False)
    write_eval(repo.path / "data/eval.csv")
    (repo.path / "models").mkdir()
    sio.dump(train("good"), repo.path / "models/churn.skops")
    out = tmp_path / "report.json"
    assert run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(out)).code == 0
    assert read_report(out)["format"] == "skops"
    # numpy.negative inside a FunctionTransformer is a type skops does not trust by default.
    frame = dataset(500)
    risky = make_pipeline(FunctionTransformer(func=abs), train("good")).fit(
        frame[FEATURES], frame["target"]
    )
    sio.dump(risky, repo.path / "models/churn.skops")
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(out))
    assert result.code == 2
    assert "not trusted" in result.err and "builtins.abs" in result.err
    (repo.path / "champion.yaml").write_text(SKOPS_CONFIG + "    trusted_types: [builtins.abs]\n")
    assert run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(out)).code == 0


METRICS_CONFIG = """\
models:
  llm:
    path: eval/metrics.json
    format: metrics
    metrics: [{name: eval.rouge, direction: higher}, {name: eval.toxicity, direction: lower}, roc_auc]
    gate:
      eval.rouge: {max_regression: 0.01}
      eval.toxicity: {max: 0.05}
"""


def test_metrics_only_mode_gates_models_champion_cannot_load(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = make_repo(tmp_path, METRICS_CONFIG, commit=False)
    metrics = repo.path / "eval" / "metrics.json"
    metrics.parent.mkdir()
    metrics.write_text(json.dumps({"eval": {"rouge": 0.41, "toxicity": 0.02}, "roc_auc": 0.8}))
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "baseline metrics")
    assert run_cli(capsys, repo.path, "register", "llm").code == 0
    assert run_cli(capsys, repo.path, "promote", "llm", "0.1.0", "--stage", "prod").code == 0
    metrics.write_text(json.dumps({"eval": {"rouge": 0.38, "toxicity": 0.07}, "roc_auc": 0.85}))
    out = tmp_path / "report.json"
    result = run_cli(capsys, repo.path, "evaluate", "llm", "--out", str(out))
    assert result.code == 1, result.err
    report = read_report(out)
    assert report["data"] is None and report["format"] == "metrics"
    values = {m["name"]: m for m in report["metrics"]}
    assert values["eval.rouge"]["delta"] == pytest.approx(-0.03)
    assert values["eval.toxicity"]["direction"] == "lower"
    assert values["roc_auc"]["direction"] == "higher"
    assert {f["metric"] for f in report["gate"]["findings"] if f["verdict"] == "fail"} == {
        "eval.rouge",
        "eval.toxicity",
    }


def test_custom_metric_from_a_module(tmp_path: Path, capsys: Capsys) -> None:
    config = (
        "models:\n  churn:\n    path: models/churn.joblib\n"
        "    data: {path: data/eval.csv, target: target}\n"
        "    metrics: [accuracy, {name: pos_score, function: 'testing.custom_metrics:mean_positive_score',"
        " direction: higher, input: proba}]\n"
        "    gate: {pos_score: {min: 0.5}}\n"
    )
    repo = make_repo(tmp_path, config, commit=False)
    save(train("good"), repo.path / "models/churn.joblib")
    write_eval(repo.path / "data/eval.csv")
    out = tmp_path / "report.json"
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(out))
    assert result.code == 0, result.err
    [custom] = [m for m in read_report(out)["metrics"] if m["name"] == "pos_score"]
    assert 0.5 < custom["candidate"] < 1
    assert custom["verdict"] == "pass"
    broken = config.replace("mean_positive_score", "no_such_function")
    (repo.path / "champion.yaml").write_text(broken)
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(out))
    assert result.code == 2
    assert "no_such_function" in result.err


def test_metrics_only_needs_a_direction_for_unknown_names(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(
        tmp_path,
        METRICS_CONFIG.replace("{name: eval.rouge, direction: higher}", "eval.rouge"),
        commit=False,
    )
    (repo.path / "eval").mkdir()
    (repo.path / "eval" / "metrics.json").write_text(
        '{"eval": {"rouge": 0.4, "toxicity": 0.01}, "roc_auc": 0.8}'
    )
    result = run_cli(capsys, repo.path, "evaluate", "llm", "--out", str(tmp_path / "r.json"))
    assert result.code == 2
    assert "metric 'eval.rouge' has no known direction" in result.err

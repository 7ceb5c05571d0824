"""`champion release --bump auto` with real scikit-learn models: the bump comes from a fresh
evaluation against the latest version, or from `--report` when it is about this very artifact."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sklearn.linear_model import LogisticRegression

from champion.evaluation import run
from testing.models import FEATURES, dataset, save, train, write_eval
from testing.releases import Capsys, released, tag_metadata
from testing.repos import Repo, make_repo, run_cli

CONFIG = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn.joblib
    data: {path: data/eval.csv, target: target}
    metrics: [roc_auc, accuracy]
    stats: {resamples: 100}
    gate:
      roc_auc: {max_regression: 0.01, significance: true}
"""
MODEL = "models/churn.joblib"


def refit(c: float) -> Any:
    """A model with the same signature as `train("good")`, but other bytes."""
    frame = dataset(3000, seed=1)
    return LogisticRegression(C=c, max_iter=1000).fit(frame[FEATURES], frame["target"])


def model_repo(tmp_path: Path, champion: Any) -> Repo:
    repo = make_repo(tmp_path, CONFIG, commit=False)
    save(champion, repo.path / MODEL)
    write_eval(repo.path / "data/eval.csv", n=1500)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "champion")
    return repo


def commit_model(repo: Repo, model: Any, message: str = "retrain") -> str:
    save(model, repo.path / MODEL)
    repo.git("add", MODEL)
    repo.git("commit", "-q", "-m", message)
    return repo.git("rev-parse", "HEAD")


@pytest.mark.parametrize(
    ("champion", "candidate", "version", "bump", "reason"),
    [
        (
            lambda: train("good"),
            lambda: train("good", features=["f0", "f1", "f2", "f3"]),
            "1.0.0",
            "major",
            "feature removed: f4",
        ),
        (
            lambda: train("good"),
            lambda: refit(0.5),
            "0.1.1",
            "patch",
            "no signature change and no significant improvement",
        ),
        (
            lambda: train("noise"),
            lambda: train("good"),
            "0.2.0",
            "minor",
            "roc_auc improved significantly",
        ),
    ],
    ids=["removed-feature-major", "same-signature-patch", "significant-improvement-minor"],
)
def test_auto_bump_from_a_fresh_evaluation(
    tmp_path: Path,
    capsys: Capsys,
    champion: Callable[[], Any],
    candidate: Callable[[], Any],
    version: str,
    bump: str,
    reason: str,
) -> None:
    repo = model_repo(tmp_path, champion())
    first = released(capsys, repo, "--push")
    assert (first["version"], first["bump"]) == ("0.1.0", "initial")
    meta = tag_metadata(repo.origin, "churn@v0.1.0")
    assert meta["bump_reasons"] == ["initial version"]  # each reason once (issue 15.4)
    assert meta["metrics"]["roc_auc"]["champion"] is None
    assert [f["name"] for f in meta["signature"]["features"]] == FEATURES

    commit_model(repo, candidate())
    out = released(capsys, repo, "--push")
    assert (out["version"], out["bump"], out["previous-version"]) == (version, bump, "0.1.0")
    meta = tag_metadata(repo.origin, f"churn@v{version}")
    assert meta["bump"] == bump
    assert reason in meta["bump_reason"] and reason in meta["bump_reasons"]
    assert meta["evaluated_against"] == "0.1.0"
    auc = meta["metrics"]["roc_auc"]
    assert auc["delta"] == pytest.approx(auc["candidate"] - auc["champion"])
    assert len(meta["data"]["sha256"]) == 64 and meta["data"]["path"] == "data/eval.csv"


def test_trailer_wins_over_the_evaluation(tmp_path: Path, capsys: Capsys) -> None:
    repo = model_repo(tmp_path, train("good"))
    released(capsys, repo, "--push")
    commit_model(repo, train("good", features=["f0", "f1", "f2", "f3"]), "x\n\nModel-Bump: patch")
    out = released(capsys, repo, "--push")
    assert (out["version"], out["bump"]) == ("0.1.1", "patch")
    meta = tag_metadata(repo.origin, "churn@v0.1.1")
    # The evaluation still ran: its metrics and reasons are on record next to the trailer's.
    assert meta["bump_reason"] == "commit trailer Model-Bump: patch"
    assert "feature removed: f4" in meta["bump_reasons"]
    assert "roc_auc" in meta["metrics"]


def test_report_is_reused_when_its_candidate_is_the_artifact(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = model_repo(tmp_path, train("good"))
    released(capsys, repo, "--push", "--promote", "prod")
    # The pull request's evaluation, as CI made it before the merge.
    save(train("good", features=["f0", "f1", "f2", "f3"]), repo.path / MODEL)
    report = tmp_path / "report.json"
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(report), "--no-fail")
    assert result.code == 0, result.err
    repo.git("add", MODEL)
    repo.git("commit", "-q", "-m", "drop f4")

    def no_evaluation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report is about this artifact: no evaluation should run")

    monkeypatch.setattr(run, "run", no_evaluation)
    out = released(capsys, repo, "--push", "--report", str(report))
    assert (out["version"], out["bump"]) == ("1.0.0", "major")
    meta = tag_metadata(repo.origin, "churn@v1.0.0")
    assert "feature removed: f4" in meta["bump_reasons"]
    assert set(meta["metrics"]) == {"roc_auc", "accuracy"}


def test_report_about_another_artifact_is_ignored(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = model_repo(tmp_path, train("good"))
    released(capsys, repo, "--push", "--promote", "prod")
    # A report on a candidate that dropped a feature (major) ...
    save(train("good", features=["f0", "f1", "f2", "f3"]), repo.path / MODEL)
    report = tmp_path / "report.json"
    assert (
        run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(report), "--no-fail").code == 0
    )
    # ... but what was merged is another artifact, with the same signature as the champion.
    commit_model(repo, refit(0.5))
    calls = []
    original = run.run

    def counting(*args: Any, **kwargs: Any) -> run.Evaluation:
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(run, "run", counting)
    out = released(capsys, repo, "--push", "--report", str(report))
    assert (out["version"], out["bump"]) == ("0.1.1", "patch")
    assert len(calls) == 1 and calls[0]["baseline"] == "0.1.0"

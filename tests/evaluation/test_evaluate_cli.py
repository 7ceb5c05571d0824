"""`champion evaluate` end to end: real scikit-learn models at real git revisions, real reports."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from champion.evaluation.report import read_report
from testing.models import NaNModel, save, train, write_eval
from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]

CONFIG = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn.joblib
    data: {path: data/eval.csv, target: target, slices: [region]}
    metrics: [roc_auc, accuracy, f1, log_loss, brier, size_bytes]
    stats: {resamples: 500}
    gate:
      roc_auc: {max_regression: 0.01, significance: true}
      accuracy: {min: 0.6}
      slices: {min_size: 100, rules: {roc_auc: {max_regression: 0.05}}}
"""


def champion_repo(tmp_path: Path, config: str = CONFIG) -> Repo:
    repo = make_repo(tmp_path, config, commit=False)
    save(train("good"), repo.path / "models/churn.joblib")
    write_eval(repo.path / "data/eval.csv")
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "champion")
    return repo


def register_and_promote(repo: Repo, capsys: Capsys, version: str = "0.1.0") -> None:
    assert run_cli(capsys, repo.path, "register", "churn", "--version", version).code == 0
    assert run_cli(capsys, repo.path, "promote", "churn", version, "--stage", "prod").code == 0


def evaluate(capsys: Capsys, repo: Repo, *args: str) -> tuple[int, dict[str, object] | None, str]:
    out = repo.path / "report.json"
    out.unlink(missing_ok=True)
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(out), *args)
    report = read_report(out) if out.exists() else None
    return result.code, report, result.out + result.err


def test_initial_version_judges_only_value_rules(tmp_path: Path, capsys: Capsys) -> None:
    repo = champion_repo(tmp_path)
    code, report, text = evaluate(capsys, repo)
    assert code == 0, text
    assert report is not None
    assert report["initial"] is True and report["champion"] is None
    assert report["gate"]["verdict"] == "passed"
    verdicts = {(f["metric"], f["rule"]): f["verdict"] for f in report["gate"]["findings"]}
    assert verdicts[("accuracy", "min")] == "pass"
    assert verdicts[("roc_auc", "policy")] == "skipped"
    assert report["suggested"] == {
        "bump": "minor",
        "from": None,
        "version": "0.1.0",
        "reasons": ["initial version"],
    }
    assert "initial version" in text


def test_candidate_against_the_live_champion(tmp_path: Path, capsys: Capsys) -> None:
    repo = champion_repo(tmp_path)
    register_and_promote(repo, capsys)
    save(train("good", features=["f0", "f1", "f2", "f3"]), repo.path / "models/churn.joblib")
    code, report, text = evaluate(capsys, repo)
    assert report is not None, text
    data = report["data"]
    assert data["rows"] == 2000
    assert len(data["sha256"]) == 64
    champion = report["champion"]
    assert champion["version"] == "0.1.0" and champion["stage"] == "prod"
    assert champion["tag"] == "churn@v0.1.0"
    metrics = {m["name"]: m for m in report["metrics"]}
    auc = metrics["roc_auc"]
    assert auc["delta"] == pytest.approx(auc["candidate"] - auc["champion"])
    assert auc["interval"]["method"] == "delong"
    assert auc["interval"]["low"] <= auc["delta"] <= auc["interval"]["high"]
    assert metrics["accuracy"]["interval"]["method"] == "joint-table-bootstrap"
    assert metrics["log_loss"]["interval"]["method"] == "paired-se"
    assert metrics["size_bytes"]["interval"] is None
    # The candidate dropped a feature: the signature says major, whatever the metrics say.
    assert report["signature"]["bump"] == "major"
    assert "feature removed: f4" in report["signature"]["reasons"]
    if report["gate"]["passed"]:
        assert report["suggested"]["bump"] == "major"
        assert report["suggested"]["version"] == "1.0.0"
    else:  # a failed gate suggests no release, whatever the signature says
        assert report["suggested"]["bump"] == "none"
        assert report["suggested"]["version"] is None
    assert {s["value"] for s in report["slices"]} == {"eu", "us"}
    assert code == (0 if report["gate"]["passed"] else 1)


def test_a_worse_candidate_fails_the_gate_and_no_fail_keeps_exit_0(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = champion_repo(tmp_path)
    register_and_promote(repo, capsys)
    save(train("noise"), repo.path / "models/churn.joblib")
    code, report, text = evaluate(capsys, repo)
    assert code == 1, text
    assert report is not None and report["gate"]["verdict"] == "failed"
    failed = {
        (f["metric"], f["slice"]) for f in report["gate"]["findings"] if f["verdict"] == "fail"
    }
    assert ("roc_auc", None) in failed
    assert ("roc_auc", "region=eu") in failed  # every failure, slices included
    assert "gate failed" in text
    # A failed gate suggests no release at all (issue 15.4), not a bump.
    assert report["suggested"] == {
        "bump": "none",
        "from": "0.1.0",
        "version": None,
        "reasons": ["the gate failed"],
    }
    code, report, _ = evaluate(capsys, repo, "--no-fail")
    assert code == 0
    assert report is not None and report["gate"]["passed"] is False


def test_baseline_by_version_and_by_path(tmp_path: Path, capsys: Capsys) -> None:
    repo = champion_repo(tmp_path)
    register_and_promote(repo, capsys)
    code, report, text = evaluate(capsys, repo, "--baseline", "v0.1.0")
    assert code == 0, text
    assert report is not None and report["champion"]["tag"] == "churn@v0.1.0"
    # Same artifact on both sides: every delta is exactly zero.
    assert all(m["delta"] == 0 for m in report["metrics"] if m["delta"] is not None)
    other = save(train("weak"), tmp_path / "weak.joblib")
    code, report, text = evaluate(capsys, repo, "--baseline", str(other))
    assert report is not None and report["champion"]["version"] is None
    assert report["champion"]["source"] == str(other)


def test_hash_mismatch_refuses_to_load_and_prints_both(tmp_path: Path, capsys: Capsys) -> None:
    repo = champion_repo(tmp_path)
    commit = repo.git("rev-parse", "HEAD")
    body = json.dumps(
        {"schema": 1, "artifact": {"path": "models/churn.joblib", "sha256": "0" * 64}}
    )
    repo.git("tag", "-a", "churn@v0.1.0", commit, "-m", f"Register churn v0.1.0\n\n{body}")
    # promote checks the bytes against the tag first, and refuses (issue 14 item 3) ...
    refused = run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod")
    assert refused.code == 2 and "refusing to promote it" in refused.err
    # ... so the stage tag is written by hand, as another tool could.
    repo.git("tag", "-a", "churn#prod#1", commit, "-m", "Assign churn v0.1.0 to prod")
    code, report, text = evaluate(capsys, repo)
    assert code == 2 and report is None
    assert "sha256 mismatch" in text and "0" * 64 in text


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("missing-target", "no target column 'target'"),
        ("feature-mismatch", "lacks (f4)"),
        ("nan-predictions", "NaN or infinite predictions"),
        ("truncated", "corrupt, truncated"),
        ("empty-data", "has no rows"),
        ("unknown-metric", "unknown metric 'rocauc' (did you mean 'roc_auc'?)"),
        ("no-such-version", "baseline version 9.9.9 of churn does not exist"),
    ],
)
def test_bad_input_exits_2_naming_the_culprit(
    tmp_path: Path, capsys: Capsys, setup: str, needle: str
) -> None:
    config = CONFIG.replace("[roc_auc,", "[rocauc,") if setup == "unknown-metric" else CONFIG
    repo = champion_repo(tmp_path, config)
    register_and_promote(repo, capsys)
    eval_csv = repo.path / "data/eval.csv"
    candidate = repo.path / "models/churn.joblib"
    args: list[str] = []
    if setup == "missing-target":
        eval_csv.write_text(eval_csv.read_text().replace(",target", ",label", 1))
    elif setup == "feature-mismatch":
        frame_text = eval_csv.read_text().replace(",f4,", ",f9,", 1)
        eval_csv.write_text(frame_text)
    elif setup == "nan-predictions":
        with candidate.open("wb") as f:
            pickle.dump(NaNModel().fit([[0, 0, 0, 0, 0]] * 2, [0, 1]), f)
    elif setup == "truncated":
        candidate.write_bytes(candidate.read_bytes()[:100])
    elif setup == "empty-data":
        eval_csv.write_text(eval_csv.read_text().splitlines()[0] + "\n")
    elif setup == "no-such-version":
        args = ["--baseline", "9.9.9"]
    code, report, text = evaluate(capsys, repo, *args)
    assert code == 2, text
    assert needle in text
    assert "Traceback" not in text
    assert report is None


def test_parquet_data_with_weights(tmp_path: Path, capsys: Capsys) -> None:
    config = CONFIG.replace(
        "data/eval.csv, target: target", "data/eval.parquet, target: target, weight: w"
    )
    repo = make_repo(tmp_path, config, commit=False)
    save(train("good"), repo.path / "models/churn.joblib")
    write_eval(repo.path / "data/eval.parquet", w=1.0)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "champion")
    code, report, text = evaluate(capsys, repo)
    assert code == 0, text
    assert report is not None and report["data"]["weight"] == "w"


def test_the_report_records_the_run_that_evaluated(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = champion_repo(tmp_path)
    code, report, text = evaluate(capsys, repo)
    assert report is not None and report["run_url"] is None, text  # not under CI
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/app")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    code, report, text = evaluate(capsys, repo)
    assert code == 0, text
    assert report is not None
    assert report["run_url"] == "https://github.com/octo/app/actions/runs/4242"

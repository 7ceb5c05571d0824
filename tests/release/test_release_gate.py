"""`champion release --promote`: the gate gates (issue 13.1). A version whose gate failed against
the version live in the stage is registered, not promoted, and the release exits 1; an override
(`--allow-failed-gate REASON`) promotes it and the tags say who and why. Real git, real
scikit-learn models, real evaluations."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from responses import matchers
from sklearn.linear_model import LogisticRegression

from champion.evaluation import run
from testing.github import REPO, actions_env, pull_json
from testing.models import FEATURES, dataset, save, train, write_eval
from testing.releases import (
    Capsys,
    origin_tag_objects,
    read_outputs,
    release,
    released,
    status_json,
    tag_metadata,
)
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
    release: {promote: prod}
"""
MODEL = "models/churn.joblib"


@pytest.fixture
def repo(tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """0.1.0 (a good model) released and live in prod."""
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    repo = make_repo(tmp_path, CONFIG, commit=False)
    save(train("good"), repo.path / MODEL)
    write_eval(repo.path / "data/eval.csv", n=1500)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "champion")
    first = released(capsys, repo, "--push")
    assert (first["version"], first["promoted"], first["gate"]) == ("0.1.0", "true", "passed")
    return repo


def refit(c: float) -> Any:
    """A model as good as `train("good")`, with other bytes."""
    frame = dataset(3000, seed=1)
    return LogisticRegression(C=c, max_iter=1000).fit(frame[FEATURES], frame["target"])


def commit_model(repo: Repo, model: Any, message: str = "retrain") -> str:
    save(model, repo.path / MODEL)
    repo.git("add", MODEL)
    repo.git("commit", "-q", "-m", message)
    return repo.git("rev-parse", "HEAD")


def live(capsys: Capsys, repo: Repo) -> str | None:
    stage = status_json(capsys, repo)["models"][0]["stages"]["prod"]
    return None if stage is None else str(stage["version"])


def outputs_of(repo: Repo, *args: str, capsys: Capsys) -> tuple[int, dict[str, str], str]:
    out = repo.path.parent / f"outputs-{len(list(repo.path.parent.glob('outputs-*')))}"
    result = release(capsys, repo, *args, "--github-output", str(out))
    return result.code, read_outputs(out) if out.exists() else {}, result.out + result.err


def test_a_failed_gate_registers_without_promoting_exits_1_and_says_so_everywhere(
    repo: Repo, capsys: Capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    commit_model(repo, train("noise"))
    code, out, text = outputs_of(repo, "--push", capsys=capsys)
    assert code == 1, text
    assert (out["released"], out["version"], out["promoted"], out["gate"]) == (
        "true",
        "0.1.1",
        "false",
        "failed",
    )
    assert "NOT promoted to prod: its gate failed against prod's 0.1.0" in text
    assert "roc_auc" in text and "champion:override-gate" in text
    assert "not promoted, the gate failed" in summary.read_text()
    assert "NOT promoted to prod" in summary.read_text()
    # Registered (main holds it), with the verdict in its metadata; prod did not move.
    assert repo.remote_tags() == ["churn#prod#1", "churn@v0.1.0", "churn@v0.1.1"]
    assert live(capsys, repo) == "0.1.0"
    gate = tag_metadata(repo.origin, "churn@v0.1.1")["gate"]
    assert gate["verdict"] == "failed" and gate["promoted"] is False
    assert (gate["stage"], gate["against"], gate["source"]) == ("prod", "0.1.0", "evaluation")
    assert gate["override"] is None and any("roc_auc" in r for r in gate["reasons"])

    # A rerun is still a failure (never a green "nothing to do"), and writes nothing.
    tags = origin_tag_objects(repo)
    code, out, text = outputs_of(repo, "--push", capsys=capsys)
    assert code == 1, text
    assert out["promoted"] == "false" and out["gate"] == "failed"
    assert origin_tag_objects(repo) == tags

    # The override, on a dispatch of the same release: promoted, and the tags say who and why.
    code, out, text = outputs_of(
        repo, "--push", "--allow-failed-gate", "the old model is worse on new data", capsys=capsys
    )
    assert code == 0, text
    assert out["promoted"] == "true"
    assert live(capsys, repo) == "0.1.1"
    assign = tag_metadata(repo.origin, "churn#prod#3")
    assert assign["gate_override"] == {
        "by": "alice",
        "reason": "the old model is worse on new data",
        "via": "--allow-failed-gate",
    }
    assert (
        assign["reason"] == "gate failed, overridden by alice: the old model is worse on new data"
    )


def test_allow_failed_gate_promotes_a_new_version_and_records_who_and_why(
    repo: Repo, capsys: Capsys
) -> None:
    commit_model(repo, train("noise"))
    code, out, text = outputs_of(repo, "--push", "--allow-failed-gate", "hotfix", capsys=capsys)
    assert code == 0, text
    assert (out["promoted"], out["gate"]) == ("true", "failed")
    assert "although its gate failed" in text and "overridden by alice (hotfix)" in text
    assert live(capsys, repo) == "0.1.1"
    gate = tag_metadata(repo.origin, "churn@v0.1.1")["gate"]
    assert gate["promoted"] is True
    assert gate["override"] == {"by": "alice", "reason": "hotfix", "via": "--allow-failed-gate"}
    assert tag_metadata(repo.origin, "churn#prod#3")["gate_override"]["by"] == "alice"


def test_a_passing_gate_promotes_and_the_override_is_not_recorded(
    repo: Repo, capsys: Capsys
) -> None:
    commit_model(repo, refit(0.5))
    code, out, text = outputs_of(repo, "--push", "--allow-failed-gate", "unused", capsys=capsys)
    assert code == 0, text
    assert (out["promoted"], out["gate"]) == ("true", "passed"), text
    assert "promoted to prod: gate passed against prod's 0.1.0" in text
    assert live(capsys, repo) == "0.1.1"
    gate = tag_metadata(repo.origin, "churn@v0.1.1")["gate"]
    assert (gate["verdict"], gate["promoted"], gate["override"]) == ("passed", True, None)
    assert "gate_override" not in tag_metadata(repo.origin, "churn#prod#3")


@pytest.mark.parametrize(
    ("drop", "why"),
    [
        ("    gate:\n      roc_auc: {max_regression: 0.01, significance: true}\n", "no gate"),
        ("    data: {path: data/eval.csv, target: target}\n", "no evaluation data"),
    ],
    ids=["no-gate", "no-data"],
)
def test_without_a_gate_or_data_it_is_promoted_as_before_and_says_so(
    tmp_path: Path, capsys: Capsys, drop: str, why: str
) -> None:
    repo = make_repo(tmp_path, CONFIG.replace(drop, ""), commit=False)
    save(train("good"), repo.path / MODEL)
    write_eval(repo.path / "data/eval.csv", n=1500)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "champion")
    released(capsys, repo, "--push")
    commit_model(repo, train("noise"))  # would fail any gate
    code, out, text = outputs_of(repo, "--push", capsys=capsys)
    assert code == 0, text
    assert (out["promoted"], out["gate"]) == ("true", "none")
    assert f"promoted to prod without a gate ({why}" in text
    assert live(capsys, repo) == "0.1.1"
    assert tag_metadata(repo.origin, "churn@v0.1.1")["gate"]["verdict"] == "none"


def test_the_pull_requests_report_decides_when_it_judged_this_artifact_against_the_live_version(
    repo: Repo, capsys: Capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save(train("noise"), repo.path / MODEL)
    report = tmp_path / "report.json"
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(report), "--no-fail")
    assert result.code == 0, result.err
    repo.git("add", MODEL)
    repo.git("commit", "-q", "-m", "noise")

    def no_evaluation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report is about this artifact and prod's 0.1.0: no evaluation")

    monkeypatch.setattr(run, "run", no_evaluation)
    code, out, text = outputs_of(repo, "--push", "--report", str(report), capsys=capsys)
    assert code == 1, text
    assert out["gate"] == "failed"
    assert tag_metadata(repo.origin, "churn@v0.1.1")["gate"]["source"] == "the report given"


def test_a_report_against_another_champion_does_not_decide(
    repo: Repo, capsys: Capsys, tmp_path: Path
) -> None:
    # The report judged the candidate against a weak file, not against prod's 0.1.0: it passed.
    weak = save(train("weak"), tmp_path / "weak.joblib")
    save(train("noise"), repo.path / MODEL)
    report = tmp_path / "report.json"
    result = run_cli(
        capsys, repo.path, "evaluate", "churn", "--baseline", str(weak), "--out", str(report)
    )
    assert result.code in (0, 1), result.err
    repo.git("add", MODEL)
    repo.git("commit", "-q", "-m", "noise")
    code, out, text = outputs_of(repo, "--push", "--report", str(report), capsys=capsys)
    assert code == 1, text  # a fresh evaluation against 0.1.0 decided
    assert out["gate"] == "failed"
    assert tag_metadata(repo.origin, "churn@v0.1.1")["gate"]["source"] == "evaluation"
    assert live(capsys, repo) == "0.1.0"


def test_an_empty_override_reason_is_refused_before_anything_is_written(
    repo: Repo, capsys: Capsys
) -> None:
    commit_model(repo, train("noise"))
    tags = origin_tag_objects(repo)
    result = release(capsys, repo, "--push", "--allow-failed-gate", " ")
    assert result.code == 2, result.out + result.err
    assert "--allow-failed-gate needs a reason" in result.err
    assert origin_tag_objects(repo) == tags


# --- the pull request: its override label, and its own report in its run's artifacts ------------

API = "https://api.github.com"
BLOB = "https://blobs.example.net/artifact.zip"


def zipped(report: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(report, "report.json")
    return buffer.getvalue()


@pytest.fixture
def forge(monkeypatch: pytest.MonkeyPatch) -> Iterator[responses.RequestsMock]:
    actions_env(monkeypatch)
    monkeypatch.setenv("GITHUB_ACTOR", "release-bot")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def merged_pull(rsps: responses.RequestsMock, commit: str, labels: list[str]) -> None:
    pull = pull_json(8, REPO, sha="d" * 40, state="closed")
    pull["merged_at"] = "2024-05-01T12:00:00Z"
    pull["labels"] = [{"id": i, "name": name} for i, name in enumerate(labels)]
    rsps.get(f"{API}:443/repos/{REPO}/commits/{commit}/pulls", json=[pull])


def test_the_override_label_promotes_and_records_who_added_it(
    repo: Repo, capsys: Capsys, forge: responses.RequestsMock
) -> None:
    commit = commit_model(repo, train("noise"))
    merged_pull(forge, commit, ["champion:override-gate"])
    forge.get(
        f"{API}:443/repos/{REPO}/issues/8/events",
        json=[
            {"id": 1, "event": "labeled", "actor": {"login": "mallory"}, "label": {"name": "bug"}},
            {
                "id": 2,
                "event": "labeled",
                "actor": {"login": "carol"},
                "label": {"name": "champion:override-gate"},
            },
        ],
    )
    code, out, text = outputs_of(repo, "--push", capsys=capsys)
    assert code == 0, text
    assert (out["promoted"], out["gate"]) == ("true", "failed")
    assert live(capsys, repo) == "0.1.1"
    via = "label champion:override-gate on pull request #8"
    gate = tag_metadata(repo.origin, "churn@v0.1.1")["gate"]
    assert gate["override"] == {"by": "carol", "reason": via, "via": via}
    assert tag_metadata(repo.origin, "churn#prod#3")["gate_override"]["by"] == "carol"


def test_the_pull_requests_report_is_read_from_its_runs_artifacts(
    repo: Repo,
    capsys: Capsys,
    forge: responses.RequestsMock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What pr-evaluate.yml uploaded: the evaluation of this very artifact against prod's 0.1.0.
    save(train("noise"), repo.path / MODEL)
    report = tmp_path / "report.json"
    assert (
        run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(report), "--no-fail").code == 0
    )
    commit = commit_model(repo, train("noise"))
    merged_pull(forge, commit, [])
    run_url = f"https://github.com/{REPO}/actions/runs/31"
    forge.get(
        f"{API}:443/repos/{REPO}/actions/runs",
        match=[
            matchers.query_param_matcher(
                {"event": "pull_request", "head_sha": "d" * 40}, strict_match=False
            )
        ],
        json={
            "total_count": 1,
            "workflow_runs": [
                {
                    "id": 31,
                    "html_url": run_url,
                    "url": f"{API}/repos/{REPO}/actions/runs/31",
                    "artifacts_url": f"{API}/repos/{REPO}/actions/runs/31/artifacts",
                }
            ],
        },
    )
    artifact = {"expired": False, "size_in_bytes": 2000}
    forge.get(
        f"{API}:443/repos/{REPO}/actions/runs/31/artifacts",
        json={
            "total_count": 2,
            "artifacts": [
                {**artifact, "id": 1, "name": "champion-report-fraud"},
                {
                    **artifact,
                    "id": 2,
                    "name": "champion-report-churn",
                    "archive_download_url": f"{API}/repos/{REPO}/actions/artifacts/2/zip",
                },
            ],
        },
    )
    # Downloaded with requests itself (no PyGithub port in the URL): the blob store's host is not
    # GitHub's, and PyGithub refuses to follow a redirect there.
    forge.get(f"{API}/repos/{REPO}/actions/artifacts/2/zip", status=302, headers={"Location": BLOB})
    blob = forge.get(BLOB, body=zipped(report), content_type="application/zip")

    def no_evaluation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the pull request's report is about this artifact: no evaluation")

    monkeypatch.setattr(run, "run", no_evaluation)
    code, out, text = outputs_of(repo, "--push", capsys=capsys)
    assert code == 1, text
    assert out["gate"] == "failed" and out["promoted"] == "false"
    meta = tag_metadata(repo.origin, "churn@v0.1.1")
    assert meta["gate"]["source"] == "the report of pull request #8"
    assert meta["evaluation_run_url"] == run_url  # from GitHub's answer, not from the report
    # The token never travels to the blob store GitHub redirects to.
    assert "Authorization" not in blob.calls[0].request.headers


def test_a_build_commits_release_reads_the_labels_of_the_merge_it_was_built_from(
    repo: Repo, capsys: Capsys, forge: responses.RequestsMock
) -> None:
    # CI rebuilt the merged model and committed it on top of the merge: no pull request has that
    # commit, the merge's has the label.
    repo.git("commit", "--allow-empty", "-q", "-m", "Merge #8")
    merge = repo.git("rev-parse", "HEAD")
    save(train("noise"), repo.path / MODEL)
    repo.git("add", MODEL)
    repo.git("commit", "-q", "-m", f"champion build: rebuild churn\n\nChampion-Built-From: {merge}")
    merged_pull(forge, merge, ["champion:override-gate"])
    forge.get(f"{API}:443/repos/{REPO}/issues/8/events", json=[])
    code, out, text = outputs_of(repo, "--push", capsys=capsys)
    assert code == 0, text
    assert out["promoted"] == "true"
    via = "label champion:override-gate on pull request #8"
    assert tag_metadata(repo.origin, "churn@v0.1.1")["gate"]["override"]["via"] == via


def test_a_pull_request_without_evaluation_runs_is_evaluated_afresh(
    repo: Repo, capsys: Capsys, forge: responses.RequestsMock
) -> None:
    commit = commit_model(repo, train("noise"))
    merged_pull(forge, commit, [])
    forge.get(f"{API}:443/repos/{REPO}/actions/runs", json={"total_count": 0, "workflow_runs": []})
    code, out, text = outputs_of(repo, "--push", capsys=capsys)
    assert code == 1, text
    assert out["gate"] == "failed" and "unexpected" not in text
    assert tag_metadata(repo.origin, "churn@v0.1.1")["gate"]["source"] == "evaluation"


def test_promoting_a_version_released_earlier_passes_the_gate_too(
    repo: Repo, capsys: Capsys
) -> None:
    # Released without a stage (no verdict against prod's version recorded), then --promote.
    commit_model(repo, train("noise"))
    out = released(capsys, repo, "--push", "--promote", "staging")
    assert (out["version"], out["promoted"]) == ("0.1.1", "true")  # staging was empty: a patch
    code, out, text = outputs_of(repo, "--push", "--promote", "prod", capsys=capsys)
    assert code == 1, text
    assert (out["released"], out["promoted"], out["gate"]) == ("false", "false", "failed")
    assert "already released as churn@v0.1.1; NOT promoted to prod" in text
    assert live(capsys, repo) == "0.1.0"
    code, out, text = outputs_of(
        repo, "--push", "--promote", "prod", "--allow-failed-gate", "hotfix", capsys=capsys
    )
    assert code == 0, text
    assert out["promoted"] == "true" and live(capsys, repo) == "0.1.1"
    assert tag_metadata(repo.origin, "churn#prod#4")["gate_override"]["reason"] == "hotfix"

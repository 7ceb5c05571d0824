"""Every expected failure: exit 2, one line naming what is at fault, no traceback, no tag written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testing.repos import DEFAULT_CONFIG, Repo, git, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]


def assert_refused(result: object, *needles: str) -> None:
    code, err = result.code, result.err  # type: ignore[attr-defined]
    assert code == 2, err
    assert err.startswith("error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["register", "nope"], ["unknown model 'nope'", "declared models: churn"]),
        (["register", "chrun"], ["did you mean 'churn'?"]),
        (["register", "churn", "--version", "1.2"], ["invalid version '1.2'"]),
        (["register", "churn", "no-such-branch"], ["'no-such-branch' is not a commit"]),
        (["promote", "churn", "0.1.0", "--stage", "prod"], ["churn 0.1.0 is not registered"]),
        (["promote", "churn", "banana", "--stage", "prod"], ["invalid version 'banana'"]),
        (["status", "nope", "--json"], ["unknown model 'nope'"]),
        (["history", "nope"], ["unknown model 'nope'"]),
    ],
)
def test_bad_arguments(repo: Repo, capsys: Capsys, args: list[str], needles: list[str]) -> None:
    assert_refused(run_cli(capsys, repo.path, *args), *needles)
    assert repo.tags() == []


def test_version_already_registered(repo: Repo, capsys: Capsys) -> None:
    run_cli(capsys, repo.path, "register", "churn", "--version", "1.0.0")
    repo.commit_artifact("v2")
    before = repo.tags()
    assert_refused(
        run_cli(capsys, repo.path, "register", "churn", "--version", "v1.0.0"), "already registered"
    )
    assert repo.tags() == before


def test_one_version_per_commit(repo: Repo, capsys: Capsys) -> None:
    run_cli(capsys, repo.path, "register", "churn")
    assert_refused(
        run_cli(capsys, repo.path, "register", "churn", "--bump", "minor"), "one version per model"
    )
    assert repo.tags() == ["churn@v0.1.0"]


def test_stage_not_allowed(repo: Repo, capsys: Capsys) -> None:
    run_cli(capsys, repo.path, "register", "churn")
    assert_refused(
        run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prd"),
        "stage 'prd' is not allowed",
        "did you mean 'prod'?",
    )
    assert repo.tags() == ["churn@v0.1.0"]


def test_artifact_missing_at_the_commit(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, DEFAULT_CONFIG.replace("models/churn.bin", "models/missing.bin"))
    assert_refused(
        run_cli(capsys, repo.path, "register", "churn"), "models/missing.bin is not at commit"
    )
    assert repo.tags() == []


def test_not_a_git_repository(tmp_path: Path, capsys: Capsys) -> None:
    (tmp_path / "champion.yaml").write_text(DEFAULT_CONFIG)
    assert_refused(run_cli(capsys, tmp_path, "status"), "is not a git repository")


def test_a_repository_with_no_commits(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, DEFAULT_CONFIG, commit=False)
    assert_refused(run_cli(capsys, repo.path, "register", "churn"), "has no commits yet")
    assert repo.tags() == []


def test_push_without_a_remote(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path)
    repo.git("remote", "remove", "origin")
    assert_refused(run_cli(capsys, repo.path, "register", "churn", "--push"), "no remote 'origin'")
    assert repo.tags() == []


def test_a_refused_push_leaves_no_local_tag(repo: Repo, capsys: Capsys) -> None:
    hook = repo.origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    result = run_cli(capsys, repo.path, "register", "churn", "--push")
    assert_refused(result, "was refused", "tags are frozen")
    assert repo.tags() == []
    assert repo.remote_tags() == []


@pytest.mark.parametrize(
    ("config", "needles"),
    [
        (
            "models:\n  churn:\n    path: a.bin\n    descripton: x\n",
            ["champion.yaml:4:", "unknown key 'descripton'", "did you mean 'description'?"],
        ),
        ("stagse: [prod]\n", ["champion.yaml:1:", "did you mean 'stages'?"]),
        (
            "models:\n  churn:\n    path: a.bin\n    labels: tabular\n",
            ["champion.yaml:4:", "models.churn.labels must be a list of strings"],
        ),
        (
            "models:\n  churn:\n    path: 3\n",
            ["champion.yaml:3:", "models.churn.path must be a string, got int 3"],
        ),
        ("models:\n  churn:\n    description: x\n", ["champion.yaml:2:", "needs a path"]),
        ("models: [churn]\n", ["champion.yaml:1:", "models must be a mapping"]),
        (
            "models:\n  churn:\n    path: a.bin\n  churn:\n    path: b.bin\n",
            ["champion.yaml:4:", "appears twice"],
        ),
        (
            "models:\n  churn_:\n    path: a.bin\n",
            ["champion.yaml:2:", "invalid model name 'churn_'"],
        ),
        (
            "stages: [staging]\ngate_stage: prod\n",
            ["champion.yaml:2:", "gate_stage 'prod' is not one of stages"],
        ),
        ("first_version: one\n", ["champion.yaml:1:", "invalid version 'one'"]),
        (
            "models:\n  churn:\n    path: a.bin\n    stats: {resamples: 10000000}\n",
            ["champion.yaml:4:", "stats.resamples must be a whole number from 10 to 100000"],
        ),
        (
            "models:\n  churn:\n    path: a.bin\n    stats: {resamples: 0.5}\n",
            ["champion.yaml:4:", "stats.resamples must be a whole number", "got float 0.5"],
        ),
        (
            "models:\n  churn:\n    path: a.bin\n    stats: {confidence: 1}\n",
            ["champion.yaml:4:", "stats.confidence must be a number from 0.5 to 0.999"],
        ),
        (
            "models:\n  churn:\n    path: a.bin\n    stats: {seed: -1}\n",
            ["champion.yaml:4:", "stats.seed must be a whole number from 0"],
        ),
        (
            "models:\n  churn:\n    path: ../outside.bin\n",
            ["champion.yaml:3:", "must be a path inside the repository"],
        ),
        (
            "models:\n  churn:\n    path: a.bin\n    format: keras\n",
            ["champion.yaml:4:", "must be one of joblib, pickle, skops, onnx, metrics"],
        ),
        (
            "models:\n  churn:\n    path: a.bin\n    loader: serving.load\n",
            ["champion.yaml:4:", "loader must be a 'package.module:function' reference"],
        ),
        (
            "models:\n  churn:\n    path: a.bin\n    gate:\n      f1: {minimum: 0.7}\n",
            ["champion.yaml:5:", "unknown key 'minimum'", "did you mean 'min'?"],
        ),
        (
            "models:\n  churn:\n    path: a.bin\n    release: {promote: live}\n",
            ["champion.yaml:4:", "release.promote 'live' is not one of stages"],
        ),
        ("models:\n  churn: {path: a.bin\n", ["champion.yaml:", "invalid YAML"]),
    ],
)
def test_malformed_champion_yaml(
    tmp_path: Path, capsys: Capsys, config: str, needles: list[str]
) -> None:
    repo = make_repo(tmp_path, config=None)
    (repo.path / "champion.yaml").write_text(config)
    assert_refused(run_cli(capsys, repo.path, "register", "churn"), *needles)
    assert repo.tags() == []


def test_no_champion_yaml(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, config=None)
    assert_refused(run_cli(capsys, repo.path, "status"), "no champion.yaml")


def test_usage_errors_exit_2(repo: Repo) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "champion", "promote", "churn", "0.1.0"],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "--stage" in proc.stderr
    assert git(repo.path, "tag", "-l") == ""


def test_a_monorepo_models_short_name_gets_its_dir_name_form(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = make_repo(
        tmp_path,
        "models:\n  models/price:price:\n    path: models/churn.bin\n  fraud:\n    path: x.bin\n",
    )
    result = run_cli(capsys, repo.path, "register", "price")
    assert_refused(result, "unknown model 'price' (did you mean 'models/price:price'?)")
    assert repo.tags() == []
    assert run_cli(capsys, repo.path, "register", "models/price:price").code == 0
    assert repo.tags() == ["models/price=price@v0.1.0"]


def test_without_a_stages_key_the_stages_the_tags_use_are_allowed(
    tmp_path: Path, capsys: Capsys
) -> None:
    # champion.yaml declares models but no stages: (the models must not count as declaring them).
    repo = make_repo(tmp_path, "models:\n  churn:\n    path: models/churn.bin\n")
    assert run_cli(capsys, repo.path, "register", "churn").code == 0
    repo.git(
        "tag", "-a", "churn#dev#1", "-m", "Assign churn v0.1.0 to dev", "churn@v0.1.0^{commit}"
    )
    result = run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "dev")
    assert result.code == 0, result.err
    assert "already live in dev" in result.out

"""`champion build`: the candidate as committed, pulled from the DVC remote, or rebuilt (real git,
real DVC with a local remote, real training commands)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from testing.releases import dvc, read_outputs
from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]

# A "training" script: the artifact is a function of the training data, so rebuilding is visible.
TRAIN = """\
import hashlib, pathlib, sys
data = pathlib.Path("data/train.txt").read_bytes()
pathlib.Path("models").mkdir(exist_ok=True)
pathlib.Path(sys.argv[1]).write_bytes(b"model of " + hashlib.sha256(data).hexdigest().encode())
"""


def write(repo: Repo, path: str, text: str) -> None:
    target = repo.path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def commit(repo: Repo, message: str) -> str:
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", message)
    return repo.git("rev-parse", "HEAD")


def model_of(data: str) -> bytes:
    return b"model of " + hashlib.sha256(data.encode()).hexdigest().encode()


def build(capsys: Capsys, repo: Repo, *args: str) -> dict[str, str]:
    out = repo.path.parent / "github-output"
    out.unlink(missing_ok=True)
    result = run_cli(capsys, repo.path, "build", *args, "--github-output", str(out))
    assert result.code == 0, result.out + result.err
    return read_outputs(out)


def train_repo(tmp_path: Path) -> Repo:
    """A git-tracked artifact with a `train:` command and `inputs:`."""
    config = (
        "models:\n  churn:\n    path: models/churn.bin\n"
        f"    train: {sys.executable} train.py models/churn.bin\n"
        "    inputs: [train.py, data/train.txt]\n"
    )
    repo = make_repo(tmp_path, config, commit=False)
    write(repo, "train.py", TRAIN)
    write(repo, "data/train.txt", "v1")
    (repo.path / "models").mkdir()
    (repo.path / "models/churn.bin").write_bytes(model_of("v1"))
    commit(repo, "v1")
    return repo


def test_a_committed_artifact_is_used_as_it_is(tmp_path: Path, capsys: Capsys) -> None:
    repo = train_repo(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    (repo.path / "models/churn.bin").write_bytes(b"hand-made model")
    write(repo, "data/train.txt", "v2")
    commit(repo, "new data and a model trained elsewhere")
    values = build(capsys, repo, "churn", "--base", base)
    assert values["action"] == "present"
    assert (repo.path / "models/churn.bin").read_bytes() == b"hand-made model"
    assert repo.git("status", "--porcelain") == ""


def test_changed_training_data_rebuilds_with_the_train_command(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = train_repo(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    write(repo, "data/train.txt", "v2")
    head = commit(repo, "new data only")
    values = build(capsys, repo, "churn", "--base", base)
    assert values["action"] == "built"
    assert (repo.path / "models/churn.bin").read_bytes() == model_of("v2")
    assert values["sha256"] == hashlib.sha256(model_of("v2")).hexdigest()
    builds = json.loads(values["builds"])
    assert builds["churn"]["changed"] == ["models/churn.bin"]
    assert values["commit"] == head  # nothing committed without --commit


def test_commit_records_the_rebuilt_artifact_and_push_sends_it(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = train_repo(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    write(repo, "data/train.txt", "v2")
    head = commit(repo, "new data only")
    repo.git("push", "-q", "origin", "main")
    values = build(capsys, repo, "--base", base, "--commit", "--push")
    new = values["commit"]
    assert new != head and repo.git("rev-parse", "HEAD~1") == head
    assert repo.git("show", f"{new}:models/churn.bin").encode() == model_of("v2")
    assert repo.git("--git-dir", str(repo.origin), "rev-parse", "main") == new
    assert "champion build: rebuild churn" in repo.git("log", "-1", "--format=%B")

    # A rerun on the new commit has nothing to rebuild: the artifact changed in its range.
    again = build(capsys, repo, "--commit", "--push")
    assert again["action"] == "present" and again["commit"] == new


def test_unrelated_changes_build_nothing(tmp_path: Path, capsys: Capsys) -> None:
    repo = train_repo(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    write(repo, "README.md", "docs")
    commit(repo, "docs")
    (repo.path / "train.py").write_text("raise SystemExit('must not run')\n")  # uncommitted
    values = build(capsys, repo, "churn", "--base", base)
    assert values["action"] == "present"


def test_a_failing_train_command_exits_2_and_names_the_model(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = train_repo(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    write(repo, "train.py", "raise SystemExit(7)\n")
    commit(repo, "broken training")
    result = run_cli(capsys, repo.path, "build", "churn", "--base", base)
    assert result.code == 2
    assert "the train command of model 'churn'" in result.err
    assert "exit code 7" in result.err


def test_push_without_commit_is_refused(tmp_path: Path, capsys: Capsys) -> None:
    repo = train_repo(tmp_path)
    result = run_cli(capsys, repo.path, "build", "--push")
    assert result.code == 2 and "--push needs --commit" in result.err


def dvc_repo(tmp_path: Path) -> Repo:
    """A DVC pipeline stage outputs the artifact; a local folder is the DVC remote."""
    repo = make_repo(tmp_path, "models:\n  churn:\n    path: models/churn.bin\n", commit=False)
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "local", str(tmp_path / "dvc-remote"))
    write(repo, "train.py", TRAIN)
    write(repo, "data/train.txt", "v1")
    write(
        repo,
        "dvc.yaml",
        "stages:\n  train:\n"
        f"    cmd: {sys.executable} train.py models/churn.bin\n"
        "    deps: [train.py, data/train.txt]\n    outs: [models/churn.bin]\n",
    )
    dvc(repo, "repro", "-q")
    dvc(repo, "push", "-q")
    commit(repo, "pipeline")
    repo.git("push", "-q", "origin", "main")
    return repo


def test_a_dvc_stage_output_is_pulled_when_absent_and_unchanged(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = dvc_repo(tmp_path)
    fresh = repo.clone(tmp_path / "ci")
    assert not (fresh.path / "models/churn.bin").exists()
    values = build(capsys, fresh, "churn")
    assert values["action"] == "pulled"
    assert (fresh.path / "models/churn.bin").read_bytes() == model_of("v1")


def test_a_dvc_stage_whose_deps_changed_is_reproduced_and_committed(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = dvc_repo(tmp_path)
    write(repo, "data/train.txt", "v2")
    commit(repo, "new data, no dvc repro")
    repo.git("push", "-q", "origin", "main")
    fresh = repo.clone(tmp_path / "ci")
    values = build(capsys, fresh, "churn", "--commit", "--push")
    assert values["action"] == "built"
    assert (fresh.path / "models/churn.bin").read_bytes() == model_of("v2")
    assert json.loads(values["builds"])["churn"]["changed"] == ["dvc.lock"]
    # The new dvc.lock is committed and pushed, and the DVC remote holds the new artifact.
    assert fresh.git("status", "--porcelain") == ""
    assert repo.git("--git-dir", str(repo.origin), "rev-parse", "main") == values["commit"]
    shutil.rmtree(fresh.path / ".dvc" / "cache")
    again = repo.clone(tmp_path / "again")
    assert build(capsys, again, "churn")["action"] == "pulled"
    assert (again.path / "models/churn.bin").read_bytes() == model_of("v2")


def test_an_absent_untracked_artifact_names_the_remedy(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, "models:\n  churn:\n    path: models/other.bin\n")
    result = run_cli(capsys, repo.path, "build", "churn")
    assert result.code == 2
    assert "models/other.bin, the artifact of model 'churn'" in result.err
    assert "declare how to build it" in result.err

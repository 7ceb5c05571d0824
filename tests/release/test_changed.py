"""`champion changed`: the models a range of commits touched, for a CI matrix (real git repos)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.releases import read_outputs
from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]

CONFIG = """\
models:
  churn:
    path: models/churn.bin
    data: {path: data/churn.csv, target: y}
    inputs: ["src/churn/**", "features/*.sql"]
  fraud:
    path: models/fraud.bin
    train: python train_fraud.py
"""
DVC_YAML = """\
stages:
  train_fraud:
    cmd: python train_fraud.py
    deps: [train_fraud.py, data/raw]
    params: [fraud.lr]
    outs: [models/fraud.bin]
"""


def setup(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path, CONFIG, commit=False)
    write(repo, "dvc.yaml", DVC_YAML)
    write(repo, "params.yaml", "fraud: {lr: 0.1}\n")
    write(repo, "models/fraud.bin", "f1")
    write(repo, "data/raw/a.csv", "x\n1\n")
    write(repo, "src/churn/features/model.py", "v1")
    commit(repo, "base", "champion.yaml", "models", "data", "src", "dvc.yaml", "params.yaml")
    return repo


def write(repo: Repo, path: str, text: str) -> None:
    target = repo.path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def commit(repo: Repo, message: str, *paths: str) -> str:
    repo.git("add", "--", *(paths or ["."]))
    repo.git("commit", "-q", "-m", message)
    return repo.git("rev-parse", "HEAD")


def changed(capsys: Capsys, repo: Repo, *args: str) -> dict[str, object]:
    result = run_cli(capsys, repo.path, "changed", "--json", *args)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("path", "model", "why"),
    [
        ("models/churn.bin", "churn", "artifact models/churn.bin changed"),
        ("data/churn.csv", "churn", "evaluation data data/churn.csv changed"),
        ("src/churn/features/deep/x.py", "churn", "(inputs: src/churn/**)"),
        ("features/users.sql", "churn", "(inputs: features/*.sql)"),
        ("train_fraud.py", "fraud", "a dep of DVC stage train_fraud"),
        ("data/raw/b.csv", "fraud", "data/raw/b.csv changed (a dep of DVC stage train_fraud)"),
        ("params.yaml", "fraud", "a dep of DVC stage train_fraud"),
        ("models/fraud.bin", "fraud", "artifact models/fraud.bin changed"),
    ],
)
def test_a_change_to_one_input_lists_only_its_model(
    tmp_path: Path, capsys: Capsys, path: str, model: str, why: str
) -> None:
    repo = setup(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    write(repo, path, "changed")
    commit(repo, f"touch {path}")
    data = changed(capsys, repo, "--base", base)
    assert data["models"] == [model]
    reasons = data["reasons"]
    assert isinstance(reasons, dict)
    assert any(why in r for r in reasons[model]), reasons


def test_a_glob_stays_within_one_folder_level(tmp_path: Path, capsys: Capsys) -> None:
    repo = setup(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    write(repo, "features/deeper/users.sql", "x")  # `features/*.sql` does not reach here
    write(repo, "README.md", "docs")
    commit(repo, "unrelated")
    data = changed(capsys, repo, "--base", base)
    assert data["models"] == []


def test_a_section_edit_counts_for_that_model_only(tmp_path: Path, capsys: Capsys) -> None:
    repo = setup(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    write(repo, "champion.yaml", CONFIG.replace("python train_fraud.py", "python train2.py"))
    commit(repo, "new train command")
    data = changed(capsys, repo, "--base", base)
    assert data["models"] == ["fraud"]
    assert data["reasons"] == {"fraud": ["its section of champion.yaml changed"]}

    # A comment, or reformatting, changes the file but no model's section.
    base = repo.git("rev-parse", "HEAD")
    write(repo, "champion.yaml", "# our models\n" + (repo.path / "champion.yaml").read_text())
    commit(repo, "comment")
    assert changed(capsys, repo, "--base", base)["models"] == []


def test_a_new_model_is_changed(tmp_path: Path, capsys: Capsys) -> None:
    repo = setup(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    write(repo, "champion.yaml", CONFIG + "  spam:\n    path: models/spam.bin\n")
    commit(repo, "add spam")
    data = changed(capsys, repo, "--base", base)
    assert data["models"] == ["spam"]
    assert data["reasons"] == {"spam": ["new in champion.yaml"]}


def test_only_the_pull_requests_own_changes_count(tmp_path: Path, capsys: Capsys) -> None:
    """Three dots: main moving on after the branch forked does not make the branch touch it."""
    repo = setup(tmp_path)
    repo.git("checkout", "-q", "-b", "feature")
    write(repo, "src/churn/features/model.py", "v2")
    commit(repo, "feature work")
    repo.git("checkout", "-q", "main")
    write(repo, "train_fraud.py", "main moved")
    commit(repo, "main work")
    data = changed(capsys, repo, "--base", "main", "--head", "feature")
    assert data["models"] == ["churn"]
    assert data["base"] == repo.git("rev-parse", "main")
    assert data["head"] == repo.git("rev-parse", "feature")


def test_default_base_is_the_first_parent(tmp_path: Path, capsys: Capsys) -> None:
    repo = setup(tmp_path)
    write(repo, "models/churn.bin", "v2")
    commit(repo, "retrain churn")
    data = changed(capsys, repo)
    assert data["models"] == ["churn"]
    assert data["base"] == repo.git("rev-parse", "HEAD~1")


def test_a_root_commit_changes_every_model(tmp_path: Path, capsys: Capsys) -> None:
    repo = setup(tmp_path)
    data = changed(capsys, repo)
    assert data["models"] == ["churn", "fraud"]
    assert data["base"] is None


def test_github_output_is_a_matrix_ready_list(tmp_path: Path, capsys: Capsys) -> None:
    repo = setup(tmp_path)
    base = repo.git("rev-parse", "HEAD")
    out = tmp_path / "out"
    result = run_cli(capsys, repo.path, "changed", "--base", base, "--github-output", str(out))
    assert result.code == 0, result.err
    assert "no model changed" in result.out
    assert read_outputs(out) == {"models": "[]", "any": "false", "count": "0"}

    write(repo, "models/churn.bin", "v2")
    write(repo, "train_fraud.py", "v2")
    commit(repo, "both")
    out.unlink()
    result = run_cli(capsys, repo.path, "changed", "--base", base, "--github-output", str(out))
    assert result.code == 0, result.err
    values = read_outputs(out)
    assert json.loads(values["models"]) == ["churn", "fraud"]
    assert values["any"] == "true"


def test_a_bad_ref_names_it_and_exits_2(tmp_path: Path, capsys: Capsys) -> None:
    repo = setup(tmp_path)
    result = run_cli(capsys, repo.path, "changed", "--base", "nope", "--json")
    assert result.code == 2
    assert "'nope' is not a commit" in result.err
    assert result.out == ""


def test_an_inputs_glob_outside_the_repository_is_refused(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, "models:\n  churn:\n    path: m.bin\n    inputs: ['../secrets/*']\n")
    result = run_cli(capsys, repo.path, "changed", "--json")
    assert result.code == 2
    assert "champion.yaml:4" in result.err and "models.churn.inputs.0" in result.err

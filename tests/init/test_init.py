"""`champion init` (issue 17) in real repositories: a fresh one, one with registry tags and a
model in git, one with a DVC pipeline; a rerun that changes nothing; a file the user edited that
init refuses to overwrite (and --force does); and the workflows it writes pass zizmor offline,
with no zizmor config in the repository, and SchemaStore's workflow schema."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from champion.commands.init import init
from champion.config import load_config
from champion.init import discover, plan, render
from testing.models import save, train, write_eval
from testing.repos import Repo, make_repo, run_cli

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKFLOWS = [f".github/workflows/{name}" for name in render.WORKFLOWS.values()]
SHA = "0123456789abcdef0123456789abcdef01234567"


def written(repo: Repo) -> dict[str, str]:
    return {p: (repo.path / p).read_text() for p in ["champion.yaml", *WORKFLOWS]}


def workflow(repo: Repo, name: str) -> dict[str, object]:
    data = yaml.safe_load((repo.path / ".github" / "workflows" / name).read_text())
    assert isinstance(data, dict)
    return data


def release_paths(repo: Repo) -> list[str]:
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    paths = workflow(repo, "champion-release.yml")[True]["push"]["paths"]  # type: ignore[index]
    assert isinstance(paths, list)
    return paths


@pytest.fixture
def fresh(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path, None, commit=False)
    (repo.path / "README.md").write_text("a project\n")
    repo.git("add", "README.md")
    repo.git("commit", "-q", "-m", "start")
    return repo


@pytest.fixture
def tagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Repo:
    """A model in git registered by champion (GTO-compatible tags), an evaluation set beside it
    whose target column is named after the model, and no champion.yaml any more."""
    repo = make_repo(tmp_path, "models:\n  churn:\n    path: models/churn.joblib\n", commit=False)
    save(train("good"), repo.path / "models" / "churn.joblib")
    frame = write_eval(repo.path / "data" / "eval.csv")
    text = frame.read_text().replace("target", "churned", 1)
    frame.write_text(text)
    write_eval(repo.path / "data" / "train.csv")
    (repo.path / "requirements.txt").write_text("scikit-learn\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "model")
    assert run_cli(capsys, repo.path, "register", "churn").code == 0
    repo.git("rm", "-q", "champion.yaml")
    repo.git("commit", "-q", "-m", "champion.yaml goes: init will write it")
    return repo


@pytest.fixture
def pipeline(tmp_path: Path) -> Repo:
    """A DVC pipeline whose stage outputs the model, declared in dvc.yaml's artifacts:, and a
    DVC remote on S3 (the files as DVC writes them; DVC itself need not run for init)."""
    repo = make_repo(tmp_path, None, commit=False)
    (repo.path / ".dvc").mkdir()
    (repo.path / ".dvc" / "config").write_text(
        "[core]\n    remote = store\n['remote \"store\"']\n    url = s3://bucket/dvc\n"
    )
    (repo.path / "dvc.yaml").write_text(
        "stages:\n"
        "  train:\n"
        "    cmd: python src/train.py\n"
        "    deps: [src/train.py, data/train.csv]\n"
        "    params: [train.C]\n"
        "    outs: [models/churn.joblib]\n"
        "artifacts:\n"
        "  churn:\n"
        "    path: models/churn.joblib\n"
        "    type: model\n"
    )
    (repo.path / "src").mkdir()
    (repo.path / "src" / "train.py").write_text("print('train')\n")
    (repo.path / "params.yaml").write_text("train: {C: 1.0}\n")
    write_eval(repo.path / "data" / "train.csv")
    write_eval(repo.path / "data" / "test.csv")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "pipeline")
    return repo


def test_a_fresh_repository_gets_a_champion_yaml_and_the_workflows(
    fresh: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, fresh.path, "init", "--action-repo", "acme/champion")
    assert result.code == 0, result.err
    files = written(fresh)
    assert "created: champion.yaml" in result.out
    assert "no model found" in result.err
    assert load_config(fresh.path).models == {}  # valid, and declares nothing it did not find
    assert "#   path: models/churn.joblib" in files["champion.yaml"]  # commented, an example
    evaluate = workflow(fresh, "champion-evaluate.yml")
    assert evaluate["permissions"] == {"contents": "read"}
    assert evaluate["concurrency"]["cancel-in-progress"] is True  # type: ignore[index]
    release = workflow(fresh, "champion-release.yml")
    assert release["concurrency"] == {"group": "champion-registry", "cancel-in-progress": False}
    for name in WORKFLOWS:
        assert "OWNER" not in files[name] and "@v1\n" not in files[name]
        assert "uses: acme/champion" in files[name]
    # The release of champion that wrote it: its tag, the reason zizmor accepts it inline.
    assert "uses: acme/champion@v0.1.0 # zizmor: ignore[unpinned-uses]" in files[WORKFLOWS[0]]


def test_registry_tags_and_a_model_in_git_are_found_with_their_evaluation_data(
    tagged: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, tagged.path, "init", "--action-repo", "acme/champion")
    assert result.code == 0, result.err
    assert "registry tags already name: churn" in result.out
    spec = load_config(tagged.path).model("churn")
    assert spec.path == "models/churn.joblib"
    # data/eval.csv (a held-out name) over data/train.csv; the column named after the model.
    assert spec.sections["data"] == {"path": "data/eval.csv", "target": "churned"}
    assert spec.sections["gate"] == {"roc_auc": {"max_regression": 0.01, "significance": True}}
    assert spec.promote_to == "prod"
    paths = release_paths(tagged)
    assert {"champion.yaml", "models/churn.joblib", "data/eval.csv", "requirements.txt"} <= set(
        paths
    )
    evaluate = (tagged.path / ".github/workflows/champion-evaluate.yml").read_text()
    assert "          requirements: requirements.txt\n" in evaluate
    # What init wrote works: the live-less model evaluates against its first registration.
    tagged.git("add", "-A")
    tagged.git("commit", "-q", "-m", "champion init")
    save(train("better"), tagged.path / "models" / "churn.joblib")
    report = tagged.path.parent / "report.json"
    result = run_cli(capsys, tagged.path, "evaluate", "churn", "--out", str(report))
    assert result.code == 0, result.err
    assert json.loads(report.read_text())["data"]["target"] == "churned"


def test_tags_gto_wrote_name_the_model_and_its_file_is_matched(
    fresh: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    from testing.tools import run_gto

    save(train("good"), fresh.path / "models" / "fraud.joblib")
    fresh.git("add", "-A")
    fresh.git("commit", "-q", "-m", "model")
    run_gto(fresh.path, "register", "fraud", "--version", "v1.0.0")
    run_gto(fresh.path, "assign", "fraud", "--version", "v1.0.0", "--stage", "prod")
    result = run_cli(capsys, fresh.path, "init", "--action-repo", "acme/champion")
    assert result.code == 0, result.err
    assert "registry tags already name: fraud" in result.out
    assert load_config(fresh.path).model("fraud").path == "models/fraud.joblib"
    # champion reads what GTO wrote: the version live in prod is GTO's.
    status = run_cli(capsys, fresh.path, "status", "--json")
    assert json.loads(status.out)["models"][0]["stages"]["prod"]["version"] == "1.0.0"


def test_a_dvc_pipeline_gives_the_model_its_stage_inputs_and_the_remote(
    pipeline: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, pipeline.path, "init", "--action-repo", "acme/champion")
    assert result.code == 0, result.err
    assert "DVC remotes: store (default: store)" in result.out
    text = (pipeline.path / "champion.yaml").read_text()
    assert "# path: models/churn.joblib, declared in dvc.yaml's artifacts:" in text  # dvc.yaml's
    spec = load_config(pipeline.path).model("churn")
    assert spec.path == "models/churn.joblib"
    assert spec.sections["inputs"] == [
        "src/train.py",
        "data/train.csv",
        "params.yaml",
        "dvc.yaml",
        "dvc.lock",
    ]
    assert spec.sections["data"]["path"] == "data/test.csv"
    paths = release_paths(pipeline)
    for expected in ("src/train.py", "data/train.csv", "params.yaml", "dvc.lock", "**.dvc"):
        assert expected in paths
    # No requirements.txt here: the input is left as a commented example.
    evaluate = (pipeline.path / ".github/workflows/champion-evaluate.yml").read_text()
    assert "# requirements: requirements.txt" in evaluate
    assert "\n          requirements:" not in evaluate
    release = (pipeline.path / ".github/workflows/champion-release.yml").read_text()
    assert "\n          requirements:" not in release


def test_a_second_run_changes_nothing_and_says_so(
    tagged: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, tagged.path, "init", "--action-repo", "acme/champion").code == 0
    before = written(tagged)
    stamps = {p: (tagged.path / p).stat().st_mtime_ns for p in before}
    again = run_cli(capsys, tagged.path, "init", "--action-repo", "acme/champion")
    assert again.code == 0, again.err
    assert "nothing to do" in again.out
    assert written(tagged) == before
    assert {p: (tagged.path / p).stat().st_mtime_ns for p in before} == stamps


def test_an_edited_file_is_never_overwritten_without_force(
    tagged: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, tagged.path, "init", "--action-repo", "acme/champion").code == 0
    edited = tagged.path / ".github/workflows/champion-release.yml"
    mine = edited.read_text().replace("runs-on: ubuntu-latest", "runs-on: self-hosted", 1)
    edited.write_text(mine)
    (tagged.path / ".github/workflows/champion-comment.yml").unlink()

    refused = run_cli(capsys, tagged.path, "init", "--action-repo", "acme/champion")
    assert refused.code == 2
    assert "-    runs-on: self-hosted\n+    runs-on: ubuntu-latest" in refused.err  # the diff
    assert "--force" in refused.err
    assert edited.read_text() == mine
    assert not (tagged.path / ".github/workflows/champion-comment.yml").exists()  # nothing

    forced = run_cli(capsys, tagged.path, "init", "--action-repo", "acme/champion", "--force")
    assert forced.code == 0, forced.err
    assert "overwritten (--force): .github/workflows/champion-release.yml" in forced.out
    assert "runs-on: self-hosted" not in edited.read_text()
    assert (tagged.path / ".github/workflows/champion-comment.yml").exists()


def test_an_edited_champion_yaml_is_kept_and_the_workflows_follow_it(
    tagged: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, tagged.path, "init", "--action-repo", "acme/champion").code == 0
    config = tagged.path / "champion.yaml"
    config.write_text(config.read_text() + "  other:\n    path: models/other.joblib\n")
    result = run_cli(capsys, tagged.path, "init", "--action-repo", "acme/champion")
    assert result.code == 0, result.err
    assert "kept (there already" in result.out
    assert "  other:\n" in config.read_text()
    paths = release_paths(tagged)
    assert "models/other.joblib" in paths  # an unedited workflow follows the user's models


@pytest.mark.parametrize("ref", [None, SHA])
def test_the_workflows_pass_zizmor_offline_without_a_config_and_the_schema(
    pipeline: Repo, capsys: pytest.CaptureFixture[str], ref: str | None
) -> None:
    args = ["init", "--action-repo", "acme/champion"] + (["--action-ref", ref] if ref else [])
    assert run_cli(capsys, pipeline.path, *args).code == 0
    assert (
        not list(pipeline.path.glob("zizmor.y*ml"))
        and not (pipeline.path / ".github" / "zizmor.yml").exists()
    )
    files = [str(pipeline.path / p) for p in WORKFLOWS]
    audit = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-progress", *files],
        cwd=pipeline.path,
        capture_output=True,
        text=True,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "No findings" in audit.stdout + audit.stderr
    schema = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    if ref:
        text = (pipeline.path / WORKFLOWS[0]).read_text()
        assert f"uses: acme/champion@{SHA} # v0.1.0\n" in text
        assert "zizmor: ignore" not in text.split("on:")[1].split("pull_request")[0]


def test_on_a_terminal_init_asks_what_it_cannot_tell(
    tagged: Repo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two data files, neither named eval/test, and no column named like a target.
    (tagged.path / "data" / "eval.csv").rename(tagged.path / "data" / "a.csv")
    frame = (tagged.path / "data" / "a.csv").read_text().replace("churned", "y_next", 1)
    (tagged.path / "data" / "a.csv").write_text(frame)
    monkeypatch.setattr(sys, "stdin", io.StringIO("2\ny_next\n"))
    options = plan.Options(action=render.ActionRef("acme/champion", "v0.1.0", "0.1.0"))
    assert init(str(tagged.path), options, force=False, interactive=True) == 0
    asked = capsys.readouterr().err
    assert "Evaluation data for model churn" in asked and "2. data/a.csv" in asked
    assert "Target column of data/a.csv for model churn" in asked
    data = load_config(tagged.path).model("churn").sections["data"]
    assert data == {"path": "data/a.csv", "target": "y_next"}


def test_not_on_a_terminal_init_never_waits_for_an_answer(
    tagged: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    (tagged.path / "data" / "eval.csv").rename(tagged.path / "data" / "a.csv")
    proc = subprocess.run(
        [sys.executable, "-m", "champion", "init", "--action-repo", "acme/champion"],
        cwd=tagged.path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "which one? data/a.csv, data/train.csv" in proc.stderr
    assert "--data churn=PATH --target churn=COLUMN" in proc.stderr
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "champion",
            "init",
            "--force",
            "--action-repo",
            "acme/champion",
            "--data",
            "data/a.csv",
            "--target",
            "churn=churned",
        ],
        cwd=tagged.path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = load_config(tagged.path).model("churn").sections["data"]
    assert data == {"path": "data/a.csv", "target": "churned"}


def test_a_target_the_data_does_not_have_is_exit_2_naming_it(
    tagged: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, tagged.path, "init", "--target", "churn=nope")
    assert result.code == 2
    assert "data/eval.csv has no column 'nope'" in result.err
    assert not (tagged.path / "champion.yaml").exists()


def test_outside_a_git_repository_init_says_to_git_init(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, tmp_path, "init")
    assert result.code == 2 and "git init" in result.err


def test_the_packaged_workflows_are_the_examples() -> None:
    for example in render.WORKFLOWS:
        packaged = ROOT / "src" / "champion" / "init" / "workflows" / example
        assert packaged.read_text() == (ROOT / "workflows-examples" / example).read_text(), (
            "run make init-workflows"
        )


@pytest.mark.parametrize(
    ("columns", "model", "target"),
    [
        (["f1", "f2", "target"], "churn", "target"),
        (["f1", "Label"], "m", "Label"),
        (["f1", "churned"], "churn", "churned"),
        (["f1", "is_fraud"], "fraud", None),  # not named like it: init asks
        (["label", "target"], "m", None),  # two plausible: init asks
        (["f1", "f2"], "m", None),
    ],
)
def test_guess_target(columns: list[str], model: str, target: str | None) -> None:
    assert discover.guess_target(columns, model) == target


def test_dvc_config_without_dvc() -> None:
    text = (
        "[core]\n    remote = b\n['remote \"a\"']\n    url = /tmp/x\n"
        "['remote \"b\"']\n    url = s3://bucket/p\n"
    )
    assert discover.parse_dvc_config(text) == ({"a": "/tmp/x", "b": "s3://bucket/p"}, "b")
    assert discover.parse_dvc_config("not [ini") == ({}, None)


def test_task_of() -> None:
    assert discover.task_of([0, 1, 1, 0]) == "classification"
    assert discover.task_of(["a", "b"]) == "classification"
    assert discover.task_of([i / 7 for i in range(50)]) == "regression"
    assert discover.task_of(list(range(100))) == "regression"


def test_the_action_comes_from_where_pip_installed_champion() -> None:
    from champion.init.source import Source, from_direct_url

    raw = json.dumps(
        {
            "url": "https://github.com/acme/champion.git",
            "vcs_info": {"vcs": "git", "commit_id": SHA, "requested_revision": "v0.1.0"},
        }
    )
    assert from_direct_url(raw) == Source("acme/champion", SHA)
    local = json.dumps({"url": "file:///src/champion", "dir_info": {"editable": True}})
    assert from_direct_url(local) == Source(None, None)
    assert from_direct_url("") == Source(None, None)

"""Folder artifacts, committed to git or tracked by DVC as a directory: hashed as a manifest of
their files, fetched and verified file by file by evaluate, rollback, publish and LiveModel, and
loaded by the user's own loader."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from champion.runtime import LiveModel, RuntimeLoadError
from testing import folders
from testing.releases import dvc, tag_metadata
from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def _own_serving_module(monkeypatch: pytest.MonkeyPatch) -> None:
    folders.forget_user_code(monkeypatch)


def ok(capsys: Capsys, repo: Repo, *args: str) -> str:
    result = run_cli(capsys, repo.path, *args)
    assert result.code == 0, f"{args}: {result.out}{result.err}"
    return result.out


def refused(capsys: Capsys, repo: Repo, *args: str) -> str:
    result = run_cli(capsys, repo.path, *args)
    assert result.code == 2, f"{args}: {result.out}{result.err}"
    assert "Traceback" not in result.err
    return result.err


def git_project(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path, folders.CONFIG, commit=False)
    folders.set_up(repo.path)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "a model folder")
    repo.git("push", "-q", "origin", "main")
    return repo


def pointers(repo: Repo) -> Path:
    return repo.path.parent / "pointers"


def report(repo: Repo) -> dict[str, Any]:
    data = json.loads((repo.path / "report.json").read_text())
    assert isinstance(data, dict)
    return data


def roc_auc(model: Any, repo: Repo) -> float:
    frame = pd.read_csv(repo.path / "data/eval.csv")
    return float(roc_auc_score(frame["target"], model.predict_proba(frame)[:, 1]))  # type: ignore[attr-defined]


def test_a_git_folder_is_registered_as_the_manifest_of_its_files(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = git_project(tmp_path)
    ok(capsys, repo, "register", "churn", "--version", "0.1.0", "--push")
    meta = tag_metadata(repo.origin, "churn@v0.1.0")["artifact"]
    sha256, files = folders.manifest_sha256(repo.path / "models/churn")
    assert meta["sha256"] == sha256  # not the sha256 of empty input (issue 12)
    assert meta["kind"] == "folder" and meta["tracked_by"] == "git"
    assert meta["files"] == files
    assert [f["path"] for f in files] == [
        "README.md",
        "config.json",
        "weights/coef.npy",
        "weights/latest.npy",  # the symlink inside the folder, read as the file it names
    ]
    assert meta["size"] == sum(int(f["size"]) for f in files) > 0
    # No format: a folder's name names none, and none is recorded, rather than a guess.
    assert "format" not in meta and meta["loader"] == "serving:load"


def test_a_folder_champion_is_fetched_at_its_commit_and_both_load_through_the_loader(
    tmp_path: Path, capsys: Capsys
) -> None:
    """The loader lives in serving.py at the repository root, which is not installed: champion
    makes the root importable, as `python -m` would."""
    repo = git_project(tmp_path)
    ok(capsys, repo, "register", "churn", "--version", "0.1.0")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod")
    champion_dir = tmp_path / "champion-copy"
    shutil.copytree(repo.path / "models/churn", champion_dir, symlinks=True)
    folders.write_model_folder(repo.path / "models/churn", "weak")  # the pull request's candidate

    ok(capsys, repo, "evaluate", "churn", "--out", str(repo.path / "report.json"))
    data = report(repo)
    assert data["loader"] == "serving:load" and data["format"] is None
    assert data["champion"]["tag"] == "churn@v0.1.0"
    assert (
        data["champion"]["sha256"] == tag_metadata(repo.path, "churn@v0.1.0")["artifact"]["sha256"]
    )
    assert data["candidate"]["sha256"] == folders.manifest_sha256(repo.path / "models/churn")[0]
    [auc] = [m for m in data["metrics"] if m["name"] == "roc_auc"]
    assert auc["champion"] == pytest.approx(roc_auc(folders.loaded_model(champion_dir), repo))
    assert auc["candidate"] == pytest.approx(
        roc_auc(folders.loaded_model(repo.path / "models/churn"), repo)
    )
    assert auc["candidate"] != pytest.approx(auc["champion"])


def test_publish_copies_a_git_folder_beside_the_pointer_and_live_model_verifies_each_file(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = git_project(tmp_path)
    ok(capsys, repo, "register", "churn", "--version", "0.1.0", "--push")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    pointer = json.loads((pointers(repo) / "prod.json").read_text())
    artifact = pointer["artifact"]
    sha256, files = folders.manifest_sha256(repo.path / "models/churn")
    assert (artifact["kind"], artifact["sha256"], artifact["loader"]) == (
        "folder",
        sha256,
        "serving:load",
    )
    index = json.loads(Path(artifact["url"]).read_text())
    assert Path(artifact["url"]) == pointers(repo) / "artifacts" / f"{sha256}.json"
    assert [{k: f[k] for k in ("path", "sha256", "size")} for f in index["files"]] == files
    for f in index["files"]:  # content-addressed copies, beside the index
        assert f["url"] == f["sha256"]
        assert (pointers(repo) / "artifacts" / f["sha256"]).stat().st_size == f["size"]

    # A service: its own working directory, serving.py importable from it as from its package.
    service = tmp_path / "service"
    service.mkdir()
    monkeypatch.syspath_prepend(str(repo.path))
    cache = service / "cache"
    live = LiveModel("churn", str(pointers(repo)), cache)
    expected = folders.loaded_model(repo.path / "models/churn")
    frame = pd.read_csv(repo.path / "data/eval.csv").head(50)
    assert (live.predict_proba(frame) == expected.predict_proba(frame)).all()  # type: ignore[attr-defined]
    assert folders.manifest_sha256(cache / sha256)[0] == sha256

    # A tampered cache entry is fetched again, never loaded.
    (cache / sha256 / "weights" / "coef.npy").write_bytes(b"tampered")
    again = LiveModel("churn", str(pointers(repo)), cache)
    assert (again.predict_proba(frame) == expected.predict_proba(frame)).all()
    # A tampered published file is refused, naming it.
    coef = next(f for f in index["files"] if f["path"] == "weights/coef.npy")
    (pointers(repo) / "artifacts" / coef["sha256"]).write_bytes(b"x" * coef["size"])
    shutil.rmtree(cache)
    called: list[str] = []
    with pytest.raises(RuntimeLoadError, match=r"weights/coef\.npy .*sha256 mismatch"):
        LiveModel("churn", str(pointers(repo)), cache, loader=called.append)
    assert called == []  # no loader ever sees bytes that were not verified
    assert not (cache / sha256).exists()


def test_live_model_loader_argument_wins_over_the_pointer(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = git_project(tmp_path)
    ok(capsys, repo, "register", "churn", "--version", "0.1.0", "--push")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    seen: list[Path] = []

    def loader(path: str) -> Any:
        seen.append(Path(path))
        return folders.loaded_model(Path(path))

    live = LiveModel("churn", str(pointers(repo)), tmp_path / "cache", loader=loader)
    assert live.version == "0.1.0"
    sha256 = folders.manifest_sha256(repo.path / "models/churn")[0]
    assert seen == [tmp_path / "cache" / sha256]
    # Without it, and without serving.py on sys.path, the pointer's loader cannot be imported.
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(repo.path)])
    monkeypatch.delitem(sys.modules, "serving", raising=False)
    with pytest.raises(RuntimeLoadError, match=r"loader 'serving:load': cannot import module"):
        LiveModel("churn", str(pointers(repo)), tmp_path / "cache")


def test_rollback_to_a_folder_version_checks_it_file_by_file(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = git_project(tmp_path)
    ok(capsys, repo, "register", "churn", "--version", "0.1.0", "--push")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    folders.write_model_folder(repo.path / "models/churn", "weak")
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "weak")
    repo.git("push", "-q", "origin", "main")
    ok(capsys, repo, "register", "churn", "--version", "0.2.0", "--push")
    ok(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod", "--push")
    out = ok(capsys, repo, "rollback", "churn", "--reason", "worse", "--push")
    assert "back from 0.2.0 to 0.1.0" in out
    assert json.loads((pointers(repo) / "prod.json").read_text())["version"] == "0.1.0"


def test_a_symlink_out_of_the_folder_is_refused(tmp_path: Path, capsys: Capsys) -> None:
    repo = git_project(tmp_path)
    (repo.path / "secrets.txt").write_text("not part of the model")
    os.symlink("../../../secrets.txt", repo.path / "models/churn/weights/extra.txt")
    # In the working tree: evaluate refuses the candidate, naming the link.
    err = refused(capsys, repo, "evaluate", "churn", "--out", str(repo.path / "report.json"))
    assert "weights/extra.txt is a symlink to ../../../secrets.txt, outside the folder" in err
    # Committed: register refuses it, and writes no tag.
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "a link out")
    err = refused(capsys, repo, "register", "churn", "--version", "0.1.0")
    assert "weights/extra.txt is a symlink to ../../../secrets.txt, outside the folder" in err
    assert repo.tags() == []


# --- DVC -----------------------------------------------------------------------------------------


def dvc_project(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path, folders.CONFIG, commit=False)
    folders.set_up(repo.path)
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "local", "../dvc-remote")
    dvc(repo, "add", "-q", "models/churn")
    dvc(repo, "push", "-q")
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "a DVC-tracked model folder")
    repo.git("push", "-q", "origin", "main")
    return repo


def remote_object(repo: Repo, md5: str) -> Path:
    return repo.path.parent / "dvc-remote" / "files" / "md5" / md5[:2] / md5[2:]


@pytest.mark.slow
def test_a_dvc_folder_is_registered_evaluated_published_served_and_rolled_back(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = dvc_project(tmp_path)
    sha256, files = folders.manifest_sha256(repo.path / "models/churn")
    ok(capsys, repo, "register", "churn", "--version", "0.1.0", "--push")
    meta = tag_metadata(repo.origin, "churn@v0.1.0")["artifact"]
    assert (meta["tracked_by"], meta["kind"], meta["sha256"], meta["files"]) == (
        "dvc",
        "folder",
        sha256,
        files,
    )
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")

    # The champion is read at its commit even with no local DVC cache: from the DVC remote.
    shutil.rmtree(repo.path / ".dvc" / "cache")
    folders.write_model_folder(repo.path / "models/churn", "weak")
    ok(capsys, repo, "evaluate", "churn", "--out", str(repo.path / "report.json"))
    assert report(repo)["champion"]["sha256"] == sha256

    # The pointer's index names each file by its object in the DVC remote: no second copy.
    artifact = json.loads((pointers(repo) / "prod.json").read_text())["artifact"]
    index = json.loads(Path(artifact["url"]).read_text())
    remote = (repo.path.parent / "dvc-remote").resolve()
    for f in index["files"]:
        assert Path(f["url"]).resolve().is_relative_to(remote / "files" / "md5"), f
    assert not any((pointers(repo) / "artifacts" / f["sha256"]).exists() for f in files)
    monkeypatch.syspath_prepend(str(repo.path))
    live = LiveModel("churn", str(pointers(repo)), tmp_path / "cache")
    assert live.version == "0.1.0"

    # A second version, then a rollback: the target is checked in the DVC remote, file by file.
    dvc(repo, "add", "-q", "models/churn")
    dvc(repo, "push", "-q")
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "weak")
    repo.git("push", "-q", "origin", "main")
    ok(capsys, repo, "register", "churn", "--version", "0.2.0", "--push")
    ok(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod", "--push")
    coef = next(f for f in index["files"] if f["path"] == "weights/coef.npy")
    Path(coef["url"]).unlink()  # gone from the DVC remote
    err = refused(capsys, repo, "rollback", "churn", "--reason", "worse", "--push", "--dry-run")
    assert "weights/coef.npy of the folder models/churn" in err
    assert "cannot fetch" in err and "DVC remote" in err
    assert "neither the local DVC cache" not in err
    # Nor can evaluate read it at its commit: neither this machine's cache nor the remote has it.
    shutil.rmtree(repo.path / ".dvc" / "cache")
    err = refused(capsys, repo, "evaluate", "churn", "--baseline", "0.1.0", "--out", "r.json")
    assert "cannot read weights/coef.npy of the DVC-tracked folder models/churn" in err


@pytest.mark.slow
def test_publish_pushes_a_dvc_folder_that_only_this_machine_has(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DVC pushes a folder's .dir listing alone when asked for it: each file must be named."""
    repo = make_repo(tmp_path, folders.CONFIG, commit=False)
    folders.set_up(repo.path)
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "local", "../dvc-remote")
    dvc(repo, "add", "-q", "models/churn")  # not pushed
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "a model folder, not pushed")
    repo.git("push", "-q", "origin", "main")
    ok(capsys, repo, "register", "churn", "--version", "0.1.0", "--push")
    out = ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    assert "now names 0.1.0" in out
    index = json.loads(
        Path(json.loads((pointers(repo) / "prod.json").read_text())["artifact"]["url"]).read_text()
    )
    for f in index["files"]:
        assert Path(f["url"]).is_file(), f  # in the DVC remote now
    shutil.rmtree(repo.path / ".dvc" / "cache")  # a service has no cache: only the remote
    monkeypatch.syspath_prepend(str(repo.path))
    assert LiveModel("churn", str(pointers(repo)), tmp_path / "cache").version == "0.1.0"

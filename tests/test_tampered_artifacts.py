"""Tampered artifacts (issue 14 item 3): every command that makes a version live or published
(promote, release --promote, canary, publish) checks the bytes a service will fetch, from the
real DVC remote, by sha256, as rollback does; a copy beside the pointer is hashed again before it
counts as "already there". The tampered bytes are a pickle that marks a file when unpickled:
champion refuses them without ever loading them."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import pytest

from champion.runtime import LiveModel, RuntimeLoadError
from testing.deploy import (
    MODEL,
    build_dvc_project,
    commit_dvc_version,
    folder_state,
    ok,
    quiet_dvc,
    read_pointer,
    run,
)
from testing.payload import payload, plant
from testing.releases import Capsys
from testing.repos import Repo, copy_project, isolated


@pytest.fixture(scope="module")
def dvc_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.1.0 and 0.2.0 of a DVC-tracked artifact (b"model 1", b"model 2") in a local DVC
    remote (../dvc-remote); nothing live."""
    base = tmp_path_factory.mktemp("tampered-dvc")
    with isolated(base):
        build_dvc_project(base)
    return base


@pytest.fixture
def dvc_project(dvc_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    quiet_dvc(monkeypatch)
    return copy_project(dvc_template, tmp_path)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "UNPICKLED"


def remote_object(repo: Repo, content: bytes) -> Path:
    digest = hashlib.md5(content).hexdigest()
    return repo.path.parent / "dvc-remote" / "files" / "md5" / digest[:2] / digest[2:]


def pointers(repo: Repo) -> Path:
    return repo.path.parent / "pointers"


def test_the_payload_marks_when_unpickled(marker: Path) -> None:
    """The tests below can fail: loading the payload would leave the marker."""
    pickle.loads(payload(marker))
    assert marker.exists()


def test_promote_refuses_a_version_whose_remote_object_was_replaced(
    dvc_project: Repo, capsys: Capsys, marker: Path
) -> None:
    repo = dvc_project
    plant(remote_object(repo, b"model 2"), payload(marker))  # this machine's cache is intact
    tags, remote_tags = repo.tags(), repo.remote_tags()
    result = run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod", "--push")
    assert result.code == 2, result.out + result.err
    assert f"{MODEL} of churn@v0.2.0 has sha256" in result.err
    assert "in the DVC remote, but its tag recorded" in result.err
    assert "refusing to promote it" in result.err
    assert (repo.tags(), repo.remote_tags()) == (tags, remote_tags)  # nothing written
    assert not (pointers(repo) / "prod.json").exists()
    assert not marker.exists()
    # The intact version still promotes.
    ok(run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push"))


def test_publish_refuses_a_live_version_whose_remote_object_was_replaced(
    dvc_project: Repo, capsys: Capsys, marker: Path
) -> None:
    repo = dvc_project
    ok(run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push"))
    before = folder_state(pointers(repo))
    plant(remote_object(repo, b"model 1"), payload(marker))
    result = run(capsys, repo, "publish", "churn")
    assert result.code == 2, result.out + result.err
    assert "has sha256" in result.err and "refusing to publish it" in result.err
    assert folder_state(pointers(repo)) == before
    assert not marker.exists()


def test_a_canary_of_a_tampered_version_is_refused(
    dvc_project: Repo, capsys: Capsys, marker: Path
) -> None:
    repo = dvc_project
    ok(run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push"))
    ok(run(capsys, repo, "canary", "start", "churn", "0.2.0", "--weight", "0.1", "--push"))
    tags = repo.remote_tags()
    plant(remote_object(repo, b"model 2"), payload(marker))
    result = run(capsys, repo, "canary", "promote", "churn", "--push")
    assert result.code == 2, result.out + result.err
    assert "refusing to serve it" in result.err
    assert repo.remote_tags() == tags
    assert not marker.exists()


def test_canary_start_refuses_a_tampered_version(
    dvc_project: Repo, capsys: Capsys, marker: Path
) -> None:
    repo = dvc_project
    ok(run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push"))
    plant(remote_object(repo, b"model 2"), payload(marker))
    tags = repo.remote_tags()
    result = run(capsys, repo, "canary", "start", "churn", "0.2.0", "--push")
    assert result.code == 2, result.out + result.err
    assert "refusing to serve it" in result.err
    assert repo.remote_tags() == tags
    assert not marker.exists()


def test_release_promote_refuses_an_artifact_the_remote_holds_other_bytes_for(
    dvc_project: Repo, capsys: Capsys, marker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dvc status --cloud` then `dvc push` say the remote holds the artifact's object; the
    remote's bytes differ (a remote that, unlike a local folder, does not check them when DVC
    lists it: S3, GCS): the release must not record and promote them."""
    from champion import artifacts

    repo = dvc_project
    commit_dvc_version(repo, b"model 3")
    in_sync = artifacts.ensure_in_dvc_remote

    def then_tampered(root: Path, path: str) -> str:
        done = in_sync(root, path)
        plant(remote_object(repo, b"model 3"), payload(marker))
        return done

    monkeypatch.setattr(artifacts, "ensure_in_dvc_remote", then_tampered)
    tags = repo.remote_tags()
    result = run(capsys, repo, "release", "churn", "--push", "--promote", "prod", "--bump", "minor")
    assert result.code == 2, result.out + result.err
    assert f"{MODEL} in the DVC remote has sha256" in result.err
    assert "refusing to release it" in result.err
    assert repo.remote_tags() == tags
    assert not marker.exists()


def test_release_promote_of_an_already_released_commit_checks_the_remote_bytes_too(
    dvc_project: Repo, capsys: Capsys, marker: Path
) -> None:
    """HEAD is 0.2.0 already: `release --promote` only makes it live, and that path must check
    the bytes a service will fetch as a new release does."""
    repo = dvc_project
    plant(remote_object(repo, b"model 2"), payload(marker))
    tags = repo.remote_tags()
    result = run(capsys, repo, "release", "churn", "--push", "--promote", "prod")
    assert result.code == 2, result.out + result.err
    assert "in the DVC remote, but its tag recorded" in result.err
    assert "refusing to promote it" in result.err
    assert repo.remote_tags() == tags
    assert not (pointers(repo) / "prod.json").exists()
    assert not marker.exists()


# --- git-tracked: the copy beside the pointer ------------------------------------------------


def test_a_tampered_copy_beside_the_pointer_is_replaced_not_reported_as_there(
    project: Repo, capsys: Capsys, marker: Path, tmp_path: Path
) -> None:
    """tests/conftest.py's git project: 0.1.0 live, its artifact copied to artifacts/SHA256."""
    repo = project
    ok(run(capsys, repo, "publish", "churn"))  # the copied pointer names the template's copy
    data = read_pointer(pointers(repo))
    copy = pointers(repo) / "artifacts" / data["artifact"]["sha256"]
    assert Path(data["artifact"]["url"]) == copy
    good = copy.read_bytes()
    plant(copy, payload(marker))
    # A service fetching it refuses it by its sha256 before its loader (one that unpickles
    # whatever it is given) sees it...
    with pytest.raises(RuntimeLoadError, match="refusing to load it"):
        LiveModel(
            "churn",
            str(pointers(repo)),
            tmp_path / "cache",
            loader=lambda path: pickle.loads(Path(path).read_bytes()),
        )
    # ...and publish mends it, saying so, where it used to find it "already" there.
    out = ok(run(capsys, repo, "publish", "churn"))
    assert f"replaced {copy}: its bytes had sha256" in out
    assert "(tampered or corrupt)" in out
    assert copy.read_bytes() == good
    out = ok(run(capsys, repo, "publish", "churn"))
    assert "replaced" not in out and "already names 0.1.0" in out
    # A promotion checks the copy of the version it publishes the same way.
    ok(run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod", "--push"))
    second = pointers(repo) / "artifacts" / read_pointer(pointers(repo))["artifact"]["sha256"]
    plant(second, b"corrupt")
    out = ok(run(capsys, repo, "rollback", "churn", "--reason", "test", "--push"))
    out = ok(run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod", "--push"))
    assert f"replaced {second}" in out
    assert not marker.exists()


def test_a_tampered_file_of_a_folder_beside_the_pointer_is_replaced(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch, marker: Path
) -> None:
    """A git-tracked folder's files are copied beside the pointer one by one: each copy already
    there is hashed again before it counts, as a single file's is."""
    from testing import folders
    from testing.repos import make_repo

    folders.forget_user_code(monkeypatch)
    repo = make_repo(tmp_path, folders.CONFIG, commit=False)
    folders.set_up(repo.path)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "a model folder")
    repo.git("push", "-q", "origin", "main")
    ok(run(capsys, repo, "register", "churn", "--version", "0.1.0", "--push"))
    ok(run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push"))
    index = json.loads(Path(read_pointer(pointers(repo))["artifact"]["url"]).read_text())
    coef = next(f for f in index["files"] if f["path"] == "weights/coef.npy")
    copy = pointers(repo) / "artifacts" / coef["sha256"]
    good = copy.read_bytes()
    plant(copy, payload(marker))
    out = ok(run(capsys, repo, "publish", "churn"))
    assert f"replaced {copy}: its bytes had sha256" in out
    assert copy.read_bytes() == good
    assert "replaced" not in ok(run(capsys, repo, "publish", "churn"))
    assert not marker.exists()

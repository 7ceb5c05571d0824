"""`champion release --push` of an artifact tracked by DVC (a real local DVC remote): the artifact
reaches the DVC remote before its tag reaches the origin, and one nobody can fetch is refused."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from testing.releases import (
    Capsys,
    dvc,
    local_tag_objects,
    origin_tag_objects,
    release,
    released,
    tag_metadata,
)
from testing.repos import Repo, make_repo

CONFIG = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn.bin
"""
MODEL = "models/churn.bin"


def dvc_repo(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path, CONFIG, commit=False)
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "local", str(tmp_path / "dvc-remote"))
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "dvc")
    return repo


def commit_dvc_artifact(repo: Repo, content: bytes) -> str:
    (repo.path / "models").mkdir(exist_ok=True)
    (repo.path / MODEL).write_bytes(content)
    dvc(repo, "add", "-q", MODEL)
    repo.git("add", f"{MODEL}.dvc", "models/.gitignore")
    repo.git("commit", "-q", "-m", "train")
    return repo.git("rev-parse", "HEAD")


def test_an_artifact_only_in_the_local_cache_is_pushed_before_its_tag(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = dvc_repo(tmp_path)
    content = b"model trained here and nowhere else"
    commit_dvc_artifact(repo, content)
    assert not (tmp_path / "dvc-remote").exists() or not any((tmp_path / "dvc-remote").rglob("*"))

    # The origin accepts the tags only if the DVC remote already holds the artifact by then.
    digest = hashlib.md5(content).hexdigest()
    stored = tmp_path / "dvc-remote" / "files" / "md5" / digest[:2] / digest[2:]
    hook = repo.origin / "hooks" / "pre-receive"
    hook.write_text(
        f"#!/bin/sh\n[ -f '{stored}' ] || {{ echo 'artifact not in DVC' >&2; exit 1; }}\n"
    )
    hook.chmod(0o755)

    out = released(capsys, repo, "--push", "--promote", "prod")
    assert stored.is_file()
    assert out["tag"] == "churn@v0.1.0"
    meta = tag_metadata(repo.origin, "churn@v0.1.0")
    assert meta["artifact"]["tracked_by"] == "dvc"
    assert meta["artifact"]["sha256"] == hashlib.sha256(content).hexdigest()

    # Nothing local left: a fresh clone fetches the version's artifact from the DVC remote.
    shutil.rmtree(repo.path / ".dvc" / "cache")
    (repo.path / MODEL).unlink()
    clone = repo.clone(tmp_path / "deployer")
    clone.git("checkout", "-q", "churn@v0.1.0")
    dvc(clone, "pull", "-q", MODEL)
    fetched = (clone.path / MODEL).read_bytes()
    assert hashlib.sha256(fetched).hexdigest() == meta["artifact"]["sha256"]

    # A rerun finds the version (and the artifact already in the remote): nothing more.
    before = origin_tag_objects(repo)
    result = release(capsys, clone, "--push", "--promote", "prod")
    assert result.code == 0, result.err
    assert "already released as churn@v0.1.0" in result.out
    assert origin_tag_objects(repo) == before


def test_an_artifact_nobody_can_fetch_is_refused(tmp_path: Path, capsys: Capsys) -> None:
    """Its bytes are gone from the cache and never reached the remote: no version may point at
    it, since nobody could deploy or roll back to it."""
    repo = dvc_repo(tmp_path)
    commit_dvc_artifact(repo, b"first model")
    released(capsys, repo, "--push")
    before_local, before_origin = local_tag_objects(repo), origin_tag_objects(repo)

    commit_dvc_artifact(repo, b"a model whose cache was lost")
    shutil.rmtree(repo.path / ".dvc" / "cache")  # in neither the local cache nor the remote
    result = release(capsys, repo, "--push", "--promote", "prod")
    assert result.code == 2, result.err
    assert f"cannot read {MODEL} at commit" in result.err and "Traceback" not in result.err
    assert "neither the local DVC cache nor the DVC remote" in result.err
    assert local_tag_objects(repo) == before_local
    assert origin_tag_objects(repo) == before_origin

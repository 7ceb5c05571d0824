"""Nothing unreadable is ever registered (issue 12, finding 2): an artifact champion cannot read in
full at the commit, or that is a placeholder instead of a model, is refused by register and
release with exit 2, and no tag is written. Tags are immutable: a bad one could never be fixed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from testing.releases import local_tag_objects, origin_tag_objects, release
from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]

LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12345\n"
)
DVC_POINTER = "outs:\n- md5: 0cc175b9c0f1b6a831c399e269772661\n  size: 1\n  path: churn.bin\n"


def refused_everywhere(capsys: Capsys, repo: Repo, *needles: str) -> None:
    """register and release both exit 2 naming the problem, and nothing is written anywhere."""
    before_local, before_origin = local_tag_objects(repo), origin_tag_objects(repo)
    for args in (
        ["register", "churn", "--push"],
        ["release", "churn", "--push", "--promote", "prod"],
    ):
        result = run_cli(capsys, repo.path, *args)
        assert result.code == 2, f"{args}: {result.out}{result.err}"
        assert "Traceback" not in result.err
        for needle in needles:
            assert needle in result.err, result.err
        assert local_tag_objects(repo) == before_local
        assert origin_tag_objects(repo) == before_origin


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b"", ["models/churn.bin at commit", "is empty (0 bytes)"]),
        (LFS_POINTER.encode(), ["is a Git LFS pointer, not the model"]),
        (DVC_POINTER.encode(), ["holds a DVC pointer text", "dvc add models/churn.bin"]),
    ],
    ids=["empty", "lfs-pointer", "dvc-pointer-text"],
)
def test_a_placeholder_is_refused(
    tmp_path: Path, capsys: Capsys, content: bytes, needles: list[str]
) -> None:
    repo = make_repo(tmp_path)
    repo.commit_artifact(content)
    repo.git("push", "-q", "origin", "main")
    refused_everywhere(capsys, repo, *needles)


def test_a_real_small_yaml_model_file_is_not_mistaken_for_a_pointer(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = make_repo(tmp_path)
    repo.commit_artifact("outs: a metrics file that mentions outs\nmd5sum: none\n")
    result = run_cli(capsys, repo.path, "register", "churn")
    assert result.code == 0, result.err


def test_a_submodule_at_the_path_is_refused(tmp_path: Path, capsys: Capsys) -> None:
    (tmp_path / "other").mkdir()
    other = make_repo(tmp_path / "other")
    repo = make_repo(tmp_path)
    repo.git("rm", "-q", "models/churn.bin")
    repo.git(
        "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(other.path),
        "models/churn.bin",
    )  # fmt: skip
    repo.git("commit", "-q", "-m", "the model as a submodule")
    refused_everywhere(capsys, repo, "is a git submodule")


def test_an_object_git_cannot_read_is_refused_not_hashed_as_empty(
    tmp_path: Path, capsys: Capsys
) -> None:
    """git's errors used to go to stderr unread, and the sha256 of nothing was recorded."""
    repo = make_repo(tmp_path)
    repo.commit_artifact("model v2, bigger")
    blob = repo.git("rev-parse", "HEAD:models/churn.bin")
    obj = repo.path / ".git" / "objects" / blob[:2] / blob[2:]
    obj.chmod(0o644)
    obj.unlink()  # a corrupt or partial clone
    for args in (["register", "churn"], ["release", "churn"]):
        result = run_cli(capsys, repo.path, *args)
        assert result.code == 2, f"{args}: {result.out}{result.err}"
        assert f"git cannot read models/churn.bin at {repo.git('rev-parse', 'HEAD')[:12]}" in (
            result.err
        )
        assert "Traceback" not in result.err
    assert repo.tags() == []


def test_release_refuses_an_empty_artifact_before_writing_anything(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = make_repo(tmp_path)
    assert release(capsys, repo, "--push").code == 0  # 0.1.0 of the good artifact
    before_local, before_origin = local_tag_objects(repo), origin_tag_objects(repo)
    repo.commit_artifact(b"")
    repo.git("push", "-q", "origin", "main")
    result = release(capsys, repo, "--push", "--promote", "prod")
    assert result.code == 2 and "is empty (0 bytes)" in result.err, result.err
    assert (local_tag_objects(repo), origin_tag_objects(repo)) == (before_local, before_origin)


def test_an_lfs_pointer_inside_a_folder_is_refused_naming_the_file(
    tmp_path: Path, capsys: Capsys
) -> None:
    config = "models:\n  churn:\n    path: models/churn\n"
    repo = make_repo(tmp_path, config, commit=False)
    (repo.path / "models/churn").mkdir(parents=True)
    (repo.path / "models/churn/config.json").write_text("{}")
    (repo.path / "models/churn/__init__.py").write_text("")  # an empty file is fine in a folder
    (repo.path / "models/churn/weights.bin").write_text(LFS_POINTER)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "folder")
    result = run_cli(capsys, repo.path, "register", "churn")
    assert result.code == 2, result.out
    assert "models/churn/weights.bin at commit" in result.err
    assert "is a Git LFS pointer" in result.err
    assert repo.tags() == []
    (repo.path / "models/churn/weights.bin").write_bytes(b"\x00real weights")
    repo.git("commit", "-q", "-am", "real weights")
    assert run_cli(capsys, repo.path, "register", "churn").code == 0


def test_a_symlink_artifact_is_read_as_the_file_it_names(tmp_path: Path, capsys: Capsys) -> None:
    """models/churn.bin -> v2.bin: the model is v2.bin's bytes, never the link's text."""
    repo = make_repo(tmp_path)
    (repo.path / "models/v2.bin").write_bytes(b"the second model")
    (repo.path / "models/churn.bin").unlink()
    (repo.path / "models/churn.bin").symlink_to("v2.bin")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "link")
    result = run_cli(capsys, repo.path, "register", "churn", "--version", "1.0.0")
    assert result.code == 0, result.err
    body = repo.git("for-each-ref", "--format=%(contents:body)", "refs/tags/churn@v1.0.0")
    assert json.loads(body)["artifact"]["sha256"] == hashlib.sha256(b"the second model").hexdigest()
    # One leading out of the repository is refused.
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"x")
    (repo.path / "models/churn.bin").unlink()
    (repo.path / "models/churn.bin").symlink_to(outside)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "link out")
    result = run_cli(capsys, repo.path, "register", "churn", "--version", "1.1.0")
    assert result.code == 2 and "outside the repository" in result.err, result.err

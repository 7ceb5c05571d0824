"""Publishing the pointer to a local folder: what `champion promote --push` and `champion publish`
write, for an artifact tracked by git (copied beside the pointers) and one tracked by DVC (named in
the real DVC remote, pushed there first when only the local cache has it); idempotent re-runs, a
newer pointer kept, a broken one replaced, refusals that leave the folder as it was."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from champion.git import Git
from champion.registry.tags import ref_patterns
from testing.deploy import (
    GIT_CONFIG,
    MODEL,
    build_dvc_project,
    folder_state,
    ok,
    quiet_dvc,
    read_pointer,
    run,
)
from testing.releases import Capsys, tag_commit, tag_metadata
from testing.repos import Repo, copy_project, isolated

FIELDS = {
    "model",
    "stage",
    "version",
    "tag",
    "commit",
    "artifact",
    "counter",
    "updated_at",
    "schema",
    "canary",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def dvc_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.1.0 and 0.2.0 of a DVC-tracked artifact in a local DVC remote; nothing live. (`project`
    copies tests/conftest.py's `template`: 0.1.0, 0.2.0, 0.3.0 of a git-tracked artifact, 0.1.0
    live in prod, its pointer published.)"""
    base = tmp_path_factory.mktemp("publish-dvc")
    with isolated(base):
        build_dvc_project(base)
    return base


@pytest.fixture
def dvc_project(dvc_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    quiet_dvc(monkeypatch)
    return copy_project(dvc_template, tmp_path)


def pointers(repo: Repo) -> Path:
    return repo.path.parent / "pointers"  # GIT_CONFIG: pointer: ../pointers


def assert_no_temp_files(folder: Path) -> None:
    """Only the pointers, their lock files and artifacts named by their sha256."""
    for path in folder.rglob("*"):
        name = path.relative_to(folder).as_posix()
        if path.is_dir():
            assert name == "artifacts", name
        elif name.startswith("artifacts/"):
            assert re.fullmatch(r"artifacts/[0-9a-f]{64}", name), name
        else:
            assert re.fullmatch(r"\.?[a-z-]+\.json(\.lock)?", name), name


def test_promote_push_writes_the_pointer_with_the_documented_fields(
    project: Repo, capsys: Capsys
) -> None:
    repo = project
    out = ok(run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod", "--push"))
    assert "promoted churn 0.2.0 to prod (was 0.1.0): churn#prod!#2, churn#prod#3" in out
    assert re.search(r"pointer \S+prod\.json now names 0\.2\.0", out), out

    data = read_pointer(pointers(repo))
    assert set(data) == FIELDS
    assert (data["schema"], data["model"], data["stage"], data["version"]) == (
        1,
        "churn",
        "prod",
        "0.2.0",
    )
    assert (data["tag"], data["counter"], data["canary"]) == ("churn#prod#3", 3, None)
    assert data["commit"] == tag_commit(repo.origin, "churn@v0.2.0")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["updated_at"])
    artifact = data["artifact"]
    assert set(artifact) == {
        "path",
        "sha256",
        "size",
        "url",
        "format",
        "kind",
        "loader",
        "signature",
    }
    assert artifact["signature"] is None  # registered without --sign
    # models/churn.bin: no format: in champion.yaml and a suffix that names none, so the pointer
    # says so (null) rather than guess; LiveModel then asks for format: or a loader.
    assert (artifact["path"], artifact["size"], artifact["format"]) == (MODEL, 7, None)
    assert (artifact["kind"], artifact["loader"]) == ("file", None)
    assert artifact["sha256"] == sha256(b"model 2")
    assert artifact["sha256"] == tag_metadata(repo.origin, "churn@v0.2.0")["artifact"]["sha256"]
    # A git-tracked artifact is copied beside the pointers, named by its content.
    url = Path(artifact["url"])
    assert url.resolve() == (pointers(repo) / "artifacts" / artifact["sha256"]).resolve()
    assert sha256(url.read_bytes()) == artifact["sha256"]
    assert url.read_bytes() == b"model 2"
    assert_no_temp_files(pointers(repo))


def test_publish_is_idempotent(project: Repo, capsys: Capsys) -> None:
    repo = project
    # The copied pointer names the template's artifact copy: the first publish names this one's.
    ok(run(capsys, repo, "publish", "churn"))
    before = folder_state(pointers(repo))
    for _ in range(2):
        out = ok(run(capsys, repo, "publish", "churn"))
        assert "already names 0.1.0" in out
        assert folder_state(pointers(repo)) == before  # bytes and mtimes: not even rewritten
    # The same promotion again writes no tag, and leaves the pointer as it is too.
    out = ok(run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push"))
    assert "nothing to do" in out and "already names 0.1.0" in out
    assert folder_state(pointers(repo)) == before


def test_a_pointer_from_a_newer_view_is_never_replaced(
    project: Repo, capsys: Capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A publisher that listed the remote just before another one pushed and published (a race):
    the pointer it finds claims more than its view holds, the remote's tags say it is real, and
    it stays. (A pointer that claims what the remote does not hold: test_pointer_poisoning.py.)"""
    import champion.deploy.publish
    from champion.registry.state import build_state

    repo = project
    view = Git(repo.path).for_each_ref(ref_patterns("churn"))  # 0.1.0 live: churn#prod#1
    other = repo.clone(tmp_path / "other")
    out = ok(run(capsys, other, "promote", "churn", "0.3.0", "--stage", "prod", "--push"))
    assert "now names 0.3.0" in out
    before = folder_state(pointers(repo))
    monkeypatch.setattr(
        champion.deploy.publish, "_remote_state", lambda project, model: build_state(model, view)
    )
    out = ok(run(capsys, repo, "publish", "churn"))
    assert "left as is: it holds a newer view (counter 3)" in out
    assert folder_state(pointers(repo))["prod.json"] == before["prod.json"]
    assert read_pointer(pointers(repo))["version"] == "0.3.0"


@pytest.mark.parametrize(
    "broken",
    [
        b"",
        b'{"schema": 1, "model": "churn", "stage": "prod", "vers',  # cut off mid-write
        b"[1, 2, 3]",
        b"\xff\xfe not text",
        json.dumps({"schema": 1, "model": "churn", "counter": 99}).encode(),  # no artifact
    ],
)
def test_an_invalid_pointer_is_replaced(project: Repo, capsys: Capsys, broken: bytes) -> None:
    repo = project
    (pointers(repo) / "prod.json").write_bytes(broken)
    out = ok(run(capsys, repo, "publish", "churn"))
    assert "now names 0.1.0" in out
    data = read_pointer(pointers(repo))
    assert set(data) == FIELDS
    assert (data["version"], data["counter"]) == ("0.1.0", 1)
    assert_no_temp_files(pointers(repo))


def test_tags_that_are_only_local_are_not_published(project: Repo, capsys: Capsys) -> None:
    repo = project
    before = folder_state(pointers(repo))
    out = ok(run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod"))
    assert "not published: the tags are only local" in out
    assert folder_state(pointers(repo)) == before
    # Publishing reads the remote, which still says 0.1.0: the local-only tags are not published.
    assert "names 0.1.0" in ok(run(capsys, repo, "publish", "churn"))
    assert (read_pointer(pointers(repo))["version"], read_pointer(pointers(repo))["counter"]) == (
        "0.1.0",
        1,
    )
    repo.git("push", "-q", "origin", "churn#prod!#2", "churn#prod#3")
    assert "now names 0.2.0" in ok(run(capsys, repo, "publish", "churn"))
    assert read_pointer(pointers(repo))["tag"] == "churn#prod#3"


def test_publish_without_a_pointer_location_exits_2_naming_champion_yaml(
    project: Repo, capsys: Capsys
) -> None:
    repo = project
    (repo.path / "champion.yaml").write_text(GIT_CONFIG.replace("    pointer: ../pointers\n", ""))
    before = folder_state(pointers(repo))
    result = run(capsys, repo, "publish", "churn")
    assert result.code == 2, result.out
    assert "champion.yaml" in result.err and "pointer" in result.err
    assert "Traceback" not in result.err
    assert folder_state(pointers(repo)) == before


def test_publish_with_nothing_live_in_the_stage_exits_2(project: Repo, capsys: Capsys) -> None:
    repo = project
    before = folder_state(pointers(repo))
    result = run(capsys, repo, "publish", "churn", "--stage", "staging")
    assert result.code == 2, result.out
    assert "no version of churn is live in staging" in result.err
    assert folder_state(pointers(repo)) == before
    assert not (pointers(repo) / "staging.json").exists()


def test_publish_to_an_unknown_stage_exits_2(project: Repo, capsys: Capsys) -> None:
    result = run(capsys, project, "publish", "churn", "--stage", "qa")
    assert result.code == 2
    assert "'qa' is not allowed" in result.err


# --- DVC-tracked artifacts ---------------------------------------------------------------------


def dvc_object(root: Path, content: bytes) -> Path:
    digest = hashlib.md5(content).hexdigest()
    return root / "files" / "md5" / digest[:2] / digest[2:]


def test_a_dvc_artifact_is_named_by_its_object_in_the_dvc_remote(
    dvc_project: Repo, capsys: Capsys, tmp_path: Path
) -> None:
    repo = dvc_project
    ok(run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push"))
    artifact = read_pointer(pointers(repo))["artifact"]
    url = Path(artifact["url"])
    assert url.resolve() == dvc_object(tmp_path / "dvc-remote", b"model 1").resolve()
    assert sha256(url.read_bytes()) == artifact["sha256"] == sha256(b"model 1")
    assert artifact["size"] == len(b"model 1")
    assert not (pointers(repo) / "artifacts").exists()  # nothing copied beside the pointers
    assert_no_temp_files(pointers(repo))


def test_a_dvc_artifact_only_in_the_local_cache_is_pushed_before_the_pointer_names_it(
    dvc_project: Repo, capsys: Capsys, tmp_path: Path
) -> None:
    repo = dvc_project
    stored = dvc_object(tmp_path / "dvc-remote", b"model 1")
    stored.unlink()
    assert dvc_object(repo.path / ".dvc" / "cache", b"model 1").is_file()

    ok(run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push"))
    assert stored.read_bytes() == b"model 1"
    artifact = read_pointer(pointers(repo))["artifact"]
    assert Path(artifact["url"]).resolve() == stored.resolve()
    assert sha256(stored.read_bytes()) == artifact["sha256"]


def test_a_dvc_artifact_missing_everywhere_is_not_promoted_and_leaves_the_pointer(
    dvc_project: Repo, capsys: Capsys, tmp_path: Path
) -> None:
    repo = dvc_project
    ok(run(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod", "--push"))
    before = folder_state(pointers(repo))
    tags, remote_tags = repo.tags(), repo.remote_tags()
    dvc_object(tmp_path / "dvc-remote", b"model 1").unlink()
    dvc_object(repo.path / ".dvc" / "cache", b"model 1").unlink()

    # Refused before any tag: the stage must not move to a version the pointer cannot follow.
    result = run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    assert result.code == 2, result.out
    assert f"{MODEL} of churn@v0.1.0" in result.err
    assert "neither the DVC remote nor this machine's DVC cache" in result.err
    assert "Traceback" not in result.err
    assert (repo.tags(), repo.remote_tags()) == (tags, remote_tags)
    assert folder_state(pointers(repo)) == before
    assert read_pointer(pointers(repo))["version"] == "0.2.0"
    ok(run(capsys, repo, "publish", "churn"))  # 0.2.0 is still live and fetchable: unchanged
    assert folder_state(pointers(repo)) == before

    # The live version's artifact gone everywhere: publish refuses and leaves the pointer.
    dvc_object(tmp_path / "dvc-remote", b"model 2").unlink()
    dvc_object(repo.path / ".dvc" / "cache", b"model 2").unlink()
    result = run(capsys, repo, "publish", "churn")
    assert result.code == 2, result.out
    assert "neither the DVC remote nor this machine's DVC cache" in result.err
    assert folder_state(pointers(repo)) == before

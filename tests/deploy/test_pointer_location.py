"""A pointer folder inside the repository's checkout is refused under CI, before any tag (issue
13.3): a CI job's checkout is thrown away when it ends, and the pointer with it."""

from __future__ import annotations

import pytest

from testing.releases import Capsys, local_tag_objects, origin_tag_objects
from testing.repos import Repo, run_cli

IN_TREE = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn.bin
    pointer: POINTER
"""


@pytest.fixture
def in_tree(project: Repo, request: pytest.FixtureRequest) -> Repo:
    """The module's project (0.1.0 live in prod; 0.2.0 and 0.3.0 registered), its pointer moved
    to a folder of the repository."""
    location = getattr(request, "param", "pointers/churn")
    (project.path / "champion.yaml").write_text(IN_TREE.replace("POINTER", location))
    project.git("commit", "-q", "-am", "pointer inside the repository")
    project.git("push", "-q", "origin", "main")
    return project


COMMANDS = [
    ["promote", "churn", "0.2.0", "--stage", "prod", "--push"],
    ["rollback", "churn", "--to", "0.3.0", "--reason", "x", "--push"],
    ["canary", "start", "churn", "0.2.0", "--push"],
    ["publish", "churn"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a[:2]) for a in COMMANDS])
@pytest.mark.parametrize(
    "in_tree", ["pointers/churn", "./pointers/../published", "file://WORK/pointers"], indirect=True
)
def test_under_ci_an_in_tree_pointer_is_refused_before_any_tag(
    in_tree: Repo, capsys: Capsys, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    config = in_tree.path / "champion.yaml"
    config.write_text(config.read_text().replace("WORK", str(in_tree.path)))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    local, origin = local_tag_objects(in_tree), origin_tag_objects(in_tree)
    result = run_cli(capsys, in_tree.path, *args)
    assert result.code == 2, result.out + result.err
    assert "is inside the repository's checkout" in result.err
    assert "object storage" in result.err and "outside the checkout" in result.err
    assert "Traceback" not in result.err
    assert local_tag_objects(in_tree) == local and origin_tag_objects(in_tree) == origin
    assert not (in_tree.path / "pointers").exists() and not (in_tree.path / "published").exists()


def test_release_promote_refuses_it_too(
    in_tree: Repo, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    in_tree.commit_artifact("model 4", "models/churn.bin")
    origin = origin_tag_objects(in_tree)
    result = run_cli(capsys, in_tree.path, "release", "--promote", "prod", "--push")
    assert result.code == 2, result.out + result.err
    assert "pointer: pointers/churn in champion.yaml is inside the repository's checkout" in (
        result.err
    )
    assert origin_tag_objects(in_tree) == origin


def test_outside_ci_an_in_tree_pointer_still_works(in_tree: Repo, capsys: Capsys) -> None:
    result = run_cli(capsys, in_tree.path, "promote", "churn", "0.2.0", "--stage", "prod", "--push")
    assert result.code == 0, result.err
    assert (in_tree.path / "pointers" / "churn" / "prod.json").is_file()

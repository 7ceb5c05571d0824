from __future__ import annotations

from pathlib import Path

# PyGithub adds a StreamHandler to its logger when first imported, bound to the sys.stderr of
# that moment: imported inside a test that uses capsys, it would keep writing to that test's
# closed capture, and a later test's output would hold a "Logging error" traceback.
import github  # noqa: F401
import pytest

from testing.deploy import build_git_project
from testing.repos import DEFAULT_CONFIG, Repo, copy_project, isolate, isolated, make_repo


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path, DEFAULT_CONFIG)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """The project `project` copies, built once per module (DVC and GTO are slow to start). Unless
    the module overrides it: testing.deploy's git project, 0.1.0, 0.2.0 and 0.3.0 of a git-tracked
    artifact registered, 0.1.0 live in prod (churn#prod#1), its pointer published."""
    base = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])
    with isolated(base):
        build_git_project(base)
    return base


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Repo:
    """This test's own copy of the module's `template`."""
    return copy_project(template, tmp_path)

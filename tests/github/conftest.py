from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from champion.cli import main
from testing.github import FakeGitHub, actions_env
from testing.models import save, train, write_eval
from testing.repos import isolated, make_repo

CONFIG = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn.joblib
    data: {path: data/eval.csv, target: target, slices: [region]}
    metrics: [roc_auc, accuracy, f1, log_loss]
    stats: {resamples: 200}
    gate:
      roc_auc: {max_regression: 0.01, significance: true}
      accuracy: {min: 0.6}
"""


@pytest.fixture(scope="session")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real report.json: `champion evaluate` of a candidate against a live champion."""
    tmp = tmp_path_factory.mktemp("report")
    with isolated(tmp):
        repo = make_repo(tmp, CONFIG, commit=False)
        save(train("good"), repo.path / "models/churn.joblib")
        write_eval(repo.path / "data/eval.csv")
        repo.git("add", ".")
        repo.git("commit", "-q", "-m", "champion")
        _cli(repo.path, "register", "churn", "--version", "0.1.0")
        _cli(repo.path, "promote", "churn", "0.1.0", "--stage", "prod")
        save(train("good", features=["f0", "f1", "f2", "f3"]), repo.path / "models/churn.joblib")
        out = tmp / "report.json"
        _cli(repo.path, "evaluate", "churn", "--out", str(out), "--no-fail")
    return out


def _cli(cwd: Path, *args: str) -> None:
    # Not testing.repos.run_cli: a session fixture cannot have capsys.
    try:
        code = main(["-C", str(cwd), *args])
    except SystemExit as e:
        code = e.code  # type: ignore[assignment]
    assert code == 0, args


@pytest.fixture(autouse=True)
def _actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    actions_env(monkeypatch)


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def fake(api: responses.RequestsMock) -> FakeGitHub:
    return FakeGitHub(api).install()

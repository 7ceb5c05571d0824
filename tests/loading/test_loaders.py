"""`loader: "module:function"` and ONNX from registration to serving: the pointer carries the format
and the loader, LiveModel honours them; a loader that cannot be used exits 2 naming it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from champion.runtime import LiveModel
from testing import folders, onnx_models
from testing.models import FEATURES, dataset, write_eval
from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]

NPZ_CONFIG = """\
models:
  churn:
    path: models/churn.npz
    loader: "serving_npz:load"
    task: classification
    data: {path: data/eval.csv, target: target, slices: [region]}
    metrics: [roc_auc, spread]
    pointer: ../pointers
"""
SERVING_NPZ = """\
from pathlib import Path

import numpy as np

LOADED = []


class Model:
    def __init__(self, path):
        weights = np.load(path)
        self.coef, self.intercept = weights["coef"], weights["intercept"]
        self.classes_ = np.array([0, 1])

    def predict_proba(self, x):
        p = 1 / (1 + np.exp(-(np.asarray(x, dtype=float) @ self.coef + self.intercept)))
        return np.column_stack([1 - p, p])

    def predict(self, x):
        return (self.predict_proba(x)[:, 1] > 0.5).astype(int)


def load(path):
    LOADED.append(path)
    return Model(path)


def load_json(path):
    import json

    model = Model.__new__(Model)
    weights = json.loads(Path(path).read_text())
    model.coef, model.intercept = np.array(weights["coef"]), weights["intercept"]
    model.classes_ = np.array([0, 1])
    return model


class NoProba:
    def predict(self, x):
        return np.zeros(len(x))


def no_proba(path):
    return NoProba()


def nothing(path):
    return {"weights": path}


def broken(path):
    raise RuntimeError("CUDA is not available")
"""
METRICS = '''\
import numpy as np


def spread(y_true, proba, sample_weight=None):
    """A custom metric in the repository, next to champion.yaml (not installed)."""
    return float(np.std(proba))
'''


@pytest.fixture(autouse=True)
def _own_user_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    folders.forget_user_code(monkeypatch)
    for name in ("serving_npz", "repo_metrics"):
        monkeypatch.delitem(sys.modules, name, raising=False)


def npz_project(tmp_path: Path) -> Repo:
    config = NPZ_CONFIG.replace(
        "[roc_auc, spread]",
        "[roc_auc, {name: spread, function: 'repo_metrics:spread', direction: higher, "
        "input: proba}]",
    )
    repo = make_repo(tmp_path, config, commit=False)
    (repo.path / "serving_npz.py").write_text(SERVING_NPZ)
    (repo.path / "repo_metrics.py").write_text(METRICS)
    write_eval(repo.path / "data/eval.csv")
    (repo.path / "models").mkdir()
    rng = np.random.default_rng(0)
    np.savez(repo.path / "models/churn.npz", coef=rng.normal(size=5), intercept=np.array(0.1))
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "npz model")
    repo.git("push", "-q", "origin", "main")
    return repo


def set_loader(repo: Repo, loader: str) -> None:
    config = (repo.path / "champion.yaml").read_text()
    (repo.path / "champion.yaml").write_text(config.replace("serving_npz:load", loader))


def evaluate(capsys: Capsys, repo: Repo) -> tuple[int, str]:
    result = run_cli(capsys, repo.path, "evaluate", "churn", "--out", str(repo.path / "r.json"))
    return result.code, result.out + result.err


def test_the_cli_imports_the_loader_and_custom_metrics_from_the_repository_root(
    tmp_path: Path,
) -> None:
    """As a user runs it: the `champion` command from elsewhere, nothing installed from the
    repository, which is only on the path because champion puts it there."""
    repo = npz_project(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("champion")),
            "-C",
            str(repo.path),
            "evaluate",
            "churn",
            "--out",
            str(tmp_path / "report.json"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["loader"] == "serving_npz:load" and report["format"] is None
    frame = pd.read_csv(repo.path / "data/eval.csv")
    weights = np.load(repo.path / "models/churn.npz")
    p = 1 / (1 + np.exp(-(frame[FEATURES].to_numpy() @ weights["coef"] + weights["intercept"])))
    [spread] = [m for m in report["metrics"] if m["name"] == "spread"]
    assert spread["candidate"] == pytest.approx(float(np.std(p)))  # of the class-1 probability


@pytest.mark.parametrize(
    ("loader", "needles"),
    [
        ("no_such_module:load", ["loader 'no_such_module:load': cannot import module"]),
        ("serving_npz:missing", ["loader 'serving_npz:missing': module 'serving_npz' has no"]),
        (
            "serving_npz:nothing",
            ["loader 'serving_npz:nothing' returned a dict, which has no predict"],
        ),
        (
            "serving_npz:no_proba",
            ["loader 'serving_npz:no_proba' returned a NoProba", "no predict_proba"],
        ),
        (
            "serving_npz:broken",
            ["loader 'serving_npz:broken' failed", "RuntimeError: CUDA is not available"],
        ),
    ],
    ids=["unimportable", "no-function", "no-predict", "no-proba", "raises"],
)
def test_a_loader_that_cannot_be_used_exits_2_naming_it(
    tmp_path: Path, capsys: Capsys, loader: str, needles: list[str]
) -> None:
    repo = npz_project(tmp_path)
    set_loader(repo, loader)
    code, text = evaluate(capsys, repo)
    assert code == 2, text
    assert "Traceback" not in text
    for needle in needles:
        assert needle in text
    assert not (repo.path / "r.json").exists()


def test_a_single_file_loader_gets_a_path_with_the_artifact_name(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some libraries read the format from the suffix: LiveModel hands a loader the verified
    file under its own name, not the cache's sha256."""
    repo = npz_project(tmp_path)
    assert run_cli(capsys, repo.path, "register", "churn", "--version", "0.1.0", "--push").code == 0
    result = run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    assert result.code == 0, result.err
    artifact = json.loads((repo.path.parent / "pointers/prod.json").read_text())["artifact"]
    assert (artifact["format"], artifact["loader"], artifact["kind"]) == (
        None,
        "serving_npz:load",
        "file",
    )
    monkeypatch.syspath_prepend(str(repo.path))
    import serving_npz  # type: ignore[import-not-found]

    live = LiveModel("churn", str(repo.path.parent / "pointers"), tmp_path / "cache")
    [path] = serving_npz.LOADED
    assert Path(path).name == "churn.npz"
    assert Path(path).parent == tmp_path / "cache" / f"{artifact['sha256']}.named"
    x = dataset(10)[FEATURES].to_numpy()
    expected = serving_npz.Model(str(repo.path / "models/churn.npz")).predict_proba(x)
    assert (live.predict_proba(x) == expected).all()


def test_an_onnx_model_is_registered_published_and_served_as_onnx(
    tmp_path: Path, capsys: Capsys
) -> None:
    """The pointer said "joblib" for a .onnx model before (issue 12): now "onnx", and LiveModel
    runs the graph with onnxruntime."""
    config = "models:\n  churn:\n    path: models/churn.onnx\n    pointer: ../pointers\n"
    repo = make_repo(tmp_path, config, commit=False)
    _, model = onnx_models.tensor_classifier(repo.path / "models/churn.onnx", zipmap=True)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "onnx")
    repo.git("push", "-q", "origin", "main")
    assert run_cli(capsys, repo.path, "register", "churn", "--push").code == 0
    result = run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    assert result.code == 0, result.err
    body = repo.git("for-each-ref", "--format=%(contents:body)", "refs/tags/churn@v0.1.0")
    assert json.loads(body)["artifact"]["format"] == "onnx"
    pointer = json.loads((repo.path.parent / "pointers/prod.json").read_text())
    assert pointer["artifact"]["format"] == "onnx"
    live = LiveModel("churn", str(repo.path.parent / "pointers"), tmp_path / "cache")
    frame = dataset(200, seed=5)[FEATURES]
    np.testing.assert_allclose(live.predict_proba(frame), model.predict_proba(frame), atol=1e-5)


def test_with_a_loader_a_json_artifact_is_a_model_not_a_metrics_file(
    tmp_path: Path, capsys: Capsys
) -> None:
    """The suffix names a format for champion's own loading only: xgboost saves model.json."""
    repo = npz_project(tmp_path)
    set_loader(repo, "serving_npz:load_json")
    config = (repo.path / "champion.yaml").read_text()
    (repo.path / "champion.yaml").write_text(config.replace("churn.npz", "churn.json"))
    weights = np.load(repo.path / "models/churn.npz")
    (repo.path / "models/churn.json").write_text(
        json.dumps({"coef": weights["coef"].tolist(), "intercept": float(weights["intercept"])})
    )
    code, text = evaluate(capsys, repo)
    assert code == 0, text
    report = json.loads((repo.path / "r.json").read_text())
    assert (report["format"], report["loader"]) == (None, "serving_npz:load_json")
    assert report["data"] is not None  # predictions were made: not metrics-only mode

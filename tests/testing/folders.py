"""Folder artifacts as teams ship them: a model's files in a folder, and the user's own loader (a
module at the repository root, not installed) that turns the folder into an object with predict."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from testing.models import FEATURES, train, write_eval

# The user's serving code, committed at the repository root as serving.py.
SERVING = '''\
import json
from pathlib import Path

import numpy as np
import pytest


class Linear:
    """A logistic model read from a folder: config.json and weights/coef.npy."""

    def __init__(self, folder):
        config = json.loads((folder / "config.json").read_text())
        self.features = config["features"]
        self.classes_ = np.array(config["classes"])
        weights = np.load(folder / "weights" / "coef.npy")
        self.coef, self.intercept = weights[:-1], weights[-1]

    def predict_proba(self, x):
        x = x[self.features].to_numpy() if hasattr(x, "columns") else np.asarray(x, dtype=float)
        p = 1 / (1 + np.exp(-(x @ self.coef + self.intercept)))
        return np.column_stack([1 - p, p])

    def predict(self, x):
        return self.classes_[(self.predict_proba(x)[:, 1] > 0.5).astype(int)]


def load(path):
    return Linear(Path(path))


def load_without_proba(path):
    return Linear(Path(path)).predict  # a function: it has no predict method at all
'''

CONFIG = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn
    loader: "serving:load"
    task: classification
    data: {path: data/eval.csv, target: target, slices: [region]}
    metrics: [roc_auc, accuracy]
    stats: {resamples: 200}
    gate:
      roc_auc: {max_regression: 0.5}
    pointer: ../pointers
"""


def write_model_folder(folder: Path, kind: str = "good") -> None:
    """The folder a training script leaves: a config, the weights, a README, and a symlink
    inside the folder (`weights/latest.npy` -> `coef.npy`), as checkpoint folders have."""
    model = train(kind)
    (folder / "weights").mkdir(parents=True, exist_ok=True)
    np.save(folder / "weights" / "coef.npy", np.append(model.coef_.ravel(), model.intercept_))
    (folder / "config.json").write_text(
        json.dumps({"features": FEATURES, "classes": model.classes_.tolist()})
    )
    (folder / "README.md").write_text(f"# churn ({kind})\n")
    link = folder / "weights" / "latest.npy"
    if link.exists() or link.is_symlink():
        link.unlink()  # DVC checks a folder out with the link's target copied in its place
    os.symlink("coef.npy", link)


def set_up(repo_path: Path, kind: str = "good") -> None:
    """serving.py, the evaluation data, and the model folder in a working tree."""
    (repo_path / "serving.py").write_text(SERVING)
    write_eval(repo_path / "data/eval.csv")
    write_model_folder(repo_path / "models/churn", kind)


def manifest_sha256(folder: Path) -> tuple[str, list[dict[str, object]]]:
    """The folder's sha256 as docs/artifacts.md tells a user to compute it (what `sha256sum` prints for
    each file, sorted by path, hashed), written here independently of champion; and the files."""
    lines, files = [], []
    for rel in sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()):
        path = folder / rel
        data = path.read_bytes()  # follows the symlink, as sha256sum does
        digest = hashlib.sha256(data).hexdigest()
        lines.append(f"{digest}  {rel}\n")
        files.append({"path": rel, "sha256": digest, "size": len(data)})
    return hashlib.sha256("".join(lines).encode()).hexdigest(), files


def loaded_model(folder: Path) -> object:
    """What the user's loader returns for `folder`, loaded the way a user would."""
    namespace: dict[str, object] = {}
    exec(compile(SERVING, "serving.py", "exec"), namespace)  # the test's own code
    load = namespace["load"]
    assert callable(load)
    return load(str(folder))


def forget_user_code(mp: pytest.MonkeyPatch) -> None:
    """Each test imports its own repository's serving.py: champion puts the repository root on
    sys.path (in-process here, as a CLI run does for its one project), and Python caches the
    module. Both are undone after the test."""
    mp.setattr(sys, "path", list(sys.path))
    mp.delitem(sys.modules, "serving", raising=False)

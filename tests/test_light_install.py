"""`pip install champion` without DVC (issue 17): git-tracked models register, evaluate, publish
and serve; a DVC-tracked artifact, a DVC pipeline or a remote on S3 is exit 2 naming the exact
install command. Each case runs champion in a subprocess where every package only DVC brings
(dvc, dvc-data, fsspec, tqdm, ...: computed from the installed metadata, not listed by hand) is
hidden by a meta-path blocker, as in an environment that never installed them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from testing.deploy import build_dvc_project
from testing.models import save, train, write_eval
from testing.repos import Repo, make_repo

BLOCKER = """\
import importlib.abc, sys

HIDDEN = frozenset({hidden!r})


class Hidden(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}} (hidden by the test)", name=name)
        return None


sys.meta_path.insert(0, Hidden())
"""


def _closure(roots: list[Requirement]) -> set[str]:
    """The distributions `roots` need, recursively, extras' requirements only when asked for."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        try:
            requires = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for line in requires:
            sub = Requirement(line)
            wanted = ["", *sorted(req.extras)]
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in wanted):
                todo.append(sub)
    return seen


@cache
def hidden_modules() -> frozenset[str]:
    base = [Requirement(r) for r in metadata.requires("champion") or [] if "extra ==" not in r]
    dvc_only = _closure([Requirement("dvc")]) - _closure(base)
    modules = {
        module
        for module, dists in metadata.packages_distributions().items()
        if any(canonicalize_name(d) in dvc_only for d in dists)
    }
    assert {"dvc", "dvc_data", "fsspec"} <= modules, modules  # else the blocker hides nothing
    return frozenset(modules)


@pytest.fixture
def no_dvc(tmp_path: Path) -> dict[str, str]:
    """The environment of a subprocess that cannot import anything only DVC brings."""
    site = tmp_path / "no-dvc-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER.format(hidden=sorted(hidden_modules())))
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}


def champion(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "champion", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def test_the_blocker_hides_dvc_and_only_what_dvc_brings(no_dvc: dict[str, str]) -> None:
    probe = "import importlib.util as u; print(u.find_spec('yaml') is not None); import dvc"
    proc = subprocess.run([sys.executable, "-c", probe], env=no_dvc, capture_output=True, text=True)
    assert proc.stdout.strip() == "True"
    assert "No module named 'dvc' (hidden by the test)" in proc.stderr
    # What champion's own requirements bring stays importable.
    assert not {"yaml", "pandas", "sklearn", "github", "jinja2"} & hidden_modules()


GIT_PROJECT = """\
stages: [prod]
models:
  churn:
    path: models/churn.joblib
    data: {path: data/eval.csv, target: target}
    metrics: [roc_auc, accuracy]
    gate: {roc_auc: {max_regression: 0.01}}
    pointer: ../pointers
"""


def test_a_git_tracked_model_registers_evaluates_publishes_and_serves_without_dvc(
    no_dvc: dict[str, str], tmp_path: Path
) -> None:
    repo = make_repo(tmp_path, GIT_PROJECT, commit=False)
    save(train("good"), repo.path / "models" / "churn.joblib")
    write_eval(repo.path / "data" / "eval.csv")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "first model")
    repo.git("push", "-q", "origin", "main")

    for args in (
        ("register", "churn", "--push"),
        ("promote", "churn", "0.1.0", "--stage", "prod", "--push"),
    ):
        proc = champion(no_dvc, repo.path, *args)
        assert proc.returncode == 0, proc.stderr

    save(train("better"), repo.path / "models" / "churn.joblib")
    proc = champion(no_dvc, repo.path, "evaluate", "churn", "--out", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["champion"]["version"] == "0.1.0", report["champion"]

    status = champion(no_dvc, repo.path, "status", "churn", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["models"][0]["stages"]["prod"]["version"] == "0.1.0"

    # The serving side: LiveModel reads the pointer promote published and loads the artifact.
    serve = (
        "import sys\n"
        "import pandas as pd\n"
        "from champion.runtime import LiveModel\n"
        f"m = LiveModel('churn', {str(tmp_path / 'pointers')!r}, {str(tmp_path / 'cache')!r})\n"
        "print(m.version)\n"
        f"rows = pd.read_csv({str(repo.path / 'data' / 'eval.csv')!r}).drop(columns=['target', 'region'])\n"
        "print(len(m.predict(rows.head(7))))\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('github', 'jinja2')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", serve], env=no_dvc, capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["0.1.0", "7", "[]"]  # no CLI dependency imported


def test_a_dvc_tracked_artifact_without_dvc_is_exit_2_with_the_install_command(
    no_dvc: dict[str, str], tmp_path: Path
) -> None:
    repo: Repo = build_dvc_project(tmp_path, versions=1)  # DVC present here, in the test
    tags = repo.tags()
    proc = champion(no_dvc, repo.path, "register", "churn", "--version", "0.2.0")
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'champion[dvc]'" in proc.stderr
    assert "tracked by DVC" in proc.stderr and "Traceback" not in proc.stderr
    assert repo.tags() == tags  # nothing written


def test_a_pointer_on_s3_without_its_filesystem_is_exit_2_naming_the_s3_extra(
    no_dvc: dict[str, str], tmp_path: Path
) -> None:
    config = GIT_PROJECT.replace("pointer: ../pointers", "pointer: s3://bucket/champion/churn")
    repo = make_repo(tmp_path, config, commit=False)
    save(train("good"), repo.path / "models" / "churn.joblib")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "first model")
    repo.git("push", "-q", "origin", "main")
    proc = champion(no_dvc, repo.path, "register", "churn", "--push")
    assert proc.returncode == 0, proc.stderr
    proc = champion(no_dvc, repo.path, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "pip install 'champion[s3]'" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not [t for t in repo.tags() if "#prod#" in t]  # nothing written


def test_the_demo_without_dvc_names_the_install_command(
    no_dvc: dict[str, str], tmp_path: Path
) -> None:
    proc = champion(no_dvc, tmp_path, "demo", "--workdir", str(tmp_path / "demo"))
    assert proc.returncode == 2
    assert re.search(r"the demo .* needs DVC.*pip install 'champion\[dvc\]'", proc.stderr)
    assert not (tmp_path / "demo").exists()


def test_the_runtime_needs_only_pyyaml_and_the_models_own_libraries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The smallest install that serves (docs/serving.md, bench/install.py): champion without
    its dependencies, pyyaml, and what the model itself needs (joblib, scikit-learn). Every other
    package champion's install brings (pandas, pyarrow, PyGithub, jinja2, jsonschema ...) is
    hidden here, and LiveModel still follows the pointer, verifies and serves the model."""
    import joblib
    from sklearn.linear_model import LogisticRegression

    from testing.repos import run_cli

    base = [Requirement(r) for r in metadata.requires("champion") or [] if "extra ==" not in r]
    kept = _closure([Requirement("pyyaml"), Requirement("joblib"), Requirement("scikit-learn")])
    unneeded = (_closure(base) | _closure([Requirement("dvc")])) - kept
    hidden = {
        module
        for module, dists in metadata.packages_distributions().items()
        if any(canonicalize_name(d) in unneeded for d in dists)
    }
    assert {"pandas", "pyarrow", "github", "jinja2", "jsonschema", "dvc"} <= hidden
    site = tmp_path / "runtime-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER.format(hidden=sorted(hidden)))

    repo = make_repo(tmp_path, GIT_PROJECT.replace("models/churn.joblib", "m.joblib"), commit=False)
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    joblib.dump(model, repo.path / "m.joblib")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "model")
    repo.git("push", "-q", "origin", "main")
    assert run_cli(capsys, repo.path, "register", "churn", "--push").code == 0
    promoted = run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    assert promoted.code == 0, promoted.err
    capsys.readouterr()

    serve = (
        "from champion.runtime import LiveModel\n"
        f"live = LiveModel('churn', {str(tmp_path / 'pointers')!r}, {str(tmp_path / 'cache')!r})\n"
        "print(live.version, live.predict([[0.0], [3.0]]).tolist())\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    proc = subprocess.run(
        [sys.executable, "-c", serve], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0.1.0 [0, 1]"

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_the_whole_flow_on_real_git_dvc_and_scikit_learn(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    proc = subprocess.run(
        [sys.executable, "-m", "champion", "demo", "--workdir", str(workspace)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "demo finished" in proc.stdout
    assert "diagnosis@v0.1.0: " in proc.stdout and "matches the tag" in proc.stdout
    # Last, the registry as a site, and where to open it.
    index = workspace / "site" / "index.html"
    assert f"open the site in a browser: {index.resolve()}" in proc.stdout
    site = json.loads((workspace / "site" / "registry.json").read_text())
    shown_by_name = {m["model"]: m for m in site["models"]}
    assert set(shown_by_name) == {"diagnosis", "diagnosis-onnx"}
    shown = shown_by_name["diagnosis"]
    assert shown_by_name["diagnosis-onnx"]["stages"]["prod"]["version"] == "0.1.1"
    assert shown["stages"]["prod"]["version"] == "0.2.0"
    [rollback] = shown["recent_rollbacks"]
    assert (rollback["rolled_back"], rollback["to"], rollback["automatic"]) == (
        "0.3.0",
        "0.2.0",
        True,
    )
    assert (workspace / "site" / shown["page"]).is_file()

    status = subprocess.run(
        [sys.executable, "-m", "champion", "status", "--json"],
        cwd=workspace / "project",
        capture_output=True,
        text=True,
        check=True,
    )
    models = {m["model"]: m for m in json.loads(status.stdout)["models"]}
    assert set(models) == {"diagnosis", "diagnosis-onnx"}
    model = models["diagnosis"]
    assert model["stages"]["prod"]["version"] == "0.2.0"
    assert model["stages"]["staging"]["version"] == "0.2.0"
    # The model that is no pickle: ONNX from its suffix, registered, gated, released, served.
    assert models["diagnosis-onnx"]["stages"]["prod"]["version"] == "0.1.1"
    pointer = json.loads((workspace / "pointers-onnx" / "prod.json").read_text())
    assert (pointer["version"], pointer["artifact"]["format"]) == ("0.1.1", "onnx")
    assert "serving diagnosis-onnx 0.1.1 predictions for 3 rows" in proc.stdout
    # The artifact is in DVC, not in git, and its remote copy is what the tag recorded.
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=workspace / "project", capture_output=True, text=True, check=True
    )
    assert "models/diagnosis.joblib.dvc" in tracked.stdout.split()
    assert "models/diagnosis.joblib" not in tracked.stdout.split()
    assert any((workspace / "dvc-remote").rglob("*")), "dvc push left the remote empty"

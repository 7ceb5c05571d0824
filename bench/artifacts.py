"""Artifact kinds benchmark: what folders and ONNX cost, against baselines measured in the same run.

1. A folder's manifest (the version sha256 of a folder artifact): champion hashing the working
   tree (`champion.manifest.of_folder`) and reading it at its commit from git (`git ls-tree`, one
   `git cat-file --batch`: `champion.artifacts.describe`), against the coreutils one-liner the
   docs give (find | sort | xargs sha256sum | sha256sum) on the same folder.
2. Predictions of the same logistic regression on the same CSV through `champion evaluate`
   (in-process), as joblib (baseline), and as ONNX with probabilities as a tensor and as
   skl2onnx's default ZipMap (a list of dicts, turned into an array by the adapter).

Prints figures and ratios; never fails because something is slow. Exits 1 if a step goes wrong.

    .venv/bin/python bench/artifacts.py [--files 64] [--file-mib 4] [--rows 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENV = {
    **os.environ,
    "DVC_NO_ANALYTICS": "1",
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
ONE_LINER = (
    "find -L . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum"
)


def best(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def folders(work: Path, files: int, file_mib: int, runs: int) -> None:
    from champion.artifacts import describe
    from champion.manifest import of_folder

    repo = work / "repo"
    folder = repo / "models" / "ranker"
    (folder / "shards").mkdir(parents=True)
    for i in range(files):
        (folder / "shards" / f"part-{i:04d}.bin").write_bytes(os.urandom(file_mib << 20))
    for i in range(500):  # a tokenizer's small files
        (folder / "vocab" / f"{i // 100}").mkdir(parents=True, exist_ok=True)
        (folder / "vocab" / f"{i // 100}" / f"{i}.txt").write_text(f"token {i}\n" * 50)
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "a model folder")
    commit = git(repo, "rev-parse", "HEAD")

    def one_liner() -> str:
        proc = subprocess.run(
            ["bash", "-c", ONE_LINER], cwd=folder, check=True, capture_output=True, text=True
        )
        return proc.stdout.split()[0]

    base, expected = best(runs, one_liner)
    local, manifest = best(runs, lambda: of_folder(folder, "bench"))
    at_commit, info = best(runs, lambda: describe(repo, "models/ranker", commit))
    if not (expected == manifest.sha256 == info.sha256):
        sys.exit(
            f"sha256 differ: one-liner {expected}, working tree {manifest.sha256}, git {info.sha256}"
        )
    mib = total / (1 << 20)
    print(f"\n1. folder manifest: {files + 500} files, {mib:.0f} MiB (best of {runs})")
    print(f"   coreutils one-liner (baseline)   {base:7.2f} s  {mib / base:7.0f} MiB/s  1.00x")
    for label, seconds in (
        ("champion, working tree", local),
        ("champion, at the commit (git)", at_commit),
    ):
        print(f"   {label:<32} {seconds:7.2f} s  {mib / seconds:7.0f} MiB/s  {seconds / base:.2f}x")


def predictions(work: Path, rows: int, runs: int) -> None:
    import joblib
    import numpy as np
    import pandas as pd
    from skl2onnx import to_onnx
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from champion.evaluation.run import run as evaluation
    from champion.project import open_project

    repo = work / "eval"
    x, y = make_classification(rows + 5000, 20, n_informative=8, random_state=0)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(20)])
    frame["target"] = y
    model = LogisticRegression(max_iter=500).fit(frame.iloc[:5000, :20], y[:5000])
    (repo / "models").mkdir(parents=True)
    (repo / "data").mkdir()
    frame.iloc[5000:].to_csv(repo / "data" / "eval.csv", index=False)
    joblib.dump(model, repo / "models" / "m.joblib")
    sample = x[:1].astype(np.float32)
    for name, zipmap in (("tensor", False), ("zipmap", True)):
        onx = to_onnx(model, sample, options={id(model): {"zipmap": zipmap}})
        (repo / "models" / f"m-{name}.onnx").write_bytes(onx.SerializeToString())
    models = "\n".join(
        f"  {name}:\n    path: models/{path}\n    data: {{path: data/eval.csv, target: target}}\n"
        "    metrics: [roc_auc, accuracy]\n"
        for name, path in (
            ("joblib", "m.joblib"),
            ("tensor", "m-tensor.onnx"),
            ("zipmap", "m-zipmap.onnx"),
        )
    )
    (repo / "champion.yaml").write_text(f"models:\n{models}")
    git(repo.parent, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "models")
    project = open_project(repo)
    figures = {}
    for name in ("joblib", "tensor", "zipmap"):

        def run(name: str = name) -> dict[str, Any]:
            return evaluation(project, name).report

        _, report = best(1, run)  # warm-up (imports, onnxruntime's session set-up)
        seconds, report = best(runs, run)
        auc = next(m["candidate"] for m in report["metrics"] if m["name"] == "roc_auc")
        figures[name] = (seconds, report["timings"]["predict_candidate_s"], auc)
    base_total, base_predict, base_auc = figures["joblib"]
    print(f"\n2. champion evaluate, {rows:,} rows x 20 features (best of {runs})")
    print("   model                     total    ratio      predict    ratio    roc_auc")
    for name, label in (
        ("joblib", "joblib (baseline)"),
        ("tensor", "onnx, tensor"),
        ("zipmap", "onnx, ZipMap"),
    ):
        total, predict, auc = figures[name]
        print(
            f"   {label:<24} {total:7.2f} s  {total / base_total:5.2f}x  {predict:7.3f} s  "
            f"{predict / base_predict:6.2f}x   {auc:.6f}"
        )
        if abs(auc - base_auc) > 1e-5:
            sys.exit(f"{name}: roc_auc {auc} differs from joblib's {base_auc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--file-mib", type=int, default=4)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.update({k: v for k, v in ENV.items() if k.startswith(("GIT_", "DVC_"))})
    with tempfile.TemporaryDirectory(prefix="champion-bench-artifacts-") as tmp:
        folders(Path(tmp), args.files, args.file_mib, args.runs)
        predictions(Path(tmp), args.rows, args.runs)


if __name__ == "__main__":
    main()

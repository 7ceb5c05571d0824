"""The demo's training script: a scikit-learn classifier on a dataset that ships with scikit-learn.

    python train.py --model logreg|forest|boosting [--format joblib|onnx]

writes models/diagnosis.joblib (or, with --format onnx, the same classifier exported by skl2onnx
to models/diagnosis.onnx: no pickle, served by onnxruntime) and the fixed evaluation set
data/eval.csv.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=["logreg", "forest", "boosting"], default="logreg")
    parser.add_argument("--format", choices=["joblib", "onnx"], default="joblib")
    args = parser.parse_args()

    dataset = load_breast_cancer()
    x_train, x_eval, y_train, y_eval = train_test_split(
        dataset.data, dataset.target, test_size=0.3, random_state=0, stratify=dataset.target
    )
    if args.model == "logreg":
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, C=0.05))
    elif args.model == "forest":
        model = RandomForestClassifier(n_estimators=200, random_state=0, n_jobs=1)
    else:
        model = GradientBoostingClassifier(n_estimators=100, random_state=0)
    model.fit(x_train, y_train)

    Path("models").mkdir(exist_ok=True)
    Path("data").mkdir(exist_ok=True)
    if args.format == "onnx":
        from skl2onnx import to_onnx

        onx = to_onnx(model, x_train[:1].astype(np.float32))
        Path("models/diagnosis.onnx").write_bytes(onx.SerializeToString())
    else:
        joblib.dump(model, "models/diagnosis.joblib")
    header = ",".join([*(name.replace(" ", "_") for name in dataset.feature_names), "target"])
    rows = np.column_stack([x_eval, y_eval])
    np.savetxt("data/eval.csv", rows, delimiter=",", header=header, comments="", fmt="%.6g")
    accuracy = model.score(x_eval, y_eval)
    print(
        f"trained {args.model} ({args.format}): accuracy {accuracy:.4f} on {len(y_eval)} held-out "
        "rows"
    )


if __name__ == "__main__":
    main()

"""How a model artifact becomes an object with `predict`: the formats champion reads itself, an
ONNX graph behind scikit-learn's interface, and a user's own `loader: "module:function"`.

Light on purpose: the serving runtime imports it (no registry, git, DVC or config code).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

FORMATS = ("joblib", "pickle", "skops", "onnx", "metrics")
# What a service can load without a loader of its own (a metrics file is no model to serve).
SERVABLE = ("joblib", "pickle", "skops", "onnx")
SUFFIXES = {
    ".joblib": "joblib",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".skops": "skops",
    ".onnx": "onnx",
    ".json": "metrics",
    ".yaml": "metrics",
    ".yml": "metrics",
}


def infer_format(path: str | Path) -> str | None:
    """The format a file's suffix names, or None: an unknown suffix is never guessed."""
    return SUFFIXES.get(PurePosixPath(str(path)).suffix.lower())


def unknown_format_hint() -> str:
    suffixes = ", ".join(sorted(SUFFIXES))
    return (
        f"set format: on the model in champion.yaml (one of {', '.join(FORMATS)}; champion infers "
        f"it only from the suffixes {suffixes}), or a loader: 'module:function' that loads it"
    )

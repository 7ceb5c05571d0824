"""Loading a model, for an evaluation and for a service alike: only from bytes whose sha256 is
known, in the declared format, or by the model's own `loader:`.

joblib and pickle run code when loaded, so an artifact from the registry is unpickled only after
its sha256 matches the one its tag recorded (a folder: its manifest's, every file hashed). skops
loads only types the user trusts. A loader is the user's code: it runs after the same check.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from champion.errors import ChampionError
from champion.files import sha256_file
from champion.loading import unknown_format_hint
from champion.loading.custom import Loader, call_loader, loader_name
from champion.loading.metrics import read_metrics_file
from champion.manifest import of_folder


class ModelLoadError(ChampionError):
    pass


@dataclass(frozen=True)
class LoadedModel:
    """`obj` is the estimator, or the metrics mapping in metrics-only mode."""

    label: str  # "candidate" or "champion", for messages
    source: str  # a path or `TAG:path`
    sha256: str  # a folder's: its manifest's
    size: int
    format: str | None  # None: loaded by a loader, the suffix naming no format
    obj: Any
    loader: str | None = None


def load(
    path: Path,
    *,
    label: str,
    source: str,
    fmt: str | None,
    expected_sha256: str | None = None,
    trusted_types: Sequence[str] = (),
    loader: Loader | None = None,
    task: str | None = None,
) -> LoadedModel:
    """`path` is a file or a folder; `loader` (a "module:function" or a function) replaces the
    format's own loading; `task`, when declared, lets a loader's object be checked."""
    if path.is_dir():
        manifest = of_folder(path, f"{label} {source}")
        sha256, size = manifest.sha256, manifest.size
    elif path.is_file():
        sha256, size = sha256_file(path)
    else:
        raise ModelLoadError(
            f"{label} {source} does not exist: train it, `dvc pull` it, or pass its path"
        )
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise ModelLoadError(
            f"{label} {source}: sha256 mismatch, refusing to load it: the registry recorded "
            f"{expected_sha256}, the artifact has {sha256}"
        )
    if size == 0 and not path.is_dir():
        raise ModelLoadError(
            f"{label} {source} is empty (0 bytes): is it a DVC placeholder? `dvc pull` it"
        )
    if loader is not None:
        obj = call_loader(loader, path, label=label, source=source, task=task)
        return LoadedModel(label, source, sha256, size, fmt, obj, loader_name(loader))
    if path.is_dir():
        path = _folder_file(path, fmt, label, source)
    if fmt is None:
        raise ModelLoadError(
            f"{label} {source}: champion cannot tell its format from its name: "
            + unknown_format_hint()
        )
    obj = _deserialize(path, label=label, source=source, fmt=fmt, trusted_types=trusted_types)
    if fmt != "metrics":
        _check_estimator(obj, label, source)
    return LoadedModel(label, source, sha256, size, fmt, obj)


def _folder_file(folder: Path, fmt: str | None, label: str, source: str) -> Path:
    """A folder loads without a loader only as an ONNX graph with its external data beside it."""
    graphs = sorted(folder.rglob("*.onnx"))
    if fmt == "onnx" and len(graphs) == 1:
        return graphs[0]
    raise ModelLoadError(
        f"{label} {source} is a folder: champion loads a folder only through the model's "
        "loader: 'module:function' (called with the folder's path; it returns an object with "
        "predict), or as format: onnx when it holds one .onnx file"
    )


def _deserialize(
    path: Path, *, label: str, source: str, fmt: str, trusted_types: Sequence[str]
) -> Any:
    if fmt == "metrics":
        return read_metrics_file(path, what=f"{label} metrics {source}")
    if fmt == "skops":
        return _load_skops(path, label=label, source=source, trusted_types=trusted_types)
    if fmt == "onnx":
        from champion.loading import onnx

        return onnx.load(path, f"{label} {source}")
    try:
        if fmt == "joblib":
            import joblib

            return joblib.load(path)
        with path.open("rb") as f:
            return pickle.load(f)
    except ModuleNotFoundError as e:
        raise ModelLoadError(
            f"{label} {source} needs the module {e.name!r}, which is not installed here: install it"
        ) from e
    except Exception as e:  # a corrupt or truncated file raises anything from EOFError to KeyError
        raise ModelLoadError(
            f"{label} {source} cannot be loaded as {fmt}: it is corrupt, truncated or not a {fmt} "
            f"file ({type(e).__name__}: {e})"
        ) from e


def _load_skops(path: Path, *, label: str, source: str, trusted_types: Sequence[str]) -> Any:
    try:
        import skops.io as sio
    except ImportError as e:
        raise ModelLoadError(f"{label} {source} is a skops file: install skops to load it") from e
    try:
        untrusted = sorted(set(sio.get_untrusted_types(file=path)) - set(trusted_types))
    except Exception as e:
        raise ModelLoadError(
            f"{label} {source} is not a readable skops file ({type(e).__name__}: {e})"
        ) from e
    if untrusted:
        raise ModelLoadError(
            f"{label} {source} contains types that are not trusted: {', '.join(untrusted)}. If you "
            "trust them, list them under trusted_types: for this model in champion.yaml"
        )
    try:
        return sio.load(path, trusted=list(trusted_types))
    except Exception as e:
        raise ModelLoadError(
            f"{label} {source} cannot be loaded as skops ({type(e).__name__}: {e})"
        ) from e


def _check_estimator(obj: Any, label: str, source: str) -> None:
    if not any(hasattr(obj, m) for m in ("predict", "predict_proba", "decision_function")):
        raise ModelLoadError(
            f"{label} {source} holds a {type(obj).__name__}, which has no predict, predict_proba or "
            "decision_function: save the fitted estimator itself (joblib.dump(model, path))"
        )

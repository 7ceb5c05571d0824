"""A user's own code named as "module:function": a model's `loader:` (how PyTorch, TensorFlow,
MLflow pyfunc or Hugging Face folders are gated with real predictions) and custom metrics.

The repository root is importable for them, as it is for `python -m` run there: a user's
`serving.py` next to champion.yaml is found without installing it.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from champion.errors import ChampionError

REFERENCE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")

Loader = str | Callable[[str], Any]


class LoaderError(ChampionError):
    pass


def make_importable(root: Path) -> None:
    """Puts the repository root first on sys.path (where `python -m` puts the current folder)."""
    entry = str(root)
    if entry not in sys.path:
        sys.path.insert(0, entry)
        importlib.invalidate_caches()


def import_reference(reference: str, what: str) -> Any:
    """The object "package.module:name" names (the name may be dotted: "mod:Class.load")."""
    if not REFERENCE.match(reference):
        raise LoaderError(
            f"{what} {reference!r} must read 'package.module:function' (a module path, a colon, "
            "a name)"
        )
    module_name, _, attribute = reference.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
    except Exception as e:  # a user's module can raise anything while it is imported
        raise LoaderError(
            f"{what} {reference!r}: cannot import module {module_name!r} ({type(e).__name__}: "
            f"{e}); it is looked up from the repository root and the installed packages: "
            "check the name, and install what it imports (the actions' requirements input)"
        ) from e
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise LoaderError(
                f"{what} {reference!r}: module {module_name!r} has no {attribute!r}: check the name"
            )
        found = getattr(found, part)
    return found


def loader_name(loader: Loader) -> str:
    return loader if isinstance(loader, str) else getattr(loader, "__qualname__", repr(loader))


def call_loader(loader: Loader, path: Path, *, label: str, source: str, task: str | None) -> Any:
    """What `loader(local_path)` returns, checked: it must predict (and give probabilities for a
    classifier), or evaluation would fail later with a message about the data."""
    name = loader_name(loader)
    function = import_reference(loader, "loader") if isinstance(loader, str) else loader
    if not callable(function):
        raise LoaderError(f"loader {name!r} is a {type(function).__name__}, not a function")
    try:
        obj = function(str(path))
    except ChampionError:
        raise
    except Exception as e:  # the user's code: any failure is reported, with the model named
        raise LoaderError(
            f"{label} {source}: loader {name!r} failed on {path} ({type(e).__name__}: {e})"
        ) from e
    missing = [m for m in ("predict",) if not callable(getattr(obj, m, None))]
    if task == "classification" and not callable(getattr(obj, "predict_proba", None)):
        missing.append("predict_proba (task: classification)")
    if missing:
        raise LoaderError(
            f"{label} {source}: loader {name!r} returned a {type(obj).__name__}, which has no "
            f"{' and no '.join(missing)}: return an object with predict(DataFrame)"
            + (" and predict_proba(DataFrame)" if task == "classification" else "")
        )
    return obj

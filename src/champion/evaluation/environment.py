"""The libraries a model's classes come from, recorded when a version is released, and what to
say when its pickle no longer loads (issue 12, "Environment"): the library, the version it was
registered with and the version installed here."""

from __future__ import annotations

import pickle
import sys
from collections.abc import Mapping
from importlib import metadata
from typing import Any


class _Sink:
    def write(self, data: bytes) -> int:
        return len(data)


class _Recorder(pickle.Pickler):
    """Pickles into nothing, noting the module of every object's class (and of every class or
    function pickled by reference): what unpickling the model will import."""

    def __init__(self) -> None:
        super().__init__(_Sink(), protocol=pickle.HIGHEST_PROTOCOL)
        self.modules: set[str] = set()

    def persistent_id(self, obj: Any) -> None:
        named = obj if isinstance(obj, type) or callable(obj) else type(obj)
        module = getattr(named, "__module__", None)
        if isinstance(module, str):
            self.modules.add(module.partition(".")[0])
        return None


def model_libraries(obj: Any) -> dict[str, str]:
    """{distribution: version} of the installed libraries the model's objects come from
    (scikit-learn, numpy, lightgbm, xgboost, a team's own package ...), the standard library
    left out."""
    recorder = _Recorder()
    try:
        recorder.dump(obj)
    except Exception:  # not picklable as a whole (an adapter object): its own class at least
        recorder.modules.add(type(obj).__module__.partition(".")[0])
    modules = recorder.modules - set(sys.stdlib_module_names) - {"builtins", "__main__"}
    providers = metadata.packages_distributions()
    found: dict[str, str] = {}
    for module in sorted(modules):
        for dist in providers.get(module, ()):
            version = installed(dist)
            if version is not None:
                found[dist] = version
    return dict(sorted(found.items()))


def installed(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


# Versions recorded before `model_libraries` existed: the evaluation's tool versions.
_LEGACY = {"scikit_learn": "scikit-learn", "numpy": "numpy"}


def recorded_libraries(tag_metadata: Mapping[str, Any] | None) -> dict[str, str]:
    meta = tag_metadata or {}
    found = meta.get("model_libraries")
    if isinstance(found, dict) and found:
        return {str(k): str(v) for k, v in found.items()}
    legacy = meta.get("libraries")
    if isinstance(legacy, dict):
        return {_LEGACY[k]: str(v) for k, v in legacy.items() if k in _LEGACY}
    return {}


def mismatch(error: Exception, tag_metadata: Mapping[str, Any] | None) -> str:
    """What to add to a load error: each recorded library whose installed version differs, the
    one the error names first."""
    recorded = recorded_libraries(tag_metadata)
    named = _library_named_by(error)
    if not recorded:
        here = f" ({named} {installed(named) or 'is not installed'} here)" if named else ""
        return (
            f"; its tag records no library versions (registered before champion recorded "
            f"them){here}: load it in the environment it was trained in, or register it again"
        )
    changed = [
        (dist, version, installed(dist))
        for dist, version in recorded.items()
        if installed(dist) != version
    ]
    changed.sort(key=lambda c: c[0] != named)
    if not changed:
        return (
            "; the libraries it was registered with ("
            + ", ".join(f"{d} {v}" for d, v in recorded.items())
            + ") are the versions installed here"
        )
    described = ", ".join(
        f"{dist} {version} when registered, {now or 'not installed'} here"
        for dist, version, now in changed
    )
    pins = " ".join(f"'{dist}=={version}'" for dist, version, _ in changed)
    return (
        f"; a library version mismatch: {described}. Install the versions it was registered "
        f"with (pip install {pins}; in the actions, the requirements input), or release a model "
        "trained with the versions installed here"
    )


def _library_named_by(error: BaseException) -> str | None:
    """The distribution of the module an import error names (sklearn -> scikit-learn)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ModuleNotFoundError) and seen.name:
            module = seen.name.partition(".")[0]
            dists = metadata.packages_distributions().get(module)
            return dists[0] if dists else module
        seen = seen.__cause__
    return None

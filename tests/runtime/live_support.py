"""Pointers and artifacts in temp folders, as `champion publish` leaves them, for the runtime
tests (a module of its own: two conftest modules cannot be imported by the same name)."""

from __future__ import annotations

import hashlib
import pickle
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
from sklearn.datasets import make_classification

from champion.deploy import pointer
from champion.deploy.pointer import ArtifactRef, Canary, Pointer
from champion.deploy.store import Store

# Plain arrays, not frames: a call costs a third of a millisecond, so the tests can make thousands.
X, Y = make_classification(n_samples=600, n_features=5, n_informative=3, random_state=0)
ROWS = X[:8]


class Evil:
    """Unpickling it creates `marker`: proof that bytes were unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


@dataclass
class Registry:
    """A pointer folder (a real Store) and the artifacts its pointers name."""

    root: Path
    model: str = "churn"
    stage: str = "prod"
    counter: int = 0
    versions: dict[str, ArtifactRef] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.root / "pointers"

    @property
    def store(self) -> Store:
        return Store(str(self.folder))

    def artifact(self, version: str, obj: Any, fmt: str = "joblib") -> ArtifactRef:
        path = self.root / "artifacts" / f"{self.model}-{version}.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "joblib":
            joblib.dump(obj, path)
        else:
            path.write_bytes(pickle.dumps(obj))
        return self.ref(path, fmt)

    def ref(self, path: Path, fmt: str = "joblib", url: str | None = None) -> ArtifactRef:
        data = path.read_bytes()
        return ArtifactRef(
            path=f"models/{self.model}.{fmt}",
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            url=str(path) if url is None else url,
            format=fmt,
        )

    def add(self, version: str, obj: Any, fmt: str = "joblib") -> ArtifactRef:
        self.versions[version] = self.artifact(version, obj, fmt)
        return self.versions[version]

    def make(
        self,
        version: str,
        *,
        counter: int | None = None,
        artifact: ArtifactRef | None = None,
        canary: tuple[str, float] | None = None,
        canary_artifact: ArtifactRef | None = None,
        model: str | None = None,
        stage: str | None = None,
    ) -> Pointer:
        if counter is None:
            self.counter += 1
            counter = self.counter
        stage = stage or self.stage
        return Pointer(
            model=model or self.model,
            stage=stage,
            version=version,
            tag=f"{self.model}#{stage}#{counter}",
            commit="0" * 40,
            artifact=artifact or self.versions[version],
            counter=counter,
            updated_at="2026-01-01T00:00:00Z",
            canary=None
            if canary is None
            else Canary(
                version=canary[0],
                weight=canary[1],
                tag=f"{self.model}@v{canary[0]}",
                commit="1" * 40,
                artifact=canary_artifact or self.versions[canary[0]],
            ),
        )

    def publish(self, version: str, **kwargs: Any) -> Pointer:
        made = self.make(version, **kwargs)
        outcome = pointer.write(self.store, made).outcome
        assert outcome in ("written", "replaced"), outcome
        return made

    def overwrite(self, data: bytes) -> None:
        """Replaces the pointer file whatever it holds (a stale publisher, a hand edit)."""
        name = pointer.pointer_name(self.stage)
        assert self.store.write(name, data, self.store.read(name))


ENTERED = threading.Event()
RELEASE = threading.Event()


class Paused:
    """A real estimator whose calls wait inside predict_proba until RELEASE: a call in flight."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def predict_proba(self, x: Any) -> Any:
        ENTERED.set()
        if not RELEASE.wait(10):
            raise TimeoutError("RELEASE was never set")
        return self.inner.predict_proba(x)

"""The pointer: a small JSON file per model and stage that tells a service what to serve.

It is a view of the tags, never the source of truth: `champion publish` writes it from the
registry, and `champion.runtime.LiveModel` reads it. Its `counter` is the highest counter among the
stage's events, so a pointer written from an older view of the registry never replaces a newer one.
Anyone with write access to the store can edit it, so it is validated whenever it is read, and a
pointer that claims what the registry does not hold (a counter beyond the model's last tag, a tag
that does not exist) is no "newer view": publish replaces it and says so.

    {"schema": 1, "model": "churn", "stage": "prod", "version": "1.4.0", "tag": "churn#prod#7",
     "commit": "<sha>", "counter": 7, "updated_at": "2026-11-22T10:00:00Z",
     "artifact": {"path": "models/churn.joblib", "sha256": "...", "size": 1234,
                  "url": "s3://bucket/dvc/files/md5/ab/cdef...", "format": "joblib",
                  "kind": "file", "loader": null,
                  "signature": null | {"url": "signatures/<sha256>.json", "sha256": "...",
                                       "method": "key" | "sigstore"}},
     "canary": null | {"version": "1.5.0", "weight": 0.1, "tag": ..., "commit": ..., "artifact": {...}}}
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from champion import untrusted
from champion.deploy.store import Store, Stored
from champion.errors import ChampionError
from champion.loading.custom import REFERENCE

SCHEMA = 1
MAX_BYTES = 64 * 1024  # a pointer is a few hundred bytes; anything bigger is not one
MAX_ATTEMPTS = 8
MAX_COUNTER = 10**9  # a billion events of one model: beyond, a counter is a forgery, not history
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")  # SHA-1 or SHA-256 object names
_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.+-]+)?$")

# written: there was none, or an older one; replaced: the store held one that was unreadable or
# invalid (see Written.invalid); unchanged: the same target was there; newer-there: a valid
# pointer from a newer view of the registry was there, and stays.
Outcome = Literal["written", "replaced", "unchanged", "newer-there"]


class PointerError(ChampionError):
    pass


@dataclass(frozen=True)
class SignatureRef:
    """The version's signing bundle (issue 18), beside the pointers: a service verifies the
    artifact by it without git. `sha256` is the bundle file's, so a swapped file is noticed."""

    url: str
    sha256: str
    method: str  # "key" | "sigstore"


@dataclass(frozen=True)
class ArtifactRef:
    """`kind` "folder": `sha256` is the folder's manifest's, and `url` names its index (each
    file's path, sha256, size and URL; champion.runtime reads it)."""

    path: str
    sha256: str
    size: int
    url: str
    format: str | None = "joblib"  # None: no format known, a loader loads it
    kind: str = "file"
    loader: str | None = None  # "module:function" that loads it, as champion.yaml said
    signature: SignatureRef | None = None


@dataclass(frozen=True)
class Canary:
    version: str
    weight: float
    tag: str
    commit: str
    artifact: ArtifactRef


@dataclass(frozen=True)
class Pointer:
    model: str
    stage: str
    version: str
    tag: str
    commit: str
    artifact: ArtifactRef
    counter: int
    updated_at: str
    canary: Canary | None = None

    def to_json(self) -> bytes:
        return (
            json.dumps({"schema": SCHEMA, **asdict(self)}, sort_keys=True, indent=2) + "\n"
        ).encode()

    def same_target(self, other: Pointer) -> bool:
        """Everything but the time it was written."""
        return _without_time(self) == _without_time(other)


def _without_time(p: Pointer) -> dict[str, Any]:
    data = asdict(p)
    data.pop("updated_at")
    return data


def pointer_name(stage: str) -> str:
    return f"{stage}.json"


def parse(data: bytes, source: str) -> Pointer:
    """Validates a pointer read from a store (which anyone with write access to it could edit):
    its shape, its types, and values a pointer can hold. Whether the registry agrees is the
    caller's to check (`write`'s `check`); a service cannot see the tags."""
    if len(data) > MAX_BYTES:
        raise PointerError(f"{source} is {len(data)} bytes, too big to be a pointer")
    try:
        raw = untrusted.load_json(data, source)
    except untrusted.UntrustedInput as e:
        raise PointerError(f"{e}: republish it (champion publish)") from e
    if not isinstance(raw, dict):
        raise PointerError(f"{source} is not a JSON object: republish it (champion publish)")
    if raw.get("schema") != SCHEMA:
        raise PointerError(
            f"{source} has pointer schema {raw.get('schema')!r}; this champion reads schema "
            f"{SCHEMA}: upgrade champion, or republish the pointer"
        )
    try:
        canary = raw.get("canary")
        return Pointer(
            model=_str(raw, "model"),
            stage=_str(raw, "stage"),
            version=_matching(raw, "version", _VERSION, "a version X.Y.Z"),
            tag=_str(raw, "tag"),
            commit=_matching(raw, "commit", _COMMIT, "a commit sha"),
            artifact=_artifact(raw.get("artifact")),
            counter=_counter(raw),
            updated_at=_str(raw, "updated_at"),
            canary=None if canary is None else _canary(canary),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise PointerError(f"{source} is not a valid pointer: {e}") from e


def _str(raw: Any, key: str) -> str:
    if not isinstance(raw, dict):
        raise TypeError("expected an object")
    value = raw[key]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key!r} must be a non-empty string")
    return value


def _matching(raw: Any, key: str, pattern: re.Pattern[str], what: str) -> str:
    value = _str(raw, key)
    if not pattern.match(value):
        raise ValueError(f"{key!r} must be {what}, not {value[:80]!r}")
    return value


def _int(raw: dict[str, Any], key: str) -> int:
    value = raw[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key!r} must be a non-negative integer")
    return value


def _counter(raw: dict[str, Any]) -> int:
    value = _int(raw, "counter")
    if value > MAX_COUNTER:
        raise ValueError(f"'counter' {value} is beyond any model's history (at most {MAX_COUNTER})")
    return value


def _artifact(raw: Any) -> ArtifactRef:
    if not isinstance(raw, dict):
        raise ValueError("'artifact' must be an object")
    sha256 = _str(raw, "sha256")
    if not _SHA256.match(sha256):
        raise ValueError("'artifact.sha256' must be 64 lowercase hex digits")
    kind = raw.get("kind", "file")
    if kind not in ("file", "folder"):
        raise ValueError("'artifact.kind' must be file or folder")
    # Pointers written before formats were inferred said nothing: they were joblib.
    fmt = raw.get("format", "joblib")
    if fmt is not None and not (isinstance(fmt, str) and fmt):
        raise ValueError("'artifact.format' must be null or a format name")
    loader = raw.get("loader")
    if loader is not None and not (isinstance(loader, str) and REFERENCE.match(loader)):
        raise ValueError("'artifact.loader' must be null or a 'package.module:function' string")
    return ArtifactRef(
        path=_str(raw, "path"),
        sha256=sha256,
        size=_int(raw, "size"),
        url=_str(raw, "url"),
        format=fmt,
        kind=kind,
        loader=loader,
        signature=_signature(raw.get("signature")),
    )


def _signature(raw: Any) -> SignatureRef | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("'artifact.signature' must be null or an object")
    sha256 = _str(raw, "sha256")
    if not _SHA256.match(sha256):
        raise ValueError("'artifact.signature.sha256' must be 64 lowercase hex digits")
    method = raw.get("method")
    if method not in ("key", "sigstore"):
        raise ValueError("'artifact.signature.method' must be key or sigstore")
    return SignatureRef(url=_str(raw, "url"), sha256=sha256, method=method)


def _canary(raw: Any) -> Canary:
    if not isinstance(raw, dict):
        raise ValueError("'canary' must be an object or null")
    weight = raw.get("weight")
    if (
        not isinstance(weight, (int, float))
        or isinstance(weight, bool)
        or not math.isfinite(weight)
        or not 0 <= weight <= 1
    ):
        raise ValueError("'canary.weight' must be a number between 0 and 1")
    return Canary(
        version=_matching(raw, "version", _VERSION, "a version X.Y.Z"),
        weight=float(weight),
        tag=_str(raw, "tag"),
        commit=_matching(raw, "commit", _COMMIT, "a commit sha"),
        artifact=_artifact(raw.get("artifact")),
    )


def read(store: Store, stage: str) -> Pointer | None:
    stored = store.read(pointer_name(stage))
    return None if stored is None else parse(stored.data, store.url(pointer_name(stage)))


@dataclass(frozen=True)
class Written:
    outcome: Outcome
    there: Pointer | None  # what the store held, when it was a readable pointer
    invalid: str | None = None  # why what the store held was replaced ("replaced")


# What the registry says of a pointer found in the store: None when it could be real, else why
# it cannot (another model's, a counter beyond the model's last tag, a tag that does not exist).
Check = Callable[[Pointer], str | None]


def write(store: Store, pointer: Pointer, check: Check | None = None) -> Written:
    """Writes `pointer` unless the store holds a valid one with a higher counter (a newer view
    of the registry) or the same target already. One that does not parse, or that `check`
    refuses, is replaced whatever its counter: a forged counter must not hold publishing back."""
    name = pointer_name(pointer.stage)
    for _ in range(MAX_ATTEMPTS):
        stored: Stored | None = store.read(name)
        there: Pointer | None = None
        invalid: str | None = None
        if stored is not None:
            try:
                there = parse(stored.data, store.url(name))
            except PointerError as e:
                invalid = str(e)
            else:
                invalid = check(there) if check is not None else None
        if there is not None and invalid is None:
            if there.counter > pointer.counter:
                return Written("newer-there", there)
            if there.same_target(pointer):
                return Written("unchanged", there)
        if store.write(name, pointer.to_json(), stored):
            return Written("replaced" if invalid else "written", there, invalid)
    raise PointerError(
        f"{store.url(name)} kept changing while champion wrote it ({MAX_ATTEMPTS} attempts): "
        "another publisher is busy; run champion publish again"
    )

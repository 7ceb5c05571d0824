"""LiveModel: serve the version a pointer names, and follow the pointer as it moves."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, TypedDict

from champion.deploy.pointer import ArtifactRef, Pointer, parse, pointer_name
from champion.deploy.store import Store, is_url
from champion.errors import ChampionError
from champion.loading.custom import Loader
from champion.runtime._artifact import RuntimeLoadError, load_verified, resolve
from champion.runtime._routing import routes_to_canary
from champion.signing.bundle import Trust

log = logging.getLogger("champion.runtime")


class CanaryHealth(TypedDict):
    version: str
    weight: float


class Health(TypedDict):
    status: Literal["ok", "degraded"]
    model: str
    stage: str
    version: str
    loaded_at: str
    pointer_counter: int
    last_error: str | None
    last_checked_at: str
    canary: CanaryHealth | None


@dataclass(frozen=True)
class Swap:
    """What `on_swap` receives, right after the new snapshot started serving."""

    model: str
    stage: str
    from_version: str
    to_version: str
    canary_version: str | None
    counter: int
    pointer_updated_at: str
    at: float  # time.time() when the first call could see it


@dataclass(frozen=True)
class _Loaded:
    version: str
    sha256: str
    format: str | None
    loader: Loader | None
    obj: Any


@dataclass(frozen=True)
class _Snapshot:
    """Everything a call reads, replaced whole: a call never mixes two pointers' models."""

    pointer: Pointer
    main: _Loaded
    canary: _Loaded | None  # None also when the pointer's canary failed to load
    loaded_at: str

    @property
    def weight(self) -> float:
        return 0.0 if self.pointer.canary is None else self.pointer.canary.weight


class LiveModel:
    """The version live in `stage`, loaded from the artifact its pointer names after its sha256
    matched, and swapped for the next one when `refresh()` (or the poll thread) sees the pointer
    move. The constructor loads the live version and raises `RuntimeLoadError` if it cannot; from
    then on a failure never stops serving: the last good version keeps answering and `health()`
    reports it.

    `loader` ("module:function", or a function) is called with the verified artifact's local path
    (a file, or a folder) and returns the object that serves; it replaces the loader the pointer
    names (champion.yaml's `loader:`), and serves artifacts of any format.

    A service cannot see the registry's tags, so it validates what a pointer alone can show:
    its schema and types, this model and stage, a format the runtime loads, a counter of at
    most `pointer.MAX_COUNTER` that never goes back, and the artifact's sha256. A pointer that
    fails any of these leaves the current version serving and `health()` "degraded"."""

    def __init__(
        self,
        model: str,
        pointer_url: str,
        cache_dir: str | Path,
        *,
        stage: str = "prod",
        poll_interval: float | None = None,
        trusted_types: Iterable[str] = (),
        on_swap: Callable[[Swap], object] | None = None,
        loader: Loader | None = None,
        public_key: str | bytes | Path | None = None,
        identity: str | None = None,
        issuer: str | None = None,
    ) -> None:
        if poll_interval is not None and not poll_interval > 0:
            raise ValueError(
                f"poll_interval must be a positive number of seconds, not {poll_interval!r}"
            )
        self.model = model
        self.stage = stage
        self.pointer_url = pointer_url
        self.cache_dir = Path(cache_dir)
        self.poll_interval = poll_interval
        self._trusted = tuple(trusted_types)
        self._loader = loader
        self._trust = _trust(public_key, identity, issuer)
        self._on_swap = on_swap
        self._store, self._name, self._base = _locate(pointer_url, stage)
        self._source = self._store.url(self._name)
        self._refresh_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        pointer = self._read_pointer()
        main = self._load(pointer.version, pointer.artifact, [])
        canary, self._last_error = self._load_canary(pointer, [main])
        self._snapshot = _Snapshot(pointer, main, canary, _now())
        self._last_checked_at = self._snapshot.loaded_at
        if poll_interval is not None:
            self.start()

    # --- serving -------------------------------------------------------------------------------

    @property
    def version(self) -> str:
        return self._snapshot.main.version

    @property
    def canary_version(self) -> str | None:
        """The canary's version while it serves (None without a canary, or if it failed to load)."""
        canary = self._snapshot.canary
        return None if canary is None else canary.version

    def predict(self, x: Any, key: object = None) -> Any:
        return self._call("predict", x, key)[0]

    def predict_proba(self, x: Any, key: object = None) -> Any:
        return self._call("predict_proba", x, key)[0]

    def predict_with_version(self, x: Any, key: object = None) -> tuple[Any, str]:
        """The prediction and the version that made it (the canary's for keys routed to it)."""
        return self._call("predict", x, key)

    def predict_proba_with_version(self, x: Any, key: object = None) -> tuple[Any, str]:
        return self._call("predict_proba", x, key)

    def _call(self, method: str, x: Any, key: object) -> tuple[Any, str]:
        snapshot = self._snapshot  # one read: a swap during the call does not change its model
        served = snapshot.main
        if (
            key is not None
            and snapshot.canary is not None
            and routes_to_canary(key, snapshot.weight)
        ):
            served = snapshot.canary
        function = getattr(served.obj, method, None)
        if function is None:
            raise AttributeError(
                f"{self.model} {served.version} is a {type(served.obj).__name__}, which has no "
                f"{method}"
            )
        return function(x), served.version

    def health(self) -> Health:
        snapshot = self._snapshot
        error = self._last_error
        canary = snapshot.pointer.canary
        return {
            "status": "ok" if error is None else "degraded",
            "model": self.model,
            "stage": self.stage,
            "version": snapshot.main.version,
            "loaded_at": snapshot.loaded_at,
            "pointer_counter": snapshot.pointer.counter,
            "last_error": error,
            "last_checked_at": self._last_checked_at,
            "canary": (
                None
                if canary is None or snapshot.canary is None
                else {"version": canary.version, "weight": canary.weight}
            ),
        }

    # --- following the pointer -----------------------------------------------------------------

    def refresh(self) -> bool:
        """Reads the pointer and, if it moved, loads what it names and swaps to it. Returns True
        when a new snapshot started serving. Never raises: a failure keeps the current version
        serving and shows in `health()` until a later refresh succeeds."""
        with self._refresh_lock:
            try:
                swap = self._refresh()
            except Exception as e:  # a serving process outlives any one bad pointer or artifact
                self._last_error = _describe(e)
                log.warning(
                    "%s %s: keeps serving %s: %s",
                    self.model,
                    self.stage,
                    self.version,
                    self._last_error,
                )
                swap = None
            finally:
                self._last_checked_at = _now()
        if swap is None:
            return False
        log.info(
            "%s %s: now serving %s (counter %d)",
            self.model,
            self.stage,
            swap.to_version,
            swap.counter,
        )
        if self._on_swap is not None:
            try:
                self._on_swap(swap)
            except Exception:  # the caller's bug; the swap itself happened
                log.exception("%s %s: on_swap failed", self.model, self.stage)
        return True

    def _refresh(self) -> Swap | None:
        current = self._snapshot
        pointer = self._read_pointer()
        if pointer.counter < current.pointer.counter:
            # Publishers never write a lower counter over a higher one, so this is a stale copy
            # of the pointer (a replica, a cache) or the pointer this service followed was
            # invalid and `champion publish` replaced it. A service cannot see the tags to tell
            # which: it keeps serving and says so, and a restart follows the pointer as it is.
            self._last_error = (
                f"pointer {self._source} went back from counter {current.pointer.counter} to "
                f"{pointer.counter} ({pointer.version}): a stale copy of it, or the pointer "
                f"served until now was invalid and was replaced (champion publish reports "
                f"that); keeps serving {current.main.version}. Restart the service to follow "
                "the pointer as it is now"
            )
            log.warning("%s %s: %s", self.model, self.stage, self._last_error)
            return None
        canary_missing = pointer.canary is not None and current.canary is None
        if pointer.same_target(current.pointer) and not canary_missing:
            self._last_error = None
            return None
        loaded = [m for m in (current.main, current.canary) if m is not None]
        main = self._load(pointer.version, pointer.artifact, loaded)
        canary, error = self._load_canary(pointer, [main, *loaded])
        if canary is None and pointer.same_target(current.pointer):
            self._last_error = error  # the canary failed again: nothing new to serve
            return None
        snapshot = _Snapshot(pointer, main, canary, _now())
        self._snapshot = snapshot
        self._last_error = error
        return Swap(
            model=self.model,
            stage=self.stage,
            from_version=current.main.version,
            to_version=main.version,
            canary_version=None if canary is None else canary.version,
            counter=pointer.counter,
            pointer_updated_at=pointer.updated_at,
            at=time.time(),
        )

    def start(self, poll_interval: float | None = None) -> None:
        """Polls the pointer every `poll_interval` seconds on a daemon thread (a no-op while one
        runs). The constructor calls it when given a poll_interval."""
        interval = poll_interval if poll_interval is not None else self.poll_interval
        if interval is None or not interval > 0:
            raise ValueError(f"start() needs a positive poll_interval, not {interval!r}")
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._poll,
            args=(interval, self._stop),
            name=f"champion-live-{self.model}-{self.stage}",
            daemon=True,
        )
        self._thread.start()

    def close(self, timeout: float | None = None) -> None:
        """Stops the poll thread, waiting for a refresh in progress (at most `timeout` seconds)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def __enter__(self) -> LiveModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _poll(self, interval: float, stop: threading.Event) -> None:
        while not stop.wait(interval):
            try:
                self.refresh()
            except Exception as e:  # refresh records its own failures; the thread must not die
                self._last_error = _describe(e)

    # --- reading and loading -------------------------------------------------------------------

    def _read_pointer(self) -> Pointer:
        try:
            stored = self._store.read(self._name)
            if stored is None:
                raise RuntimeLoadError(
                    f"pointer {self._source} does not exist: publish it (champion publish "
                    f"{self.model} --stage {self.stage}) or check pointer_url"
                )
            pointer = parse(stored.data, self._source)
        except RuntimeLoadError:
            raise
        except ChampionError as e:  # StoreError, PointerError: their messages name the pointer
            raise RuntimeLoadError(str(e)) from e
        if pointer.model != self.model:
            raise RuntimeLoadError(
                f"pointer {self._source} is for model {pointer.model!r}, not {self.model!r}: check "
                "pointer_url and the model name"
            )
        if pointer.stage != self.stage:
            raise RuntimeLoadError(
                f"pointer {self._source} is for stage {pointer.stage!r}, not {self.stage!r}: pass "
                f"stage={pointer.stage!r} or check pointer_url"
            )
        return pointer

    def _load(self, version: str, ref: ArtifactRef, loaded: list[_Loaded]) -> _Loaded:
        loader = self._loader if self._loader is not None else ref.loader
        for model in loaded:  # already in memory, verified when it was loaded
            if (model.sha256, model.format, model.loader) == (ref.sha256, ref.format, loader):
                return _Loaded(version, ref.sha256, ref.format, loader, model.obj)
        url = resolve(ref.url, self._base)
        try:
            obj = load_verified(
                ref, url, self.cache_dir, self._trusted, loader, self._trust, self._base
            )
        except RuntimeLoadError as e:
            raise RuntimeLoadError(f"{self.model} {version} (pointer {self._source}): {e}") from e
        return _Loaded(version, ref.sha256, ref.format, loader, obj)

    def _load_canary(
        self, pointer: Pointer, loaded: list[_Loaded]
    ) -> tuple[_Loaded | None, str | None]:
        """The canary, or None and why: without its canary the main version serves every call."""
        if pointer.canary is None:
            return None, None
        try:
            return self._load(pointer.canary.version, pointer.canary.artifact, loaded), None
        except Exception as e:
            return None, f"canary not serving, {pointer.version} serves every call: {_describe(e)}"


def _trust(
    public_key: str | bytes | Path | None, identity: str | None, issuer: str | None
) -> Trust | None:
    """Whose signature every loaded version must carry, checked now (a bad key raises here)."""
    if public_key is None and identity is None and issuer is None:
        return None
    from champion.signing.bundle import SigningError

    try:
        if public_key is not None:
            if identity is not None or issuer is not None:
                raise SigningError("pass public_key, or identity and issuer, not both")
            return Trust.key(public_key, source="public_key")
        return Trust.sigstore(identity or "", issuer or "", "identity/issuer")
    except SigningError as e:
        raise RuntimeLoadError(str(e)) from e


def _locate(pointer_url: str, stage: str) -> tuple[Store, str, str]:
    """The store holding the pointer, its file name, and the folder relative artifact URLs start
    from: `<folder>/<stage>.json`, or the JSON file named."""
    if not pointer_url.endswith(".json"):
        store = Store(pointer_url)
        name = pointer_name(stage)
    elif is_url(pointer_url) and not pointer_url.startswith("file://"):
        folder, name = pointer_url.rsplit("/", 1)
        store = Store(folder)
    else:
        path = Path(pointer_url.removeprefix("file://"))
        store, name = Store(str(path.parent)), path.name
    base = str(store.local) if store.local is not None else store.location
    return store, name, base


def _describe(error: Exception) -> str:
    return str(error) if isinstance(error, ChampionError) else f"{type(error).__name__}: {error}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

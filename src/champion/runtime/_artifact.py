"""An artifact named by a pointer, fetched into a local cache and verified before anything loads
it: joblib and pickle run code when loaded, so the bytes must be the ones the registry recorded."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from champion.errors import ChampionError
from champion.evaluation.models import ModelLoadError, load, sha256_of
from champion.pointer import ArtifactRef
from champion.store import is_url

SERVABLE = ("joblib", "pickle", "skops")
_CHUNK = 1 << 20


class RuntimeLoadError(ChampionError):
    """The runtime could not read a pointer, or fetch, verify or load the artifact it names."""


def resolve(url: str, base: str) -> str:
    """A relative artifact URL is relative to the folder holding the pointer, as a link is."""
    if is_url(url) or os.path.isabs(url):
        return url
    if is_url(base) and not base.startswith("file://"):
        return f"{base.rstrip('/')}/{url}"
    return str(Path(base.removeprefix("file://")) / url)


def load_verified(
    ref: ArtifactRef, url: str, cache_dir: Path, trusted_types: tuple[str, ...]
) -> Any:
    if ref.format not in SERVABLE:
        raise RuntimeLoadError(
            f"{url} has format {ref.format!r}, which cannot be served: the runtime loads "
            f"{', '.join(SERVABLE)} artifacts"
        )
    path = fetch(ref, url, cache_dir)
    try:
        loaded = load(
            path,
            label="artifact",
            source=url,
            fmt=ref.format,
            expected_sha256=ref.sha256,  # again: the cached file may change between fetch and load
            trusted_types=trusted_types,
        )
    except ModelLoadError as e:
        raise RuntimeLoadError(str(e)) from e
    return loaded.obj


def fetch(ref: ArtifactRef, url: str, cache_dir: Path) -> Path:
    """`cache_dir/<sha256>`, downloaded unless a cached copy still has the recorded sha256."""
    target = cache_dir / ref.sha256
    if target.is_file():
        if sha256_of(target) == (ref.sha256, ref.size):
            return target
        with contextlib.suppress(FileNotFoundError):
            target.unlink()  # a corrupt or tampered cache entry is fetched again, never trusted
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=cache_dir, prefix=f".{ref.sha256[:16]}.", suffix=".part")
    except OSError as e:
        raise RuntimeLoadError(
            f"cannot write to the model cache {cache_dir}: {e.strerror or e}: pass a writable "
            "cache_dir"
        ) from e
    try:
        with os.fdopen(fd, "wb") as out, _open(url) as src:
            sha256, size = _copy(src, out, ref, url)
        if (sha256, size) != (ref.sha256, ref.size):
            raise RuntimeLoadError(
                f"{url}: sha256 mismatch, refusing to load it: the pointer records {ref.sha256} "
                f"({ref.size} bytes), the artifact has {sha256} ({size} bytes). Republish the "
                "pointer (champion publish) or restore the artifact"
            )
        os.replace(temp, target)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        if isinstance(e, OSError):
            raise RuntimeLoadError(
                f"cannot write {url} to the model cache {cache_dir}: {e.strerror or e}: free "
                "space or pass another cache_dir"
            ) from e
        raise
    return target


@contextlib.contextmanager
def _open(url: str) -> Iterator[IO[bytes]]:
    try:
        if is_url(url) and not url.startswith("file://"):
            import fsspec

            stream: IO[bytes] = fsspec.open(url, "rb").open()
        else:
            stream = open(url.removeprefix("file://"), "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError as e:
        raise RuntimeLoadError(
            f"artifact {url} does not exist: push it (dvc push) or republish the pointer"
        ) from e
    except Exception as e:  # each filesystem raises its own errors
        raise RuntimeLoadError(
            f"cannot open artifact {url}: {type(e).__name__}: {e}. Check the URL, the network and "
            "the credentials, and that the filesystem for it is installed (e.g. s3fs for s3://)"
        ) from e
    try:
        yield stream
    finally:
        stream.close()


def _copy(src: IO[bytes], out: IO[bytes], ref: ArtifactRef, url: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while True:
        try:
            chunk = src.read(_CHUNK)
        except Exception as e:  # each filesystem raises its own errors
            raise RuntimeLoadError(
                f"cannot read artifact {url}: {type(e).__name__}: {e}: check the network and retry"
            ) from e
        if not chunk:
            return digest.hexdigest(), size
        size += len(chunk)
        if size > ref.size:  # stop early: a bigger file cannot be the recorded one
            raise RuntimeLoadError(
                f"{url} is bigger than the {ref.size} bytes the pointer records: refusing to load "
                "it. Republish the pointer (champion publish) or restore the artifact"
            )
        digest.update(chunk)
        out.write(chunk)

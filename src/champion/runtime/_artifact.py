"""An artifact named by a pointer, fetched into a local cache and verified before anything loads
it: joblib and pickle run code when loaded, so the bytes must be the ones the registry recorded.
A folder is fetched file by file from the index its pointer names, each file verified, and the
whole folder checked against its manifest again before the loader is called."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from champion.deploy.pointer import ArtifactRef
from champion.deploy.store import is_url
from champion.errors import ChampionError
from champion.files import TooLarge, copy_hashed, replacing, replacing_folder, sha256_file
from champion.loading import SERVABLE
from champion.loading.custom import Loader
from champion.loading.verified import load
from champion.manifest import MAX_INDEX_BYTES, FolderError, check_folder, parse_index
from champion.signing.bundle import Trust


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
    ref: ArtifactRef,
    url: str,
    cache_dir: Path,
    trusted_types: tuple[str, ...],
    loader: Loader | None = None,
    trust: Trust | None = None,
    base: str = "",
) -> Any:
    """`loader` (LiveModel's) wins over the pointer's; either loads whatever the format. With
    `trust`, the version's signature must verify by it before anything is loaded."""
    loader = loader if loader is not None else ref.loader
    if loader is None and ref.format not in SERVABLE:
        if ref.format is None:
            raise RuntimeLoadError(
                f"{url}: the pointer names no format for {ref.path} and no loader: set format: or "
                "loader: on the model in champion.yaml and publish again, or pass "
                "LiveModel(loader=...)"
            )
        raise RuntimeLoadError(
            f"{url} has format {ref.format!r}, which cannot be served: the runtime loads "
            f"{', '.join(SERVABLE)} artifacts, or any artifact through a loader"
        )
    folder = ref.kind == "folder"
    path = fetch_folder(ref, url, cache_dir) if folder else fetch(ref, url, cache_dir)
    if trust is not None:
        verify_signature(ref, base, path, trust, ref.path)
    if ref.kind != "folder" and loader is not None:
        path = _named(path, ref.path)
    try:
        loaded = load(
            path,
            label="artifact",
            source=url,
            fmt=ref.format,
            # Again, every file: the cache may change between fetch and load.
            expected_sha256=ref.sha256,
            trusted_types=trusted_types,
            loader=loader,
        )
    except RuntimeLoadError:
        raise
    except ChampionError as e:  # ModelLoadError, LoaderError, FolderError, OnnxError
        raise RuntimeLoadError(str(e)) from e
    return loaded.obj


def verify_signature(ref: ArtifactRef, base: str, path: Path, trust: Trust, what: str) -> None:
    """The version's bundle (beside the pointers: relative URLs start from `base`) fetched,
    checked against the sha256 the pointer records, and verified against the artifact just
    fetched, before it is loaded."""
    from champion.signing.bundle import SigningError, check_bundle, verify_path

    if ref.signature is None:
        raise RuntimeLoadError(
            f"{what} carries no signature and this LiveModel requires one (public_key=/identity=): "
            "release it with --sign and publish the pointer again"
        )
    url = resolve(ref.signature.url, base)
    with io.BytesIO() as buffer:
        size_limit = 4 << 20
        with _open(url) as src:
            got, _ = _copy(src, buffer, size_limit, f"signature {url}")
        data = buffer.getvalue()
    if got != ref.signature.sha256:
        raise RuntimeLoadError(
            f"signature {url} has sha256 {got}, but the pointer records {ref.signature.sha256}: "
            "refusing to load the artifact; republish the pointer (champion publish)"
        )
    try:
        import json

        bundle = check_bundle(json.loads(data), f"signature {url}")
        verify_path(path, bundle, trust, what)
    except (SigningError, ValueError) as e:
        raise RuntimeLoadError(f"signature check failed, refusing to load it: {e}") from e


def fetch(ref: ArtifactRef, url: str, cache_dir: Path) -> Path:
    """`cache_dir/<sha256>`, downloaded unless a cached copy still has the recorded sha256."""
    target = cache_dir / ref.sha256
    if target.is_file():
        if sha256_file(target) == (ref.sha256, ref.size):
            return target
        with contextlib.suppress(FileNotFoundError):
            target.unlink()  # a corrupt or tampered cache entry is fetched again, never trusted
    _make(cache_dir)
    try:
        with replacing(target) as out:
            _download(url, out, ref.sha256, ref.size, what=url)
    except OSError as e:
        raise _cache_error(e, url, cache_dir) from e
    return target


def fetch_folder(ref: ArtifactRef, url: str, cache_dir: Path) -> Path:
    """`cache_dir/<sha256>/`, the folder's files as its index names them, each downloaded and
    verified against its sha256, unless a cached copy still matches the manifest."""
    target = cache_dir / ref.sha256
    if target.is_dir():
        try:
            check_folder(target, ref.sha256, f"cached {target}")
            return target
        except FolderError:
            shutil.rmtree(target, ignore_errors=True)  # fetched again, never trusted
    elif target.exists():
        target.unlink()
    with io.BytesIO() as buffer:
        _download(url, buffer, None, MAX_INDEX_BYTES, what=url)
        data = buffer.getvalue()
    try:
        manifest, urls = parse_index(data, f"folder index {url}")
    except FolderError as e:
        raise RuntimeLoadError(str(e)) from e
    if (manifest.sha256, manifest.size) != (ref.sha256, ref.size):
        raise RuntimeLoadError(
            f"{url}: the folder index lists files whose manifest has sha256 {manifest.sha256} "
            f"({manifest.size} bytes), but the pointer records {ref.sha256} ({ref.size} bytes): "
            "refusing to load it. Republish the pointer (champion publish)"
        )
    base = url.rsplit("/", 1)[0] if is_url(url) else str(Path(url.removeprefix("file://")).parent)
    _make(cache_dir)
    try:
        with replacing_folder(target) as temp:
            for entry in manifest.files:
                file_url = resolve(urls[entry.path], base)
                dest = temp / entry.path
                dest.parent.mkdir(parents=True, exist_ok=True)
                with dest.open("wb") as out:
                    what = f"{entry.path} ({file_url})"
                    _download(file_url, out, entry.sha256, entry.size, what=what)
    except OSError as e:
        raise _cache_error(e, url, cache_dir) from e
    return target


def _named(cached: Path, path: str) -> Path:
    """The cached file under its own name (`<sha256>.named/model.ubj`), for a loader: some
    libraries read the format from the suffix. A hard link, or a copy where links fail."""
    named = cached.with_name(f"{cached.name}.named") / PurePosixPath(path).name
    if named.is_file() and os.path.samefile(named, cached):
        return named  # the loader gets it after load() checked its sha256 again
    named.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        named.unlink()
    try:
        os.link(cached, named)
    except OSError:
        shutil.copyfile(cached, named)
    return named


def _make(cache_dir: Path) -> None:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _unwritable(cache_dir, e) from e


def _unwritable(cache_dir: Path, e: OSError) -> RuntimeLoadError:
    return RuntimeLoadError(
        f"cannot write to the model cache {cache_dir}: {e.strerror or e}: pass a writable cache_dir"
    )


def _cache_error(e: OSError, url: str, cache_dir: Path) -> RuntimeLoadError:
    if isinstance(e, PermissionError) or e.errno == errno.EROFS:
        return _unwritable(cache_dir, e)
    return RuntimeLoadError(
        f"cannot write {url} to the model cache {cache_dir}: {e.strerror or e}: free space or "
        "pass another cache_dir"
    )


def _download(url: str, out: IO[bytes], sha256: str | None, limit: int, what: str) -> None:
    """Copies `url` into `out`, at most `limit` bytes; with `sha256`, exactly the recorded
    bytes (`limit` is then their size)."""
    with _open(url) as src:
        got, size = _copy(src, out, limit, what)
    if sha256 is not None and (got, size) != (sha256, limit):
        raise RuntimeLoadError(
            f"{what}: sha256 mismatch, refusing to load it: the pointer records {sha256} "
            f"({limit} bytes), the artifact has {got} ({size} bytes). Republish the pointer "
            "(champion publish) or restore the artifact"
        )


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


class _Reading:
    """The artifact's stream, whose failures (a network's, a filesystem's) say what was read."""

    def __init__(self, src: IO[bytes], what: str) -> None:
        self.src, self.what = src, what

    def read(self, size: int = -1) -> bytes:
        try:
            return self.src.read(size)
        except Exception as e:  # each filesystem raises its own errors
            raise RuntimeLoadError(
                f"cannot read artifact {self.what}: {type(e).__name__}: {e}: check the network "
                "and retry"
            ) from e


def _copy(src: IO[bytes], out: IO[bytes], limit: int, what: str) -> tuple[str, int]:
    try:
        return copy_hashed(_Reading(src, what), out, limit=limit)
    except TooLarge:  # stopped early: a bigger file cannot be the recorded one
        raise RuntimeLoadError(
            f"{what} is bigger than the {limit} bytes recorded for it: refusing to load "
            "it. Republish the pointer (champion publish) or restore the artifact"
        ) from None

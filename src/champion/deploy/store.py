"""Small files in a folder that may be local or remote (s3, gs, azure, ssh, ... through fsspec, the
filesystem layer DVC uses): read with a version token, and write atomically and conditionally.

Pointers live here. A write replaces the whole file at once (a rename locally and over SSH, a single
PUT on object stores), so a reader never sees half a pointer. It is conditional: it succeeds only
if the file is still the one read before, so two publishers cannot silently undo each other; the
caller reads again and decides. S3 checks the condition itself (`If-Match`/`If-None-Match`); a
local folder checks it under a lock file; other stores check it just before writing, which leaves
a window of one request.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from champion.errors import ChampionError
from champion.files import CHUNK, copy_hashed, replacing, sha256_file

_LOCAL = ("file", "local")
_RENAMING = ("ssh", "sftp")  # stores where a rename is atomic and cheap


class StoreError(ChampionError):
    pass


@dataclass(frozen=True)
class Stored:
    data: bytes
    token: str  # changes whenever the file does: an ETag, or inode/mtime/size locally


def is_url(location: str) -> bool:
    return "://" in location


class Store:
    """A folder: `read(name)`, `write(name, data, expected)`, `put_file(name, path)`."""

    def __init__(self, location: str, root: Path | None = None) -> None:
        self.location = location.rstrip("/")
        if is_url(location) and not location.startswith("file://"):
            import fsspec

            try:
                fs, path = fsspec.core.url_to_fs(self.location)
            except (ImportError, ValueError) as e:
                raise StoreError(
                    f"cannot open {location}: {e}. Install the filesystem for it (e.g. "
                    "`pip install dvc-s3` for s3://, dvc-gs for gs://, dvc-azure for azure://)"
                ) from e
            self.fs: Any = fs
            self.path = path.rstrip("/")
            self.local: Path | None = None
        else:
            plain = location.removeprefix("file://")
            folder = Path(plain)
            self.local = Path(
                os.path.normpath(folder if folder.is_absolute() or root is None else root / folder)
            )
            self.fs = None
            self.path = str(self.local)

    @property
    def protocols(self) -> tuple[str, ...]:
        if self.fs is None:
            return _LOCAL
        protocol = self.fs.protocol
        return (protocol,) if isinstance(protocol, str) else tuple(protocol)

    def url(self, name: str) -> str:
        if self.local is not None:
            return str(self.local / name)
        return f"{self.location}/{name}"

    # --- reads ---------------------------------------------------------------------------------

    def read(self, name: str) -> Stored | None:
        if self.local is not None:
            target = self.local / name
            try:
                with target.open("rb") as f:
                    st = os.fstat(f.fileno())
                    return Stored(f.read(), _local_token(st))
            except FileNotFoundError:
                return None
            except OSError as e:
                raise StoreError(f"cannot read {target}: {e.strerror or e}") from e
        path = f"{self.path}/{name}"
        try:
            info = self.fs.info(path)
            data = self.fs.cat_file(path)
        except FileNotFoundError:
            return None
        except Exception as e:  # each filesystem raises its own errors
            raise StoreError(f"cannot read {self.url(name)}: {type(e).__name__}: {e}") from e
        return Stored(bytes(data), _remote_token(info))

    def sha256(self, name: str) -> str | None:
        """The sha256 of a stored file, read in chunks; None when it does not exist."""
        try:
            if self.local is not None:
                return sha256_file(self.local / name)[0]
            with self.fs.open(f"{self.path}/{name}", "rb") as f:
                return copy_hashed(f)[0]
        except FileNotFoundError:
            return None
        except Exception as e:  # each filesystem raises its own errors
            raise StoreError(f"cannot read {self.url(name)}: {type(e).__name__}: {e}") from e

    def exists(self, name: str) -> bool:
        if self.local is not None:
            return (self.local / name).exists()
        try:
            return bool(self.fs.exists(f"{self.path}/{name}"))
        except Exception as e:
            raise StoreError(f"cannot reach {self.url(name)}: {type(e).__name__}: {e}") from e

    # --- writes --------------------------------------------------------------------------------

    def write(self, name: str, data: bytes, expected: Stored | None) -> bool:
        """Replaces `name` with `data` if it is still `expected` (None: if it does not exist).
        Returns False, writing nothing, when someone changed it in between."""
        if self.local is not None:
            return self._write_local(self.local / name, data, expected)
        path = f"{self.path}/{name}"
        try:
            if "s3" in self.protocols or "s3a" in self.protocols:
                return self._write_s3(path, data, expected)
            current = self.fs.info(path) if self.fs.exists(path) else None
            if (None if current is None else _remote_token(current)) != (
                None if expected is None else expected.token
            ):
                return False
            if any(p in _RENAMING for p in self.protocols):
                temp = f"{path}.{uuid.uuid4().hex}.tmp"
                self.fs.pipe_file(temp, data)
                self.fs.mv(temp, path)
            else:
                self.fs.pipe_file(path, data)  # one upload: readers see the old or the new file
            return True
        except Exception as e:
            raise StoreError(f"cannot write {self.url(name)}: {type(e).__name__}: {e}") from e

    def put_file(self, name: str, source: Path) -> None:
        """Copies a local file in, whole (through a temp name). Callers check `exists` first: a
        content-addressed name that exists needs no upload, nor the read that makes the file."""
        if self.local is not None:
            target = self.local / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with replacing(target) as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, CHUNK)
            return
        try:
            self.fs.put_file(str(source), f"{self.path}/{name}")
        except Exception as e:
            raise StoreError(f"cannot upload to {self.url(name)}: {type(e).__name__}: {e}") from e

    def _write_local(self, target: Path, data: bytes, expected: Stored | None) -> bool:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with _locked(target.parent / f".{target.name}.lock"):
                try:
                    token: str | None = _local_token(target.stat())
                except FileNotFoundError:
                    token = None
                if token != (None if expected is None else expected.token):
                    return False
                with replacing(target, fsync=True) as f:
                    f.write(data)
            return True
        except OSError as e:
            raise StoreError(f"cannot write {target}: {e.strerror or e}") from e

    def _write_s3(self, path: str, data: bytes, expected: Stored | None) -> bool:
        condition = {"IfMatch": expected.token} if expected is not None else {"IfNoneMatch": "*"}
        try:
            self.fs.pipe_file(path, data, **condition)
        except Exception as e:
            text = f"{type(e).__name__} {e} {getattr(e, '__cause__', '')}"
            if (
                "PreconditionFailed" in text
                or "412" in text
                or "ConditionalRequestConflict" in text
            ):
                return False
            raise
        return True


def _local_token(st: os.stat_result) -> str:
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"


def _remote_token(info: dict[str, Any]) -> str:
    for key in ("ETag", "etag", "md5Hash", "generation", "mtime", "LastModified", "last_modified"):
        if info.get(key):
            return str(info[key])
    return f"size:{info.get('size')}"


@contextlib.contextmanager
def _locked(lock: Path) -> Iterator[None]:
    import fcntl

    with lock.open("a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)

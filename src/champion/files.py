"""Files, read and written the one way champion does it: a streaming sha256, an atomic write.

Hashing: every artifact, data file, cached download and stored copy is read in chunks through
`copy_hashed`, which can copy what it reads (an artifact fetched into a temp folder) and stop at a
size limit (a download that cannot be the recorded bytes).

Writing: to a temp name beside the target, then renamed over it, so a reader sees the old file or
the new one, never half of one; on any failure the temp file is removed. Unlike
`tempfile.mkstemp`, whose files are 0600 whatever the umask, the temp file gets the mode any new
file would (0644 under umask 022): a service running as another user must be able to read what
was published for it (issue 15).

Standard library only: the serving runtime imports it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

CHUNK = 1 << 20
_ATTEMPTS = 100


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


class TooLarge(Exception):
    """The stream held more than the `limit` given to `copy_hashed` (nothing past it was read)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


def copy_hashed(
    stream: Readable, out: Writable | None = None, *, limit: int | None = None, chunk: int = CHUNK
) -> tuple[str, int]:
    """Reads `stream` to its end: its sha256 and size, each chunk written to `out` too. A chunk
    that takes the size past `limit` raises `TooLarge` before it is hashed or written."""
    digest = hashlib.sha256()
    size = 0
    while block := stream.read(chunk):
        size += len(block)
        if limit is not None and size > limit:
            raise TooLarge(limit)
        digest.update(block)
        if out is not None:
            out.write(block)
    return digest.hexdigest(), size


def sha256_file(path: Path, *, chunk: int = CHUNK) -> tuple[str, int]:
    """A local file's sha256 and size."""
    with path.open("rb") as f:
        return copy_hashed(f, chunk=chunk)


def new_temp(folder: Path, prefix: str, suffix: str = "") -> tuple[int, Path]:
    """A new, empty file in `folder` (an open descriptor and its path), mode 0666 less the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(_ATTEMPTS):
        path = folder / f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp name in {folder} after {_ATTEMPTS} attempts")


@contextmanager
def replacing(target: Path, *, text: bool = False, fsync: bool = False) -> Iterator[IO[Any]]:
    """A new file beside `target`, open for writing (bytes, or UTF-8 text); renamed over `target`
    when the block ends, removed when it raises. `fsync`: on disk before the rename (a pointer,
    which a crash must not leave empty)."""
    fd, temp = new_temp(target.parent, f".{target.name}.", ".part")
    try:
        f: IO[Any]
        with open(fd, "w", encoding="utf-8") if text else open(fd, "wb") as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_atomic(target: Path, data: bytes | str, *, fsync: bool = False) -> None:
    """`data` as the whole of `target`, through `replacing`; the folder is made if missing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        with replacing(target, text=True, fsync=fsync) as f:
            f.write(data)
    else:
        with replacing(target, fsync=fsync) as f:
            f.write(data)


@contextmanager
def replacing_folder(target: Path) -> Iterator[Path]:
    """A new, empty folder beside `target` to fill; renamed to `target` when the block ends,
    removed when it raises. When another process renamed its own copy to `target` first, that
    one stays and this one goes (the caller checks what it then finds there)."""
    temp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part"))
    try:
        yield temp
        try:
            os.replace(temp, target)
        except OSError:
            if not target.is_dir():
                raise
            shutil.rmtree(temp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise

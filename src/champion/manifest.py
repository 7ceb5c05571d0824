"""A folder artifact's identity: the manifest of its files, and checking a local folder against it.

The manifest is what `sha256sum` prints for the folder's files, one `SHA256  PATH` line per file,
sorted by path (byte order, as `LC_ALL=C sort` sorts): a folder's version `sha256` is the sha256 of
that text, so anyone can recompute it without champion:

    (cd models/dir && find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum) \\
      | sha256sum

Pure: it reads local folders only (the runtime uses it, so it imports no git, DVC or registry code).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from champion.errors import ChampionError
from champion.files import sha256_file

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class FolderError(ChampionError):
    """A folder artifact cannot be read as a set of files: a link out of it, an odd file, none."""


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the folder, with `/`
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    files: tuple[FileEntry, ...]  # sorted by path

    @classmethod
    def of(cls, entries: Iterable[FileEntry]) -> Manifest:
        files = tuple(sorted(entries, key=lambda e: e.path))
        for a, b in itertools.pairwise(files):
            if a.path == b.path:
                raise FolderError(f"the folder lists {a.path!r} twice")
        return cls(files)

    @property
    def text(self) -> str:
        return "".join(f"{f.sha256}  {f.path}\n" for f in self.files)

    @property
    def sha256(self) -> str:
        # A name that is not UTF-8 keeps its bytes, as sha256sum prints them.
        return hashlib.sha256(self.text.encode("utf-8", "surrogateescape")).hexdigest()

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def as_metadata(self) -> list[dict[str, Any]]:
        return [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in self.files]

    @classmethod
    def from_metadata(cls, raw: Any, what: str) -> Manifest:
        """The `files` a tag or a published index lists, validated: anyone who can write there
        could have edited it."""
        if not isinstance(raw, list) or not raw:
            raise FolderError(f"{what} lists no files")
        entries = []
        for item in raw:
            if not isinstance(item, Mapping):
                raise FolderError(f"{what}: each file must be an object with path, sha256, size")
            path, sha256, size = item.get("path"), item.get("sha256"), item.get("size")
            if not (isinstance(sha256, str) and _SHA256.match(sha256)):
                raise FolderError(f"{what}: file {path!r} has no valid sha256")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise FolderError(f"{what}: file {path!r} has no valid size")
            entries.append(FileEntry(check_relative(path, what), sha256, size))
        return cls.of(entries)


def check_relative(path: Any, what: str) -> str:
    """A file's path inside a folder: relative, normalized, no `..`, one line (a manifest line
    holds one path)."""
    if not isinstance(path, str):
        raise FolderError(f"{what}: a file path must be a string, not {path!r}")
    pure = PurePosixPath(path)
    if (
        not path
        or pure.is_absolute()
        or ".." in pure.parts
        or pure.as_posix() != path
        or "\n" in path
        or "\r" in path
        or "\\" in path
    ):
        raise FolderError(
            f"{what}: {path!r} is not a plain relative file path inside the folder (no `..`, no "
            "absolute path, no backslash or line break): rename it"
        )
    return path


def of_folder(folder: Path, what: str) -> Manifest:
    """The manifest of a local folder. A symlink to a file inside the folder counts as that file;
    one that leads out of the folder, dangles or names a folder is refused, and so is anything
    that is not a regular file: the manifest must say exactly what a loader will read."""
    files = sorted(_walk(folder, what))
    if not files:
        raise FolderError(f"{what} is an empty folder: put the model's files in it")
    entries = []
    for rel in files:
        sha256, size = sha256_file(folder / rel)
        entries.append(FileEntry(rel, sha256, size))
    return Manifest.of(entries)


def _walk(folder: Path, what: str) -> Iterable[str]:
    root = os.path.realpath(folder)
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in sorted([*dirnames, *filenames]):
            full = os.path.join(dirpath, name)
            rel = Path(full).relative_to(folder).as_posix()
            check_relative(rel, what)
            mode = os.lstat(full).st_mode
            if stat.S_ISDIR(mode):
                continue  # os.walk goes in
            if stat.S_ISLNK(mode):
                _check_link(full, rel, root, what)
                yield rel
            elif stat.S_ISREG(mode):
                yield rel
            else:
                raise FolderError(
                    f"{what}: {rel} is not a regular file (a socket, a device or a pipe): remove it"
                )


def _check_link(full: str, rel: str, root: str, what: str) -> None:
    target = os.path.realpath(full)
    if not (target + os.sep).startswith(root + os.sep):
        raise FolderError(
            f"{what}: {rel} is a symlink to {os.readlink(full)}, outside the folder: copy the "
            "file in instead, so the artifact holds everything it needs"
        )
    if os.path.isdir(target):
        raise FolderError(
            f"{what}: {rel} is a symlink to a folder ({os.readlink(full)}): champion follows links "
            "to files only; replace it with the files"
        )
    if not os.path.isfile(target):
        raise FolderError(f"{what}: {rel} is a dangling symlink ({os.readlink(full)}): remove it")


def check_folder(folder: Path, expected: Manifest | str, what: str) -> Manifest:
    """The folder's manifest, which must be `expected` (a manifest or its sha256). Extra or
    missing files fail as a changed one does: a loader reads the folder, not a file list."""
    found = of_folder(folder, what)
    expected_sha = expected if isinstance(expected, str) else expected.sha256
    if found.sha256 != expected_sha:
        detail = "" if isinstance(expected, str) else f" ({differences(expected, found)})"
        raise FolderError(
            f"{what}: sha256 mismatch, refusing to load it: the registry recorded {expected_sha}, "
            f"the folder has {found.sha256}{detail}"
        )
    return found


def differences(expected: Manifest, found: Manifest, limit: int = 5) -> str:
    """Which files differ, for a message."""
    want = {f.path: f.sha256 for f in expected.files}
    got = {f.path: f.sha256 for f in found.files}
    parts: list[str] = []
    for label, names in (
        ("changed", [p for p in want if p in got and got[p] != want[p]]),
        ("missing", [p for p in want if p not in got]),
        ("unexpected", [p for p in got if p not in want]),
    ):
        if names:
            parts.append(f"{label}: {_names(names, limit)}")
    return "; ".join(parts) or "same files"


def _names(names: Sequence[str], limit: int) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


# --- the index a published folder has beside its pointer ---------------------------------------

INDEX_SCHEMA = 1
MAX_INDEX_BYTES = 16 << 20


def index_bytes(manifest: Manifest, urls: Mapping[str, str]) -> bytes:
    """What `champion publish` writes for a folder: each file's path, sha256, size, and the URL
    to fetch it from (relative to the index's own folder, or absolute)."""
    files = [{**f, "url": urls[f["path"]]} for f in manifest.as_metadata()]
    body = {"schema": INDEX_SCHEMA, "sha256": manifest.sha256, "files": files}
    return (json.dumps(body, sort_keys=True, indent=1) + "\n").encode()


def parse_index(data: bytes, what: str) -> tuple[Manifest, dict[str, str]]:
    """A published index, validated (whoever can write to the store could have edited it): the
    manifest of its files, and each file's URL. The caller compares the manifest's sha256 with
    the pointer's, and each file fetched with its sha256."""
    if len(data) > MAX_INDEX_BYTES:
        raise FolderError(f"{what} is {len(data)} bytes, too big to be a folder index")
    try:
        raw = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FolderError(f"{what} is not valid JSON ({e}): republish (champion publish)") from e
    if not isinstance(raw, dict) or raw.get("schema") != INDEX_SCHEMA:
        raise FolderError(
            f"{what} is not a folder index of schema {INDEX_SCHEMA}: republish (champion publish)"
        )
    files = raw.get("files")
    manifest = Manifest.from_metadata(files, what)
    assert isinstance(files, list)
    urls = {}
    for item in files:
        url = item.get("url")
        if not isinstance(url, str) or not url:
            raise FolderError(f"{what}: file {item.get('path')!r} has no url")
        urls[item["path"]] = url
    return manifest, urls

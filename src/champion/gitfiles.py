"""Files as a commit records them in git: `git ls-tree` for what is there, one `git cat-file
--batch` for the bytes. Every git exit code is checked: a failure here once recorded the sha256 of
empty input as a version's artifact (issue 12), and tags cannot be fixed afterwards.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from champion.errors import ChampionError
from champion.git import Git

MAX_LINKS = 8  # symlinks followed in a row before giving up (a loop)


class GitReadError(ChampionError):
    pass


@dataclass(frozen=True)
class Entry:
    mode: str  # 100644, 100755 (files), 120000 (symlink), 040000 (folder), 160000 (submodule)
    type: str  # blob, tree, commit
    oid: str
    path: str  # from the repository root


def entry(root: Path, commit: str, path: str) -> Entry | None:
    """The entry at `path` in `commit`, or None when the commit has nothing there."""
    for found in _ls_tree(root, commit, path, recursive=False):
        if found.path == path:
            return found
    return None


def resolve(root: Path, commit: str, path: str) -> tuple[str, Entry] | None:
    """The entry at `path`, following symlinks that stay inside the repository (a link such as
    models/current.joblib -> v3.joblib is read as the file it names, never as its target text)."""
    for _ in range(MAX_LINKS):
        found = entry(root, commit, path)
        if found is None or found.mode != "120000":
            return None if found is None else (path, found)
        with CatFile(root) as cat:
            target = cat.read_all(found.oid, f"symlink {path}").decode("utf-8", "replace")
        path = _follow(path, target, "", f"{path} at commit {commit[:12]}")
    raise GitReadError(f"{path} at commit {commit[:12]}: more than {MAX_LINKS} symlinks in a row")


def folder_files(root: Path, commit: str, folder: str) -> list[tuple[str, Entry]]:
    """Each file under `folder` at `commit` as (path relative to the folder, the blob to read).
    Symlinks to files inside the folder read as those files; links out of it, to folders,
    dangling ones and submodules are refused, naming the entry."""
    prefix = folder.rstrip("/") + "/"
    entries = {e.path: e for e in _ls_tree(root, commit, prefix, recursive=True)}
    files = []
    what = f"{folder} at commit {commit[:12]}"
    for path, found in sorted(entries.items()):
        rel = path[len(prefix) :]
        if found.type == "commit":
            raise GitReadError(
                f"{what}: {rel} is a git submodule, whose files are not in this repository: "
                "copy them in, or track the folder with DVC"
            )
        target = found
        hops = 0
        while target.mode == "120000":
            hops += 1
            if hops > MAX_LINKS:
                raise GitReadError(f"{what}: {rel}: more than {MAX_LINKS} symlinks in a row")
            with CatFile(root) as cat:
                link = cat.read_all(target.oid, f"symlink {rel}").decode("utf-8", "replace")
            name = _follow(target.path, link, prefix, f"{what}: {rel}")
            if name not in entries:
                kind = "a folder" if any(p.startswith(name + "/") for p in entries) else "nothing"
                raise GitReadError(
                    f"{what}: {rel} is a symlink to {link}, which is {kind} in the folder: "
                    "champion follows links to files only"
                )
            target = entries[name]
        files.append((rel, target))
    return files


def _follow(link_path: str, target: str, inside: str, what: str) -> str:
    """The path a symlink at `link_path` names, which must stay under `inside` ("" for the
    repository)."""
    name = posixpath.normpath(posixpath.join(posixpath.dirname(link_path), target))
    if posixpath.isabs(target) or name == ".." or name.startswith("../"):
        raise GitReadError(
            f"{what} is a symlink to {target}, outside the repository: commit the file itself"
        )
    if inside and not name.startswith(inside):
        raise GitReadError(
            f"{what} is a symlink to {target}, outside the folder: copy the file in instead, so "
            "the artifact holds everything it needs"
        )
    return name


def _ls_tree(root: Path, commit: str, path: str, *, recursive: bool) -> list[Entry]:
    proc = Git(root).run_bytes("ls-tree", "-z", *(["-r"] if recursive else []), commit, "--", path)
    if proc.returncode != 0:
        raise GitReadError(
            f"cannot list {path} at commit {commit[:12]}: git ls-tree failed "
            f"({proc.stderr.decode(errors='replace').strip()[-500:]})"
        )
    found = []
    for record in proc.stdout.split(b"\0"):
        if not record:
            continue
        head, _, name = record.partition(b"\t")
        mode, kind, oid = head.decode().split(" ")
        found.append(Entry(mode, kind, oid, name.decode("utf-8", "surrogateescape")))
    return found


class CatFile:
    """One `git cat-file --batch`: blobs read in turn, each in full before the next."""

    def __init__(self, root: Path) -> None:
        self.proc = Git(root).batch()

    def __enter__(self) -> CatFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(check=exc[0] is None)

    @contextmanager
    def open(self, oid: str, what: str) -> Iterator[IO[bytes]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{oid}\n".encode())
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().decode(errors="replace").split()
        if len(header) != 3 or header[1] != "blob":
            raise GitReadError(
                f"git cannot read {what} (object {oid[:12]}: {' '.join(header) or 'no answer'}): "
                "is the clone complete (not shallow or partial)?"
            )
        blob = _Blob(self.proc.stdout, int(header[2]))
        yield blob  # type: ignore[misc]
        blob.drain()
        if self.proc.stdout.read(1) != b"\n":
            raise GitReadError(f"git cat-file ended {what} early")

    def read_all(self, oid: str, what: str) -> bytes:
        with self.open(oid, what) as blob:
            return blob.read()

    def close(self, check: bool = True) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.stdout.close()
        code = self.proc.wait()
        assert self.proc.stderr is not None
        err = self.proc.stderr.read().decode(errors="replace").strip()
        self.proc.stderr.close()
        if check and code != 0:
            raise GitReadError(f"git cat-file failed ({code}): {err[-500:]}")


class _Blob:
    """The next `size` bytes of cat-file's output, as a readable stream."""

    def __init__(self, stream: IO[bytes], size: int) -> None:
        self.stream, self.left = stream, size

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        want = self.left if n is None or n < 0 else min(n, self.left)
        data = self.stream.read(want)
        if len(data) < want:
            raise GitReadError("git cat-file's output ended before the blob did")
        self.left -= len(data)
        return data

    def drain(self) -> None:
        while self.read(1 << 20):
            pass

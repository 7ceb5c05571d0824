"""Reading a model's artifact (a file, or a folder hashed as a manifest of its files) as it was
at a commit, from git or from DVC, and hashing it.

DVC is imported only when an artifact is not in git, so git-only users never pay for it.

Over 400 lines: a file or a folder, in git or in DVC (its cache or its remote), read and hashed
by the same rules; split by tracker, each half would repeat them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from champion import files, gitfiles, progress
from champion.errors import ChampionError
from champion.extras import require_dvc
from champion.git import Git
from champion.manifest import FileEntry, Manifest, check_relative, of_folder


@dataclass(frozen=True)
class ArtifactInfo:
    path: str
    sha256: str  # of the file, or of the folder's manifest
    size: int  # bytes: the file's, or the sum of the folder's files
    tracked_by: str  # "git" | "dvc"
    files: Manifest | None = None  # a folder's files

    @property
    def kind(self) -> str:
        return "file" if self.files is None else "folder"

    def as_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "tracked_by": self.tracked_by,
        }
        if self.files is not None:
            meta["kind"] = "folder"
            meta["files"] = self.files.as_metadata()
        return meta


class ArtifactNotFound(ChampionError):
    pass


class UnreadableArtifact(ChampionError):
    """The artifact is there but is not what a model could be: empty, a pointer text, ..."""


def read(
    root: Path,
    path: str,
    commit: str,
    *,
    remote_only: bool = False,
    dest: Path | None = None,
) -> ArtifactInfo:
    """The artifact at `commit` (a file or a folder, from git or DVC) read in full and hashed;
    with `dest`, copied there too (the file, or the folder's files below it). Anything champion
    could not read in full, or that is a placeholder rather than a model, raises: nothing
    unreadable may be registered. With `remote_only`, a DVC-tracked artifact is read from the
    DVC remote even when the local cache holds it: that proves others (a deploy job, a service)
    can fetch it."""
    path = PurePosixPath(path).as_posix()
    with _open(root, path, commit, remote_only) as (tracked_by, folder, files):
        if not folder:
            for _, stream in files:  # one: the loop lets the reader finish with it
                sha256, size, head = _copy(stream, dest)
            _refuse_placeholder(path, commit, size, head, in_folder=False)
            return ArtifactInfo(path, sha256, size, tracked_by)
        entries = []
        for rel, stream in files:
            target = None if dest is None else dest / check_relative(rel, path)
            sha256, size, head = _copy(stream, target)
            _refuse_placeholder(f"{path}/{rel}", commit, size, head, in_folder=True)
            entries.append(FileEntry(rel, sha256, size))
    if not entries:
        raise UnreadableArtifact(
            f"{path} at commit {commit[:12]} is an empty folder: put the model's files in it"
        )
    manifest = Manifest.of(entries)
    return ArtifactInfo(path, manifest.sha256, manifest.size, tracked_by, manifest)


def describe(root: Path, path: str, commit: str, *, remote_only: bool = False) -> ArtifactInfo:
    return read(root, path, commit, remote_only=remote_only)


def local_sha256(path: Path, what: str) -> tuple[str, int]:
    """A local file's sha256, or a folder's manifest sha256, and the bytes."""
    if path.is_dir():
        manifest = of_folder(path, what)
        return manifest.sha256, manifest.size
    return files.sha256_file(path)


_LFS_POINTER = b"version https://git-lfs.github.com/spec/"
_PLACEHOLDER_MAX = 64 << 10  # pointer texts are small; a model is not read as YAML


class _Head:
    """Keeps the first bytes written through it (to tell a placeholder), passing all on."""

    def __init__(self, out: IO[bytes] | None) -> None:
        self.out, self.bytes = out, b""

    def write(self, chunk: bytes) -> None:
        if len(self.bytes) < _PLACEHOLDER_MAX:
            self.bytes += chunk[: _PLACEHOLDER_MAX - len(self.bytes)]
        if self.out is not None:
            self.out.write(chunk)


def _copy(stream: IO[bytes], dest: Path | None) -> tuple[str, int, bytes]:
    """sha256, size and the first bytes (to tell a placeholder), copying to `dest` if given."""
    if dest is None:
        head = _Head(None)
        sha256, size = files.copy_hashed(stream, head)
        return sha256, size, head.bytes
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as out:
        head = _Head(out)
        sha256, size = files.copy_hashed(stream, head)
    return sha256, size, head.bytes


def _refuse_placeholder(what: str, commit: str, size: int, head: bytes, *, in_folder: bool) -> None:
    """The same checks wherever the bytes came from (git, the DVC cache or the DVC remote)."""
    at = f"{what} at commit {commit[:12]}"
    if size == 0 and not in_folder:  # a folder may well hold an empty file (an __init__.py)
        raise UnreadableArtifact(
            f"{at} is empty (0 bytes): that is no model; commit the trained artifact (or "
            "`dvc add` it) and register that commit"
        )
    if head.startswith(_LFS_POINTER) and size < 1024:
        raise UnreadableArtifact(
            f"{at} is a Git LFS pointer, not the model: champion reads artifacts from git or DVC, "
            "not from LFS storage; commit the file itself, or track it with DVC (dvc add)"
        )
    if size <= _PLACEHOLDER_MAX and _is_dvc_pointer(head):
        raise UnreadableArtifact(
            f"{at} holds a DVC pointer text (what a .dvc file holds), not the model: commit "
            f"{what}.dvc next to the artifact (dvc add {what}), not the pointer in its place"
        )


def _is_dvc_pointer(head: bytes) -> bool:
    if b"outs:" not in head or b"md5" not in head:
        return False
    import yaml

    try:
        data = yaml.safe_load(head)
    except (yaml.YAMLError, UnicodeDecodeError):
        return False
    outs = data.get("outs") if isinstance(data, dict) else None
    return isinstance(outs, list) and any(isinstance(o, dict) and "md5" in o for o in outs)


OpenedFiles = tuple[str, bool, Iterator[tuple[str, IO[bytes]]]]


@contextmanager
def _open(root: Path, path: str, commit: str, remote_only: bool) -> Iterator[OpenedFiles]:
    """("git" | "dvc", whether it is a folder, its files as (path in the folder, stream) pairs,
    each stream valid until the next pair is drawn)."""
    if not path.strip("./"):
        # `commit:` names the whole tree: never an artifact, whatever git says it holds.
        raise ArtifactNotFound(
            "the model declares no artifact path (a GTO artifact without one?): declare its "
            "path in champion.yaml (models: NAME: path: ...) to register, evaluate or serve it"
        )
    found = gitfiles.resolve(root, commit, path)
    if found is not None:
        name, entry = found
        with gitfiles.CatFile(root) as cat:
            if entry.type == "tree":
                listing = gitfiles.folder_files(root, commit, name)
                yield "git", True, _git_streams(cat, listing, f"{path} at commit {commit[:12]}")
            elif entry.type == "blob":
                yield "git", False, _git_streams(cat, [("", entry)], f"{path} at {commit[:12]}")
            else:
                raise UnreadableArtifact(
                    f"{path} at commit {commit[:12]} is a git submodule, not an artifact: commit "
                    "the model's files, or track them with DVC"
                )
        return
    if not _dvc_tracks(root, commit, path):
        raise ArtifactNotFound(
            f"{path} is not at commit {commit[:12]}, neither in git nor tracked by DVC "
            f"({path}.dvc or a dvc.lock stage output): commit it, or `dvc add {path}` and commit "
            f"{path}.dvc"
        )
    require_dvc(f"{path} at commit {commit[:12]}, tracked by DVC,")
    md5, legacy = _dvc_md5_at(root, commit, path)
    folder = md5.endswith(".dir")
    if remote_only:
        with _remote_odb(root, path, legacy) as (odb, _):
            yield "dvc", folder, _remote_streams(odb, md5, path, commit)
        return
    if folder:
        yield "dvc", True, _dvc_dir_streams(root, path, commit)
        return
    import dvc.api
    from dvc.exceptions import DvcException

    try:
        with dvc.api.open(path, repo=str(root), rev=commit, mode="rb") as stream:
            yield "dvc", False, iter([("", stream)])
    except (DvcException, FileNotFoundError) as e:
        raise ArtifactNotFound(
            f"cannot read {path} at commit {commit[:12]} through DVC: {e}. It is in neither "
            "the local DVC cache nor the DVC remote: run `dvc push` from the machine that built it"
        ) from e


def _git_streams(
    cat: gitfiles.CatFile, listing: list[tuple[str, gitfiles.Entry]], what: str
) -> Iterator[tuple[str, IO[bytes]]]:
    for rel, entry in listing:
        with cat.open(entry.oid, f"{what}: {rel}" if rel else what) as stream:
            yield rel, stream


def _dvc_dir_streams(root: Path, path: str, commit: str) -> Iterator[tuple[str, IO[bytes]]]:
    """A DVC-tracked folder's files at `commit`, from the local cache or else the remote."""
    from dvc.api import DVCFileSystem
    from dvc.exceptions import DvcException

    where = f"{path} at commit {commit[:12]}"
    try:
        fs = DVCFileSystem(repo=str(root), rev=commit)
        names = sorted(fs.find(path))
    except (DvcException, FileNotFoundError, OSError) as e:
        raise ArtifactNotFound(
            f"cannot list the DVC-tracked folder {where}: {e}. Its listing (the .dir object) is "
            "in neither the local DVC cache nor the DVC remote: run `dvc push` from the machine "
            "that built it"
        ) from e
    for name in names:
        rel = PurePosixPath(name).relative_to(path).as_posix()
        try:
            stream = fs.open(name, mode="rb")
        except (DvcException, FileNotFoundError, OSError) as e:
            raise ArtifactNotFound(
                f"cannot read {rel} of the DVC-tracked folder {where}: it is in neither the "
                "local DVC cache nor the DVC remote; `dvc push` it from the machine that built it"
            ) from e
        with stream:
            yield rel, stream


def _remote_streams(odb: Any, md5: str, path: str, commit: str) -> Iterator[tuple[str, IO[bytes]]]:
    """The artifact's objects read straight from the default DVC remote (the md5 from git), so
    neither this machine's cache nor a checkout of `commit` is involved."""
    where = f"{path} at commit {commit[:12]}"
    if md5.endswith(".dir"):
        children = _tree(odb, md5)
        if children is None:
            raise ArtifactNotFound(
                f"cannot fetch the listing of the folder {where} from the DVC remote: it is gone "
                "from there or was never pushed; `dvc push` it from a machine that has it"
            )
    else:
        children = [("", md5)]
    for rel, oid in children:
        try:
            stream = odb.fs.open(odb.oid_to_path(oid), mode="rb")
        except (FileNotFoundError, IsADirectoryError) as e:
            what = f"{rel} of the folder {where}" if rel else where
            raise ArtifactNotFound(
                f"cannot fetch {what} from the DVC remote: it is gone from there or was never "
                "pushed; `dvc push` it from a machine that has it"
            ) from e
        with stream:
            yield rel, stream


def _tree(odb: Any, md5: str) -> list[tuple[str, str]] | None:
    """A DVC folder's files (path in the folder, md5) from its .dir object in `odb`, or None
    when `odb` lacks that object."""
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.tree import Tree

    if not odb.fs.exists(odb.oid_to_path(md5)):
        return None
    try:
        tree = Tree.load(odb, HashInfo("md5", md5))
    except (FileNotFoundError, ValueError):
        return None
    return sorted(("/".join(key), hi.value) for key, _meta, hi in tree)


@contextmanager
def _remote_odb(root: Path, path: str, legacy: bool) -> Iterator[tuple[Any, Any]]:
    """The default DVC remote's object store, and the DVC repository (for its local cache)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            yield repo.cloud.get_remote_odb(hash_name="md5-dos2unix" if legacy else "md5"), repo
    except DvcException as e:
        raise ChampionError(
            f"cannot reach the DVC remote for {path}: {e}; configure a default remote "
            "(dvc remote add -d NAME URL) and its credentials"
        ) from e


def _dvc_tracks(root: Path, commit: str, path: str) -> bool:
    if gitfiles.entry(root, commit, f"{path}.dvc") is not None:
        return True
    # A pipeline output: named in some dvc.lock at that commit.
    proc = Git(root).run_bytes("grep", "-l", "-F", "-e", Path(path).name, commit, "--", "*dvc.lock")
    if proc.returncode not in (0, 1):  # 1: no match
        raise gitfiles.GitReadError(
            f"cannot search the dvc.lock files at commit {commit[:12]}: "
            f"{proc.stderr.decode(errors='replace').strip()[-500:]}"
        )
    return proc.returncode == 0


def ensure_in_dvc_remote(root: Path, path: str) -> str:
    """Makes sure the DVC remote holds the working tree's version of `path`, pushing it when
    only this machine has it. A version whose artifact cannot be fetched would make a later
    rollback to it fail, so this runs before its tag is pushed. Returns what was done."""
    require_dvc(f"pushing {path} to the DVC remote")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    status = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--cloud", "--json", path],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )
    if status.returncode != 0:
        raise ChampionError(
            f"cannot check whether the DVC remote holds {path}: {status.stderr.strip()[-500:]}; "
            "configure a default remote (dvc remote add -d NAME URL) and its credentials"
        )
    states = set(json.loads(status.stdout or "{}").values())
    if "missing" in states:
        raise ChampionError(
            f"{path} is neither in the local DVC cache nor in the DVC remote: it cannot be released "
            "(nobody could fetch it back); `dvc push` it from the machine that built it, or rebuild it"
        )
    if "new" not in states and "modified" not in states:
        return "already in the DVC remote"
    # On a terminal DVC draws its progress on stderr (a push may take minutes); else quiet.
    live = progress.enabled()
    push = subprocess.run(
        [sys.executable, "-m", "dvc", "push", *([] if live else ["--quiet"]), path],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=None if live else subprocess.PIPE,
        text=True,
        env=env,
    )
    if push.returncode != 0:
        said = (push.stderr or "see DVC's output above").strip()[-500:]
        raise ChampionError(f"dvc push {path} failed: {said}")
    return "pushed to the DVC remote"


@dataclass(frozen=True)
class RemoteObject:
    """Where the DVC remote keeps an artifact's content, and whether it is there."""

    md5: str
    url: str
    present: bool  # a folder: its listing and every file
    cached: bool  # in this machine's DVC cache, so it can be pushed
    files: tuple[tuple[str, str], ...] = ()  # a folder's files: (path in it, URL in the remote)


def dvc_remote_object(root: Path, path: str, commit: str) -> RemoteObject:
    """The artifact's object in the default DVC remote, from the `.dvc` file or `dvc.lock` entry
    at `commit` (read from git, so the working tree may be anywhere)."""
    require_dvc(f"the DVC remote's copy of {path}")
    md5, legacy = _dvc_md5_at(root, commit, path)
    with _remote_odb(root, path, legacy) as (odb, repo):
        cache = repo.cache.legacy if legacy else repo.cache.local
        url = odb.fs.unstrip_protocol(odb.oid_to_path(md5))
        if not md5.endswith(".dir"):
            return RemoteObject(
                md5,
                url,
                present=bool(odb.fs.exists(odb.oid_to_path(md5))),
                cached=bool(cache.fs.exists(cache.oid_to_path(md5))),
            )
        # A folder: its .dir listing, then each file, must be there.
        listing = _tree(odb, md5)
        if listing is None:
            listing = _tree(cache, md5)
        if listing is None:
            return RemoteObject(md5, url, present=False, cached=False)

        def holds(store: Any) -> bool:
            oids = [md5, *(oid for _, oid in listing)]
            return all(store.fs.exists(store.oid_to_path(oid)) for oid in oids)

        return RemoteObject(
            md5,
            url,
            present=holds(odb),
            cached=holds(cache),
            files=tuple(
                (rel, odb.fs.unstrip_protocol(odb.oid_to_path(oid))) for rel, oid in listing
            ),
        )


def push_to_dvc_remote(root: Path, path: str, commit: str) -> None:
    """Pushes the artifact as it was at `commit` from the local DVC cache to the default remote.
    By its object (md5 from git), with the working tree's DVC config: a push "at a revision"
    would read that revision's config, where a relative remote path resolves elsewhere."""
    require_dvc(f"pushing {path} to the DVC remote")
    md5, legacy = _dvc_md5_at(root, commit, path)
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc_data.hashfile.hash_info import HashInfo

    name = "md5-dos2unix" if legacy else "md5"
    try:
        with Repo(str(root)) as repo:
            oids = [md5]
            if md5.endswith(".dir"):  # DVC pushes a .dir object alone: name each file too
                cache = repo.cache.legacy if legacy else repo.cache.local
                oids = [oid for _, oid in _tree(cache, md5) or []] + oids
            result = repo.cloud.push([HashInfo(name, oid) for oid in oids])
    except DvcException as e:
        raise ChampionError(f"cannot push {path} at {commit[:12]} to the DVC remote: {e}") from e
    if result.failed:
        raise ChampionError(
            f"{path} at {commit[:12]} is in neither the DVC remote nor this machine's DVC cache: "
            "`dvc push` it from the machine that built it"
        )


def _dvc_md5_at(root: Path, commit: str, path: str) -> tuple[str, bool]:
    from champion import untrusted

    git = Git(root)

    def show(file: str) -> Any:
        # The .dvc file or dvc.lock comes from the commit being registered: bounded like every
        # other file a pull request can write (no alias bombs, no thousand-digit numbers).
        blob = git.show_blob(commit, file)
        if blob is None:
            return None
        return untrusted.load_yaml(blob.decode("utf-8", "replace"), f"{file} at {commit[:12]}")

    def pick(outs: Any, base: Path) -> tuple[str, bool] | None:
        # DVC 2 wrote no `hash:` field; its objects live in the remote's legacy layout.
        for out in outs or []:
            if not isinstance(out, dict) or not isinstance(out.get("md5"), str):
                continue
            if (base / str(out.get("path", ""))).as_posix() == path:
                return out["md5"], out.get("hash") != "md5"
        return None

    target = Path(path)
    found = pick((show(f"{path}.dvc") or {}).get("outs"), target.parent)
    if found is None:
        # A pipeline output: look in the dvc.lock of each folder above it.
        for folder in [*reversed(target.parents)]:
            lock = show((folder / "dvc.lock").as_posix().removeprefix("./"))
            if not isinstance(lock, dict):
                continue
            for stage in (lock.get("stages") or {}).values():
                found = found or pick((stage or {}).get("outs"), folder)
    if found is None:
        raise ArtifactNotFound(
            f"{path} is not tracked by DVC at commit {commit[:12]} (no {path}.dvc and no dvc.lock "
            "output names it)"
        )
    return found

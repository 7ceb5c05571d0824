"""Reading a model's artifact as it was at a commit, from git or from DVC, and hashing it.

DVC is imported only when an artifact is not in git, so git-only users never pay for it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from champion.errors import ChampionError

CHUNK = 1 << 20


@dataclass(frozen=True)
class ArtifactInfo:
    path: str
    sha256: str
    size: int
    tracked_by: str  # "git" | "dvc"

    def as_metadata(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "size": self.size,
            "tracked_by": self.tracked_by,
        }


class ArtifactNotFound(ChampionError):
    pass


def _git_has(root: Path, commit: str, path: str) -> bool:
    proc = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}:{path}"], cwd=root, capture_output=True
    )
    return proc.returncode == 0


@contextmanager
def open_at(
    root: Path, path: str, commit: str, *, remote_only: bool = False
) -> Iterator[tuple[IO[bytes], str]]:
    """Yields a binary stream of the artifact at `commit` and "git" or "dvc". With `remote_only`,
    a DVC-tracked artifact is read from the DVC remote even when the local cache holds it: that
    proves others (a deploy job, a service) can fetch it."""
    if not path.strip("./"):
        # `commit:` names the whole tree, which git would happily "have".
        raise ArtifactNotFound(
            "the model declares no artifact path (a GTO artifact without one?): declare its "
            "path in champion.yaml (models: NAME: path: ...) to register, evaluate or serve it"
        )
    if _git_has(root, commit, path):
        proc = subprocess.Popen(
            ["git", "cat-file", "blob", f"{commit}:{path}"], cwd=root, stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        try:
            yield proc.stdout, "git"
        finally:
            proc.stdout.close()
            proc.wait()
        return
    if not _dvc_tracks(root, commit, path):
        raise ArtifactNotFound(
            f"{path} is not at commit {commit[:12]}, neither in git nor tracked by DVC "
            f"({path}.dvc or a dvc.yaml stage output): commit it, or `dvc add {path}` and commit "
            f"{path}.dvc"
        )
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    if remote_only:
        with _open_in_dvc_remote(root, path, commit) as stream:
            yield stream, "dvc"
        return
    import dvc.api
    from dvc.exceptions import DvcException

    try:
        with dvc.api.open(path, repo=str(root), rev=commit, mode="rb") as stream:
            yield stream, "dvc"
    except (DvcException, FileNotFoundError, IsADirectoryError) as e:
        raise ArtifactNotFound(
            f"cannot read {path} at commit {commit[:12]} through DVC: {e}. It is in neither "
            "the local DVC cache nor the DVC remote: run `dvc push` from the machine that built it"
        ) from e


@contextmanager
def _open_in_dvc_remote(root: Path, path: str, commit: str) -> Iterator[IO[bytes]]:
    """The artifact's object read straight from the default DVC remote (the md5 from git), so
    neither this machine's cache nor a checkout of `commit` is involved."""
    md5, legacy = _dvc_md5_at(root, commit, path)
    with _remote_odb(root, path, legacy) as (odb, _):
        try:
            stream = odb.fs.open(odb.oid_to_path(md5), mode="rb")
        except (FileNotFoundError, IsADirectoryError) as e:
            raise ArtifactNotFound(
                f"cannot fetch {path} at commit {commit[:12]} from the DVC remote: it is gone from "
                "there or was never pushed; `dvc push` it from a machine that has it"
            ) from e
        with stream:
            yield stream


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
    if _git_has(root, commit, f"{path}.dvc"):
        return True
    # A pipeline output: named in some dvc.lock at that commit.
    proc = subprocess.run(
        ["git", "grep", "-l", "-F", "-e", Path(path).name, commit, "--", "*dvc.lock"],
        cwd=root,
        capture_output=True,
    )
    return proc.returncode == 0


def describe(root: Path, path: str, commit: str, *, remote_only: bool = False) -> ArtifactInfo:
    digest = hashlib.sha256()
    size = 0
    with open_at(root, path, commit, remote_only=remote_only) as (stream, tracked_by):
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return ArtifactInfo(path=path, sha256=digest.hexdigest(), size=size, tracked_by=tracked_by)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_in_dvc_remote(root: Path, path: str) -> str:
    """Makes sure the DVC remote holds the working tree's version of `path`, pushing it when
    only this machine has it. A version whose artifact cannot be fetched would make a later
    rollback to it fail, so this runs before its tag is pushed. Returns what was done."""
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
    push = subprocess.run(
        [sys.executable, "-m", "dvc", "push", "--quiet", path],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )
    if push.returncode != 0:
        raise ChampionError(f"dvc push {path} failed: {push.stderr.strip()[-500:]}")
    return "pushed to the DVC remote"


@dataclass(frozen=True)
class RemoteObject:
    """Where the DVC remote keeps an artifact's content, and whether it is there."""

    md5: str
    url: str
    present: bool
    cached: bool  # in this machine's DVC cache, so it can be pushed


def dvc_remote_object(root: Path, path: str, commit: str) -> RemoteObject:
    """The artifact's object in the default DVC remote, from the `.dvc` file or `dvc.lock` entry
    at `commit` (read from git, so the working tree may be anywhere)."""
    md5, legacy = _dvc_md5_at(root, commit, path)
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    with _remote_odb(root, path, legacy) as (odb, repo):
        where = odb.oid_to_path(md5)
        cache = repo.cache.legacy if legacy else repo.cache.local
        return RemoteObject(
            md5,
            odb.fs.unstrip_protocol(where),
            present=bool(odb.fs.exists(where)),
            cached=bool(cache.fs.exists(cache.oid_to_path(md5))),
        )


def push_to_dvc_remote(root: Path, path: str, commit: str) -> None:
    """Pushes the artifact as it was at `commit` from the local DVC cache to the default remote.
    By its object (md5 from git), with the working tree's DVC config: a push "at a revision"
    would read that revision's config, where a relative remote path resolves elsewhere."""
    md5, legacy = _dvc_md5_at(root, commit, path)
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc_data.hashfile.hash_info import HashInfo

    try:
        with Repo(str(root)) as repo:
            result = repo.cloud.push([HashInfo("md5-dos2unix" if legacy else "md5", md5)])
    except DvcException as e:
        raise ChampionError(f"cannot push {path} at {commit[:12]} to the DVC remote: {e}") from e
    if result.failed:
        raise ChampionError(
            f"{path} at {commit[:12]} is in neither the DVC remote nor this machine's DVC cache: "
            "`dvc push` it from the machine that built it"
        )


def _dvc_md5_at(root: Path, commit: str, path: str) -> tuple[str, bool]:
    import yaml

    def show(file: str) -> Any:
        proc = subprocess.run(
            ["git", "cat-file", "blob", f"{commit}:{file}"], cwd=root, capture_output=True
        )
        return yaml.safe_load(proc.stdout) if proc.returncode == 0 else None

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

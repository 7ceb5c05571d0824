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
def open_at(root: Path, path: str, commit: str) -> Iterator[tuple[IO[bytes], str]]:
    """Yields a binary stream of the artifact at `commit` and "git" or "dvc"."""
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
    import dvc.api
    from dvc.exceptions import DvcException

    try:
        with dvc.api.open(path, repo=str(root), rev=commit, mode="rb") as stream:
            yield stream, "dvc"
    except (DvcException, FileNotFoundError, IsADirectoryError) as e:
        raise ArtifactNotFound(
            f"cannot read {path} at commit {commit[:12]} through DVC: {e}. It is in neither the "
            "local DVC cache nor the DVC remote: run `dvc push` from the machine that built it"
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


def describe(root: Path, path: str, commit: str) -> ArtifactInfo:
    digest = hashlib.sha256()
    size = 0
    with open_at(root, path, commit) as (stream, tracked_by):
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

"""The champion's predictions on the evaluation set, recorded when its version is released, so
that a pull request is gated even when the old pickle no longer loads (a scikit-learn upgrade),
in half the time while the evaluation set is unchanged (issue 12).

The file is a deterministic `.npz` (no pickle: read with allow_pickle=False) of one model's raw
outputs, keyed by the version's artifact (the tag it is recorded in) and the evaluation data's
sha256 plus the settings that decide what the model was given. Its own sha256 is in the tag's
metadata, so it is verified before use, wherever it was fetched from:

- a DVC-tracked artifact's go to the DVC remote, as an object named by its md5, beside the
  artifact's;
- a git-tracked artifact's go into git, as a ref `refs/champion/predictions/<sha256>` naming a
  commit whose tree holds `predictions.npz`. A ref per file, named by its content, is never
  moved, so two releases never race for it (one notes ref shared by every model would be); it
  travels with the repository the pull request job already fetches from, needs no credentials
  a pointer store would, and is not fetched by an ordinary clone.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from champion.errors import ChampionError
from champion.files import write_atomic
from champion.git import Git

FORMAT = 1  # what a model is given from the data; bump when that changes, so old records miss
REF_PREFIX = "refs/champion/predictions/"
FILE_NAME = "predictions.npz"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_IDENTITY = {
    "GIT_AUTHOR_NAME": "champion",
    "GIT_AUTHOR_EMAIL": "champion@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_NAME": "champion",
    "GIT_COMMITTER_EMAIL": "champion@localhost",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}


class Unavailable(ChampionError):
    """Recorded predictions that cannot be used; the message says why."""


@dataclass(frozen=True)
class Outputs:
    """One model's raw per-row outputs, as the prediction pass keeps them."""

    task: str
    method: str  # predict_proba | decision_function | predict
    classes: Any  # the model's classes_ (an array), or None
    labels: Any  # codes into classes (two-class predict_proba), raw labels (predict), or None
    scores: Any  # class-1 column, (n, k) probabilities, decision scores, values, or None
    rows: int

    @property
    def two_classes(self) -> bool:
        return self.method == "predict_proba" and self.labels is not None


def recordable(outputs: Outputs) -> str | None:
    """Why the outputs cannot be written without pickle, or None."""
    for name in ("classes", "labels"):
        value = getattr(outputs, name)
        if value is not None and np.asarray(value).dtype == object:
            return f"the model's {name} are Python objects of mixed types"
    return None


def _plain(value: Any) -> Any:
    """An object array of one kind of value (strings, say) as a plain numpy array."""
    array = np.asarray(value)
    if array.dtype == object:
        array = np.asarray(array.tolist())
    return array


def write(outputs: Outputs, path: Path) -> tuple[str, int]:
    """Writes the outputs as a deterministic .npz; returns its sha256 and size."""
    arrays: dict[str, Any] = {
        "meta": np.asarray(
            json.dumps(
                {"format": FORMAT, "task": outputs.task, "method": outputs.method},
                sort_keys=True,
            )
        )
    }
    for name in ("classes", "labels", "scores"):
        value = getattr(outputs, name)
        if value is not None:
            arrays[name] = np.ascontiguousarray(_plain(value))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            with archive.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, arrays[name], allow_pickle=False)
    data = buffer.getvalue()
    write_atomic(path, data)
    return hashlib.sha256(data).hexdigest(), len(data)


def read(data: bytes, rows: int) -> Outputs:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        found = {n: npz[n] for n in ("classes", "labels", "scores") if n in npz.files}
    if meta.get("format") != FORMAT:
        raise Unavailable(f"they were recorded in format {meta.get('format')}, not {FORMAT}")
    outputs = Outputs(
        task=str(meta["task"]),
        method=str(meta["method"]),
        classes=found.get("classes"),
        labels=found.get("labels"),
        scores=found.get("scores"),
        rows=rows,
    )
    n = len(outputs.labels if outputs.labels is not None else outputs.scores)
    if n != rows:
        raise Unavailable(f"they hold {n} rows, the evaluation data {rows}")
    return outputs


# --- where they are kept ----------------------------------------------------------------------


def _git(root: Path, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return Git(root).run_bytes(*args, input=input, env=_IDENTITY)


def store(
    root: Path, path: Path, sha256: str, tracked_by: str, *, push: str | None
) -> dict[str, Any]:
    """Keeps the file where the artifact is kept; with `push` (a git remote name), where others
    can fetch it. Returns where, for the tag's metadata."""
    if tracked_by == "dvc":
        return _store_dvc(root, path, sha256, push=push is not None)
    ref = REF_PREFIX + sha256
    blob = _checked(root, ("hash-object", "-w", str(path))).strip()
    tree = _checked(root, ("mktree",), input=f"100644 blob {blob}\t{FILE_NAME}\n".encode()).strip()
    commit = _checked(root, ("commit-tree", tree, "-m", f"champion predictions {sha256}")).strip()
    _checked(root, ("update-ref", ref, commit))
    if push is not None:
        _checked(root, ("push", "--quiet", "--no-verify", push, f"{ref}:{ref}"))
    return {"store": "git", "ref": ref}


def _checked(root: Path, args: tuple[str, ...], input: bytes | None = None) -> str:
    proc = _git(root, *args, input=input)
    if proc.returncode != 0:
        raise ChampionError(
            f"cannot record the champion's predictions in git (git {' '.join(args[:2])}): "
            f"{proc.stderr.decode(errors='replace').strip()[-500:]}"
        )
    return proc.stdout.decode()


def fetch(root: Path, record: Mapping[str, Any], remote: str | None) -> bytes:
    """The recorded file's bytes, verified against the sha256 the tag records."""
    sha256 = str(record.get("sha256") or "")
    if record.get("store") == "dvc":
        data = _fetch_dvc(root, str(record.get("md5") or ""))
    else:
        data = _fetch_git(root, sha256, remote)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise Unavailable("the file fetched does not match the sha256 its tag records")
    return data


def _fetch_git(root: Path, sha256: str, remote: str | None) -> bytes:
    ref = REF_PREFIX + sha256
    if _git(root, "cat-file", "-e", f"{ref}:{FILE_NAME}").returncode != 0:
        if remote is None:
            raise Unavailable(f"{ref} is not in this repository")
        fetched = _git(root, "fetch", "--quiet", "--no-tags", remote, f"+{ref}:{ref}")
        if fetched.returncode != 0:
            raise Unavailable(
                f"{ref} cannot be fetched from {remote}: "
                f"{fetched.stderr.decode(errors='replace').strip()[-300:]}"
            )
    blob = _git(root, "cat-file", "blob", f"{ref}:{FILE_NAME}")
    if blob.returncode != 0:
        raise Unavailable(f"{ref} holds no {FILE_NAME}")
    return blob.stdout


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _store_dvc(root: Path, path: Path, sha256: str, *, push: bool) -> dict[str, Any]:
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc_objects.fs.local import LocalFileSystem

    md5 = _md5(path)
    local = LocalFileSystem()  # type: ignore[no-untyped-call]
    try:
        with Repo(str(root)) as repo:
            repo.cache.local.add(str(path), local, md5)
            if push:
                repo.cloud.get_remote_odb(hash_name="md5").add(str(path), local, md5)
    except DvcException as e:
        raise ChampionError(
            f"cannot record the champion's predictions in DVC: {e}; configure a default remote "
            "(dvc remote add -d NAME URL) and its credentials"
        ) from e
    return {"store": "dvc", "md5": md5}


def _fetch_dvc(root: Path, md5: str) -> bytes:
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            cache = repo.cache.local
            if cache.exists(md5):
                with cache.fs.open(cache.oid_to_path(md5), mode="rb") as f:
                    return bytes(f.read())
            odb = repo.cloud.get_remote_odb(hash_name="md5")
            with odb.fs.open(odb.oid_to_path(md5), mode="rb") as f:
                return bytes(f.read())
    except (DvcException, OSError) as e:
        raise Unavailable(f"their DVC object {md5} cannot be read: {e}") from e

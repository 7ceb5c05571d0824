"""Publishing the pointer: what the registry says is live in a stage (and its canary), written to
the model's `pointer:` location so a service can follow it.

The artifact must be fetchable by whoever reads the pointer, so before the pointer names it:
an artifact tracked by DVC is pushed to the DVC remote if it is missing there (the pointer's URL is
its object in that remote); one tracked by git is copied next to the pointers, under
`artifacts/SHA256`, since a service should not need git to fetch a model. A folder gets an index
beside the pointers, `artifacts/SHA256.json` (SHA256: its manifest's), naming each file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from champion import artifacts, pointer
from champion.config import ModelConfig
from champion.errors import ChampionError
from champion.manifest import Manifest, differences, index_bytes
from champion.pointer import ArtifactRef, Canary, Pointer
from champion.project import Project
from champion.registry import ModelState
from champion.registry.state import VersionInfo, build_state, canary_weight
from champion.registry.tags import canary_stage, ref_patterns
from champion.store import Store, is_url


class PublishError(ChampionError):
    pass


@dataclass(frozen=True)
class Published:
    model: str
    stage: str
    url: str  # where the pointer is
    outcome: pointer.Outcome
    pointer: Pointer
    there: Pointer | None  # what the store held before


def publish(project: Project, model: str, stage: str, *, fetch: bool = True) -> Published:
    spec = project.config.model(model)
    location = spec.pointer
    if location is None:
        raise PublishError(
            f"{spec.name} has no pointer: location in {project.config.path or 'champion.yaml'}: add "
            "one (a folder, or a URL such as s3://bucket/champion/NAME) to publish it"
        )
    registry = project.registry
    if fetch and registry.git.remote_exists(registry.remote):
        state = _remote_state(project, spec.name)  # what the remote says, not a stale view
    else:
        state = registry.state(spec.name)
    store = Store(location, root=project.root)
    new = build_pointer(project, spec, state, stage, store)
    outcome, there = pointer.write(store, new)
    return Published(spec.name, stage, store.url(pointer.pointer_name(stage)), outcome, new, there)


def _remote_state(project: Project, model: str) -> ModelState:
    """The model's tags as the remote has them: fetched (the tag messages hold the metadata), then
    only those the remote lists. A tag written here and never pushed is not published: the pointer
    would name a tag nobody else has, and its counter could hold back the remote's real events."""
    registry = project.registry
    registry.refresh(model)
    patterns = ref_patterns(model)
    there = {r.name for r in registry.git.ls_remote(registry.remote, patterns)}
    return build_state(model, [r for r in registry.git.for_each_ref(patterns) if r.name in there])


def build_pointer(
    project: Project, spec: ModelConfig, state: ModelState, stage: str, store: Store
) -> Pointer:
    live = state.live.get(stage)
    if live is None:
        raise PublishError(
            f"no version of {spec.name} is live in {stage}: nothing to publish; promote one first "
            f"(champion promote {spec.name} VERSION --stage {stage})"
        )
    main = _version(state, live.version)
    canary = None
    trial = state.live.get(canary_stage(stage))
    if trial is not None and trial.version != live.version:
        info = _version(state, trial.version)
        canary = Canary(
            version=str(trial.version),
            weight=_canary_weight(state, trial.tag),
            tag=trial.tag,
            commit=trial.commit,
            artifact=_artifact(project, spec, info, store),
        )
    counter = max(
        (
            e.counter
            for e in state.history
            if e.counter is not None and e.name.stage in (stage, canary_stage(stage))
        ),
        default=live.counter,
    )
    return Pointer(
        model=spec.name,
        stage=stage,
        version=str(live.version),
        tag=live.tag,
        commit=live.commit,
        artifact=_artifact(project, spec, main, store),
        counter=counter,
        updated_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        canary=canary,
    )


def _version(state: ModelState, version: Any) -> VersionInfo:
    info = state.find(version)
    if info is None:
        raise PublishError(f"{state.model} {version} is live but not registered: register it")
    return info


def _canary_weight(state: ModelState, tag: str) -> float:
    weight = canary_weight(state, tag)
    if weight is None:
        raise PublishError(
            f"{tag} records no canary weight: start the canary with champion canary start"
        )
    return weight


def _artifact(project: Project, spec: ModelConfig, info: VersionInfo, store: Store) -> ArtifactRef:
    meta = info.metadata.get("artifact")
    if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str):
        raise PublishError(
            f"{info.tag} records no artifact sha256 (was it registered by another tool?): a "
            "service could not verify it; register the version with champion"
        )
    path = str(meta.get("path") or spec.path)
    sha256, size = meta["sha256"], int(meta.get("size") or 0)
    fmt, loader = spec.loading({**meta, "path": path})
    if meta.get("kind") == "folder":
        files = Manifest.from_metadata(meta.get("files"), f"{info.tag}'s artifact {path}")
        if files.sha256 != sha256:
            raise PublishError(
                f"{info.tag} lists files whose manifest has sha256 {files.sha256}, but it records "
                f"{sha256} for {path}: refusing to publish it"
            )
        url = _folder_index(project.root, path, info.commit, files, meta, store)
        return ArtifactRef(path, sha256, size, url, fmt, "folder", loader)
    if meta.get("tracked_by") == "dvc":
        url = _in_dvc_remote(project.root, path, info.commit).url
    else:
        url = _beside_pointers(project.root, path, info.commit, sha256, store)
    return ArtifactRef(path, sha256, size, url, fmt, "file", loader)


def check_location(project: Project, spec: ModelConfig) -> None:
    """Under CI, a pointer folder inside the repository's checkout is refused: the job's checkout
    is thrown away when the job ends, so the pointer (and the artifacts beside it) would vanish
    with it, and a deploy job would find nothing (issue 13.3). Checked before any tag."""
    location = spec.pointer
    if location is None or os.environ.get("GITHUB_ACTIONS") != "true":
        return
    if is_url(location) and not location.startswith("file://"):
        return
    folder = Store(location, root=project.root).local
    root = project.root.resolve()
    if folder is None or not (folder.resolve() == root or root in folder.resolve().parents):
        return
    raise PublishError(
        f"model {spec.name}: pointer: {location} in {spec.source} is inside the repository's "
        f"checkout ({folder}), which CI throws away when the job ends: the pointer would vanish "
        "with it. Point it at object storage (e.g. s3://BUCKET/champion/"
        f"{spec.name}, gs://..., azure://...) or at a folder outside the checkout that outlives "
        "the job (an absolute path on a self-hosted runner's disk or a mounted volume)"
    )


def check_publishable(project: Project, model: str, version: Any) -> None:
    """Before a promotion is written: the pointer published after it must be able to name a
    fetchable artifact, so a DVC-tracked one must be in the DVC remote or in this machine's cache
    (publish pushes it then). Otherwise the stage would change and the pointer could not follow."""
    spec = project.config.model(model)
    if spec.pointer is None:
        return
    info = project.registry.state(spec.name).find(version)
    meta = info.metadata.get("artifact") if info is not None else None
    if info is None or not isinstance(meta, dict) or meta.get("tracked_by") != "dvc":
        return  # unknown versions are the registry's to refuse; git blobs are always there
    path = str(meta.get("path") or spec.path)
    found = artifacts.dvc_remote_object(project.root, path, info.commit)
    if not (found.present or found.cached):
        raise PublishError(
            f"{path} of {info.tag} is in neither the DVC remote nor this machine's DVC cache: "
            "nobody could fetch it after the promotion; `dvc push` it from the machine that "
            "built it, then promote"
        )


def _in_dvc_remote(root: Path, path: str, commit: str) -> artifacts.RemoteObject:
    found = artifacts.dvc_remote_object(root, path, commit)
    if not found.present:
        artifacts.push_to_dvc_remote(root, path, commit)
        found = artifacts.dvc_remote_object(root, path, commit)
        if not found.present and found.cached and found.files:
            # DVC uploads a folder's listing last and then takes the folder as pushed: a
            # listing left by an interrupted upload hides the files it lacks from `dvc push`.
            raise PublishError(
                f"the DVC remote holds the listing of the folder {path} at {commit[:12]} "
                f"({found.url}) but not all its files, so DVC takes it as pushed: delete that "
                "listing from the remote, then run champion publish again"
            )
        if not found.present:
            # DVC only warns about what it could not push: missing from this machine's cache too.
            raise PublishError(
                f"{path} at {commit[:12]} is in neither the DVC remote nor this machine's DVC "
                "cache, so a service could not fetch it: `dvc push` it from the machine that "
                "built it, then run champion publish"
            )
    return found


def _beside_pointers(root: Path, path: str, commit: str, sha256: str, store: Store) -> str:
    name = f"artifacts/{sha256}"
    if not store.exists(name):
        with tempfile.TemporaryDirectory(prefix="champion-publish-") as tmp:
            copy = Path(tmp) / "artifact"
            got = artifacts.read(root, path, commit, dest=copy).sha256
            if got != sha256:
                raise PublishError(
                    f"{path} at {commit[:12]} has sha256 {got}, but its tag recorded {sha256}: "
                    "refusing to publish it"
                )
            store.put_file(name, copy)
    return store.url(name)


def _folder_index(
    root: Path, path: str, commit: str, files: Manifest, meta: dict[str, Any], store: Store
) -> str:
    """The index of a folder's files, beside the pointers as `artifacts/SHA256.json`: the pointer
    names it, and it names each file. A git-tracked folder's files are copied beside it, named
    by their sha256 (a file unchanged between versions is stored once). A DVC-tracked folder's
    files are named by their objects in the DVC remote, as a DVC-tracked file is: the remote
    already holds them (a model folder can weigh gigabytes: no second copy, no second upload),
    and a service needs the DVC remote's credentials for DVC-tracked files anyway; the index
    carries their sha256, so the runtime verifies them without knowing DVC's layout."""
    if meta.get("tracked_by") == "dvc":
        found = _in_dvc_remote(root, path, commit)
        urls = dict(found.files)
        if set(urls) != {f.path for f in files.files}:
            raise PublishError(
                f"{path} at {commit[:12]}: the DVC remote's listing of the folder is not the files "
                "its tag records: refusing to publish it"
            )
    else:
        _copy_files(root, path, commit, files, store)
        urls = {f.path: f.sha256 for f in files.files}  # relative to the index's folder
    name = f"artifacts/{files.sha256}.json"
    data = index_bytes(files, urls)
    there = store.read(name)
    if there is None or there.data != data:
        store.write(name, data, there)  # False: another publisher wrote it meanwhile; same data
    return store.url(name)


def _copy_files(root: Path, path: str, commit: str, files: Manifest, store: Store) -> None:
    missing = [f for f in files.files if not store.exists(f"artifacts/{f.sha256}")]
    if not missing:
        return
    with tempfile.TemporaryDirectory(prefix="champion-publish-") as tmp:
        copy = Path(tmp) / "folder"
        got = artifacts.read(root, path, commit, dest=copy)
        if got.sha256 != files.sha256:
            detail = differences(files, got.files) if got.files is not None else "not a folder"
            raise PublishError(
                f"{path} at {commit[:12]} has sha256 {got.sha256}, but its tag recorded "
                f"{files.sha256} ({detail}): refusing to publish it"
            )
        for f in missing:
            store.put_file(f"artifacts/{f.sha256}", copy / f.path)

"""Publishing the pointer: what the registry says is live in a stage (and its canary), written to
the model's `pointer:` location so a service can follow it.

The artifact must be fetchable by whoever reads the pointer, so before the pointer names it:
an artifact tracked by DVC is pushed to the DVC remote if it is missing there (the pointer's URL is
its object in that remote); one tracked by git is copied next to the pointers, under
`artifacts/SHA256`, since a service should not need git to fetch a model. A folder gets an index
beside the pointers, `artifacts/SHA256.json` (SHA256: its manifest's), naming each file.

Over 400 lines: the registry check of the pointer there, the artifact made fetchable (file or
folder, git or DVC) and the conditional write, each step guarding the next.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from champion import artifacts
from champion.config import ModelConfig
from champion.deploy import pointer
from champion.deploy.pointer import ArtifactRef, Canary, Pointer, SignatureRef
from champion.deploy.store import Store, is_url
from champion.errors import ChampionError
from champion.loading import SERVABLE
from champion.manifest import Manifest, differences, index_bytes
from champion.project import Project
from champion.registry import ModelState
from champion.registry.state import VersionInfo, build_state, canary_weight
from champion.registry.tags import canary_stage, parse_tag, ref_patterns
from champion.signing.policy import enforce


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
    invalid: str | None = None  # why the pointer the store held was replaced
    repairs: tuple[str, ...] = ()  # what was found wrong beside the pointer, and mended


def publish(
    project: Project, model: str, stage: str, *, fetch: bool = True, check_signatures: bool = True
) -> Published:
    """`check_signatures`: with `signing.required`, the versions the pointer names must be
    signed (a stage change checked that before its tags: after_change passes False)."""
    spec = project.config.model(model)
    location = spec.pointer
    if location is None:
        raise PublishError(
            f"{spec.name} has no pointer: location in {project.config.path or 'champion.yaml'}: add "
            "one (a folder, or a URL such as s3://bucket/champion/NAME) to publish it"
        )
    registry = project.registry
    fetch = fetch and registry.git.remote_exists(registry.remote)
    # With a remote: what the remote says, not a stale view.
    state = _remote_state(project, spec.name) if fetch else registry.state(spec.name)
    if check_signatures:
        _enforce_signing(project, spec.name, state, stage)
    store = Store(location, root=project.root)
    repairs: list[str] = []
    new = build_pointer(project, spec, state, stage, store, repairs)
    check = _registry_check(project, spec, stage, state, remote=fetch)
    done = pointer.write(store, new, check)
    url = store.url(pointer.pointer_name(stage))
    return Published(
        spec.name, stage, url, done.outcome, new, done.there, done.invalid, tuple(repairs)
    )


def _registry_check(
    project: Project, spec: ModelConfig, stage: str, state: ModelState, *, remote: bool
) -> pointer.Check:
    """What makes a pointer found in the store one publish may leave there, as the registry
    sees it: this model's and stage's, in a format a service can load, and naming tags the
    registry holds, at the commits it says, with a counter no higher than the model's last tag.
    A pointer from a newer view than `state` (another publisher's, after more tags were pushed)
    is checked against the tags listed again, so a race is never mistaken for a forgery."""
    known = {e.tag: e.commit for e in state.history}

    def check(there: Pointer) -> str | None:
        if there.model != spec.name:
            return f"it is a pointer for model {there.model!r}, not {spec.name!r}"
        if there.stage != stage:
            return f"it is a pointer for stage {there.stage!r}, not {stage!r}"
        claims = [(there.tag, there.commit, there.artifact)]
        if there.canary is not None:
            claims.append((there.canary.tag, there.canary.commit, there.canary.artifact))
        for _, _, ref in claims:
            servable = ref.loader is not None or ref.format in SERVABLE
            if not servable and ref.format != spec.artifact_format(ref.path):
                return f"it names an artifact of format {ref.format!r}, which no service loads"
        if there.counter <= state.max_counter and all(known.get(t) == c for t, c, _ in claims):
            return None
        tags = _tag_commits(project, spec.name, remote=remote)  # a newer view, perhaps
        newest = max((c for c in map(_counter_of, tags) if c is not None), default=0)
        if there.counter > newest:
            return (
                f"its counter {there.counter} is beyond the last event of {spec.name} "
                f"(#{newest}): no publisher could have written it"
            )
        for tag, commit, _ in claims:
            if tags.get(tag) != commit:
                return f"it names {tag} at {commit[:12]}, which the registry does not hold"
        return None

    return check


def _tag_commits(project: Project, model: str, *, remote: bool) -> dict[str, str]:
    """The model's tags and their commits: the remote's when publishing what it holds."""
    git, name = project.registry.git, project.registry.remote
    patterns = ref_patterns(model)
    refs = git.ls_remote(name, patterns) if remote else git.for_each_ref(patterns)
    return {r.name: r.commit for r in refs}


def _counter_of(tag: str) -> int | None:
    try:
        parsed = parse_tag(tag)
    except ValueError:  # a counter of thousands of digits: no event of this model
        return None
    return parsed.counter if parsed is not None else None


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
    project: Project,
    spec: ModelConfig,
    state: ModelState,
    stage: str,
    store: Store,
    repairs: list[str] | None = None,
) -> Pointer:
    """The pointer the registry's `state` calls for, once every artifact it names is where a
    service fetches it, with the bytes its tag recorded (`repairs` collects what was mended)."""
    repairs = [] if repairs is None else repairs
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
            artifact=_artifact(project, spec, info, store, repairs),
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
        artifact=_artifact(project, spec, main, store, repairs),
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


def _artifact(
    project: Project, spec: ModelConfig, info: VersionInfo, store: Store, repairs: list[str]
) -> ArtifactRef:
    meta = _recorded(info)
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
        url = _folder_index(project.root, path, info, files, meta, store, repairs)
        return ArtifactRef(path, sha256, size, url, fmt, "folder", loader, _signature(info, store))
    if meta.get("tracked_by") == "dvc":
        url = _in_dvc_remote(project.root, path, info, sha256).url
    else:
        url = _beside_pointers(project.root, path, info.commit, sha256, store, repairs)
    return ArtifactRef(path, sha256, size, url, fmt, "file", loader, _signature(info, store))


def _enforce_signing(project: Project, model: str, state: ModelState, stage: str) -> None:
    for name in (stage, canary_stage(stage)):
        live = state.live.get(name)
        info = state.find(live.version) if live is not None else None
        if info is not None:
            enforce(project, model, info, f"publish {name} of")


def _signature(info: VersionInfo, store: Store) -> SignatureRef | None:
    """The version's signing bundle written beside the pointers as `signatures/SHA256.json`
    (its own sha256: a bundle is a few KB, a folder's more, too big for the pointer itself)."""
    import hashlib
    import json

    from champion.signing import SigningError, read_record

    try:
        signed = read_record(info.metadata, info.tag)
    except SigningError as e:
        raise PublishError(f"{e}: refusing to publish a signature a service cannot read") from e
    if signed is None:
        return None
    data = (json.dumps(signed.bundle, sort_keys=True, indent=2) + "\n").encode()
    sha256 = hashlib.sha256(data).hexdigest()
    name = f"signatures/{sha256}.json"
    there = store.read(name)
    if there is None or there.data != data:
        store.write(name, data, there)  # False: another publisher wrote the same meanwhile
    return SignatureRef(store.url(name), sha256, signed.method)


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


def _recorded(info: VersionInfo) -> dict[str, Any]:
    meta = info.metadata.get("artifact")
    if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str):
        raise PublishError(
            f"{info.tag} records no artifact sha256 (was it registered by another tool?): a "
            "service could not verify it; register the version with champion"
        )
    return meta


def verify_fetchable(project: Project, model: str, info: VersionInfo, doing: str) -> str | None:
    """Before a version is made live (promote, release --promote, canary): the bytes a deploy
    job or a service will fetch are the ones its tag recorded, and, under `signing.required`
    in champion.yaml, its signature verifies over them (SignatureRequired, exit 2, otherwise).
    Returns a warning when its bytes could not be checked (see _fetchable)."""
    warning = _fetchable(project, model, info, doing)
    enforce(project, model, info, doing)
    return warning


def _fetchable(project: Project, model: str, info: VersionInfo, doing: str) -> str | None:
    """The bytes: a DVC-tracked artifact is read from the DVC remote, as rollback reads it
    (artifacts.describe, remote only: a folder file by file), or from this machine's DVC cache
    when only the cache has it yet (publish pushes it, then reads the remote again); a
    git-tracked one from git, whose copy beside the pointer publish checks. Nothing is loaded:
    only hashed. Returns a warning when there is nothing to check against (a version another
    tool registered, for a model without a pointer: GTO's own tags record no sha256)."""
    spec = project.config.model(model)
    recorded = info.metadata.get("artifact")
    if spec.pointer is None and not (
        isinstance(recorded, dict) and isinstance(recorded.get("sha256"), str)
    ):
        return f"{info.tag} records no sha256 (another tool registered it): its bytes are unchecked"
    meta = _recorded(info)
    path = str(meta.get("path") or spec.path)
    remote_only = True
    if meta.get("tracked_by") == "dvc":
        found = artifacts.dvc_remote_object(project.root, path, info.commit)
        if not (found.present or found.cached):
            raise PublishError(
                f"{path} of {info.tag} is in neither the DVC remote nor this machine's DVC cache: "
                f"nobody could fetch it; `dvc push` it from the machine that built it, then "
                f"{doing} it"
            )
        remote_only = found.present
    got = artifacts.describe(project.root, path, info.commit, remote_only=remote_only)
    if got.sha256 != meta["sha256"]:
        where = "in the DVC remote" if remote_only and got.tracked_by == "dvc" else "here"
        raise PublishError(
            f"{path} of {info.tag} has sha256 {got.sha256} {where}, but its tag recorded "
            f"{meta['sha256']}: it was replaced or corrupted, refusing to {doing} it. Restore it "
            "(dvc push from a machine whose copy has the recorded sha256) or pick another version"
        )
    return None


def _in_dvc_remote(root: Path, path: str, info: VersionInfo, sha256: str) -> artifacts.RemoteObject:
    commit = info.commit
    found = artifacts.dvc_remote_object(root, path, commit)
    if not found.present:
        artifacts.push_to_dvc_remote(root, path, commit)
        found = artifacts.dvc_remote_object(root, path, commit)
        if not found.present:
            # DVC only warns about what it could not push: missing from this machine's cache too.
            raise PublishError(
                f"{path} at {commit[:12]} is in neither the DVC remote nor this machine's DVC "
                "cache, so a service could not fetch it: `dvc push` it from the machine that "
                "built it, then run champion publish"
            )
    # What a service will fetch: the remote's objects, whoever pushed them.
    got = artifacts.describe(root, path, commit, remote_only=True)
    if got.sha256 != sha256:
        raise PublishError(
            f"{path} of {info.tag} in the DVC remote ({found.url}) has sha256 {got.sha256}, but "
            f"its tag recorded {sha256}: it was replaced or corrupted there, refusing to publish "
            "it. Restore it (dvc push from a machine whose copy has the recorded sha256)"
        )
    return found


def _beside_pointers(
    root: Path, path: str, commit: str, sha256: str, store: Store, repairs: list[str]
) -> str:
    """The git-tracked artifact copied to `artifacts/SHA256` beside the pointers. A copy already
    there is hashed again before it counts: anyone with write access to the store could have
    replaced it, and a service would refuse it (or, loading without checking, run it)."""
    name = f"artifacts/{sha256}"
    there = store.sha256(name)
    if there == sha256:
        return store.url(name)
    with tempfile.TemporaryDirectory(prefix="champion-publish-") as tmp:
        copy = Path(tmp) / "artifact"
        got = artifacts.read(root, path, commit, dest=copy).sha256
        if got != sha256:
            raise PublishError(
                f"{path} at {commit[:12]} has sha256 {got}, but its tag recorded {sha256}: "
                "refusing to publish it"
            )
        store.put_file(name, copy)
    _replaced(store, name, there, repairs)
    return store.url(name)


def _replaced(store: Store, name: str, there: str | None, repairs: list[str]) -> None:
    if there is not None:
        repairs.append(
            f"replaced {store.url(name)}: its bytes had sha256 {there}, not the recorded one "
            "(tampered or corrupt)"
        )


def _folder_index(
    root: Path,
    path: str,
    info: VersionInfo,
    files: Manifest,
    meta: dict[str, Any],
    store: Store,
    repairs: list[str],
) -> str:
    """The index of a folder's files, beside the pointers as `artifacts/SHA256.json`: the pointer
    names it, and it names each file. A git-tracked folder's files are copied beside it, named
    by their sha256 (a file unchanged between versions is stored once). A DVC-tracked folder's
    files are named by their objects in the DVC remote, as a DVC-tracked file is: the remote
    already holds them (a model folder can weigh gigabytes: no second copy, no second upload),
    and a service needs the DVC remote's credentials for DVC-tracked files anyway; the index
    carries their sha256, so the runtime verifies them without knowing DVC's layout."""
    commit = info.commit
    if meta.get("tracked_by") == "dvc":
        found = _in_dvc_remote(root, path, info, files.sha256)
        urls = dict(found.files)
        if set(urls) != {f.path for f in files.files}:
            raise PublishError(
                f"{path} at {commit[:12]}: the DVC remote's listing of the folder is not the files "
                "its tag records: refusing to publish it"
            )
    else:
        _copy_files(root, path, commit, files, store, repairs)
        urls = {f.path: f.sha256 for f in files.files}  # relative to the index's folder
    name = f"artifacts/{files.sha256}.json"
    data = index_bytes(files, urls)
    there = store.read(name)
    if there is None or there.data != data:
        store.write(name, data, there)  # False: another publisher wrote it meanwhile; same data
    return store.url(name)


def _copy_files(
    root: Path, path: str, commit: str, files: Manifest, store: Store, repairs: list[str]
) -> None:
    # Each copy already there is hashed again, as a single file's is (_beside_pointers).
    found = {f.sha256: store.sha256(f"artifacts/{f.sha256}") for f in files.files}
    missing = [f for f in files.files if found[f.sha256] != f.sha256]
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
            name = f"artifacts/{f.sha256}"
            store.put_file(name, copy / f.path)
            _replaced(store, name, found[f.sha256], repairs)

"""Which model the candidate is compared with, and its artifact, verified against its tag; and
the champion as an evaluation has it: its model, or its predictions recorded at its release."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from champion import artifacts
from champion.config import Config, ModelConfig
from champion.errors import ChampionError, RegistryError
from champion.evaluation import environment, recorded
from champion.evaluation.data import DataSpec, file_sha256
from champion.loading.verified import LoadedModel, ModelLoadError, load
from champion.project import Project
from champion.registry import ModelState, Registry, Version, VersionInfo


@dataclass(frozen=True)
class Baseline:
    """kind: "version" (a registered version, maybe the one live in `stage`), "path" (a file)
    or "none" (no champion yet: the initial version)."""

    kind: str
    stage: str | None = None
    version: Version | None = None
    tag: str | None = None
    commit: str | None = None
    path: str | None = None
    expected_sha256: str | None = None
    metadata: dict[str, Any] | None = None

    @property
    def source(self) -> str:
        if self.kind == "version":
            return f"{self.tag}:{self.path}"
        return self.path or "none"


def resolve(
    config: Config, registry: Registry, model: ModelConfig, spec: str | None
) -> tuple[Baseline, ModelState]:
    """`stage:STAGE` (default: the gating stage), `VERSION`, or a file `PATH`."""
    state = registry.state(model.name)
    if spec is None or spec.startswith("stage:"):
        used = () if config.stages_declared else state.stages
        stage = config.check_stage(spec[len("stage:") :] if spec else config.gate_stage, used)
        live = state.live.get(stage)
        if live is None:
            return Baseline("none", stage=stage), state
        info = state.find(live.version)
        if info is None:
            raise ChampionError(
                f"{live.tag} assigns {model.name} {live.version}, which is not registered"
            )
        return _of_version(model, info, stage), state
    try:
        version = Version.parse(spec)
    except RegistryError:
        version = None
    if version is not None:
        info = state.find(version)
        if info is None:
            known = ", ".join(str(v.version) for v in state.versions[-5:]) or "none yet"
            raise ChampionError(
                f"baseline version {version} of {model.name} does not exist: pass a registered "
                f"version (latest: {known}), stage:STAGE or a file path"
            )
        return _of_version(model, info, None), state
    if not Path(spec).is_file():
        raise ChampionError(
            f"--baseline {spec!r} is neither stage:STAGE, a version of {model.name}, nor an existing file"
        )
    return Baseline("path", path=spec), state


def _of_version(model: ModelConfig, info: VersionInfo, stage: str | None) -> Baseline:
    recorded = info.metadata.get("artifact") or {}
    return Baseline(
        "version",
        stage=stage,
        version=info.version,
        tag=info.tag,
        commit=info.commit,
        path=str(recorded.get("path") or model.path),
        expected_sha256=recorded.get("sha256"),
        metadata=info.metadata,
    )


def materialize(root: Path, baseline: Baseline, dest_dir: Path) -> Path:
    """The baseline's artifact as a local file or folder, read from git or DVC at its commit. Its
    sha256 (a folder's: its manifest's, every file read) is checked against the tag's before
    anything can unpickle it."""
    if baseline.kind == "path":
        return Path(baseline.path or "")
    assert baseline.commit is not None and baseline.path is not None
    if not baseline.expected_sha256:
        raise ChampionError(
            f"{baseline.tag} records no sha256 for its artifact (registered by another tool?), so it "
            "cannot be verified before loading: register the version with champion, or pass "
            "--baseline PATH to a file you trust"
        )
    dest = dest_dir / f"baseline-{Path(baseline.path).name}"
    sha256 = artifacts.read(root, baseline.path, baseline.commit, dest=dest).sha256
    if sha256 != baseline.expected_sha256:
        raise ChampionError(
            f"champion {baseline.source}: sha256 mismatch, refusing to load it: the tag recorded "
            f"{baseline.expected_sha256}, the artifact fetched has {sha256}"
        )
    return dest


CHAMPION_PREDICTIONS = ("auto", "recorded", "model")


@dataclass(frozen=True)
class Champion:
    """The champion as this evaluation has it: its model, its recorded predictions, or both
    (the model then only for latency)."""

    source: str
    sha256: str
    size: int
    format: str | None = None
    loader: str | None = None
    loaded: LoadedModel | None = None
    outputs: recorded.Outputs | None = None
    data_sha256: str = ""  # of the evaluation data the recorded predictions are for
    note: str | None = None  # why the recorded predictions were not used, or the model not loaded


def _wants_latency(model: ModelConfig) -> bool:
    return any(isinstance(m, str) and m.startswith("latency_") for m in model.metrics)


def champion(
    project: Project,
    model: ModelConfig,
    base: Baseline,
    spec: DataSpec | None,
    trusted: tuple[str, ...],
    workspace: Path,
    mode: str,
    task: str | None = None,
) -> Champion:
    """Its recorded predictions when they apply (unless `mode` is "model"), else (or, for its
    latency, also) its model, loaded as its tag says it was registered (format and loader)."""
    if mode not in CHAMPION_PREDICTIONS:
        raise ChampionError(
            f"--champion-predictions {mode!r}: use one of {', '.join(CHAMPION_PREDICTIONS)}"
        )
    outputs, data_sha256, note = None, "", None
    if mode != "model" and spec is not None:
        try:
            outputs, data_sha256 = _recorded(project, base, spec)
        except recorded.Unavailable as e:
            if mode == "recorded":
                raise ChampionError(
                    f"--champion-predictions recorded: the champion's recorded predictions cannot "
                    f"be used: {e}"
                ) from e
            note = f"recorded predictions not used: {e}"
    loaded = None
    fmt, loader = model.loading((base.metadata or {}).get("artifact"))
    if outputs is None or _wants_latency(model):
        try:
            path = materialize(project.root, base, workspace)
            if base.kind != "version":
                fmt, loader = model.artifact_format(path), model.loader
            loaded = load(
                path,
                label="champion",
                source=base.source,
                fmt=fmt,
                expected_sha256=base.expected_sha256,
                trusted_types=trusted,
                loader=loader,
                task=task,
            )
        except ModelLoadError as e:
            # Only the champion's latency needs the model when its predictions are recorded.
            if outputs is None:
                if e.__cause__ is None:  # missing, empty, sha256 mismatch: not the environment
                    raise
                raise ModelLoadError(f"{e}{environment.mismatch(e, base.metadata)}") from e
            note = f"its model cannot be loaded here, so its latency is not measured ({e})"
    artifact = (base.metadata or {}).get("artifact") or {}
    return Champion(
        source=base.source,
        sha256=loaded.sha256 if loaded else str(artifact.get("sha256") or ""),
        size=loaded.size if loaded else int(artifact.get("size") or 0),
        format=loaded.format if loaded else fmt,
        loader=loaded.loader if loaded else loader,
        loaded=loaded,
        outputs=outputs,
        data_sha256=data_sha256,
        note=note,
    )


def read_settings(spec: DataSpec) -> dict[str, Any]:
    """What, besides the data's bytes, decides what a model is given (and so its predictions)."""
    return {
        "format": recorded.FORMAT,
        "dtypes": dict(sorted(spec.dtypes.items())),
        "target": spec.target,
        "weight": spec.weight,
        "slices": list(spec.slices),
    }


def _recorded(project: Project, base: Baseline, spec: DataSpec) -> tuple[recorded.Outputs, str]:
    """The champion's recorded outputs, verified, and the data's sha256 they are for."""
    record = (base.metadata or {}).get("predictions") if base.kind == "version" else None
    if not isinstance(record, dict):
        where = base.tag if base.kind == "version" else f"the file {base.source}"
        raise recorded.Unavailable(
            f"{where} records none (released without evaluation data, or by another tool)"
        )
    if record.get("read") != read_settings(spec):
        raise recorded.Unavailable(
            "the evaluation settings (data.dtypes, target, weight or slices) changed since "
            f"{base.tag} was released"
        )
    data_sha256 = file_sha256(spec.path) if spec.path.is_file() else ""
    if record.get("data_sha256") != data_sha256:
        raise recorded.Unavailable(f"the evaluation data changed since {base.tag} was released")
    data = recorded.fetch(project.root, record, project.registry.remote)
    return recorded.read(data, int(record.get("rows") or 0)), data_sha256

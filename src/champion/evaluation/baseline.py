"""Which model the candidate is compared with, and its artifact, verified against its tag."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from champion import artifacts
from champion.config import Config, ModelConfig
from champion.errors import ChampionError, RegistryError
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

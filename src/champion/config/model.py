"""What champion.yaml (and dvc.yaml `artifacts:`, GTO's artifacts.yaml) declare, as validated:
the repository's stages and models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from champion.config.policy import StagePolicy
from champion.config.schema import CONFIG_FILE, did_you_mean
from champion.errors import ConfigError, RegistryError
from champion.loading import infer_format
from champion.registry.tags import FIRST_VERSION, Version, validate_model_name


@dataclass(frozen=True)
class DataSection:
    """`data:` of a model: its evaluation set."""

    path: str
    target: str
    slices: tuple[str, ...] = ()
    weight: str | None = None
    dtypes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StatsSection:
    """`stats:` of a model: how its intervals are computed."""

    confidence: float = 0.95
    resamples: int = 2000
    seed: int = 0


@dataclass(frozen=True)
class SigningSection:
    """`signing:`: whose signature a version must carry to go live (champion.signing.policy
    reads it; the key file is checked there, when a command needs it)."""

    required: bool = False
    public_key: str | None = None  # a PEM file, relative to the repository root
    identity: str | None = None  # Sigstore: the signer (a workflow URI or an e-mail)
    issuer: str | None = None  # Sigstore: the identity's OIDC issuer


@dataclass(frozen=True)
class ModelConfig:
    name: str
    path: str
    description: str = ""
    labels: tuple[str, ...] = ()
    source: str = CONFIG_FILE  # the file that declared it
    # The sections later commands read (data, metrics, gate, release, pointer, ...), as validated.
    sections: Mapping[str, Any] = field(default_factory=dict)

    @property
    def declared_format(self) -> str | None:
        """`format:` as champion.yaml says it (artifact_format also infers it)."""
        fmt = self.sections.get("format")
        return fmt if isinstance(fmt, str) else None

    def artifact_format(self, path: str | Path | None = None) -> str | None:
        """The declared `format:`, else (without a `loader:`) the one the artifact's suffix names;
        None when neither says (never a guess: loading then asks for `format:` or a `loader:`)."""
        if self.declared_format is not None:
            return self.declared_format
        if self.loader is not None:
            return None  # the loader's, whatever the name: an xgboost model.json is no metrics
        return infer_format(path if path is not None else self.path)

    @property
    def loader(self) -> str | None:
        value = self.sections.get("loader")
        return value if isinstance(value, str) else None

    def loading_metadata(self, path: str) -> dict[str, str]:
        """What a registration records of how to load the artifact at `path`: its format (when
        declared or named by its suffix) and its loader. Omitted when unknown, so a later
        `format:` in the config still applies to that version."""
        meta = {}
        fmt = self.artifact_format(path)
        if fmt is not None:
            meta["format"] = fmt
        if self.loader is not None:
            meta["loader"] = self.loader
        return meta

    def loading(self, recorded: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
        """(format, loader) of a registered version: as its tag recorded them (a pull request may
        switch the model's format or loader), else as this config says for its path."""
        recorded = recorded or {}
        if "format" in recorded or "loader" in recorded:
            fmt, loader = recorded.get("format"), recorded.get("loader")
            return (fmt if isinstance(fmt, str) else None), (
                loader if isinstance(loader, str) else None
            )
        path = str(recorded.get("path") or self.path)
        if path == self.path:
            return self.artifact_format(path), self.loader
        return infer_format(path) or self.artifact_format(path), self.loader

    # --- the sections, typed (the schema checked their types when champion.yaml was read) -----

    @property
    def data(self) -> DataSection | None:
        raw = self.sections.get("data")
        if not raw:
            return None
        return DataSection(
            path=str(raw.get("path") or ""),
            target=str(raw.get("target") or ""),
            slices=tuple(raw.get("slices") or ()),
            weight=raw.get("weight"),
            dtypes=dict(raw.get("dtypes") or {}),
        )

    @property
    def stats(self) -> StatsSection:
        raw = self.sections.get("stats") or {}
        return StatsSection(
            float(raw.get("confidence", 0.95)),
            int(raw.get("resamples", 2000)),
            int(raw.get("seed", 0)),
        )

    @property
    def task(self) -> str | None:
        value = self.sections.get("task")
        return value if isinstance(value, str) else None

    @property
    def metrics(self) -> tuple[str | Mapping[str, Any], ...]:
        """The metrics declared (names, or custom metric mappings); empty: the task's defaults."""
        return tuple(self.sections.get("metrics") or ())

    @property
    def gate(self) -> Mapping[str, Any]:
        """`gate:`: rules by metric name, and `slices:` and `policy:`."""
        return self.sections.get("gate") or {}

    @property
    def trusted_types(self) -> tuple[str, ...]:
        return tuple(self.sections.get("trusted_types") or ())

    @property
    def train(self) -> str | None:
        value = self.sections.get("train")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(str(v) for v in self.sections.get("inputs") or ())

    @property
    def release_bump(self) -> str:
        """`release.bump`, for a model whose bump is always the same; auto when unset."""
        value = (self.sections.get("release") or {}).get("bump")
        return value if isinstance(value, str) else "auto"

    @property
    def pointer(self) -> str | None:
        value = self.sections.get("pointer")
        return value if isinstance(value, str) else None

    @property
    def sign(self) -> str | None:
        """`release.sign`: "key" (also `true`), "sigstore", or None (unsigned)."""
        value = (self.sections.get("release") or {}).get("sign")
        return "key" if value is True else value if isinstance(value, str) else None

    @property
    def promote_to(self) -> str | None:
        release = self.sections.get("release") or {}
        value = release.get("promote")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Config:
    root: Path
    stages: tuple[str, ...] = ("prod",)
    gate_stage: str = "prod"
    first_version: Version = FIRST_VERSION
    models: Mapping[str, ModelConfig] = field(default_factory=dict)
    path: Path | None = None  # the champion.yaml read, if any
    # Whether a `stages:` key chose the stages; without one, any stage the tags name is allowed too.
    stages_declared: bool = False
    signing: SigningSection | None = None  # `signing:`, when champion.yaml has one
    # policy: per stage, the rules a version must meet to go live there (issue 20).
    policy: Mapping[str, StagePolicy] = field(default_factory=dict)

    def model(self, name: str) -> ModelConfig:
        try:
            canonical = validate_model_name(name)
        except RegistryError:
            canonical = name
        if canonical in self.models:
            return self.models[canonical]
        known = ", ".join(sorted(self.models)) or "none"
        # A monorepo model is `dir:name`: `price` most likely means `models/price:price`.
        same = sorted(m for m in self.models if m.rpartition(":")[2] == name)
        hint = f" (did you mean {same[0]!r}?)" if same else did_you_mean(name, self.models)
        raise ConfigError(
            f"unknown model {name!r}{hint}: declare it under models: in {CONFIG_FILE} "
            f"(or artifacts: in dvc.yaml); declared models: {known}"
        )

    def check_stage(self, stage: str, used: Iterable[str] = ()) -> str:
        """`stage` when it is allowed: one of `stages:`, or without that key the default plus
        every stage the model's tags already `used` (a repository GTO wrote picks its own)."""
        allowed = list(self.stages)
        if not self.stages_declared:
            allowed += [s for s in used if s not in allowed]
        if stage not in allowed:
            hint = did_you_mean(stage, allowed)
            source = CONFIG_FILE if self.stages_declared else "the default and the tags"
            raise ConfigError(
                f"stage {stage!r} is not allowed{hint}: {source} allow "
                f"{', '.join(allowed)}; add it to stages: in {CONFIG_FILE} to use it"
            )
        return stage

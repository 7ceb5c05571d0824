"""Reading champion.yaml at the repository root, with the models dvc.yaml files and GTO's older
index declare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from champion.config import declarations
from champion.config.dtypes import problem as dtype_problem
from champion.config.model import Config, ModelConfig, SigningSection
from champion.config.policy import StagePolicy, parse_policy
from champion.config.schema import (
    CONFIG_FILE,
    GATE_POLICY,
    GATE_RULE,
    SLICE_GATE,
    TOP,
    Document,
    KeyPath,
    check_relative,
    check_text,
    checked,
    dotted,
    read,
)
from champion.errors import ConfigError
from champion.registry.tags import Version, validate_model_name, validate_stage_name

MAX_MODELS = 1_000  # each costs git patterns on every read of the registry


def load_config(root: str | Path, config_path: str | Path | None = None) -> Config:
    """Reads `champion.yaml` at the repository root plus `dvc.yaml` artifacts; validates both."""
    root = Path(root)
    path = Path(config_path) if config_path else root / CONFIG_FILE
    dvc_models = declarations.dvc_models(root)
    if not path.is_file():
        legacy = {} if config_path else declarations.gto_index_models(root)
        if config_path or not (dvc_models or legacy):
            raise ConfigError(
                f"no {CONFIG_FILE} at {path}: create one that declares your models (see the "
                "champion.yaml reference in the docs), or declare them under artifacts: in dvc.yaml"
            )
        return Config(root=root, models={**legacy, **dvc_models})
    filename = str(path.relative_to(root) if path.is_relative_to(root) else path)
    doc = Document(read(path, filename), filename)
    data = doc.data if doc.data is not None else {}
    doc.validate(data, TOP, ())
    return _build(doc, data, root, path, dvc_models)


def _build(
    doc: Document, data: dict[str, Any], root: Path, path: Path, dvc_models: dict[str, ModelConfig]
) -> Config:
    declared = bool(data.get("stages"))
    stages = tuple(data.get("stages") or ("prod",))
    for i, stage in enumerate(stages):
        checked(doc, ("stages", i), validate_stage_name, stage)
    if len(set(stages)) != len(stages):
        raise doc.error(("stages",), "stages lists a stage twice: keep each once")
    gate_stage = data.get("gate_stage", "prod" if "prod" in stages else stages[0])
    if gate_stage not in stages:
        raise doc.error(
            ("gate_stage",),
            f"gate_stage {gate_stage!r} is not one of stages ({', '.join(stages)}): add it there",
        )
    first_version = checked(
        doc, ("first_version",), Version.parse, data.get("first_version", "0.1.0")
    )
    # Not `declared`: that one says whether stages: was given (a merge reused the name).
    named = data.get("models") or {}
    if len(named) + len(dvc_models) > MAX_MODELS:
        raise doc.error(
            ("models",),
            f"{len(named) + len(dvc_models):,} models declared; champion reads at most "
            f"{MAX_MODELS:,} per repository",
        )
    models = dict(dvc_models)
    for raw_name, section in named.items():
        key: KeyPath = ("models", raw_name)
        name = checked(doc, key, validate_model_name, str(raw_name))
        section = section or {}
        inherited = dvc_models.get(name)
        model_path = section.get("path") or (inherited.path if inherited else None)
        if not model_path:
            raise doc.error(
                key, f"model {name!r} needs a path: (the artifact file, e.g. models/{name}.joblib)"
            )
        check_relative(doc, (*key, "path"), model_path)
        data_path = (section.get("data") or {}).get("path")
        if data_path:
            check_relative(doc, (*key, "data", "path"), data_path)
        for column, dtype in ((section.get("data") or {}).get("dtypes") or {}).items():
            problem = dtype_problem(dtype)
            if problem:
                where = (*key, "data", "dtypes", column)
                raise doc.error(where, f"{dotted(where)}: {problem}")
        for i, pattern in enumerate(section.get("inputs") or ()):
            check_relative(doc, (*key, "inputs", i), pattern)
        if section.get("pointer") is not None:
            check_text(doc, (*key, "pointer"), section["pointer"])
        promote = (section.get("release") or {}).get("promote")
        if promote is not None and promote not in stages:
            raise doc.error(
                (*key, "release", "promote"),
                f"release.promote {promote!r} is not one of stages ({', '.join(stages)})",
            )
        gate = section.get("gate") or {}
        for metric, rule in gate.items():
            rule_spec = {"slices": SLICE_GATE, "policy": GATE_POLICY}.get(metric, GATE_RULE)
            doc.validate(rule, rule_spec, (*key, "gate", metric))
        models[name] = ModelConfig(
            name=name,
            path=model_path,
            description=section.get("description") or (inherited.description if inherited else ""),
            labels=tuple(section.get("labels") or (inherited.labels if inherited else ())),
            source=doc.filename,
            sections={
                k: v for k, v in section.items() if k not in ("path", "description", "labels")
            },
        )
    return Config(
        root=root,
        stages=stages,
        gate_stage=gate_stage,
        first_version=first_version,
        models=models,
        path=path,
        stages_declared=declared,
        policy=_policy(doc, data, stages),
        signing=_signing(data.get("signing")),
    )


def _policy(doc: Document, data: dict[str, Any], stages: tuple[str, ...]) -> dict[str, StagePolicy]:
    policy = parse_policy(data.get("policy"), stages, doc.error)
    signing = data.get("signing") or {}
    for stage, rules in policy.items():
        # The rule verifies by signing:'s key or identity, as signing.required does.
        if rules.signed and not (signing.get("public_key") or signing.get("identity")):
            raise doc.error(
                ("policy", stage, "signed"),
                f"policy.{stage}.signed needs whose signature to verify: add signing: "
                "{public_key: PATH} (a PEM file in the repository), or signing: {identity: ..., "
                "issuer: ...} for Sigstore",
            )
    return policy


def _signing(raw: dict[str, Any] | None) -> SigningSection | None:
    if not raw:
        return None
    return SigningSection(
        required=bool(raw.get("required")),
        public_key=raw.get("public_key"),
        identity=raw.get("identity"),
        issuer=raw.get("issuer"),
    )

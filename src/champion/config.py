"""`champion.yaml`, the user's contract, and models declared in `dvc.yaml` `artifacts:`.

Validation names the file, the line and the key, and suggests the key that was probably meant.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from champion import untrusted
from champion.errors import ConfigError, RegistryError
from champion.evaluation.dtypes import problem as dtype_problem
from champion.loading import FORMATS, infer_format
from champion.loading.custom import REFERENCE
from champion.policy.schema import KEYS as POLICY_KEYS
from champion.policy.schema import StagePolicy, parse_policy
from champion.registry.tags import FIRST_VERSION, Version, validate_model_name, validate_stage_name

CONFIG_FILE = "champion.yaml"
MAX_BYTES = 1 << 20  # champion.yaml and each dvc.yaml; a 1,000-model champion.yaml is ~100 KiB
MAX_MODELS = 1_000  # each costs git patterns on every read of the registry

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class ModelConfig:
    name: str
    path: str
    description: str = ""
    labels: tuple[str, ...] = ()
    source: str = CONFIG_FILE  # the file that declared it
    # The sections later commands read (data, metrics, gate, release, pointer, ...), as validated.
    sections: Mapping[str, Any] = field(default_factory=dict)

    def artifact_format(self, path: str | Path | None = None) -> str | None:
        """The declared `format:`, else (without a `loader:`) the one the artifact's suffix names;
        None when neither says (never a guess: loading then asks for `format:` or a `loader:`)."""
        fmt = self.sections.get("format")
        if isinstance(fmt, str):
            return fmt
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

    @property
    def pointer(self) -> str | None:
        value = self.sections.get("pointer")
        return value if isinstance(value, str) else None

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
        hint = f" (did you mean {same[0]!r}?)" if same else _did_you_mean(name, self.models)
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
            hint = _did_you_mean(stage, allowed)
            source = CONFIG_FILE if self.stages_declared else "the default and the tags"
            raise ConfigError(
                f"stage {stage!r} is not allowed{hint}: {source} allow "
                f"{', '.join(allowed)}; add it to stages: in {CONFIG_FILE} to use it"
            )
        return stage


# --- the schema -------------------------------------------------------------------------------


class _Spec:
    what = "a value"
    plural = "values"

    def check(self, value: Any) -> bool:
        return True


class _Type(_Spec):
    def __init__(self, types: tuple[type, ...], noun: str, nullable: bool = False) -> None:
        self.types, self.nullable = types, nullable
        self.what, self.plural = f"a {noun}", f"{noun}s"

    def check(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        # YAML's .nan and .inf are floats; no tolerance, floor or seed is one.
        if isinstance(value, float) and not math.isfinite(value):
            return False
        # bool is an int in Python; YAML `yes` must not pass for a number.
        return isinstance(value, self.types) and not (
            isinstance(value, bool) and bool not in self.types
        )


class _OneOf(_Spec):
    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self.what = "one of " + ", ".join(choices)

    def check(self, value: Any) -> bool:
        return value in self.choices


class _Reference(_Spec):
    what = "a 'package.module:function' reference"

    def check(self, value: Any) -> bool:
        return isinstance(value, str) and REFERENCE.match(value) is not None


class _ListOf(_Spec):
    def __init__(self, item: _Spec) -> None:
        self.item = item
        self.what = f"a list of {item.plural}"


class _MapOf(_Spec):
    """A mapping with free keys (model names, metric names)."""

    def __init__(self, value: _Spec, what: str = "a mapping") -> None:
        self.value, self.what = value, what


class _Fields(_Spec):
    def __init__(
        self, fields: dict[str, _Spec], required: tuple[str, ...] = (), what: str = "a mapping"
    ) -> None:
        self.fields, self.required, self.what = fields, required, what


_STR = _Type((str,), "string")
_OPT_STR = _Type((str,), "string", nullable=True)
_NUMBER = _Type((int, float), "finite number")
_BOOL = _Type((bool,), "boolean")
_ANY = _Spec()

_GATE_RULE = _Fields(
    {
        "min": _NUMBER,
        "max": _NUMBER,
        "max_regression": _NUMBER,
        "max_regression_rel": _NUMBER,
        "min_improvement": _NUMBER,
        "min_improvement_rel": _NUMBER,
        "significance": _BOOL,
    }
)


class _StrOr(_Spec):
    """A plain string, or a mapping with the given fields (a custom metric)."""

    def __init__(self, mapping: _Fields, what: str) -> None:
        self.mapping, self.what, self.plural = mapping, what, what


_METRIC = _StrOr(
    _Fields(
        {
            "name": _STR,
            "function": _STR,
            "direction": _OneOf("higher", "lower"),
            "input": _OneOf("labels", "proba", "values"),
        },
        required=("name", "direction"),
    ),
    "metric names or {name, function, direction, input} mappings",
)
_GATE_POLICY = _Fields(
    {
        "first_model": _OneOf("values", "pass", "fail"),
        "missing": _OneOf("fail", "skip"),
        "zero_baseline": _OneOf("absolute", "fail", "pass"),
    }
)
_MODEL = _Fields(
    {
        "path": _STR,
        "description": _STR,
        "labels": _ListOf(_STR),
        "train": _STR,
        "inputs": _ListOf(_STR),
        "format": _OneOf(*FORMATS),
        "loader": _Reference(),
        "task": _OneOf("classification", "regression"),
        "data": _Fields(
            {
                "path": _STR,
                "target": _STR,
                "slices": _ListOf(_STR),
                "weight": _OPT_STR,
                "dtypes": _MapOf(_STR, "a mapping of column names to dtypes"),
            },
            required=("path", "target"),
        ),
        "metrics": _ListOf(_METRIC),
        "gate": _MapOf(_ANY, "a mapping of metric names to rules"),
        "stats": _Fields(
            {"confidence": _NUMBER, "resamples": _NUMBER, "seed": _NUMBER},
        ),
        "trusted_types": _ListOf(_STR),
        "release": _Fields({"promote": _STR, "bump": _OneOf("auto", "major", "minor", "patch")}),
        "pointer": _STR,
    }
)
_TOP = _Fields(
    {
        "stages": _ListOf(_STR),
        "gate_stage": _STR,
        "first_version": _STR,
        "models": _MapOf(_MODEL, "a mapping of model names to their settings"),
        # The values' meaning (stages, durations, logins) is policy/schema.py's to check.
        "policy": _MapOf(_Fields(dict.fromkeys(POLICY_KEYS, _ANY)), "a mapping of stages to rules"),
    }
)
_SLICE_GATE = _Fields({"min_size": _NUMBER, "rules": _MapOf(_GATE_RULE)})


# --- loading ----------------------------------------------------------------------------------


def _did_you_mean(word: str, choices: Any) -> str:
    import difflib  # only on the error path; it is slow to import

    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path) or "the top level"


class _Document:
    """YAML parsed once, keeping the line of every key so errors can point at it. The node graph
    is bounded (aliases, depth, digits: champion.untrusted) before any value is built from it."""

    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.lines: dict[KeyPath, int] = {}
        try:
            loader = untrusted.yaml_loader(text, filename)
        except untrusted.UntrustedInput as e:
            raise ConfigError(str(e)) from e
        try:
            node = untrusted.yaml_node(loader, filename)
            self.data = loader.construct_document(node) if node is not None else None
        except untrusted.UntrustedInput as e:
            raise ConfigError(str(e)) from e
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(e, "problem", None) or str(e)
            raise ConfigError(f"{filename}{where}: invalid YAML: {problem}") from e
        finally:
            loader.dispose()
        if node is not None:
            self._index(node, ())

    def _index(self, node: yaml.Node, path: KeyPath) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen:
                    raise ConfigError(
                        f"{self.filename}:{key_node.start_mark.line + 1}: key {_dotted((*path, key))!r} "
                        "appears twice: keep one"
                    )
                seen.add(key)
                key_path: KeyPath = (*path, key)
                self._index(value_node, key_path)
                self.lines[key_path] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(item, (*path, i))

    def error(self, path: KeyPath, message: str) -> ConfigError:
        line = self.lines.get(path)
        while line is None and path:
            path = path[:-1]
            line = self.lines.get(path)
        where = f":{line}" if line else ""
        return ConfigError(f"{self.filename}{where}: {message}")

    def validate(self, value: Any, spec: _Spec, path: KeyPath) -> None:
        if isinstance(spec, _Fields):
            self._expect(isinstance(value, dict), value, spec, path)
            for key in value:
                if key not in spec.fields:
                    hint = _did_you_mean(str(key), spec.fields)
                    raise self.error(
                        (*path, key),
                        f"unknown key {key!r} in {_dotted(path)}{hint}; "
                        f"known keys: {', '.join(spec.fields)}",
                    )
                self.validate(value[key], spec.fields[key], (*path, key))
            for key in spec.required:
                if key not in value:
                    raise self.error(path, f"{_dotted(path)} needs {key!r}")
        elif isinstance(spec, _MapOf):
            self._expect(isinstance(value, dict), value, spec, path)
            for key, item in value.items():
                self.validate(item, spec.value, (*path, key))
        elif isinstance(spec, _StrOr):
            if not isinstance(value, str):
                self._expect(isinstance(value, dict), value, spec, path)
                self.validate(value, spec.mapping, path)
        elif isinstance(spec, _ListOf):
            self._expect(isinstance(value, list), value, spec, path)
            for i, item in enumerate(value):
                self.validate(item, spec.item, (*path, i))
        else:
            self._expect(spec.check(value), value, spec, path)

    def _expect(self, ok: bool, value: Any, spec: _Spec, path: KeyPath) -> None:
        if not ok:
            got = "nothing" if value is None else f"{type(value).__name__} {value!r}"
            raise self.error(path, f"{_dotted(path)} must be {spec.what}, got {got}")


def load_config(root: str | Path, config_path: str | Path | None = None) -> Config:
    """Reads `champion.yaml` at the repository root plus `dvc.yaml` artifacts; validates both."""
    root = Path(root)
    path = Path(config_path) if config_path else root / CONFIG_FILE
    dvc_models = _dvc_models(root)
    if not path.is_file():
        legacy = {} if config_path else _gto_index_models(root)
        if config_path or not (dvc_models or legacy):
            raise ConfigError(
                f"no {CONFIG_FILE} at {path}: create one that declares your models (see the "
                "champion.yaml reference in the docs), or declare them under artifacts: in dvc.yaml"
            )
        return Config(root=root, models={**legacy, **dvc_models})
    filename = str(path.relative_to(root) if path.is_relative_to(root) else path)
    doc = _Document(_read(path, filename), filename)
    data = doc.data if doc.data is not None else {}
    doc.validate(data, _TOP, ())
    return _build(doc, data, root, path, dvc_models)


def _read(path: Path, filename: str) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError(
                f"{filename} is over {MAX_BYTES >> 20} MiB: is it really a configuration file?"
            )
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {filename}: {e}") from e


def _build(
    doc: _Document, data: dict[str, Any], root: Path, path: Path, dvc_models: dict[str, ModelConfig]
) -> Config:
    declared = bool(data.get("stages"))
    stages = tuple(data.get("stages") or ("prod",))
    for i, stage in enumerate(stages):
        _checked(doc, ("stages", i), validate_stage_name, stage)
    if len(set(stages)) != len(stages):
        raise doc.error(("stages",), "stages lists a stage twice: keep each once")
    gate_stage = data.get("gate_stage", "prod" if "prod" in stages else stages[0])
    if gate_stage not in stages:
        raise doc.error(
            ("gate_stage",),
            f"gate_stage {gate_stage!r} is not one of stages ({', '.join(stages)}): add it there",
        )
    first_version = _checked(
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
        name = _checked(doc, key, validate_model_name, str(raw_name))
        section = section or {}
        inherited = dvc_models.get(name)
        model_path = section.get("path") or (inherited.path if inherited else None)
        if not model_path:
            raise doc.error(
                key, f"model {name!r} needs a path: (the artifact file, e.g. models/{name}.joblib)"
            )
        _check_relative(doc, (*key, "path"), model_path)
        data_path = (section.get("data") or {}).get("path")
        if data_path:
            _check_relative(doc, (*key, "data", "path"), data_path)
        for column, dtype in ((section.get("data") or {}).get("dtypes") or {}).items():
            problem = dtype_problem(dtype)
            if problem:
                dotted = _dotted((*key, "data", "dtypes", column))
                raise doc.error((*key, "data", "dtypes", column), f"{dotted}: {problem}")
        for i, pattern in enumerate(section.get("inputs") or ()):
            _check_relative(doc, (*key, "inputs", i), pattern)
        if section.get("pointer") is not None:
            _check_text(doc, (*key, "pointer"), section["pointer"])
        promote = (section.get("release") or {}).get("promote")
        if promote is not None and promote not in stages:
            raise doc.error(
                (*key, "release", "promote"),
                f"release.promote {promote!r} is not one of stages ({', '.join(stages)})",
            )
        gate = section.get("gate") or {}
        for metric, rule in gate.items():
            rule_spec = {"slices": _SLICE_GATE, "policy": _GATE_POLICY}.get(metric, _GATE_RULE)
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
        policy=parse_policy(data.get("policy"), stages, doc.error),
    )


def _checked(doc: _Document, path: KeyPath, check: Any, value: Any) -> Any:
    try:
        return check(value)
    except RegistryError as e:
        raise doc.error(path, f"{_dotted(path)}: {e}") from e


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_text(doc: _Document, path: KeyPath, value: str) -> None:
    # A NUL makes every file call fail ("embedded null byte"); a line break splits the outputs
    # and annotations a path is written into. No file name champion reads holds either.
    if _CONTROL.search(value):
        raise doc.error(path, f"{_dotted(path)} {value!r} holds a control character: remove it")


def _check_relative(doc: _Document, path: KeyPath, value: str) -> None:
    _check_text(doc, path, value)
    p = PurePosixPath(value)
    if p.is_absolute() or ".." in p.parts:
        raise doc.error(
            path,
            f"{_dotted(path)} {value!r} must be a path inside the repository, relative to its root",
        )


# --- dvc.yaml artifacts -----------------------------------------------------------------------


def dvc_yaml_files(root: Path) -> list[Path]:
    # Nested dvc.yaml files are found through git so an untracked tree is never walked.
    found = [root / "dvc.yaml"] if (root / "dvc.yaml").is_file() else []
    proc = subprocess.run(
        ["git", "ls-files", "-z", "--", "*/dvc.yaml"], cwd=root, capture_output=True, text=True
    )
    if proc.returncode == 0:
        found += [root / p for p in proc.stdout.split("\0") if p and (root / p).is_file()]
    return found


def _dvc_models(root: Path) -> dict[str, ModelConfig]:
    models: dict[str, ModelConfig] = {}
    for dvc_yaml in dvc_yaml_files(root):
        rel_dir = dvc_yaml.parent.relative_to(root).as_posix()
        filename = dvc_yaml.relative_to(root).as_posix()
        doc = _Document(_read(dvc_yaml, filename), filename)
        artifacts = doc.data.get("artifacts") if isinstance(doc.data, dict) else None
        if not artifacts:
            continue
        doc.validate(
            artifacts,
            _MapOf(
                _Fields(
                    {
                        "path": _STR,
                        "type": _STR,
                        "desc": _STR,
                        "labels": _ListOf(_STR),
                        "meta": _ANY,
                    },
                    required=("path",),
                )
            ),
            ("artifacts",),
        )
        for raw_name, section in artifacts.items():
            short = _checked(doc, ("artifacts", raw_name), validate_model_name, str(raw_name))
            _check_text(doc, ("artifacts", raw_name, "path"), section["path"])
            name = short if rel_dir == "." else f"{rel_dir}:{short}"
            path = section["path"] if rel_dir == "." else f"{rel_dir}/{section['path']}"
            models[name] = ModelConfig(
                name=name,
                path=PurePosixPath(path).as_posix(),
                description=section.get("desc") or "",
                labels=tuple(section.get("labels") or ()),
                source=filename,
            )
    return models


# --- GTO's older artifacts.yaml ---------------------------------------------------------------


def _gto_index_models(root: Path) -> dict[str, ModelConfig]:
    """Models declared in GTO's older index, `artifacts.yaml` at the root (or the file `.gto`'s
    INDEX names): `NAME: {type, path, virtual, labels, description}`. Read when there is no
    champion.yaml; a model a dvc.yaml declares too is taken from the dvc.yaml."""
    index = "artifacts.yaml"
    gto_config = root / ".gto"
    if gto_config.is_file():
        settings = _Document(_read(gto_config, ".gto"), ".gto").data
        if isinstance(settings, dict) and isinstance(settings.get("INDEX"), str):
            index = settings["INDEX"]
    path = root / index
    if (
        not path.is_file()
        or PurePosixPath(index).is_absolute()
        or ".." in PurePosixPath(index).parts
    ):
        return {}
    doc = _Document(_read(path, index), index)
    if doc.data is None:
        return {}
    doc.validate(
        doc.data,
        _MapOf(
            _Fields(
                {
                    "type": _OPT_STR,
                    "path": _OPT_STR,
                    "virtual": _BOOL,
                    "labels": _ListOf(_STR),
                    "description": _OPT_STR,
                    "custom": _ANY,
                }
            ),
            "a mapping of artifact names to their settings",
        ),
        (),
    )
    models = {}
    for raw_name, section in doc.data.items():
        name = _checked(doc, (raw_name,), validate_model_name, str(raw_name))
        section = section or {}
        models[name] = ModelConfig(
            name=name,
            path=section.get("path") or "",
            description=section.get("description") or "",
            labels=tuple(section.get("labels") or ()),
            source=index,
        )
    return models

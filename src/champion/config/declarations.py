"""Models declared outside champion.yaml: `artifacts:` in dvc.yaml files (nested ones found
through git) and GTO's older index, artifacts.yaml."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from champion.config.model import ModelConfig
from champion.config.schema import (
    ANY,
    BOOL,
    OPT_STR,
    STR,
    Document,
    Fields,
    ListOf,
    MapOf,
    check_text,
    checked,
    read,
)
from champion.git import Git
from champion.registry.tags import validate_model_name


def dvc_yaml_files(root: Path) -> list[Path]:
    # Nested dvc.yaml files are found through git so an untracked tree is never walked.
    found = [root / "dvc.yaml"] if (root / "dvc.yaml").is_file() else []
    proc = Git(root).run("ls-files", "-z", "--", "*/dvc.yaml", check=False)
    if proc.returncode == 0:
        found += [root / p for p in proc.stdout.split("\0") if p and (root / p).is_file()]
    return found


def dvc_models(root: Path) -> dict[str, ModelConfig]:
    models: dict[str, ModelConfig] = {}
    for dvc_yaml in dvc_yaml_files(root):
        rel_dir = dvc_yaml.parent.relative_to(root).as_posix()
        filename = dvc_yaml.relative_to(root).as_posix()
        doc = Document(read(dvc_yaml, filename), filename)
        artifacts = doc.data.get("artifacts") if isinstance(doc.data, dict) else None
        if not artifacts:
            continue
        doc.validate(
            artifacts,
            MapOf(
                Fields(
                    {
                        "path": STR,
                        "type": STR,
                        "desc": STR,
                        "labels": ListOf(STR),
                        "meta": ANY,
                    },
                    required=("path",),
                )
            ),
            ("artifacts",),
        )
        for raw_name, section in artifacts.items():
            short = checked(doc, ("artifacts", raw_name), validate_model_name, str(raw_name))
            check_text(doc, ("artifacts", raw_name, "path"), section["path"])
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


def gto_index_models(root: Path) -> dict[str, ModelConfig]:
    """Models declared in GTO's older index, `artifacts.yaml` at the root (or the file `.gto`'s
    INDEX names): `NAME: {type, path, virtual, labels, description}`. Read when there is no
    champion.yaml; a model a dvc.yaml declares too is taken from the dvc.yaml."""
    index = "artifacts.yaml"
    gto_config = root / ".gto"
    if gto_config.is_file():
        settings = Document(read(gto_config, ".gto"), ".gto").data
        if isinstance(settings, dict) and isinstance(settings.get("INDEX"), str):
            index = settings["INDEX"]
    path = root / index
    if (
        not path.is_file()
        or PurePosixPath(index).is_absolute()
        or ".." in PurePosixPath(index).parts
    ):
        return {}
    doc = Document(read(path, index), index)
    if doc.data is None:
        return {}
    doc.validate(
        doc.data,
        MapOf(
            Fields(
                {
                    "type": OPT_STR,
                    "path": OPT_STR,
                    "virtual": BOOL,
                    "labels": ListOf(STR),
                    "description": OPT_STR,
                    "custom": ANY,
                }
            ),
            "a mapping of artifact names to their settings",
        ),
        (),
    )
    models = {}
    for raw_name, section in doc.data.items():
        name = checked(doc, (raw_name,), validate_model_name, str(raw_name))
        section = section or {}
        models[name] = ModelConfig(
            name=name,
            path=section.get("path") or "",
            description=section.get("description") or "",
            labels=tuple(section.get("labels") or ()),
            source=index,
        )
    return models

"""From what was found and what the user said (flags, or answers when init runs on a terminal)
to the files init would write. Asking is a callback, so the same code runs both ways."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from champion.config import CONFIG_FILE, load_config
from champion.errors import ChampionError
from champion.init import discover as found
from champion.init.render import ActionRef, ModelChoice, Plan
from champion.registry.tags import validate_model_name, validate_stage_name

# ask(question, choices, default) -> answer; "" means "skip". None: not on a terminal.
Ask = Callable[[str, list[str], str], str]


class InitError(ChampionError):
    pass


@dataclass(frozen=True)
class Options:
    models: Mapping[str, str] = field(default_factory=dict)  # --model NAME=PATH
    data: Mapping[str, str] = field(default_factory=dict)  # --data [NAME=]PATH ("" key: all)
    targets: Mapping[str, str] = field(default_factory=dict)  # --target [NAME=]COLUMN
    stages: tuple[str, ...] = ("prod",)
    promote: str | None = "prod"
    pointer: str | None = None
    branch: str = "main"
    action: ActionRef = field(default_factory=lambda: ActionRef("OWNER/champion", "v0", "0"))
    requirements: str | None = None


@dataclass(frozen=True)
class Notes:
    """What init tells the user beside the files: what it found, what it could not decide."""

    lines: list[str] = field(default_factory=list)


def plan_from_config(root: Path, discovery: found.Discovery, options: Options) -> Plan:
    """champion.yaml is there: the workflows follow the models it declares (and dvc.yaml's)."""
    config = load_config(root)
    by_name = {m.name: m for m in discovery.models}
    choices = []
    for name, spec in sorted(config.models.items()):
        data = (spec.sections.get("data") or {}).get("path")
        inputs = tuple(str(i) for i in spec.sections.get("inputs") or ())
        seen = by_name.get(name)
        choices.append(
            ModelChoice(
                name,
                spec.path,
                spec.source,
                in_dvc_yaml=spec.source != CONFIG_FILE,
                data=data,
                inputs=tuple(dict.fromkeys([*inputs, *(seen.inputs if seen else ())])),
            )
        )
    return _plan(root, tuple(choices), discovery, options, tuple(config.stages))


def plan_from_discovery(
    root: Path, discovery: found.Discovery, options: Options, ask: Ask | None, notes: Notes
) -> Plan:
    for stage in options.stages:
        _valid(validate_stage_name, stage, "--stages")
    if options.promote and options.promote not in options.stages:
        raise InitError(
            f"--promote {options.promote} is not one of --stages ({', '.join(options.stages)}): "
            "add it there"
        )
    models = list(discovery.models)
    if options.models:
        models = []
        for name, path in options.models.items():
            _valid(validate_model_name, name, "--model")
            if not path or PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts:
                raise InitError(
                    f"--model {name}={path}: give the artifact's path relative to the repository"
                )
            models.append(found.model_from_flag(root, name, path, discovery))
    elif not models and ask is not None:
        path = ask(
            "No model found. Path of your model's artifact (empty: declare it later)", [], ""
        )
        if path:
            name = found.model_name_from(path) or "model"
            models.append(found.model_from_flag(root, name, path, discovery))
    if not models:
        notes.lines.append(
            "no model found (no dvc.yaml artifacts:, no registry tags, no *.joblib/*.pkl/*.skops/"
            "*.onnx file): champion.yaml lists none; declare yours there, or rerun with "
            "--model NAME=PATH --force"
        )
    for flag, values in (("--data", options.data), ("--target", options.targets)):
        unknown = sorted(set(values) - {m.name for m in models} - {""})
        if unknown:
            raise InitError(
                f"{flag} {unknown[0]}=...: no such model (found: "
                f"{', '.join(m.name for m in models) or 'none'})"
            )
    choices = tuple(_choose(root, model, discovery, options, ask, notes) for model in models)
    return _plan(root, choices, discovery, options, options.stages)


def _choose(
    root: Path,
    model: found.FoundModel,
    discovery: found.Discovery,
    options: Options,
    ask: Ask | None,
    notes: Notes,
) -> ModelChoice:
    where = {
        "dvc.yaml": "declared in dvc.yaml's artifacts:",
        "artifacts.yaml": "declared in GTO's artifacts.yaml",
        "tags": "named by registry tags already in this repository",
        "file": "found in the repository",
        "champion.yaml": "declared in champion.yaml",
        "--model": "given with --model",
    }.get(model.found_in, f"found in {model.found_in}")
    tracked = {"dvc": ", tracked by DVC", "git": ", in git"}.get(model.tracked_by, "")
    note = where + tracked
    if not model.path:
        notes.lines.append(
            f"model {model.name}: {where}, but no artifact path was found: set its path: in "
            f"{CONFIG_FILE}"
        )
    data = options.data.get(model.name) or options.data.get("")
    target = options.targets.get(model.name) or options.targets.get("")
    data_note = "given with --data" if data else ""
    if data is None:
        candidates = found.pick_data(model, discovery.data)
        if len(candidates) == 1 or (candidates and ask is None and _held_out(candidates)):
            data = candidates[0].path
            data_note = f"found {data}"
        elif candidates and ask is not None:
            data = (
                ask(f"Evaluation data for model {model.name}", [c.path for c in candidates], "")
                or None
            )
        elif candidates:
            data_note = (
                f"which one? {', '.join(c.path for c in candidates[:5])}: "
                f"--data {model.name}=PATH --target {model.name}=COLUMN"
            )
            notes.lines.append(f"model {model.name}: evaluation data: {data_note}")
    columns = next((d.columns for d in discovery.data if d.path == data), None)
    if data and target is None and columns is not None:
        target = found.guess_target(columns, model.name)
        if target is None and ask is not None:
            target = (
                ask(f"Target column of {data} for model {model.name}", list(columns), "") or None
            )
        if target is None:
            data_note = f"{data} (which column is the target? --target {model.name}=COLUMN)"
        else:
            data_note += f", target {target}"
    elif data and target is None:
        data_note = (
            f"{data} is not here to read (DVC-tracked? dvc pull it): --target {model.name}=COLUMN"
        )
    if data and target and columns is not None and target not in columns:
        raise InitError(
            f"--target {model.name}={target}: {data} has no column {target!r} (it has: "
            f"{', '.join(columns[:20])})"
        )
    task = None
    if data and target:
        values = found.target_values(root, data, target)
        task = found.task_of(values) if values else None
    if data and target is None:
        notes.lines.append(f"model {model.name}: {data_note}")
    return ModelChoice(
        model.name,
        model.path,
        note,
        in_dvc_yaml=model.found_in == "dvc.yaml",
        data=data if target else None,
        target=target,
        task=task,
        inputs=model.inputs,
        data_note=data_note.lstrip(", "),
    )


def _held_out(candidates: list[found.DataFile]) -> bool:
    """Without asking, take the first candidate only when it alone has a held-out name."""
    hints = [c for c in candidates if _is_held_out(c.path)]
    return len(hints) == 1 and hints[0] is candidates[0]


def _is_held_out(path: str) -> bool:
    words = re.split(r"[^a-z]+", PurePosixPath(path).stem.lower())
    return any(w in found.EVAL_HINTS for w in words)


def _plan(
    root: Path,
    choices: tuple[ModelChoice, ...],
    discovery: found.Discovery,
    options: Options,
    stages: tuple[str, ...],
) -> Plan:
    promote = options.promote if options.promote in stages else None
    paths = {p for m in choices for p in (m.path, m.data, *m.inputs) if p}
    return Plan(
        models=choices,
        stages=stages,
        promote=promote,
        pointer=options.pointer,
        branch=options.branch,
        action=options.action,
        requirements=options.requirements or discovery.requirements,
        uses_dvc=discovery.uses_dvc,
        folders=frozenset(p for p in paths if (root / p).is_dir()),
    )


def _valid(check: Callable[[str], str], value: str, flag: str) -> None:
    try:
        check(value)
    except ChampionError as e:
        raise InitError(f"{flag} {value}: {e}") from e

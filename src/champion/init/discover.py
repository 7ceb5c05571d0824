"""What `champion init` finds in an existing repository: models (dvc.yaml `artifacts:`, GTO's
index, registry tags, model files), DVC and its remotes, evaluation data and its target column.

Reading is at the edge (`discover`); the choices (`guess_target`, `pick_data`, `parse_dvc_config`,
`inputs_of`) are pure functions of what was read, so they are tested without a repository.
"""

from __future__ import annotations

import configparser
import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from champion.config import CONFIG_FILE, ModelConfig, load_config
from champion.errors import ChampionError
from champion.git import Git
from champion.registry.tags import parse_tag

MODEL_SUFFIXES = (".joblib", ".pkl", ".pickle", ".skops", ".onnx")
DATA_SUFFIXES = (".csv", ".parquet")
# Column names that say "this is what the model predicts" whatever the model is called.
TARGET_NAMES = ("target", "label", "labels", "y", "class", "outcome", "response")
# File names that say "held out for evaluation" (train.csv is not what a gate should judge on).
EVAL_HINTS = ("eval", "test", "holdout", "valid", "val")
MAX_FILES = 20_000  # a monorepo's listing is cut there: init only needs to find the obvious


@dataclass(frozen=True)
class DataFile:
    path: str
    columns: tuple[str, ...] | None  # None: not in the working tree (a DVC file not pulled)


@dataclass(frozen=True)
class FoundModel:
    name: str
    path: str  # "" when only tags name it and no file could be matched
    found_in: str  # "dvc.yaml", "artifacts.yaml", "champion.yaml", "tags", "file", "--model"
    tracked_by: str  # "git", "dvc" or "" (not found in either)
    inputs: tuple[str, ...] = ()  # what builds it: its DVC stage's deps, dvc.yaml and dvc.lock


@dataclass(frozen=True)
class Discovery:
    models: tuple[FoundModel, ...]
    tagged: tuple[str, ...]  # model names registry (GTO-compatible) tags already name
    uses_dvc: bool
    remotes: Mapping[str, str]  # DVC remote name -> url
    default_remote: str | None
    data: tuple[DataFile, ...]
    has_config: bool  # a champion.yaml is there already
    requirements: str | None  # requirements.txt, when the repository has one
    files: frozenset[str] = field(default_factory=frozenset)  # what git (or DVC) holds


def discover(root: Path) -> Discovery:
    files = _listing(root)
    dvc_outs = {f.removesuffix(".dvc") for f in files if f.endswith(".dvc")}
    known = files | dvc_outs
    declared: dict[str, ModelConfig] = {}
    has_config = (root / CONFIG_FILE).is_file()
    try:
        declared = dict(load_config(root).models)
    except ChampionError:
        if has_config:
            raise  # a champion.yaml init cannot read is the user's to fix first
    stages = _stages(root)
    tagged = _tagged_models(root)
    models: dict[str, FoundModel] = {}
    for name, spec in declared.items():
        found_in = "champion.yaml" if spec.source == CONFIG_FILE else spec.source
        models[name] = _model(name, spec.path, found_in, known, dvc_outs, stages)
    for name in tagged:
        if name not in models:
            models[name] = _model(name, _match_file(name, known), "tags", known, dvc_outs, stages)
    if not models:
        for path in sorted(known):
            if path.endswith(MODEL_SUFFIXES) and not _is_hidden(path):
                name = model_name_from(path)
                if name and name not in models:
                    models[name] = _model(name, path, "file", known, dvc_outs, stages)
    remotes, default = parse_dvc_config(_read_text(root / ".dvc" / "config"))
    extra, extra_default = parse_dvc_config(_read_text(root / ".dvc" / "config.local"))
    return Discovery(
        models=tuple(models.values()),
        tagged=tuple(tagged),
        uses_dvc=(root / ".dvc").is_dir(),
        remotes={**remotes, **extra},
        default_remote=extra_default or default,
        data=tuple(
            DataFile(path, _columns(root / path))
            for path in sorted(known)
            if path.endswith(DATA_SUFFIXES) and not _is_hidden(path)
        ),
        has_config=has_config,
        requirements="requirements.txt" if "requirements.txt" in files else None,
        files=frozenset(known),
    )


def model_from_flag(root: Path, name: str, path: str, discovery: Discovery) -> FoundModel:
    return _model(
        name,
        path,
        "--model",
        discovery.files | {path},
        {f.removesuffix(".dvc") for f in discovery.files if f.endswith(".dvc")},
        _stages(root),
    )


# --- pure choices -----------------------------------------------------------------------------


def guess_target(columns: Iterable[str], model: str) -> str | None:
    """The column a model named `model` most plausibly predicts, or None when it cannot tell
    (then init asks, or leaves `target:` for the user)."""
    columns = list(columns)
    lowered = {c.lower(): c for c in columns}
    named = [lowered[n] for n in TARGET_NAMES if n in lowered]
    if len(named) == 1:
        return named[0]
    stem = re.sub(r"[^a-z0-9]", "", model.lower().rsplit("/", 1)[-1].rsplit(":", 1)[-1])
    if len(stem) >= 3:
        like = [c for c in columns if re.sub(r"[^a-z0-9]", "", c.lower()).startswith(stem)]
        if len(like) == 1:
            return like[0]
    return None


def pick_data(model: FoundModel, data: Iterable[DataFile]) -> list[DataFile]:
    """The plausible evaluation sets for `model`, best first: files next to it or under data/,
    held-out names (eval, test, ...) first, then those with a plausible target column."""
    folder = str(PurePosixPath(model.path).parent) if model.path else None

    def near(item: DataFile) -> bool:
        parts = PurePosixPath(item.path).parts
        return str(PurePosixPath(item.path).parent) == folder or (
            bool(parts) and parts[0] == "data"
        )

    def held_out(item: DataFile) -> bool:
        words = re.split(r"[^a-z]+", PurePosixPath(item.path).stem.lower())
        return any(w in EVAL_HINTS for w in words)

    def plausible(item: DataFile) -> bool:
        return item.columns is not None and guess_target(item.columns, model.name) is not None

    candidates = [d for d in data if near(d)]
    return sorted(candidates, key=lambda d: (not held_out(d), not plausible(d), d.path))


def parse_dvc_config(text: str) -> tuple[dict[str, str], str | None]:
    """DVC's config (an INI file with sections like `'remote "store"'`): remotes and the
    default one. Read without DVC, which the light install lacks."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}, None
    remotes = {}
    for section in parser.sections():
        m = re.fullmatch(r"""['"]?remote\s+"([^"]+)"['"]?""", section.strip())
        if m and parser.has_option(section, "url"):
            remotes[m[1]] = parser.get(section, "url").strip()
    default = None
    for section in parser.sections():
        if section.strip().strip("'\"") == "core" and parser.has_option(section, "remote"):
            default = parser.get(section, "remote").strip()
    return remotes, default


def model_name_from(path: str) -> str:
    """A registry-valid model name from a file name: `models/Churn Model.joblib` -> churn-model."""
    stem = PurePosixPath(path).name
    for suffix in MODEL_SUFFIXES:
        stem = stem.removesuffix(suffix)
    name = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-_")
    return name if name and name[0].isalpha() else ""


def task_of(values: Iterable[object]) -> str:
    """classification when the target holds few distinct labels (or text), else regression."""
    distinct = set()
    for value in values:
        if isinstance(value, (str, bool)):
            return "classification"
        distinct.add(value)
        if len(distinct) > 20:
            return "regression"
    whole = all(float(v).is_integer() for v in distinct if isinstance(v, (int, float)))
    return "classification" if whole else "regression"


def target_values(root: Path, data: str, target: str, rows: int = 10_000) -> list[object]:
    """The first `rows` values of the target column ([] when the file cannot be read)."""
    import pandas as pd

    try:
        if data.endswith(".parquet"):
            frame = pd.read_parquet(root / data, columns=[target])
        else:
            frame = pd.read_csv(root / data, usecols=[target], nrows=rows)
    except Exception:  # any reader error: init then leaves the task to evaluation's inference
        return []
    return [v.item() if hasattr(v, "item") else v for v in frame[target].dropna().head(rows)]


# --- reading ----------------------------------------------------------------------------------


def _model(
    name: str,
    path: str,
    found_in: str,
    known: set[str] | frozenset[str],
    dvc_outs: set[str],
    stages: list[tuple[str, tuple[str, ...], tuple[str, ...]]],
) -> FoundModel:
    inputs: tuple[str, ...] = ()
    tracked_by = ""
    if path:
        for dvc_yaml, deps, outs in stages:
            if any(path == o or path.startswith(o.rstrip("/") + "/") for o in outs):
                lock = dvc_yaml[: -len("dvc.yaml")] + "dvc.lock"
                inputs = tuple(dict.fromkeys([*deps, dvc_yaml, lock]))
                tracked_by = "dvc"
                break
        if not tracked_by:
            if path in dvc_outs:
                tracked_by = "dvc"
            elif path in known or any(f.startswith(path.rstrip("/") + "/") for f in known):
                tracked_by = "git"
    return FoundModel(name, path, found_in, tracked_by, inputs)


def _stages(root: Path) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    from champion.release.pipeline import dvc_stages

    try:
        return [(s.dvc_yaml, s.deps, s.outs) for s in dvc_stages(root)]
    except ChampionError:
        return []


def _match_file(name: str, known: Iterable[str]) -> str:
    """A file for a model only tags name: `models/NAME.joblib` and the like, when exactly one."""
    short = name.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    hits = [
        f
        for f in known
        if f.endswith(MODEL_SUFFIXES) and model_name_from(f) == model_name_from(short + ".joblib")
    ]
    return hits[0] if len(hits) == 1 else ""


def _tagged_models(root: Path) -> list[str]:
    # Every tag, once: init runs once per repository, and the tags name models init must find.
    proc = Git(root).run("for-each-ref", "--format=%(refname:strip=2)", "refs/tags/", check=False)
    names: dict[str, None] = {}
    for line in proc.stdout.splitlines():
        tag = parse_tag(line.strip())
        if tag is not None:
            names[tag.model] = None
    return sorted(names)


def _listing(root: Path) -> frozenset[str]:
    """Files git tracks, and untracked ones it does not ignore (a first model not committed yet)."""
    proc = Git(root).run(
        "ls-files", "-z", "--cached", "--others", "--exclude-standard", check=False
    )
    if proc.returncode != 0:
        raise ChampionError(
            f"{root} is not a git repository: run `git init` first (champion's registry is git "
            "tags), then champion init"
        )
    # Files deleted from the working tree but still in the index are no longer there to find.
    names = [f for f in proc.stdout.split("\0")[:MAX_FILES] if f]
    return frozenset(f for f in names if (root / f).exists())


def _is_hidden(path: str) -> bool:
    return any(part.startswith(".") for part in PurePosixPath(path).parts)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _columns(path: Path) -> tuple[str, ...] | None:
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return tuple(pq.read_schema(path).names)
        with path.open(newline="", encoding="utf-8") as f:
            return tuple(next(csv.reader(f), []))
    except (OSError, UnicodeDecodeError, csv.Error, ValueError):
        return None
    except Exception:  # pyarrow's errors for a file that is no parquet
        return None


def git_root(cwd: Path) -> Path:
    proc = Git(cwd).run("rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise ChampionError(
            f"{cwd} is not in a git repository: run `git init` first (champion's registry is "
            "git tags), then champion init"
        )
    return Path(proc.stdout.strip())


def current_branch(cwd: Path) -> str:
    proc = Git(git_root(cwd)).run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return proc.stdout.strip() or "main"

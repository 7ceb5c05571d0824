"""How a model's artifact is made: the DVC stage whose outs include it, or its `train:` command.

Read from the working tree's `dvc.yaml` files. Paths come back relative to the repository root, so
they compare with `git diff --name-only`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from champion import untrusted
from champion.config import MAX_BYTES, dvc_yaml_files
from champion.errors import ConfigError


@dataclass(frozen=True)
class DvcStage:
    dvc_yaml: str  # relative to the root, e.g. dvc.yaml or models/churn/dvc.yaml
    name: str
    deps: tuple[str, ...]  # root-relative paths (files or folders), params files included
    outs: tuple[str, ...]

    @property
    def target(self) -> str:
        """What `dvc repro` takes: `stage`, or `dir/dvc.yaml:stage` for a nested one."""
        return self.name if self.dvc_yaml == "dvc.yaml" else f"{self.dvc_yaml}:{self.name}"


def dvc_stage_of(root: Path, artifact: str) -> DvcStage | None:
    """The DVC stage whose outs include `artifact`, or None."""
    for stage in dvc_stages(root):
        if any(covers(out, artifact) for out in stage.outs):
            return stage
    return None


def dvc_stages(root: Path) -> list[DvcStage]:
    found: list[DvcStage] = []
    for path in dvc_yaml_files(root):
        found += _read(root, path, path.stat().st_mtime_ns)
    return found


@cache
def _read(root: Path, path: Path, _mtime: int) -> tuple[DvcStage, ...]:
    rel = path.relative_to(root).as_posix()
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError(f"{rel} is over {MAX_BYTES >> 20} MiB: is it really a dvc.yaml?")
        data = untrusted.load_yaml(path.read_text(encoding="utf-8"), rel) or {}
    except (OSError, UnicodeDecodeError, untrusted.UntrustedInput) as e:
        raise ConfigError(f"{rel}: cannot read it as YAML: {e}") from e
    raw = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        return ()
    base = PurePosixPath(rel).parent
    result = []
    for name, body in raw.items():
        # `foreach`/`matrix` stages expand at DVC's hands; champion does not guess their paths.
        if not isinstance(body, dict) or "cmd" not in body:
            continue
        wdir = base / str(body.get("wdir") or ".")
        deps = [_rel(wdir, d) for d in _names(body.get("deps"))]
        deps += [_rel(wdir, f) for f in _params_files(body.get("params"))]
        outs = [
            _rel(wdir, o) for key in ("outs", "metrics", "plots") for o in _names(body.get(key))
        ]
        result.append(DvcStage(rel, str(name), tuple(deps), tuple(outs)))
    return tuple(result)


def _names(items: Any) -> list[str]:
    """Entries of deps/outs: `path` or `{path: {options}}`."""
    if not isinstance(items, list):
        return []
    names: list[str] = []
    for item in items:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict):
            names += [str(k) for k in item]
    return names


def _params_files(items: Any) -> list[str]:
    if not isinstance(items, list) or not items:
        return []
    files = set()
    for item in items:
        if isinstance(item, str):
            files.add("params.yaml")
        elif isinstance(item, dict):
            files.update(str(k) for k in item)
    return sorted(files)


def _rel(wdir: PurePosixPath, path: str) -> str:
    parts: list[str] = []
    for part in (wdir / path).parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def covers(declared: str, path: str) -> bool:
    """A declared path names `path` itself or a folder holding it."""
    declared = declared.rstrip("/")
    return path == declared or path.startswith(declared + "/")


_GLOB_CACHE: dict[str, re.Pattern[str]] = {}


def glob_matches(pattern: str, path: str) -> bool:
    """gitignore-style: `**` spans folders, `*` and `?` stay within one; a plain folder name
    matches everything under it."""
    regex = _GLOB_CACHE.get(pattern)
    if regex is None:
        regex = _GLOB_CACHE[pattern] = re.compile(_translate(pattern.strip("/")))
    return bool(regex.fullmatch(path))


def _translate(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c))
        i += 1
    return "".join(out) + "(?:/.*)?"

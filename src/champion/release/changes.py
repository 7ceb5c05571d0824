"""Which models a range of commits touched: their artifact, their evaluation data, their inputs.

A model's inputs are the deps (and params files) of the DVC stage that outputs its artifact, the
`inputs:` globs of its section, and its own section of `champion.yaml` (or of `dvc.yaml`
`artifacts:`). Models and their inputs are read from the working tree, which CI checks out at the
head of the range; the two commits are only diffed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from champion import untrusted
from champion.config import CONFIG_FILE, MAX_BYTES, ModelConfig
from champion.errors import GitError
from champion.project import Project
from champion.release.pipeline import covers, dvc_stage_of, glob_matches


@dataclass(frozen=True)
class Change:
    model: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Range:
    base: str
    head: str
    files: tuple[str, ...]


def diff_range(project: Project, base: str | None, head: str) -> Range:
    git = project.registry.git
    head_sha = git.resolve_commit(head)
    if base is None:
        # After a merge to main the previous commit is the first parent; a root commit has none.
        parent = git.run("rev-parse", "--verify", "--quiet", f"{head_sha}^1", check=False)
        base_sha = parent.stdout.strip() if parent.returncode == 0 else None
    else:
        base_sha = git.resolve_commit(base)
    if base_sha is None:
        files = git.run("ls-tree", "-r", "-z", "--name-only", head_sha).stdout
        return Range("", head_sha, tuple(f for f in files.split("\0") if f))
    # Three dots: what head changed since it forked from base (a pull request's own changes).
    proc = git.run(
        "diff", "--name-only", "-z", "--no-renames", f"{base_sha}...{head_sha}", check=False
    )
    if proc.returncode != 0:
        raise GitError(
            f"cannot diff {base_sha[:12]}...{head_sha[:12]}: {proc.stderr.strip()}; fetch both "
            "commits and their history (actions/checkout with fetch-depth: 0)"
        )
    return Range(base_sha, head_sha, tuple(f for f in proc.stdout.split("\0") if f))


def changed_models(project: Project, rng: Range) -> list[Change]:
    config = project.config
    files = rng.files
    sections = _SectionDiff(project, rng) if rng.base else None
    changes = []
    for name in sorted(config.models):
        spec = config.models[name]
        reasons = _reasons(project, spec, files)
        if sections is None:
            reasons.insert(0, "no base commit: every model counts as changed")
        else:
            why = sections.reason(spec)
            if why:
                reasons.append(why)
        if reasons:
            changes.append(Change(name, tuple(dict.fromkeys(reasons))))
    return changes


def _reasons(project: Project, spec: ModelConfig, files: tuple[str, ...]) -> list[str]:
    reasons = []
    watched = {spec.path: "artifact", f"{spec.path}.dvc": "artifact"}
    data = spec.data.path if spec.data else None
    if data:
        watched.update({data: "evaluation data", f"{data}.dvc": "evaluation data"})
    for path, what in watched.items():
        if path in files:
            reasons.append(f"{what} {path} changed")
    stage = dvc_stage_of(project.root, spec.path)
    if stage is not None:
        for dep in stage.deps:
            hit = next((f for f in files if covers(dep, f)), None)
            if hit:
                reasons.append(f"{hit} changed (a dep of DVC stage {stage.target})")
        lock = stage.dvc_yaml[: -len("dvc.yaml")] + "dvc.lock"
        if stage.dvc_yaml in files or lock in files:
            reasons.append(f"{stage.dvc_yaml} or {lock} changed (DVC stage {stage.target})")
    for pattern in spec.inputs:
        hit = next((f for f in files if glob_matches(pattern, f)), None)
        if hit:
            reasons.append(f"{hit} changed (inputs: {pattern})")
    return reasons


class _SectionDiff:
    """A model's own section of champion.yaml or dvc.yaml, compared at the two commits."""

    def __init__(self, project: Project, rng: Range) -> None:
        self.project, self.rng = project, rng
        self._docs: dict[tuple[str, str], Any] = {}

    def _doc(self, commit: str, path: str) -> Any:
        key = (commit, path)
        if key not in self._docs:
            blob = self.project.registry.git.show_blob(commit, path)
            try:
                if blob is None or len(blob) > MAX_BYTES:
                    raise untrusted.UntrustedInput(f"{path} is missing or too big")
                self._docs[key] = untrusted.load_yaml(blob.decode("utf-8", "replace"), path)
            except untrusted.UntrustedInput:
                self._docs[key] = None  # unreadable at the base: compare as absent
        return self._docs[key]

    def _section(self, commit: str, spec: ModelConfig) -> Any:
        if spec.source == CONFIG_FILE:
            doc = self._doc(commit, CONFIG_FILE)
            models = doc.get("models") if isinstance(doc, dict) else None
            return models.get(spec.name) if isinstance(models, dict) else None
        doc = self._doc(commit, spec.source)
        arts = doc.get("artifacts") if isinstance(doc, dict) else None
        return arts.get(spec.name.rsplit(":", 1)[-1]) if isinstance(arts, dict) else None

    def reason(self, spec: ModelConfig) -> str | None:
        if spec.source not in self.rng.files:
            return None
        before = self._section(self.rng.base, spec)
        after = self._section(self.rng.head, spec)
        if before is None and after is not None:
            return f"new in {spec.source}"
        if before != after:
            return f"its section of {spec.source} changed"
        return None

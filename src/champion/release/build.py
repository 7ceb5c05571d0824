"""Making the candidate artifact present in the working tree before it is evaluated or released.

An artifact the commit records (in git, or in DVC through a `.dvc` file or `dvc.lock`) is used as
it is, pulled from the DVC remote when absent. It is rebuilt only when the range of commits
changed what it is made from and not the artifact itself: by `dvc repro` of the stage whose outs
include it (DVC decides what is stale, and pulls what it can instead of rerunning), or by the
model's `train:` command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from champion import artifacts
from champion.config import ModelConfig
from champion.errors import ChampionError
from champion.project import Project
from champion.release.changes import Range, changed_models
from champion.release.pipeline import DvcStage, dvc_stage_of

TAIL = 2000  # characters of a failed tool's output kept in the error


@dataclass(frozen=True)
class Built:
    model: str
    action: str  # "built" | "pulled" | "present"
    how: str  # "dvc repro STAGE", "train: CMD", "dvc pull", or "" when nothing ran
    path: str
    sha256: str
    changed: tuple[str, ...]  # files git tracks that the build rewrote, to commit


def build(project: Project, spec: ModelConfig, rng: Range) -> Built:
    root = project.root
    before = _dirty(project)
    stage = dvc_stage_of(root, spec.path)
    artifact = root / spec.path
    if stage is not None:
        existed = artifact.exists()
        lock = _lock_of(stage)
        lock_before = _read(root / lock)
        _dvc(root, "repro", "--pull", stage.target, what=f"dvc repro --pull {stage.target}")
        if _read(root / lock) != lock_before:
            action, how = "built", f"dvc repro {stage.target}"
        else:
            action, how = ("present", "") if existed else ("pulled", "dvc pull")
    else:
        command = spec.train
        if command and (_wants_build(project, spec, rng) or not _recorded(project, spec)):
            _train(root, spec, command)
            if (root / f"{spec.path}.dvc").is_file():
                _dvc(root, "add", spec.path, what=f"dvc add {spec.path}")
            action, how = "built", f"train: {command}"
        elif artifact.exists():
            action, how = "present", ""
        else:
            _pull(project, spec.path, f"the artifact of model {spec.name!r}")
            action, how = "pulled", "dvc pull"
    if not (artifact.is_file() or artifact.is_dir()):
        raise ChampionError(
            f"{spec.path}, the artifact of model {spec.name!r}, is neither a file nor a folder "
            f"after {how or 'looking for it'}: check path: in {spec.source}"
        )
    _ensure_data(project, spec)
    rewritten = tuple(sorted(_dirty(project) - before))
    sha256 = artifacts.local_sha256(artifact, f"{spec.path}, the artifact of {spec.name!r}")[0]
    return Built(spec.name, action, how, spec.path, sha256, rewritten)


def _wants_build(project: Project, spec: ModelConfig, rng: Range) -> bool:
    """The range changed the model's inputs but not its artifact."""
    if spec.path in rng.files or f"{spec.path}.dvc" in rng.files:
        return False
    return any(c.model == spec.name for c in changed_models(project, rng))


def _recorded(project: Project, spec: ModelConfig) -> bool:
    """The commit holds the artifact, or DVC tracks it (so it can be pulled)."""
    git = project.registry.git
    tracked = git.run("ls-files", "--error-unmatch", "--", spec.path, check=False)
    return tracked.returncode == 0 or (project.root / f"{spec.path}.dvc").is_file()


def _train(root: Path, spec: ModelConfig, command: str) -> None:
    # The command is the repository's own, run like any build step of the commit being tested
    # (in a pull request, only in the unprivileged `pull_request` workflow). Its output goes to
    # stderr, so champion's own stdout stays parseable.
    proc = subprocess.run(
        command, shell=True, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    sys.stderr.write(proc.stdout)
    if proc.returncode != 0:
        raise ChampionError(
            f"the train command of model {spec.name!r} ({command!r}, train: in {spec.source}) "
            f"failed with exit code {proc.returncode}: {proc.stdout.strip()[-TAIL:]}"
        )


def _ensure_data(project: Project, spec: ModelConfig) -> None:
    data = spec.data.path if spec.data else None
    if not data or (project.root / data).exists():
        return
    stage = dvc_stage_of(project.root, data)
    if stage is not None:
        _dvc(project.root, "repro", "--pull", stage.target, what=f"dvc repro --pull {stage.target}")
    elif (project.root / f"{data}.dvc").is_file():
        _pull(project, data, f"the evaluation data of model {spec.name!r}")


def _pull(project: Project, path: str, what: str) -> None:
    if not (project.root / f"{path}.dvc").is_file():
        raise ChampionError(
            f"{path}, {what}, is not in the working tree, DVC does not track it and the model "
            "has no train: command nor a DVC stage that outputs it: commit it, `dvc add` it, or "
            "declare how to build it"
        )
    _dvc(project.root, "pull", path, what=f"dvc pull {path}")


def _dvc(root: Path, *args: str, what: str) -> None:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if proc.stdout:
        sys.stderr.write(proc.stdout)
    if proc.returncode != 0:
        raise ChampionError(
            f"{what} failed (exit code {proc.returncode}): {proc.stdout.strip()[-TAIL:]}"
        )


def _lock_of(stage: DvcStage) -> str:
    return stage.dvc_yaml[: -len("dvc.yaml")] + "dvc.lock"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _dirty(project: Project) -> set[str]:
    """Files git tracks that differ from HEAD (untracked ones are not a build's to commit)."""
    out = project.registry.git.run("diff", "--name-only", "-z", "HEAD").stdout
    return {f for f in out.split("\0") if f}


BUILT_FROM = "Champion-Built-From"


def message(head: str, models: list[str], trailers: str) -> str:
    """The build commit's message: it keeps the built commit's trailers (Model-Bump: ...), so
    the release of the build commit decides its bump as it would have for the merge."""
    lines = [f"champion build: rebuild {', '.join(models)}", ""]
    lines += [t for t in trailers.splitlines() if t.strip() and not t.startswith(BUILT_FROM)]
    lines.append(f"{BUILT_FROM}: {head}")
    return "\n".join(lines) + "\n"


def adopt_earlier_build(project: Project, remote: str) -> str | None:
    """A rerun of a release job starts again at the merge commit, whose rebuild an earlier run
    already committed on top of it. When the remote branch's tip is that build commit (its parent
    is HEAD and it says it was built from HEAD), check it out instead of building again: a second
    build commit would be rejected, or worse, differ. Returns the adopted commit."""
    git = project.registry.git
    head = git.resolve_commit("HEAD")
    branch = _branch(project)
    if not branch or not git.remote_exists(remote):
        return None
    fetched = git.run("fetch", "--quiet", remote, f"refs/heads/{branch}", check=False)
    if fetched.returncode != 0:
        return None
    tip = git.resolve_commit("FETCH_HEAD")
    if tip == head:
        return None
    parent = git.run("rev-parse", "--verify", "--quiet", f"{tip}^1", check=False).stdout.strip()
    if parent != head or f"{head}" not in git.trailers(tip, BUILT_FROM):
        return None
    git.run("checkout", "--quiet", "--detach", tip)
    return tip


def _branch(project: Project) -> str:
    git = project.registry.git
    branch = git.run("symbolic-ref", "-q", "--short", "HEAD", check=False).stdout.strip()
    return branch or os.environ.get("GITHUB_REF_NAME", "")


def commit_built(project: Project, built: list[Built], message: str) -> str | None:
    """Commits what the builds rewrote, so a version's tag can name a commit that records its
    artifact. Returns the new commit, or None when there was nothing to commit."""
    files = sorted({f for b in built for f in b.changed})
    if not files:
        return None
    git = project.registry.git
    git.run("add", "--", *files)
    identity = git.identity_env()
    if "GIT_COMMITTER_NAME" in identity:
        identity["GIT_AUTHOR_NAME"] = identity["GIT_COMMITTER_NAME"]
    if "GIT_COMMITTER_EMAIL" in identity:
        identity["GIT_AUTHOR_EMAIL"] = identity["GIT_COMMITTER_EMAIL"]
    git.run("commit", "-q", "-m", message, "--", *files, env=identity)
    for b in built:
        if b.action == "built" and not _in_git(project, b.path):
            artifacts.ensure_in_dvc_remote(project.root, b.path)
    return git.resolve_commit("HEAD")


def _in_git(project: Project, path: str) -> bool:
    proc = project.registry.git.run("ls-files", "--error-unmatch", "--", path, check=False)
    return proc.returncode == 0


def push_branch(project: Project, remote: str) -> str:
    git = project.registry.git
    branch = _branch(project)
    if not branch:
        raise ChampionError(
            "--push needs a branch to push the build commit to: check out a branch (HEAD is "
            "detached and GITHUB_REF_NAME is not set)"
        )
    proc = git.run("push", "--porcelain", remote, f"HEAD:refs/heads/{branch}", check=False)
    if proc.returncode != 0:
        raise ChampionError(
            f"pushing the build commit to {remote} {branch} failed: "
            f"{(proc.stderr or proc.stdout).strip()[-TAIL:]}. If {branch} moved on meanwhile, "
            "rerun the job on its new head"
        )
    return branch

"""The files `champion init` writes, as text: a commented champion.yaml and the workflows.

The workflows are the project's own examples (workflows-examples/, shipped as package data in
init/workflows/, kept identical by a test) with what a repository decides filled in: the action
reference pinned to this release of champion, the `paths:` of the release workflow derived from
the models' inputs, the default branch, and the `requirements` input only when the repository
has a requirements.txt. Each edit checks its anchor, so a changed example fails loudly here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath

from champion.errors import ChampionError

# The workflows init writes: the example each comes from, the file name in .github/workflows/.
WORKFLOWS = {
    "pr-evaluate.yml": "champion-evaluate.yml",
    "pr-comment.yml": "champion-comment.yml",
    "release-on-merge.yml": "champion-release.yml",
    "rollback.yml": "champion-rollback.yml",
}
SHA_RE = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class ModelChoice:
    name: str
    path: str  # the artifact ("" when not found)
    note: str  # where it was found, for the comment beside it
    in_dvc_yaml: bool = False  # dvc.yaml's artifacts: declares it: champion.yaml names no path
    data: str | None = None
    target: str | None = None
    task: str | None = None
    inputs: tuple[str, ...] = ()  # extra files whose change means a new version (the stage's deps)
    data_note: str = ""


@dataclass(frozen=True)
class ActionRef:
    repository: str  # owner/name of champion's actions
    ref: str  # a commit sha or a tag
    version: str  # champion's version, named beside a sha pin

    def uses(self, sub: str) -> str:
        where = f"{self.repository}{sub}@{self.ref}"
        if SHA_RE.fullmatch(self.ref):
            return f"{where} # v{self.version}"
        # A tag: the release this champion came from. zizmor asks for a commit sha; the inline
        # ignore carries the reason, so the user's repository needs no zizmor config file.
        return (
            f"{where} # zizmor: ignore[unpinned-uses] -- the release of champion that wrote this "
            f"file; `champion init --action-ref SHA` pins its commit"
        )


@dataclass(frozen=True)
class Plan:
    models: tuple[ModelChoice, ...]
    stages: tuple[str, ...]
    promote: str | None  # the stage a passed merge goes live in
    pointer: str | None
    branch: str
    action: ActionRef
    requirements: str | None
    uses_dvc: bool
    folders: frozenset[str] = frozenset()  # paths that are folders (their filter is PATH/**)


def champion_yaml(plan: Plan) -> str:
    out = [
        "# champion.yaml: the models champion versions, how a pull request's candidate is",
        "# evaluated against the live one, and what a merge releases. Every key is described in",
        "# the docs' champion.yaml reference; `champion status` shows what is live.",
        "",
        f"stages: [{', '.join(plan.stages)}]  # where a version can be live",
        f"gate_stage: {plan.stages[-1]}  # a candidate is compared with the version live here",
        "",
        "models:",
    ]
    if not plan.models:
        out += [
            "  {}  # none found: declare each model, e.g.",
            "  # churn:",
            "  #   path: models/churn.joblib  # the artifact, a file or a folder, git or DVC",
            "  #   data: {path: data/eval.csv, target: churned}",
        ]
    for model in plan.models:
        out.append(f"  {_key(model.name)}:")
        if model.in_dvc_yaml:
            out.append(f"    # path: {model.path}, {model.note}")
        elif model.path:
            out.append(f"    path: {_scalar(model.path)}  # {model.note}")
        else:
            out.append(f"    path: models/{model.name}.joblib  # TODO: no artifact found; set it")
        out += _data_lines(model)
        if model.inputs:
            out.append(
                "    # What the model is built from (its DVC stage's dependencies): a change"
            )
            out.append("    # to one of them means a new version to build, evaluate and release.")
            out.append("    inputs:")
            out += [f"      - {_scalar(i)}" for i in model.inputs]
        if plan.promote:
            out.append("    release:")
            out.append(f"      promote: {plan.promote}  # a merge whose gate passed goes live here")
        if plan.pointer:
            out.append(f"    pointer: {_scalar(plan.pointer.rstrip('/') + '/' + model.name)}")
        else:
            out.append(
                "    # pointer: s3://BUCKET/champion/"
                + model.name
                + "  # where services find the live version"
            )
    return "\n".join(out) + "\n"


def _data_lines(model: ModelChoice) -> list[str]:
    if not model.data or not model.target:
        hint = f": {model.data_note}" if model.data_note else ""
        return [
            f"    # data: {{path: data/eval.csv, target: COLUMN}}  # the fixed evaluation set{hint}",
            "    # gate: {roc_auc: {max_regression: 0.01}}  # once data: is there",
        ]
    lines = [
        f"    data:  # the fixed evaluation set{f' ({model.data_note})' if model.data_note else ''}",
        f"      path: {_scalar(model.data)}",
        f"      target: {_scalar(model.target)}",
    ]
    if model.task == "regression":
        lines += [
            "    # metrics: the task's defaults (mae, rmse, r2); list them to choose",
            "    gate:",
            "      rmse: {max_regression_rel: 0.05}  # may get at most 5% worse than the live model",
        ]
    elif model.task == "classification":
        lines += [
            "    # metrics: the task's defaults (accuracy, f1, roc_auc, log_loss); list them to choose",
            "    gate:",
            "      # worse than the live model by at most 0.01, and only when that is not noise",
            "      roc_auc: {max_regression: 0.01, significance: true}",
        ]
    return lines


def workflows(plan: Plan) -> dict[str, str]:
    """`.github/workflows/NAME` -> text."""
    written = {}
    for example, name in WORKFLOWS.items():
        text = (resources.files("champion.init") / "workflows" / example).read_text("utf-8")
        text = _pin(text, plan.action)
        if example == "release-on-merge.yml":
            text = _replace(
                text,
                "    branches: [main]\n",
                f"    branches: [{_scalar(plan.branch)}]\n",
                example,
            )
            text = _paths(text, release_paths(plan), example)
        # `requirements: requirements.txt`, perhaps with a comment after it.
        line = re.compile(r"^(          )requirements: requirements\.txt( #[^\n]*)?$", re.MULTILINE)
        if plan.requirements is None:
            text = line.sub(
                lambda m: (
                    f"{m[1]}# requirements: requirements.txt"
                    + (m[2] or "  # your model's own packages, if any")
                ),
                text,
            )
        elif plan.requirements != "requirements.txt":
            text = line.sub(
                lambda m: f"{m[1]}requirements: {_scalar(plan.requirements or '')}{m[2] or ''}",
                text,
            )
        if example == "rollback.yml":
            # No deploy workflow of the user's is known: no dispatch, so no `actions: write`.
            text = _replace(
                text,
                "      actions: write # dispatch deploy.yml\n",
                "      # actions: write # with dispatch-workflow below: dispatch your deploy.yml\n",
                example,
            )
            text = _replace(
                text,
                "          dispatch-workflow: deploy.yml\n",
                "          # dispatch-workflow: deploy.yml  # your workflow that deploys the pointer\n",
                example,
            )
        written[f".github/workflows/{name}"] = text
    return written


def release_paths(plan: Plan) -> list[str]:
    """What a merge must touch for the release workflow to start: every model's artifact,
    evaluation data, stage dependencies, DVC's files and the files that configure them."""
    paths: list[str] = ["champion.yaml"]
    for model in plan.models:
        for path in (model.path, model.data, *model.inputs):
            if path:
                paths.append(_glob(path, plan.folders))
    if plan.uses_dvc:
        paths += ["dvc.yaml", "dvc.lock", "**.dvc"]
    if plan.requirements:
        paths.append(plan.requirements)
    return list(dict.fromkeys(paths))


def _glob(path: str, folders: frozenset[str]) -> str:
    # GitHub's filter matches a folder's files only with /**; glob characters are escaped.
    escaped = re.sub(r"([*?\[\]!+])", r"\\\1", PurePosixPath(path).as_posix())
    return f"{escaped}/**" if path in folders else escaped


def _pin(text: str, action: ActionRef) -> str:
    pattern = re.compile(r"uses: OWNER/champion((?:/actions/[a-z]+)?)@v1$", re.MULTILINE)
    if not pattern.search(text):
        raise ChampionError("init: an example workflow no longer calls OWNER/champion@v1")
    return pattern.sub(lambda m: f"uses: {action.uses(m[1])}", text)


def _paths(text: str, paths: Iterable[str], example: str) -> str:
    block = re.compile(r"(    paths:\n)(?:      - .*\n)+")
    if not block.search(text):
        raise ChampionError(f"init: {example} has no paths: list to fill in")
    lines = "".join(f"      - {_scalar(p)}\n" for p in paths)
    return block.sub(lambda m: m[1] + lines, text, count=1)


def _replace(text: str, old: str, new: str, example: str) -> str:
    if old not in text:
        raise ChampionError(f"init: {example} no longer holds {old.strip()!r}")
    return text.replace(old, new)


def _scalar(value: str) -> str:
    """A YAML scalar: plain when that reads back as the same string, else double-quoted."""
    import yaml

    try:
        if (
            re.fullmatch(r"[A-Za-z0-9_./@-][A-Za-z0-9_./@ -]*", value)
            and yaml.safe_load(value) == value
        ):
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value)


def _key(name: str) -> str:
    return _scalar(name)

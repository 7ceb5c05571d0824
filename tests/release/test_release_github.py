"""`champion release` against a fake GitHub (`responses`): the bump label of the pull request a
commit came from, and one GitHub Release per version with the model card as its body."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import responses
from requests import PreparedRequest

from testing.github import REPO, TOKEN, actions_env, pull_json, sent
from testing.models import save, train, write_eval
from testing.releases import (
    Capsys,
    origin_tag_objects,
    read_outputs,
    release,
    released,
    tag_metadata,
)
from testing.repos import DEFAULT_CONFIG, Repo, make_repo

API = "https://api.github.com:443"
Reply = tuple[int, dict[str, str], str]


@dataclass
class FakeForge:
    """Pull requests by commit and releases by tag, as GitHub's REST API answers them."""

    rsps: responses.RequestsMock
    pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    releases: dict[str, dict[str, Any]] = field(default_factory=dict)
    refuse_creates: tuple[int, str] | None = None  # (status, message) for every POST
    refuse_lookups: tuple[int, str] | None = None  # for every GET of a commit's pulls

    def install(self) -> FakeForge:
        base = re.escape(f"{API}/repos/{REPO}")
        self.rsps.add_callback(
            "GET", re.compile(rf"{base}/commits/([0-9a-f]{{40}})/pulls(\?.*)?$"), self._pulls
        )
        self.rsps.add_callback("GET", re.compile(rf"{base}/releases/tags/([^/?]+)$"), self._get)
        self.rsps.add_callback("POST", re.compile(rf"{base}/releases$"), self._create)
        return self

    def merged_pull(self, commit: str, number: int, labels: list[str]) -> None:
        pull = pull_json(number, REPO, sha="d" * 40, state="closed")
        pull["merged_at"] = "2024-05-01T12:00:00Z"
        pull["labels"] = [{"id": i, "name": name} for i, name in enumerate(labels)]
        self.pulls.setdefault(commit, []).append(pull)

    def posts(self) -> list[PreparedRequest]:
        return [c.request for c in self.rsps.calls if c.request.method == "POST"]

    def _pulls(self, request: PreparedRequest) -> Reply:
        if self.refuse_lookups:
            status, message = self.refuse_lookups
            return status, {}, json.dumps({"message": message})
        sha = re.findall(r"/commits/([0-9a-f]{40})/pulls", str(request.url))[0]
        return 200, {}, json.dumps(self.pulls.get(sha, []))

    def _get(self, request: PreparedRequest) -> Reply:
        tag = unquote(str(request.url).rsplit("/", 1)[1])
        if tag not in self.releases:
            return 404, {}, json.dumps({"message": "Not Found"})
        return 200, {}, json.dumps(self.releases[tag])

    def _create(self, request: PreparedRequest) -> Reply:
        if self.refuse_creates:
            status, message = self.refuse_creates
            return status, {}, json.dumps({"message": message})
        data = sent(request)
        tag = data["tag_name"]
        if tag in self.releases:
            return (
                422,
                {},
                json.dumps({"message": "Validation Failed", "errors": ["already_exists"]}),
            )
        number = len(self.releases) + 1
        self.releases[tag] = {
            "id": number,
            "tag_name": tag,
            "name": data.get("name"),
            "body": data.get("body"),
            "url": f"https://api.github.com/repos/{REPO}/releases/{number}",
            "html_url": f"https://github.com/{REPO}/releases/tag/{tag}",
        }
        return 201, {}, json.dumps(self.releases[tag])


@pytest.fixture(autouse=True)
def _actions_env(monkeypatch: pytest.MonkeyPatch) -> None:
    actions_env(monkeypatch)


@pytest.fixture
def forge() -> Iterator[FakeForge]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeForge(rsps).install()


# --- 2. the pull request's label ----------------------------------------------------------------


def test_label_wins_over_the_trailer_and_says_so(
    repo: Repo, capsys: Capsys, forge: FakeForge
) -> None:
    released(capsys, repo, "--push")
    commit = repo.commit_artifact("model v2", message="Merge #7\n\nModel-Bump: minor")
    forge.merged_pull(commit, 7, ["bug", "champion:major"])
    result = release(capsys, repo, "--push", "--github-output", str(repo.path.parent / "o"))
    assert result.code == 0, result.err
    assert (
        "released churn 1.0.0 as churn@v1.0.0 (major: label champion:major on pull request #7)"
        in (result.out)
    )
    assert (
        "warning: the label champion:major on pull request #7 and the commit's Model-Bump: minor "
        "disagree: the label wins"
    ) in result.err
    assert TOKEN not in result.out + result.err
    meta = tag_metadata(repo.origin, "churn@v1.0.0")
    assert meta["pull_request"] == {"number": 7, "url": f"https://github.com/{REPO}/pull/7"}
    assert meta["bump_reason"] == "label champion:major on pull request #7"
    warnings = json.loads(read_outputs(repo.path.parent / "o")["releases"])["churn"]["warnings"]
    assert len(warnings) == 1 and "disagree" in warnings[0]


def test_label_and_trailer_agreeing_warn_nothing(
    repo: Repo, capsys: Capsys, forge: FakeForge
) -> None:
    released(capsys, repo, "--push")
    commit = repo.commit_artifact("model v2", message="x\n\nModel-Bump: minor")
    forge.merged_pull(commit, 8, ["champion:minor"])
    result = release(capsys, repo, "--push")
    assert result.code == 0, result.err
    assert "released churn 0.2.0" in result.out
    assert "warning" not in result.err


def test_skip_label_releases_nothing(repo: Repo, capsys: Capsys, forge: FakeForge) -> None:
    released(capsys, repo, "--push")
    commit = repo.commit_artifact("model v2", message="x\n\nModel-Bump: minor")
    forge.merged_pull(commit, 9, ["champion:skip"])
    before = origin_tag_objects(repo)
    out = released(capsys, repo, "--push")
    assert out["released"] == "false"
    assert origin_tag_objects(repo) == before
    assert repo.tags() == ["churn@v0.1.0"]


def test_no_pull_request_falls_back_to_the_trailer(
    repo: Repo, capsys: Capsys, forge: FakeForge
) -> None:
    released(capsys, repo, "--push")
    repo.commit_artifact("model v2", message="pushed straight to main\n\nModel-Bump: minor")
    out = released(capsys, repo, "--push")
    assert (out["version"], out["bump"]) == ("0.2.0", "minor")
    assert "pull_request" not in tag_metadata(repo.origin, "churn@v0.2.0")


def test_two_bump_labels_are_refused(repo: Repo, capsys: Capsys, forge: FakeForge) -> None:
    commit = repo.git("rev-parse", "HEAD")
    forge.merged_pull(commit, 10, ["champion:major", "champion:patch"])
    result = release(capsys, repo, "--push")
    assert result.code == 2, result.err
    assert "pull request #10 has several bump labels" in result.err
    assert repo.tags() == [] and repo.remote_tags() == []


# --- 6. GitHub Releases -------------------------------------------------------------------------

CONFIG = """\
models:
  churn:
    path: models/churn.joblib
    description: Churn classifier
    data: {path: data/eval.csv, target: target}
    metrics: [roc_auc, accuracy]
    stats: {resamples: 100}
"""


def test_one_github_release_per_version_with_the_model_card(
    tmp_path: Path, capsys: Capsys, forge: FakeForge
) -> None:
    repo = make_repo(tmp_path, CONFIG, commit=False)
    save(train("good"), repo.path / "models/churn.joblib")
    write_eval(repo.path / "data/eval.csv", n=1500)
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "champion")
    out = released(capsys, repo, "--push", "--github-release")
    assert out["tag"] == "churn@v0.1.0"
    assert list(forge.releases) == ["churn@v0.1.0"]

    save(train("good", features=["f0", "f1", "f2", "f3"]), repo.path / "models/churn.joblib")
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "Drop f4 (#12)")
    commit = repo.git("rev-parse", "HEAD")
    forge.merged_pull(commit, 12, [])
    result = release(capsys, repo, "--push", "--github-release")
    assert result.code == 0, result.err
    assert f"GitHub Release https://github.com/{REPO}/releases/tag/churn@v1.0.0" in result.out

    created = forge.releases["churn@v1.0.0"]
    assert created["name"] == "churn v1.0.0"
    # Markdown escapes (`1\.0\.0`) render as the plain text; read the body as GitHub shows it.
    body = re.sub(r"\\(.)", r"\1", created["body"])
    assert "## churn 1.0.0" in body and "Churn classifier" in body
    assert "major bump from 0.1.0" in body and "feature removed: f4" in body
    assert f"[pull request #12](https://github.com/{REPO}/pull/12)" in body
    assert "| metric | 0.1.0 | 1.0.0 | Δ |" in body
    meta = tag_metadata(repo.origin, "churn@v1.0.0")
    rows = {line.split("|")[1].strip(): line for line in body.splitlines() if line.startswith("| ")}
    assert set(meta["metrics"]) == {"roc_auc", "accuracy"}
    for metric in meta["metrics"]:
        assert metric in rows
    assert meta["artifact"]["sha256"] in body
    assert commit in body

    # A rerun on the same commit finds the release (GET by tag answers 200): no second one.
    posts = len(forge.posts())
    result = release(capsys, repo, "--push", "--github-release")
    assert result.code == 0, result.err
    assert "already released as churn@v1.0.0" in result.out
    assert len(forge.posts()) == posts
    assert list(forge.releases) == ["churn@v0.1.0", "churn@v1.0.0"]
    gets = [
        c.request.url
        for c in forge.rsps.calls
        if c.request.method == "GET" and "/releases/tags/" in str(c.request.url)
    ]
    assert unquote(str(gets[-1])).endswith("/releases/tags/churn@v1.0.0")


def test_a_rerun_makes_the_release_the_first_run_could_not(
    repo: Repo, capsys: Capsys, forge: FakeForge
) -> None:
    """The first run pushed its tag and then GitHub refused the release: exit 2 naming the tag
    and the permission, the outputs still written; the rerun converges."""
    forge.refuse_creates = (403, "Resource not accessible by integration")
    outputs = repo.path.parent / "first-run"
    result = release(capsys, repo, "--push", "--github-release", "--github-output", str(outputs))
    assert result.code == 2, result.err
    assert (
        "creating the GitHub Release of churn@v0.1.0 in octo/app failed: 403 Resource not "
        "accessible by integration. The tag is pushed"
    ) in result.err
    assert "contents: write" in result.err and "Traceback" not in result.err
    assert TOKEN not in result.out + result.err
    assert "version=0.1.0" in outputs.read_text()
    assert repo.remote_tags() == ["churn@v0.1.0"]
    assert forge.releases == {}

    forge.refuse_creates = None
    result = release(capsys, repo, "--push", "--github-release")
    assert result.code == 0, result.err
    assert "already released as churn@v0.1.0" in result.out
    assert list(forge.releases) == ["churn@v0.1.0"]
    assert forge.releases["churn@v0.1.0"]["name"] == "churn v0.1.0"
    assert repo.remote_tags() == ["churn@v0.1.0"]


def test_a_failed_pull_request_lookup_writes_nothing(
    repo: Repo, capsys: Capsys, forge: FakeForge
) -> None:
    forge.refuse_lookups = (401, "Bad credentials")
    result = release(capsys, repo, "--push", "--promote", "prod")
    assert result.code == 2, result.err
    assert "looking up the pull request of commit" in result.err
    assert "401 Bad credentials" in result.err and "Traceback" not in result.err
    assert TOKEN not in result.err
    assert repo.tags() == [] and repo.remote_tags() == []


def test_no_github_release_for_a_tag_the_origin_lacks(
    tmp_path: Path, capsys: Capsys, forge: FakeForge
) -> None:
    """GitHub would create an unknown tag itself, on the default branch: never ask it to. A tag
    an earlier run left only in this clone is pushed first (it is exactly what this run writes),
    and only then released on GitHub."""
    repo = make_repo(tmp_path, DEFAULT_CONFIG)
    released(capsys, repo)  # a local tag only
    forge.refuse_creates = (403, "Resource not accessible by integration")
    result = release(capsys, repo, "--push", "--github-release")
    assert result.code == 2, result.err
    # The tag reached the origin before GitHub was asked (and refused): the tag stands.
    assert repo.remote_tags() == ["churn@v0.1.0"]
    assert forge.releases == {}
    forge.refuse_creates = None
    result = release(capsys, repo, "--push", "--github-release")
    assert result.code == 0, result.err
    assert list(forge.releases) == ["churn@v0.1.0"]


def test_with_several_models_no_release_claims_latest(
    tmp_path: Path, capsys: Capsys, forge: FakeForge
) -> None:
    (tmp_path / "one").mkdir()
    one = make_repo(tmp_path / "one", "models:\n  solo:\n    path: models/churn.bin\n")
    released(capsys, one, "--push", "--github-release")
    (tmp_path / "many").mkdir()
    many = make_repo(tmp_path / "many", DEFAULT_CONFIG + "  fraud:\n    path: models/fraud.bin\n")
    many.commit_artifact("fraud v1", path="models/fraud.bin")
    released(capsys, many, "--push", "--github-release")
    latest = [(sent(p)["tag_name"], sent(p)["make_latest"]) for p in forge.posts()]
    # One model: its release is the repository's latest. Several: none of theirs is.
    assert latest == [
        ("solo@v0.1.0", "true"),
        ("churn@v0.1.0", "false"),
        ("fraud@v0.1.0", "false"),
    ]

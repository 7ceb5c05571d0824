"""`champion release` end to end on real git with a bare origin: versions, reruns, bump sources
from flags and trailers, promotion in the same atomic push, concurrent releases, bad input and
`$GITHUB_OUTPUT`. (Evaluation-based bumps, DVC and GitHub have their own modules.)"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from testing.race import run_together
from testing.releases import (
    Capsys,
    local_tag_objects,
    log_pushes,
    origin_tag_objects,
    pushes,
    read_outputs,
    refuse_pushes,
    release,
    released,
    status_json,
    tag_commit,
    tag_metadata,
)
from testing.repos import DEFAULT_CONFIG, Repo, make_repo

TWO_MODELS = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn.bin
  fraud:
    path: models/fraud.bin
"""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- 1. versions: first, next, unchanged, rerun -------------------------------------------------


def test_first_release_then_next_then_unchanged_then_rerun(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, "first_version: 1.0.0\n" + DEFAULT_CONFIG)
    first_commit = repo.git("rev-parse", "HEAD")

    out = released(capsys, repo, "--push")
    assert out["version"] == "1.0.0" and out["tag"] == "churn@v1.0.0"
    assert out["previous-version"] == "" and out["bump"] == "initial"
    assert out["released"] == "true"
    assert repo.remote_tags() == ["churn@v1.0.0"]
    meta = tag_metadata(repo.origin, "churn@v1.0.0")
    assert meta["event"] == "register" and meta["version"] == "1.0.0"
    assert meta["commit"] == first_commit and meta["parent"] is None
    assert meta["artifact"] == {
        "path": "models/churn.bin",
        "sha256": sha256("model v1"),
        "size": len("model v1"),
        "tracked_by": "git",
    }

    # A changed artifact: the next version, a patch (nothing else to go by), on the new commit.
    second_commit = repo.commit_artifact("model v2")
    out = released(capsys, repo, "--push")
    assert (out["version"], out["previous-version"], out["bump"]) == ("1.0.1", "1.0.0", "patch")
    assert out["released"] == "true"
    assert tag_commit(repo.origin, "churn@v1.0.1") == second_commit
    meta = tag_metadata(repo.origin, "churn@v1.0.1")
    assert meta["parent"] == "1.0.0" and meta["bump"] == "patch"
    assert meta["artifact"]["sha256"] == sha256("model v2")

    # A commit that leaves the artifact alone: nothing to release, nothing written.
    (repo.path / "README.md").write_text("docs\n")
    repo.git("add", "README.md")
    repo.git("commit", "-q", "-m", "docs")
    before_origin, before_local = origin_tag_objects(repo), local_tag_objects(repo)
    result = release(capsys, repo, "--push", "--github-output", str(tmp_path / "unchanged"))
    assert result.code == 0, result.err
    assert "unchanged since churn@v1.0.1" in result.out
    out = read_outputs(tmp_path / "unchanged")
    assert out["released"] == "false"
    assert (out["version"], out["tag"]) == ("1.0.1", "churn@v1.0.1")
    assert origin_tag_objects(repo) == before_origin
    assert local_tag_objects(repo) == before_local

    # A rerun on an already released commit reports its version and writes nothing: here, and
    # in another clone that has none of the tags yet (it reads them from the origin).
    fresh = repo.clone(tmp_path / "rerun")
    fresh.git("tag", "-d", *fresh.tags())
    for where, ref, version in [(repo, second_commit, "1.0.1"), (fresh, first_commit, "1.0.0")]:
        result = release(
            capsys, where, "--ref", ref, "--push", "--github-output", str(tmp_path / ref)
        )
        assert result.code == 0, result.err
        assert f"already released as churn@v{version}: nothing to do" in result.out
        out = read_outputs(tmp_path / ref)
        assert (out["released"], out["version"], out["tag"]) == (
            "false",
            version,
            f"churn@v{version}",
        )
        assert origin_tag_objects(repo) == before_origin
    assert repo.remote_tags() == ["churn@v1.0.0", "churn@v1.0.1"]


def test_without_push_the_tags_stay_local(repo: Repo, capsys: Capsys) -> None:
    out = released(capsys, repo)
    assert out["version"] == "0.1.0"
    assert repo.tags() == ["churn@v0.1.0"]
    assert repo.remote_tags() == []
    before = local_tag_objects(repo)
    assert released(capsys, repo)["released"] == "false"
    assert local_tag_objects(repo) == before


def prod(capsys: Capsys, repo: Repo, *args: str) -> str:
    return str(status_json(capsys, repo, *args)["models"][0]["stages"]["prod"]["version"])


def test_release_promote_on_an_already_released_commit_converges(
    repo: Repo, capsys: Capsys
) -> None:
    assert released(capsys, repo, "--push")["version"] == "0.1.0"
    assert released(capsys, repo, "--promote", "prod", "--push")["version"] == "0.1.0"
    repo.commit_artifact("model v2")
    assert released(capsys, repo, "--push")["version"] == "0.1.1"  # released, not promoted
    assert prod(capsys, repo) == "0.1.0"

    result = release(capsys, repo, "--promote", "prod", "--push")
    assert result.code == 0, result.err
    # Not "nothing to do": the commit's version is made live in the stage the run asks for.
    assert "already released as churn@v0.1.1; promoted to prod: churn#prod!#2, churn#prod#3" in (
        result.out
    )
    assert prod(capsys, repo, "--remote") == "0.1.1"
    again = release(capsys, repo, "--promote", "prod", "--push")
    assert "already released as churn@v0.1.1; already live in prod" in again.out
    assert repo.remote_tags() == repo.tags()
    # A later commit that leaves the artifact as it was promotes the version it is.
    (repo.path / "README.md").write_text("docs\n")
    repo.git("add", "README.md")
    repo.git("commit", "-q", "-m", "docs")
    out = release(capsys, repo, "--promote", "staging", "--push").out
    assert "unchanged since churn@v0.1.1 (same sha256); promoted to staging" in out


def test_push_decides_from_the_remote_and_pushes_the_tag_an_earlier_run_left(
    repo: Repo, capsys: Capsys
) -> None:
    released(capsys, repo)  # without --push: the tag is local only
    local = local_tag_objects(repo)
    result = release(capsys, repo, "--push")
    assert result.code == 0, result.err
    # The remote had no version: this run releases 0.1.0, and the tag the first run left is
    # exactly that tag, so it is pushed as it is (same tag object), and the output says so.
    assert "released churn 0.1.0 as churn@v0.1.0" in result.out
    assert "churn@v0.1.0: left in this clone by an earlier run" in result.out
    assert repo.remote_tags() == ["churn@v0.1.0"]
    assert local_tag_objects(repo) == local
    assert released(capsys, repo, "--push")["released"] == "false"


def test_push_deletes_a_local_only_tag_that_is_not_what_it_writes(
    repo: Repo, capsys: Capsys
) -> None:
    released(capsys, repo)  # churn@v0.1.0 on this commit, never pushed
    first = repo.git("rev-parse", "HEAD")
    (repo.path / "README.md").write_text("docs\n")
    repo.git("add", "README.md")
    repo.git("commit", "-q", "-m", "docs")
    result = release(capsys, repo, "--push")
    assert result.code == 0, result.err
    # The remote has no version at all, so this commit's artifact is released as 0.1.0: the
    # local churn@v0.1.0 (on another commit) is in the way, replaced and said so.
    assert "replaced churn@v0.1.0 in this clone: an earlier run left other tags" in result.out
    head = repo.git("rev-parse", "HEAD")
    assert repo.git("rev-parse", "churn@v0.1.0^{commit}") == head != first
    assert repo.remote_tags() == ["churn@v0.1.0"]
    assert repo.git("--git-dir", str(repo.origin), "rev-parse", "churn@v0.1.0^{commit}") == head


# --- 2. bump sources: flag and trailer ----------------------------------------------------------


def test_explicit_bump_wins_over_the_trailer(repo: Repo, capsys: Capsys) -> None:
    released(capsys, repo, "--push")
    repo.commit_artifact("model v2", message="train\n\nModel-Bump: patch")
    out = released(capsys, repo, "--push", "--bump", "major")
    assert (out["version"], out["bump"]) == ("1.0.0", "major")
    assert tag_metadata(repo.origin, "churn@v1.0.0")["bump_reason"] == "--bump major"


def test_trailer_minor(repo: Repo, capsys: Capsys) -> None:
    released(capsys, repo, "--push")
    commit = repo.commit_artifact("model v2", message="retrain on May data\n\nModel-Bump: minor")
    result = release(capsys, repo, "--push")
    assert result.code == 0, result.err
    assert "released churn 0.2.0 as churn@v0.2.0 (minor: commit trailer Model-Bump: minor)" in (
        result.out
    )
    meta = tag_metadata(repo.origin, "churn@v0.2.0")
    assert meta["commit"] == commit and meta["bump"] == "minor"
    assert "commit trailer Model-Bump: minor" in meta["bump_reasons"]


def test_skip_trailer_releases_nothing(repo: Repo, capsys: Capsys) -> None:
    released(capsys, repo, "--push")
    repo.commit_artifact("model v2", message="experiment\n\nModel-Bump: skip")
    before = origin_tag_objects(repo)
    result = release(capsys, repo, "--push", "--github-output", str(repo.path.parent / "o"))
    assert result.code == 0, result.err
    assert "skipped: commit trailer Model-Bump: skip" in result.out
    assert read_outputs(repo.path.parent / "o")["released"] == "false"
    assert origin_tag_objects(repo) == before
    assert repo.tags() == ["churn@v0.1.0"]


# --- 3. promotion in the same atomic push -------------------------------------------------------


def test_promote_goes_out_with_the_register_tag_in_one_push(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path)
    log = log_pushes(repo)
    out = released(capsys, repo, "--push", "--promote", "prod")
    assert out["version"] == "0.1.0"
    assert repo.remote_tags() == ["churn#prod#1", "churn@v0.1.0"]
    assert pushes(log) == [{"churn@v0.1.0", "churn#prod#1"}]

    # The next release retracts the live version and assigns the new one, in the same push.
    repo.commit_artifact("model v2")
    out = released(capsys, repo, "--push", "--promote", "prod")
    assert out["version"] == "0.1.1"
    assert pushes(log)[1] == {"churn@v0.1.1", "churn#prod!#2", "churn#prod#3"}
    assert tag_metadata(repo.origin, "churn#prod!#2")["replaced_by"] == "0.1.1"

    # Live on the origin, read without fetching, from a clone that has no tags at all.
    clone = repo.clone(tmp_path / "reader")
    clone.git("tag", "-d", *clone.tags())
    assert clone.tags() == []
    status = status_json(capsys, clone, "--remote")
    [churn] = status["models"]
    assert churn["latest"] == "0.1.1"
    assert churn["stages"]["prod"]["version"] == "0.1.1"
    assert churn["stages"]["prod"]["tag"] == "churn#prod#3"
    assert churn["stages"]["staging"] is None


def test_release_promote_from_config(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, DEFAULT_CONFIG + "    release: {promote: staging}\n")
    log = log_pushes(repo)
    result = release(capsys, repo, "--push")
    assert result.code == 0, result.err
    assert "promoted to staging" in result.out
    assert pushes(log) == [{"churn@v0.1.0", "churn#staging#1"}]
    [churn] = status_json(capsys, repo, "--remote")["models"]
    assert churn["stages"]["staging"]["version"] == "0.1.0"
    assert churn["stages"]["prod"] is None
    # --promote overrides the config.
    repo.commit_artifact("model v2")
    assert released(capsys, repo, "--push", "--promote", "prod")["version"] == "0.1.1"
    assert pushes(log)[1] == {"churn@v0.1.1", "churn#prod#2"}


# --- 4. concurrent releases ---------------------------------------------------------------------


def test_two_clones_releasing_different_commits_at_once(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path)
    released(capsys, repo, "--push", "--promote", "prod")
    before = origin_tag_objects(repo)
    clones, commits, outputs = [], [], []
    for i in range(2):
        clone = repo.clone(tmp_path / f"clone-{i}")
        commits.append(clone.commit_artifact(f"model from clone {i}", message=f"train {i}"))
        clones.append(clone)
        outputs.append(tmp_path / f"race-output-{i}")
    results = run_together(
        [
            (
                c.path,
                [
                    "-C",
                    str(c.path),
                    "release",
                    "--push",
                    "--promote",
                    "prod",
                    "--github-output",
                    str(o),
                ],
            )
            for c, o in zip(clones, outputs, strict=True)
        ],
        tmp_path / "barrier",
    )
    for r in results:
        assert r.code == 0, f"{r.args}: {r.err}"

    after = origin_tag_objects(repo)
    # Nothing that was there moved; two new versions, one per commit, each reported by its clone.
    assert {t: after[t] for t in before} == before
    new_versions = sorted(t for t in after if "@v" in t and t not in before)
    assert new_versions == ["churn@v0.1.1", "churn@v0.1.2"]
    for commit, out in zip(commits, outputs, strict=True):
        values = read_outputs(out)
        assert values["released"] == "true"
        assert tag_commit(repo.origin, values["tag"]) == commit
    assert {read_outputs(o)["version"] for o in outputs} == {"0.1.1", "0.1.2"}
    # Both promotions landed as unassign/assign pairs with unique counters; the last one is live.
    stage_tags = sorted(t for t in after if "#prod" in t)
    assert stage_tags == [
        "churn#prod!#2",
        "churn#prod!#4",
        "churn#prod#1",
        "churn#prod#3",
        "churn#prod#5",
    ]
    [churn] = status_json(capsys, repo, "--remote")["models"]
    assert churn["stages"]["prod"]["tag"] == "churn#prod#5"


def test_two_clones_releasing_the_same_commit_at_once(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path)
    clones = [repo.clone(tmp_path / f"clone-{i}") for i in range(2)]
    results = run_together(
        [(c.path, ["-C", str(c.path), "release", "--push"]) for c in clones],
        tmp_path / "barrier",
    )
    for r in results:
        assert r.code == 0, f"{r.args}: {r.err}"
    assert repo.remote_tags() == ["churn@v0.1.0"]
    # One of them wrote it; the other either found it there ("released meanwhile") or, when both
    # wrote the very same tag object in the same second, pushed it again as a no-op. Either way
    # each names the one version, and keeps exactly the origin's tag.
    assert any("released churn 0.1.0 as churn@v0.1.0" in r.out for r in results)
    origin = origin_tag_objects(repo)
    for clone, r in zip(clones, results, strict=True):
        assert "churn@v0.1.0" in r.out, r.out
        assert local_tag_objects(clone) == origin, r.out


# --- 7. bad input: exit 2, the culprit named, nothing written ------------------------------------


def assert_refused(result: object, *needles: str) -> None:
    code, err = result.code, result.err  # type: ignore[attr-defined]
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def assert_nothing_written(repo: Repo, local: dict[str, str], origin: dict[str, str]) -> None:
    assert local_tag_objects(repo) == local
    assert origin_tag_objects(repo) == origin


def test_ref_not_a_commit(repo: Repo, capsys: Capsys) -> None:
    result = release(capsys, repo, "--ref", "no-such-branch", "--push", "--promote", "prod")
    assert_refused(result, "'no-such-branch' is not a commit")
    assert_nothing_written(repo, {}, {})


def test_artifact_missing_at_ref(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, TWO_MODELS)  # only models/churn.bin is committed
    result = release(capsys, repo, "--push", "--promote", "prod")
    assert_refused(result, "models/fraud.bin is not at commit")
    # Not even the model that could be released: the run validates everything first.
    assert_nothing_written(repo, {}, {})


def test_artifact_removed_at_ref(repo: Repo, capsys: Capsys) -> None:
    released(capsys, repo, "--push")
    before_local, before_origin = local_tag_objects(repo), origin_tag_objects(repo)
    repo.git("rm", "-q", "models/churn.bin")
    repo.git("commit", "-q", "-m", "remove the model")
    result = release(capsys, repo, "--push", "--promote", "prod")
    assert_refused(result, "models/churn.bin is not at commit")
    assert_nothing_written(repo, before_local, before_origin)


def test_a_refused_push_fails_cleanly_and_leaves_no_tag(repo: Repo, capsys: Capsys) -> None:
    released(capsys, repo, "--push", "--promote", "prod")
    before_local, before_origin = local_tag_objects(repo), origin_tag_objects(repo)
    repo.commit_artifact("model v2")
    refuse_pushes(repo)
    result = release(capsys, repo, "--push", "--promote", "prod")
    assert_refused(result, "was refused", "tags are frozen", "churn@v0.1.1")
    # Neither the register tag nor its promotion, here or there.
    assert_nothing_written(repo, before_local, before_origin)


def test_github_release_needs_push(repo: Repo, capsys: Capsys) -> None:
    result = release(capsys, repo, "--github-release")
    assert_refused(result, "--github-release needs --push")
    assert_nothing_written(repo, {}, {})


def test_bad_trailer_value(repo: Repo, capsys: Capsys) -> None:
    released(capsys, repo, "--push")
    before_local, before_origin = local_tag_objects(repo), origin_tag_objects(repo)
    commit = repo.commit_artifact("model v2", message="train\n\nModel-Bump: huge")
    result = release(capsys, repo, "--push", "--promote", "prod")
    assert_refused(result, f"commit {commit[:12]} has a Model-Bump trailer 'huge'", "minor")
    assert_nothing_written(repo, before_local, before_origin)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--promote", "prd"], ["stage 'prd' is not allowed"]),
        (["nope"], ["unknown model 'nope'"]),
        (["--report", "no-such-report.json"], ["no-such-report.json"]),
    ],
)
def test_bad_arguments(repo: Repo, capsys: Capsys, args: list[str], needles: list[str]) -> None:
    assert_refused(release(capsys, repo, "--push", *args), *needles)
    assert_nothing_written(repo, {}, {})


# --- 8. $GITHUB_OUTPUT -------------------------------------------------------------------------


def test_github_output_for_one_model(repo: Repo, capsys: Capsys) -> None:
    released(capsys, repo, "--push")
    repo.commit_artifact("model v2", message="train\n\nModel-Bump: minor")
    out = released(capsys, repo, "--push", "churn")
    assert {k: v for k, v in out.items() if k != "releases"} == {
        "version": "0.2.0",
        "tag": "churn@v0.2.0",
        "previous-version": "0.1.0",
        "from": "0.1.0",
        "to": "0.2.0",
        "bump": "minor",
        "released": "true",
        "count": "1",
        "promoted": "false",  # no stage to promote to
        "gate": "",  # so no gate was judged
    }
    releases = json.loads(out["releases"])
    assert list(releases) == ["churn"]
    assert releases["churn"]["released"] is True
    assert releases["churn"]["version"] == "0.2.0"
    assert releases["churn"]["reason"] == "commit trailer Model-Bump: minor"


def test_github_output_for_several_models(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, TWO_MODELS)
    repo.commit_artifact("fraud v1", path="models/fraud.bin")
    out = released(capsys, repo, "--push")
    releases = json.loads(out["releases"])
    assert sorted(releases) == ["churn", "fraud"]
    assert {m: (r["version"], r["tag"]) for m, r in releases.items()} == {
        "churn": ("0.1.0", "churn@v0.1.0"),
        "fraud": ("0.1.0", "fraud@v0.1.0"),
    }
    assert out["released"] == "true" and out["count"] == "2"
    assert "version" not in out and "tag" not in out  # one value would not say whose

    # Only fraud changes: churn reports its version, unreleased; fraud its new one.
    repo.commit_artifact("fraud v2", path="models/fraud.bin")
    out = released(capsys, repo, "--push")
    releases = json.loads(out["releases"])
    assert releases["churn"]["released"] is False
    assert releases["churn"]["version"] == "0.1.0"
    assert releases["fraud"]["released"] is True
    assert (releases["fraud"]["version"], releases["fraud"]["previous"]) == ("0.1.1", "0.1.0")
    assert out["released"] == "true"
    assert repo.remote_tags() == ["churn@v0.1.0", "fraud@v0.1.0", "fraud@v0.1.1"]

    # Naming the models releases only those; nothing changed, so nothing released.
    out = released(capsys, repo, "--push", "fraud", "churn")
    assert out["released"] == "false"
    assert sorted(json.loads(out["releases"])) == ["churn", "fraud"]

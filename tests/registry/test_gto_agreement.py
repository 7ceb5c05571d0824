"""What a first real adoption found where champion and GTO met (issue 15, items 5-10): names with
`_`, versions and models GTO deprecated, stages only the tags name, who did it, a re-promotion
after a rollback, GTO's older artifacts.yaml. Real git, GTO's own CLI and API."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from gto import api as gto_api

from testing.releases import Capsys
from testing.repos import Repo, make_repo, run_cli
from testing.tools import gto_json, run_gto


def ok(capsys: Capsys, repo: Repo, *args: str) -> str:
    result = run_cli(capsys, repo.path, *args)
    assert result.code == 0, f"champion {' '.join(args)}: {result.err}"
    return result.out


def status(capsys: Capsys, repo: Repo, model: str, *extra: str) -> dict[str, Any]:
    data = json.loads(ok(capsys, repo, "status", model, "--json", *extra))
    [found] = data["models"]
    assert isinstance(found, dict)
    return found


def live(capsys: Capsys, repo: Repo, model: str) -> dict[str, str]:
    stages = status(capsys, repo, model)["stages"]
    return {s: x["version"] for s, x in stages.items() if x}


def gto_live(repo: Repo, model: str) -> dict[str, str]:
    shown = gto_json(repo.path, "show")[model]["stage"]
    return {s: v.removeprefix("v") for s, v in shown.items() if v}


def after_champions_tags(repo: Repo) -> None:
    """GTO dates its tags by the real clock; champion dates each new tag after the model's newest
    (a second apart), which can be a little ahead. Wait until GTO's next tag comes after."""
    out = repo.git("for-each-ref", "--format=%(taggerdate:unix)", "refs/tags")
    newest = max((int(x) for x in out.split() if x), default=0)
    while time.time() < newest + 1:
        time.sleep(0.1)


# --- 5. model names with `_`, both ways -----------------------------------------------------------


def test_model_names_with_underscores_both_ways(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, "models:\n  churn_model:\n    path: models/churn.bin\n")
    ok(capsys, repo, "register", "churn_model", "--push")
    ok(capsys, repo, "promote", "churn_model", "0.1.0", "--stage", "prod", "--push")
    assert repo.remote_tags() == ["churn_model#prod#1", "churn_model@v0.1.0"]
    assert gto_live(repo, "churn_model") == {"prod": "0.1.0"}
    # GTO writes, champion reads.
    repo.commit_artifact("model v2")
    after_champions_tags(repo)
    run_gto(repo.path, "register", "churn_model", "--version", "v0.2.0")
    run_gto(repo.path, "assign", "churn_model", "--version", "v0.2.0", "--stage", "prod")
    assert live(capsys, repo, "churn_model") == gto_live(repo, "churn_model") == {"prod": "0.2.0"}


# --- 6. deprecated versions and models ------------------------------------------------------------


def test_a_version_gto_deprecated_is_live_nowhere(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path)
    ok(capsys, repo, "register", "churn")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "staging")
    repo.commit_artifact("model v3")
    ok(capsys, repo, "register", "churn", "--version", "3.0.0")
    ok(capsys, repo, "promote", "churn", "3.0.0", "--stage", "prod")
    assert live(capsys, repo, "churn") == {"staging": "0.1.0", "prod": "3.0.0"}
    after_champions_tags(repo)
    run_gto(repo.path, "deprecate", "churn", "v3.0.0")  # writes churn@v3.0.0!
    assert "churn@v3.0.0!" in repo.tags()

    assert live(capsys, repo, "churn") == gto_live(repo, "churn") == {"staging": "0.1.0"}
    assert gto_api.find_versions_in_stage(str(repo.path), "churn", "prod") is None
    versions = json.loads(ok(capsys, repo, "versions", "churn", "--json"))["versions"]
    assert {v["version"]: (v["deregistered"], v["stages"]) for v in versions} == {
        "0.1.0": (False, ["staging"]),
        "3.0.0": (True, []),
    }
    # Nothing to roll back to from an empty stage; promoting it again is refused, saying why.
    again = run_cli(capsys, repo.path, "promote", "churn", "3.0.0", "--stage", "prod")
    assert again.code == 2 and "3.0.0 was deregistered" in again.err


def test_a_model_gto_deprecated_is_shown_as_deprecated(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path)
    ok(capsys, repo, "register", "churn")
    after_champions_tags(repo)
    run_gto(repo.path, "deprecate", "churn")  # writes churn@deprecated
    assert status(capsys, repo, "churn")["deprecated"] is True
    assert json.loads(ok(capsys, repo, "versions", "churn", "--json"))["deprecated"] is True
    assert ok(capsys, repo, "status").splitlines()[1].split()[:2] == ["churn", "(deprecated)"]
    assert "churn is deprecated (GTO's churn@deprecated" in ok(capsys, repo, "versions", "churn")
    assert "churn" not in gto_json(repo.path, "show")  # GTO hides a deprecated model
    assert gto_json(repo.path, "show", "--deprecated")["churn"]["active"] is False


# --- 7. stages the tags already use ---------------------------------------------------------------


def gto_repo(tmp_path: Path) -> Repo:
    """No champion.yaml: `seg` declared in dvc.yaml artifacts; GTO registered v0.1.0 and v0.2.0
    and assigned v0.1.0 to dev."""
    repo = make_repo(tmp_path, config=None, commit=False)
    (repo.path / "dvc.yaml").write_text("artifacts:\n  seg:\n    path: models/seg.bin\n")
    repo.git("add", "dvc.yaml")
    repo.commit_artifact("seg 1", "models/seg.bin")
    run_gto(repo.path, "register", "seg", "--version", "v0.1.0")
    repo.commit_artifact("seg 2", "models/seg.bin")
    run_gto(repo.path, "register", "seg", "--version", "v0.2.0")
    run_gto(repo.path, "assign", "seg", "--version", "v0.1.0", "--stage", "dev")
    repo.git("push", "-q", "origin", "main", "--tags")
    return repo


def test_without_a_stages_key_the_stages_the_tags_use_are_allowed(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = gto_repo(tmp_path)
    after_champions_tags(repo)
    out = ok(capsys, repo, "promote", "seg", "0.2.0", "--stage", "dev", "--push")
    assert "promoted seg 0.2.0 to dev (was 0.1.0): seg#dev!#2, seg#dev#3" in out
    assert live(capsys, repo, "seg") == gto_live(repo, "seg") == {"dev": "0.2.0"}
    # A stage neither the default nor the tags name is still refused, with what is allowed.
    refused = run_cli(capsys, repo.path, "promote", "seg", "0.2.0", "--stage", "qa")
    assert refused.code == 2
    assert "stage 'qa' is not allowed: the default and the tags allow prod, dev" in refused.err
    # A stage the tags name stays in status --json after it is emptied, as null.
    ok(capsys, repo, "unassign", "seg", "--stage", "dev")
    assert status(capsys, repo, "seg")["stages"] == {"prod": None, "dev": None}
    # With a stages: key, that list is the contract.
    (repo.path / "champion.yaml").write_text(
        "stages: [prod]\nmodels:\n  seg:\n    path: models/seg.bin\n"
    )
    refused = run_cli(capsys, repo.path, "promote", "seg", "0.2.0", "--stage", "dev")
    assert refused.code == 2 and "champion.yaml allow prod" in refused.err
    assert status(capsys, repo, "seg")["stages"] == {"prod": None, "dev": None}


# --- 8. who did it --------------------------------------------------------------------------------


def test_history_by_is_the_ci_actor_else_the_tagger(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    monkeypatch.setenv("USER", "root")
    ok(capsys, repo, "register", "churn")  # on a laptop: the tagger (git's user.name)
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod")  # in CI: the actor
    monkeypatch.delenv("GITHUB_ACTOR")
    monkeypatch.delenv("GITHUB_RUN_ID")
    repo.commit_artifact("model v2")
    after_champions_tags(repo)
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Ada ML")  # GTO writes as Ada
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.com")
    run_gto(repo.path, "register", "churn", "--version", "v0.2.0")

    events = json.loads(ok(capsys, repo, "history", "churn", "--json"))["events"]
    assert {e["tag"]: e["by"] for e in events} == {
        "churn@v0.1.0": "Test User",
        "churn#prod#1": "octocat",
        "churn@v0.2.0": "Ada ML",
    }
    table = ok(capsys, repo, "history", "churn")
    assert "root" not in table and "Ada ML" in table and "octocat" in table


# --- 9. a version rolled back, then promoted again -----------------------------------------------


def test_a_version_promoted_again_after_a_rollback_is_live_not_rolled_back(
    tmp_path: Path, capsys: Capsys
) -> None:
    config = "stages: [prod]\nmodels:\n  churn:\n    path: models/churn.bin\n"
    repo = make_repo(tmp_path, config)
    ok(capsys, repo, "register", "churn")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod")
    repo.commit_artifact("model v2")
    ok(capsys, repo, "register", "churn")
    ok(capsys, repo, "promote", "churn", "0.1.1", "--stage", "prod")
    ok(capsys, repo, "rollback", "churn", "--reason", "false alarm")
    assert status(capsys, repo, "churn")["rolled_back"] == ["0.1.1"]
    ok(capsys, repo, "promote", "churn", "0.1.1", "--stage", "prod", "--reason", "it was fine")

    found = status(capsys, repo, "churn")
    assert found["stages"]["prod"]["version"] == "0.1.1"
    assert found["rolled_back"] == []
    human = ok(capsys, repo, "status").splitlines()
    assert human[0].split() == ["model", "latest", "prod"]  # no "rolled back" column left
    assert "rolled back: false alarm" in ok(capsys, repo, "history", "churn")  # the past stays
    # And a later rollback may return to it: it is trusted again.
    repo.commit_artifact("model v3")
    ok(capsys, repo, "register", "churn")
    ok(capsys, repo, "promote", "churn", "0.1.2", "--stage", "prod")
    out = ok(capsys, repo, "rollback", "churn", "--reason", "v3 is bad", "--dry-run")
    assert "back from 0.1.2 to 0.1.1" in out


# --- 10. GTO's older artifacts.yaml -------------------------------------------------------------


def test_a_repository_declaring_its_models_in_artifacts_yaml(
    tmp_path: Path, capsys: Capsys
) -> None:
    repo = make_repo(tmp_path, config=None, commit=False)
    (repo.path / "artifacts.yaml").write_text(
        "churn:\n  type: model\n  path: models/churn.bin\n  virtual: false\n"
        "  description: Churn classifier\n  labels: [tabular]\n"
        "segment:\n  type: model\n  path: s3://mycorp/segment.pt\n"
        "cv:\n  type: model\n"  # no path at all: readable, never registered from nothing
    )
    repo.git("add", "artifacts.yaml")
    repo.commit_artifact("model v1")
    run_gto(repo.path, "register", "churn", "--version", "v0.1.0")
    run_gto(repo.path, "assign", "churn", "--version", "v0.1.0", "--stage", "prod")
    run_gto(repo.path, "register", "segment", "--version", "v1.0.0")

    data = json.loads(ok(capsys, repo, "status", "--json"))
    assert {m["model"]: m["latest"] for m in data["models"]} == {
        "churn": "0.1.0",
        "cv": None,
        "segment": "1.0.0",
    }
    refused = run_cli(capsys, repo.path, "register", "cv")
    assert refused.code == 2 and "declares no artifact path" in refused.err
    assert not any(t.startswith("cv@") for t in repo.tags())
    assert live(capsys, repo, "churn") == gto_live(repo, "churn") == {"prod": "0.1.0"}
    # And champion writes there too, on the path artifacts.yaml gives.
    repo.commit_artifact("model v2")
    after_champions_tags(repo)
    out = ok(capsys, repo, "register", "churn")
    assert "registered churn 0.1.1" in out
    meta = json.loads(ok(capsys, repo, "versions", "churn", "--json"))["versions"][-1]["metadata"]
    assert meta["artifact"]["path"] == "models/churn.bin"

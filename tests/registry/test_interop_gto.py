"""champion and GTO (and DVC) read and write the same registry of git tags.

Real git, a real bare origin, GTO's own CLI as a subprocess and its Python API, DVC's
`artifacts_show`. Every reader must name the same versions and the same live version per stage.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from testing.repos import Repo, copy_project, isolated, make_repo, run_cli
from testing.tools import TIMEOUT, GitClock, champion_json, gto_json, run_gto

GTO_EVENTS = {
    "registration": "register",
    "deregistration": "deregister",
    "assignment": "assign",
    "unassignment": "unassign",
}


def ok(capsys: pytest.CaptureFixture[str], repo: Repo, *args: str) -> str:
    result = run_cli(capsys, repo.path, *args)
    assert result.code == 0, f"champion {' '.join(args)}: {result.err}"
    return result.out


def v(version: str) -> str:
    """GTO's spelling of a version."""
    return f"v{version}"


# --- what each reader says ----------------------------------------------------------------------


def champion_view(capsys: pytest.CaptureFixture[str], repo: Repo, *extra: str) -> dict[str, Any]:
    status = champion_json(capsys, repo.path, "status", "churn", *extra)["models"]
    assert [m["model"] for m in status] == ["churn"]
    versions = champion_json(capsys, repo.path, "versions", "churn", *extra)["versions"]
    return {
        "latest": status[0]["latest"],
        "live": {s: live["version"] for s, live in status[0]["stages"].items() if live},
        "active": {x["version"]: x["commit"] for x in versions if not x["deregistered"]},
        "deregistered": {x["version"]: x["commit"] for x in versions if x["deregistered"]},
    }


def gto_cli_view(repo: Repo) -> dict[str, Any]:
    """What `gto show` says, both per artifact and for the whole registry."""
    versions = gto_json(repo.path, "show", "churn", "-d")  # -d: deregistered ones too
    registry = gto_json(repo.path, "show")["churn"]
    live: dict[str, list[str]] = {}
    for item in versions:
        for stage in item["stages"]:
            live.setdefault(stage["stage"], []).append(item["version"])
    return {
        "latest": registry["version"],
        "live": live,
        "registry_live": {s: x for s, x in registry["stage"].items() if x},
        "active": {x["version"]: x["commit_hexsha"] for x in versions if x["is_active"]},
        "deregistered": {x["version"]: x["commit_hexsha"] for x in versions if not x["is_active"]},
    }


def gto_api_live(repo: Repo, stages: list[str]) -> dict[str, list[str] | None]:
    from gto import api

    found = {s: api.find_versions_in_stage(str(repo.path), "churn", s) for s in stages}
    return {s: None if x is None else [vs.version for vs in x] for s, x in found.items()}


def gto_api_latest(repo: Repo) -> str | None:
    from gto import api

    latest = api.find_latest_version(str(repo.path), "churn")
    return None if latest is None else latest.version


def assert_gto_agrees(repo: Repo, mine: dict[str, Any]) -> None:
    theirs = gto_cli_view(repo)
    assert theirs["active"] == {v(x): c for x, c in mine["active"].items()}
    assert theirs["deregistered"] == {v(x): c for x, c in mine["deregistered"].items()}
    assert theirs["latest"] == v(mine["latest"])
    assert gto_api_latest(repo) == v(mine["latest"])
    # One live version per stage, and the same one everywhere.
    assert theirs["live"] == {s: [v(x)] for s, x in mine["live"].items()}
    assert theirs["registry_live"] == {s: v(x) for s, x in mine["live"].items()}
    stages = sorted({*mine["live"], "prod", "staging"})
    assert gto_api_live(repo, stages) == {
        s: [v(mine["live"][s])] if s in mine["live"] else None for s in stages
    }


def history_by_tag(events: list[dict[str, Any]]) -> dict[str, tuple[str, str | None, str | None]]:
    return {e["tag"]: (e["event"], e["version"], e["stage"]) for e in events}


def gto_history_by_tag(repo: Repo) -> dict[str, tuple[str, str | None, str | None]]:
    events = gto_json(repo.path, "history", "churn")
    return {
        e["ref"]: (GTO_EVENTS[e["event"]], e["version"].removeprefix("v"), e["stage"])
        for e in events
        if e["event"] in GTO_EVENTS
    }


def champion_history(capsys: pytest.CaptureFixture[str], repo: Repo) -> list[dict[str, Any]]:
    events = champion_json(capsys, repo.path, "history", "churn")["events"]
    counters = [e["counter"] for e in events if e["stage"] is not None]
    assert counters == sorted(counters), "stage events must replay in counter order"
    return events


# --- champion writes, GTO reads -----------------------------------------------------------------


def test_gto_reads_what_champion_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    withdrawn = "0.1.2"  # not the highest: the highest one withdrawn is in the GTO-written case
    repo = make_repo(tmp_path)
    clock = GitClock(monkeypatch, start=int(time.time()))
    commits = [repo.git("rev-parse", "HEAD")]
    ok(capsys, repo, "register", "churn", "--push")
    for n in (2, 3, 4):
        clock.tick()
        commits.append(repo.commit_artifact(f"model v{n}"))
        ok(capsys, repo, "register", "churn", "--push")
    for args in (
        ("promote", "churn", "0.1.0", "--stage", "prod"),
        ("promote", "churn", "0.1.1", "--stage", "prod"),  # writes unassign 0.1.0 + assign 0.1.1
        ("promote", "churn", "0.1.0", "--stage", "staging"),
        ("deregister", "churn", withdrawn),  # never live anywhere
    ):
        clock.tick()
        ok(capsys, repo, *args, "--push")

    mine = champion_view(capsys, repo)
    names = ["0.1.0", "0.1.1", "0.1.2", "0.1.3"]
    assert mine == {
        "latest": "0.1.3",
        "live": {"prod": "0.1.1", "staging": "0.1.0"},
        "active": {x: c for x, c in zip(names, commits, strict=True) if x != withdrawn},
        "deregistered": {withdrawn: commits[names.index(withdrawn)]},
    }
    # Reading the origin with ls-remote gives the same answer as the local tags.
    assert champion_view(capsys, repo, "--remote") == mine
    assert_gto_agrees(repo, mine)

    events = champion_history(capsys, repo)
    assert history_by_tag(events) == gto_history_by_tag(repo)
    assert [(e["event"], e["version"], e["stage"]) for e in events if e["stage"]] == [
        ("assign", "0.1.0", "prod"),
        ("unassign", "0.1.0", "prod"),
        ("assign", "0.1.1", "prod"),
        ("assign", "0.1.0", "staging"),
    ]


# --- GTO writes, champion reads -----------------------------------------------------------------


def write_with_gto(tmp_path: Path) -> tuple[Repo, list[str]]:
    """A registry written only by GTO's CLI, pushed to the origin:

    v0.1.0 on c1 -> prod, v0.2.0 on c2 -> prod (a plain GTO re-assign, no unassign),
    v0.1.0 -> staging, v0.3.0 on c3 then deregistered, then v0.2.0 unassigned from prod,
    which leaves v0.1.0 live in prod again (its assignment was never retracted)."""
    repo = make_repo(tmp_path)  # champion.yaml declares churn; GTO needs nothing else
    c1 = repo.git("rev-parse", "HEAD")
    run_gto(repo.path, "register", "churn", "--version", "v0.1.0")
    c2 = repo.commit_artifact("model v2")
    run_gto(repo.path, "register", "churn", "--bump-minor")
    run_gto(repo.path, "assign", "churn", "--version", "v0.1.0", "--stage", "prod")
    run_gto(repo.path, "assign", "churn", "--version", "v0.2.0", "--stage", "prod")
    run_gto(repo.path, "assign", "churn", "--version", "v0.1.0", "--stage", "staging")
    c3 = repo.commit_artifact("model v3")
    run_gto(repo.path, "register", "churn", "--version", "v0.3.0")
    run_gto(repo.path, "deprecate", "churn", "v0.3.0")  # deregister
    run_gto(repo.path, "deprecate", "churn", "v0.2.0", "prod", "--push")  # unassign, and push it
    repo.git("push", "-q", "origin", "--tags")  # the others
    assert (
        repo.remote_tags()
        == repo.tags()
        == sorted(
            [
                "churn@v0.1.0",
                "churn@v0.2.0",
                "churn@v0.3.0",
                "churn@v0.3.0!",
                "churn#prod#1",
                "churn#prod#2",
                "churn#staging#3",
                "churn#prod!#4",
            ]
        )
    )
    return repo, [c1, c2, c3]


@pytest.fixture(scope="module")
def gto_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Built once per module (GTO's CLI is slow to start); each test gets its own copy."""
    base = tmp_path_factory.mktemp("gto-written")
    with isolated(base):
        _, commits = write_with_gto(base)
    return base, commits


@pytest.fixture
def gto_written(gto_template: tuple[Path, list[str]], tmp_path: Path) -> tuple[Repo, list[str]]:
    base, commits = gto_template
    return copy_project(base, tmp_path), commits


def test_champion_reads_what_gto_wrote(
    gto_written: tuple[Repo, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, (c1, c2, c3) = gto_written

    mine = champion_view(capsys, repo)
    assert mine == {
        "latest": "0.2.0",
        "live": {"prod": "0.1.0", "staging": "0.1.0"},
        "active": {"0.1.0": c1, "0.2.0": c2},
        "deregistered": {"0.3.0": c3},
    }
    assert champion_view(capsys, repo, "--remote") == mine
    assert_gto_agrees(repo, mine)

    status = champion_json(capsys, repo.path, "status", "churn")["models"][0]
    assert status["stages"]["prod"]["tag"] == "churn#prod#1"
    assert status["stages"]["staging"]["tag"] == "churn#staging#3"

    # Every GTO tag is an event in champion's history, with the version GTO says it concerns.
    events = champion_history(capsys, repo)
    assert history_by_tag(events) == gto_history_by_tag(repo)
    assert history_by_tag(events) == {
        "churn@v0.1.0": ("register", "0.1.0", None),
        "churn@v0.2.0": ("register", "0.2.0", None),
        "churn@v0.3.0": ("register", "0.3.0", None),
        "churn@v0.3.0!": ("deregister", "0.3.0", None),
        "churn#prod#1": ("assign", "0.1.0", "prod"),
        "churn#prod#2": ("assign", "0.2.0", "prod"),
        "churn#staging#3": ("assign", "0.1.0", "staging"),
        "churn#prod!#4": ("unassign", "0.2.0", "prod"),
    }


def test_champion_extends_a_registry_gto_wrote(
    gto_written: tuple[Repo, list[str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo, (_c1, _c2, c3) = gto_written
    # GTO stamps its tags with the real clock; champion's writes come strictly after them.
    clock = GitClock(monkeypatch, start=int(time.time()) + 2)

    out = ok(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod", "--push")
    # The counter continues GTO's (per model, not per stage); the live 0.1.0 is unassigned first.
    assert "churn#prod!#5, churn#prod#6" in out
    clock.tick()
    # Versions are never reused: 0.3.0 was deregistered, so the next patch is 0.3.1.
    c4 = repo.commit_artifact("model v4")
    out = ok(capsys, repo, "register", "churn", "--push")
    assert "churn 0.3.1 as churn@v0.3.1" in out
    clock.tick()
    ok(capsys, repo, "promote", "churn", "0.3.1", "--stage", "staging", "--push")
    assert repo.remote_tags() == repo.tags()

    mine = champion_view(capsys, repo)
    assert mine["live"] == {"prod": "0.2.0", "staging": "0.3.1"}
    assert mine["latest"] == "0.3.1"
    assert mine["active"]["0.3.1"] == c4
    assert mine["deregistered"] == {"0.3.0": c3}
    assert_gto_agrees(repo, mine)
    # GTO reads champion's events as champion does (GTO's own tags are checked above).
    ours = {"churn#prod!#5", "churn#prod#6", "churn@v0.3.1", "churn#staging!#7", "churn#staging#8"}
    champion_events = history_by_tag(champion_history(capsys, repo))
    gto_events = gto_history_by_tag(repo)
    assert set(champion_events) == set(gto_events)
    assert (
        {t: champion_events[t] for t in ours}
        == {t: gto_events[t] for t in ours}
        == {
            "churn#prod!#5": ("unassign", "0.1.0", "prod"),
            "churn#prod#6": ("assign", "0.2.0", "prod"),
            "churn@v0.3.1": ("register", "0.3.1", None),
            "churn#staging!#7": ("unassign", "0.1.0", "staging"),
            "churn#staging#8": ("assign", "0.3.1", "staging"),
        }
    )


# --- a rollback: champion, GTO's CLI, GTO's API and DVC all name the same version ---------------


def dvc_repo(tmp_path: Path) -> Repo:
    """A DVC project whose model is declared only in dvc.yaml `artifacts:` (no champion.yaml),
    the artifact tracked by git; pushed to a bare origin."""
    repo = make_repo(tmp_path, config=None, commit=False)
    subprocess.run(
        [sys.executable, "-m", "dvc", "init", "-q"],
        cwd=repo.path,
        check=True,
        capture_output=True,
        timeout=TIMEOUT,
        env=os.environ.copy(),
    )
    (repo.path / "dvc.yaml").write_text(
        "artifacts:\n  churn:\n    path: models/churn.bin\n    type: model\n    desc: Churn\n"
    )
    repo.git("add", "-A")
    repo.commit_artifact("model v1")
    repo.git("push", "-q", "origin", "main")
    return repo


def dvc_rev(repo: Repo, stage: str) -> str:
    import dvc.api

    found = dvc.api.artifacts_show("churn", stage=stage, repo=str(repo.path))
    assert found["path"] == "models/churn.bin"
    return found["rev"]


# Each sequence promotes versions to prod in turn; the last one must end up live.
SEQUENCES = {
    # promote 0.1.0, promote 0.1.1, back to 0.1.0: unassign 0.1.1 (#4) then assign 0.1.0 (#5).
    "rollback": ["0.1.0", "0.1.1", "0.1.0"],
    # back and forth until the counter passes 9, so tags #9, #10 and #11 coexist.
    "flip-flop-past-ten": ["0.1.0", "0.1.1"] * 3,
}


# GTO orders a version's assign/unassign tags, and DVC the tags naming a stage, by tag date in
# whole seconds; "same-second" is what a script or CI job that promotes and rolls back quickly
# produces.
@pytest.mark.parametrize("step", [1, 0], ids=["one-second-apart", "same-second"])
@pytest.mark.parametrize("sequence", list(SEQUENCES))
def test_after_a_rollback_every_reader_names_the_same_version(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sequence: str,
    step: int,
) -> None:
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("DVC_SITE_CACHE_DIR", str(tmp_path / "dvc-site-cache"))
    repo = dvc_repo(tmp_path)
    clock = GitClock(monkeypatch, start=int(time.time()), step=step)
    commits = {"0.1.0": repo.git("rev-parse", "HEAD")}
    ok(capsys, repo, "register", "churn", "--push")
    clock.tick()
    commits["0.1.1"] = repo.commit_artifact("model v2")
    ok(capsys, repo, "register", "churn", "--push")
    for version in SEQUENCES[sequence]:
        clock.tick()
        out = ok(capsys, repo, "promote", "churn", version, "--stage", "prod", "--push")

    expected = SEQUENCES[sequence][-1]
    last_counter = 2 * len(SEQUENCES[sequence]) - 1
    # The last promotion unassigned the live version, then assigned the target, in one push.
    assert f"churn#prod!#{last_counter - 1}, churn#prod#{last_counter}, pushed to origin" in out
    status = champion_json(capsys, repo.path, "status", "churn")["models"][0]["stages"]["prod"]
    assert status["tag"] == f"churn#prod#{last_counter}"

    shown = gto_cli_view(repo)
    found = gto_api_live(repo, ["prod"])["prod"]
    readers = {
        "champion status": status["version"],
        "gto show churn": ",".join(x.removeprefix("v") for x in shown["live"].get("prod", [])),
        "gto show": (shown["registry_live"].get("prod") or "").removeprefix("v"),
        "gto.api.find_versions_in_stage": ",".join(x.removeprefix("v") for x in found or []),
        "dvc.api.artifacts_show": next(
            (x for x, c in commits.items() if c == dvc_rev(repo, "prod")), "?"
        ),
    }
    assert readers == dict.fromkeys(readers, expected)

"""A poisoned pointer (issue 14 item 2): hand-edited, or written by a buggy publisher, to claim
what the registry does not hold. publish and promote replace it and say so; a pointer from a
newer view of the registry stays (test_publish.py); a service reports "degraded" rather than
"ok" and keeps serving (tests/runtime/test_live_poisoning.py), here end to end with real git."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from champion.runtime import LiveModel
from testing.deploy import ok, read_pointer, run
from testing.models import save, train
from testing.releases import Capsys
from testing.repos import Repo, make_repo, run_cli

Poison = Callable[[dict[str, Any], Repo], None]


def counter(raw: str) -> Poison:
    """The counter written as `raw` JSON text (a 5000-digit one cannot go through json.dumps)."""

    def poison(p: dict[str, Any], repo: Repo) -> None:
        p["counter"] = RAW
        p[RAW] = raw

    return poison


RAW = "raw-counter"


def forged_newer(p: dict[str, Any], repo: Repo) -> None:
    """What the sweep did: a newer-looking view naming a version nobody registered."""
    p.update(version="9.9.9", tag="churn#prod#99", counter=99)


def other_model(p: dict[str, Any], repo: Repo) -> None:
    p["model"] = "fraud"


def other_stage(p: dict[str, Any], repo: Repo) -> None:
    p["stage"] = "staging"


def unloadable_format(p: dict[str, Any], repo: Repo) -> None:
    p["artifact"]["format"] = "exe"


def wrong_commit(p: dict[str, Any], repo: Repo) -> None:
    p["commit"] = repo.git("rev-parse", "churn@v0.3.0^{commit}")


def forged_canary(p: dict[str, Any], repo: Repo) -> None:
    p["canary"] = {
        "version": "0.3.0",
        "weight": 0.5,
        "tag": "churn#prod-canary#2",
        "commit": repo.git("rev-parse", "churn@v0.3.0^{commit}"),
        "artifact": p["artifact"],
    }


POISONS: dict[str, tuple[Poison, str]] = {
    "counter 999": (counter("999"), "its counter 999 is beyond the last event of churn (#1)"),
    "forged newer version": (forged_newer, "its counter 99 is beyond the last event"),
    "5000-digit counter": (counter("9" * 5000), "a number of 5000 digits"),
    "counter as text": (counter('"7"'), "'counter' must be a non-negative integer"),
    "negative counter": (counter("-1"), "'counter' must be a non-negative integer"),
    "counter beyond any history": (counter("1" + "0" * 12), "is beyond any model's history"),
    "another model": (other_model, "it is a pointer for model 'fraud', not 'churn'"),
    "another stage": (other_stage, "it is a pointer for stage 'staging', not 'prod'"),
    "unloadable format": (unloadable_format, "format 'exe', which no service loads"),
    "tag at another commit": (wrong_commit, "names churn#prod#1 at"),
    "a canary nobody started": (forged_canary, "names churn#prod-canary#2 at"),
}


def pointers(repo: Repo) -> Path:
    return repo.path.parent / "pointers"


def poison_pointer(repo: Repo, poison: Poison) -> None:
    data = read_pointer(pointers(repo))
    poison(data, repo)
    raw = data.pop(RAW, None)
    text = json.dumps(data)
    if raw is not None:
        text = text.replace(f'"counter": "{RAW}"', f'"counter": {raw}')
    (pointers(repo) / "prod.json").write_text(text)


@pytest.mark.parametrize(("poison", "reason"), POISONS.values(), ids=POISONS)
def test_publish_replaces_a_poisoned_pointer_and_says_why(
    project: Repo, capsys: Capsys, poison: Poison, reason: str
) -> None:
    poison_pointer(project, poison)
    out = ok(run(capsys, project, "publish", "churn"))
    assert f"pointer {pointers(project) / 'prod.json'} was invalid (" in out
    assert reason in out
    assert "): replaced, it now names 0.1.0" in out
    data = read_pointer(pointers(project))
    assert (data["model"], data["version"], data["counter"], data["tag"]) == (
        "churn",
        "0.1.0",
        1,
        "churn#prod#1",
    )
    # Converged: the next publish finds its own pointer.
    assert "already names 0.1.0" in ok(run(capsys, project, "publish", "churn"))


def test_promote_after_a_forged_counter_moves_the_pointer(project: Repo, capsys: Capsys) -> None:
    """Before: every later publish and promote exited 0 with "left as is: it holds a newer view",
    forever."""
    poison_pointer(project, forged_newer)
    out = ok(run(capsys, project, "promote", "churn", "0.3.0", "--stage", "prod", "--push"))
    assert "promoted churn 0.3.0" in out
    assert "was invalid (its counter 99 is beyond the last event of churn (#3)" in out
    assert "replaced, it now names 0.3.0" in out
    assert read_pointer(pointers(project))["version"] == "0.3.0"
    assert read_pointer(pointers(project))["counter"] == 3


# --- end to end: a service following the pointer ------------------------------------------------

CONFIG = """\
models:
  churn:
    path: models/churn.joblib
    pointer: ../pointers
"""


@pytest.fixture
def served(tmp_path: Path, capsys: Capsys) -> Repo:
    """churn 0.1.0 and 0.2.0, real joblib models tracked by git, 0.1.0 live and published."""
    repo = make_repo(tmp_path, CONFIG, commit=False)
    for n, kind in ((1, "good"), (2, "weak")):
        save(train(kind, n=400), repo.path / "models" / "churn.joblib")
        repo.git("add", "-A")
        repo.git("commit", "-q", "-m", f"train {n}")
        repo.git("push", "-q", "origin", "main")
        ok(run_cli(capsys, repo.path, "register", "churn", "--version", f"0.{n}.0", "--push"))
    ok(run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod", "--push"))
    return repo


def test_a_service_reports_a_repaired_poisoning_as_degraded_and_a_restart_follows(
    served: Repo, capsys: Capsys, tmp_path: Path
) -> None:
    folder = str(pointers(served))
    live = LiveModel("churn", folder, tmp_path / "cache")
    assert live.version == "0.1.0" and live.health()["status"] == "ok"
    # A hand edit: a counter far ahead, still naming 0.1.0. Nothing a service can check refutes
    # it (the tags are not visible to it): it follows, as it follows any newer pointer.
    poison_pointer(served, counter(999))
    live.refresh()
    assert live.health()["pointer_counter"] == 999
    # The release of 0.2.0 repairs the pointer, and says so.
    out = ok(run_cli(capsys, served.path, "promote", "churn", "0.2.0", "--stage", "prod", "--push"))
    assert "was invalid (its counter 999 is beyond the last event of churn (#3)" in out
    assert read_pointer(pointers(served))["version"] == "0.2.0"
    # The running service cannot tell a repair from a stale copy: it keeps serving, degraded.
    assert live.refresh() is False
    health = live.health()
    assert (health["status"], health["version"]) == ("degraded", "0.1.0")
    assert "went back from counter 999 to 3 (0.2.0)" in str(health["last_error"])
    assert "Restart the service" in str(health["last_error"])
    restarted = LiveModel("churn", folder, tmp_path / "cache")
    assert restarted.version == "0.2.0" and restarted.health()["status"] == "ok"

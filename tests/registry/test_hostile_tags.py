"""Tags that lie or crash (issue 14.4), read by champion and by GTO itself.

Hand-made tags on a real repository: lies in the metadata, malformed metadata, near-miss names,
a 5000-digit counter in the origin's refs. None may give exit 3; champion reads what GTO reads
(the tag's name and commit) and names every tag it reads otherwise. A hypothesis property test
throws generated hostile tags at a real registry and asserts champion and GTO's own reader agree
on what is live, or champion names a hostile tag in a warning.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from gto import api as gto_api
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from champion.registry import Registry
from testing.deploy import MODEL, build_git_project, cli, ok, read_pointer, run
from testing.releases import Capsys
from testing.repos import Repo, copy_project, git, isolated
from testing.tools import gto_json

ZERO = "\u0660"  # ARABIC-INDIC DIGIT ZERO: a digit for Python's \d, not for GTO or git users


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """0.1.0 .. 0.3.0 registered; 0.1.0 then 0.2.0 promoted to prod (tags #1-#3); the pointer
    ../pointers/prod.json names 0.2.0; a fourth commit that holds no version."""
    base = tmp_path_factory.mktemp("hostile")
    with isolated(base):
        repo = build_git_project(base)
        cli(repo, "promote", "churn", "0.2.0", "--stage", "prod", "--push")
        repo.commit_artifact("model 4", MODEL, message="unregistered")
        repo.git("push", "-q", "origin", "main")
    return base


def commit_of(repo: Repo, version: str) -> str:
    return repo.git("rev-parse", f"churn@v{version}^{{commit}}")


def hand_tag(repo: Repo, name: str, commit: str, body: str | None, date: int) -> None:
    """An annotated tag as anyone with push access could write it (body None: lightweight)."""
    annotated = [] if body is None else ["-a", "--cleanup=verbatim", "-F", "-"]
    subprocess.run(
        ["git", "tag", *annotated, name, commit],
        cwd=repo.path,
        input=None if body is None else f"Hand-made\n\n{body}\n",
        text=True,
        check=True,
        capture_output=True,
        env={**_env(), "GIT_COMMITTER_DATE": f"@{date} +0000"},
    )


def _env() -> dict[str, str]:
    return dict(os.environ)


def newest_tag_date(repo: Repo) -> int:
    out = repo.git("for-each-ref", "--format=%(taggerdate:unix)", "refs/tags")
    return max(int(x) for x in out.split() if x)


def oldest_tag_date(repo: Repo) -> int:
    out = repo.git("for-each-ref", "--format=%(taggerdate:unix)", "refs/tags")
    return min(int(x) for x in out.split() if x)


def never_exit_3(capsys: Capsys, repo: Repo, *args: str) -> tuple[int, str, str]:
    result = run(capsys, repo, *args)
    assert result.code != 3, result.err
    assert "Traceback" not in result.err
    return result.code, result.out, result.err


# --- the cases of the issue ---------------------------------------------------------------------


def test_a_stage_tag_whose_metadata_lies_is_read_by_its_name_and_commit(
    project: Repo, capsys: Capsys
) -> None:
    repo = project
    date = newest_tag_date(repo) + 1
    # On 0.3.0's commit, with metadata claiming 0.1.0: GTO (and DVC) say 0.3.0 is live.
    lie = {"schema": 1, "event": "assign", "model": "churn", "stage": "prod", "version": "0.1.0"}
    hand_tag(repo, "churn#prod#4", commit_of(repo, "0.3.0"), json.dumps(lie), date)
    repo.git("push", "-q", "origin", "churn#prod#4")

    status = json.loads(ok(run(capsys, repo, "status", "churn", "--json")))
    assert status["models"][0]["stages"]["prod"]["version"] == "0.3.0"
    assert gto_json(repo.path, "show")["churn"]["stage"]["prod"] == "v0.3.0"
    result = run(capsys, repo, "status", "churn")
    assert "tag churn#prod#4: its metadata says version '0.1.0', not '0.3.0'" in result.err
    # The pointer serves 0.3.0's own artifact under 0.3.0's commit, not 0.1.0's.
    ok(run(capsys, repo, "publish", "churn"))
    pointer = read_pointer(repo.path.parent / "pointers")
    assert (pointer["version"], pointer["commit"]) == ("0.3.0", commit_of(repo, "0.3.0"))
    assert Path(pointer["artifact"]["url"]).read_bytes() == b"model 3"


@pytest.mark.parametrize(
    "body",
    [
        '{"a":' * 150_000 + "1" + "}" * 150_000,
        '{"schema": 1, "after_counter": ' + "9" * 5000 + "}",
        '{"schema": 1, "canary": "heavy"}',
        '{"schema": 1, "artifact": "models/churn.bin"}',
        '{"schema": 1, "artifact": {"path": "models/churn.bin", "sha256": "ab", "size": "big"}}',
    ],
    ids=["deep", "huge-number", "canary-str", "artifact-str", "size-str"],
)
def test_malformed_metadata_never_gives_exit_3(project: Repo, capsys: Capsys, body: str) -> None:
    repo = project
    hand_tag(repo, "churn#prod#4", commit_of(repo, "0.3.0"), body, newest_tag_date(repo) + 1)
    repo.git("push", "-q", "origin", "churn#prod#4")
    for args in (
        ("status", "churn"),
        ("versions", "churn"),
        ("history", "churn"),
        ("status", "churn", "--json"),
        ("publish", "churn"),
        ("rollback", "churn", "--reason", "x", "--dry-run", "--push"),
    ):
        code, _, err = never_exit_3(capsys, repo, *args)
        assert code == 0, (args, err)
        assert args[0] == "publish" or "tag churn#prod#4: its metadata" in err, args
    out = ok(run(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push"))
    assert "churn#prod!#5, churn#prod#6" in out


def test_near_misses_and_a_5000_digit_counter_in_the_origin(project: Repo, capsys: Capsys) -> None:
    repo = project
    commit = commit_of(repo, "0.3.0")
    date = newest_tag_date(repo) + 1
    for name in ("churn#prod#-1", "churn@v1.0", "churn@v01.2.3", f"churn#prod#1{ZERO}{ZERO}"):
        hand_tag(repo, name, commit, '{"schema": 1}', date)
        repo.git("push", "-q", "origin", f"refs/tags/{name}")
    # git cannot store a 5000-character ref name in a file: it can sit in packed-refs, though.
    tag_object = repo.git("rev-parse", "churn#prod#-1")
    huge = "churn#prod#" + "9" * 5000
    with (repo.origin / "packed-refs").open("a") as packed:
        packed.write(f"{tag_object} refs/tags/{huge}\n^{commit}\n")
    assert huge in git(repo.origin, "ls-remote", ".", "refs/tags/churn#*")

    code, out, err = never_exit_3(capsys, repo, "status", "churn", "--remote")
    assert code == 0, err
    [warning] = [line for line in err.splitlines() if "not in GTO's grammar" in line]
    for name in ("churn#prod#-1", "churn@v1.0", "churn@v01.2.3", f"churn#prod#1{ZERO}{ZERO}"):
        assert name in warning
    assert "churn#prod#999" in warning
    # Writes with --push read the origin too: they work, and the pointer follows.
    code, out, err = never_exit_3(
        capsys, repo, "promote", "churn", "0.3.0", "--stage", "prod", "--push"
    )
    assert code == 0, err
    assert "churn#prod!#4, churn#prod#5, pushed to origin" in out
    assert read_pointer(repo.path.parent / "pointers")["version"] == "0.3.0"
    assert gto_json(repo.path, "show")["churn"]["stage"]["prod"] == "v0.3.0"


# --- champion and GTO agree on generated hostile tags, or champion names one ---------------------


@dataclass(frozen=True)
class Hostile:
    name: str
    commit: str  # one of "0.1.0", "0.2.0", "0.3.0", "none" (the commit without a version)
    body: str | None  # None: lightweight; "" : GTO's plain text
    backdated: bool = False  # dated before the registry's first tag (a skewed clock)


_counter = st.one_of(
    st.integers(min_value=4, max_value=12).map(str),
    st.sampled_from(["02", "007", f"1{ZERO}", "-1", "9" * 31]),
)
_stage = st.sampled_from(["prod", "staging", "Prod", "dev_1"])
_version = st.sampled_from(
    ["v0.4.0", "v0.1.0", "v04.0.0", "v0.4", f"v0{ZERO}.4.0", "v0.4.0-rc.1", "V0.4.0"]
)
_names = st.one_of(
    st.builds(lambda s, c: f"churn#{s}#{c}", _stage, _counter),
    st.builds(lambda s, c: f"churn#{s}!#{c}", _stage, _counter),
    _version.map(lambda v: f"churn@{v}"),
    st.sampled_from(["v0.2.0", "v0.3.0", "v0.1.0"]).map(lambda v: f"churn@{v}!"),
    st.sampled_from(["churn@deprecated", "churn#prod", "churn@created", "Churn#prod#9"]),
)
_bodies = st.sampled_from(
    [
        "",
        None,
        '{"schema": 1, "version": "0.1.0"}',
        '{"schema": 1, "version": "7.7.7", "event": "register"}',
        '{"schema": 1, "canary": "heavy", "after_counter": 99}',
        '{"schema": 1, "mark": "rolled-back"}',
        '{"a":' * 40 + "1" + "}" * 40,
    ]
)
hostiles = st.lists(
    st.builds(
        Hostile,
        _names,
        st.sampled_from(["0.1.0", "0.2.0", "0.3.0", "none"]),
        _bodies,
        st.booleans(),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda h: h.name,
)


@pytest.fixture(scope="module")
def registry_repo(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    base = tmp_path_factory.mktemp("hostile-property")
    with isolated(base):
        yield copy_project(template, base)


def gto_live(repo: Repo) -> tuple[dict[str, str], bool] | None:
    """What `gto show` says is live per stage, and whether the model is active; None when GTO
    fails on the registry (it does on some tags)."""
    try:
        shown = gto_api.show(str(repo.path), deprecated=True)
    except Exception:  # GTO's own failures, whatever their type
        return None
    churn = shown.get("churn")
    if churn is None:
        return {}, False
    live = {s: str(v).removeprefix("v") for s, v in churn["stage"].items() if v}
    return live, bool(churn["active"])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tags=hostiles)
def test_champion_and_gto_agree_on_hostile_tags_or_champion_names_one(
    registry_repo: Repo, tags: list[Hostile]
) -> None:
    repo = registry_repo
    commits = {v: commit_of(repo, v) for v in ("0.1.0", "0.2.0", "0.3.0")}
    commits["none"] = repo.git("rev-parse", "main")
    date = newest_tag_date(repo) + 10
    early = oldest_tag_date(repo) - 100
    made = []
    try:
        for i, tag in enumerate(tags):
            body = tag.body if tag.body is None else tag.body or "written by hand"
            try:
                when = (early if tag.backdated else date) + i
                hand_tag(repo, tag.name, commits[tag.commit], body, when)
            except subprocess.CalledProcessError:
                continue  # git refuses the name itself (e.g. a counter git cannot store)
            made.append(tag.name)
        state = Registry(repo.path).state("churn")  # must not raise, whatever the tags
        ours = {s: str(live.version) for s, live in state.live.items()}
        named = any(name in w for w in state.warnings for name in made)
        theirs = gto_live(repo)
        if theirs is None:
            assert named, f"GTO fails on {made}; champion warned only {state.warnings}"
            return
        live, active = theirs
        if ours != live or state.deprecated == active:
            assert named, f"champion {ours} vs GTO {live} on {made}: {state.warnings}"
    finally:
        if made:
            repo.git("tag", "-d", *made)

"""Several processes writing the same model against one bare origin at the same instant.

Real git and real `python -m champion` processes, released together by a barrier
(see `testing.race`). No tag may be lost, overwritten or reused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from testing.race import run_together
from testing.repos import Repo, git, make_repo, run_cli

WORKERS = 8
PROMOTERS = 4
STAGE_WRITERS = 6

_TAG = re.compile(
    r"^churn(?:@v(?P<version>\d+\.\d+\.\d+)|#(?P<stage>[a-z]+)(?P<un>!?)#(?P<n>\d+))$"
)


def origin_tags(repo: Repo, pattern: str) -> dict[str, tuple[str, str]]:
    """The origin's tags matching `pattern`: name -> (object type, peeled commit)."""
    out = git(
        repo.origin,
        "for-each-ref",
        "--format=%(refname:strip=2) %(objecttype) %(*objectname)",
        f"refs/tags/{pattern}",
    )
    tags = {}
    for line in out.splitlines():
        name, _, rest = line.partition(" ")
        otype, _, peeled = rest.partition(" ")  # peeled is empty for a lightweight tag
        tags[name] = (otype, peeled)
    return tags


def tag_metadata(repo: Repo, tag: str) -> dict[str, object]:
    body = git(repo.origin, "for-each-ref", "--format=%(contents:body)", f"refs/tags/{tag}")
    data = json.loads(body)
    assert isinstance(data, dict)
    return data


def ok(capsys: pytest.CaptureFixture[str], repo: Repo, *args: str) -> str:
    result = run_cli(capsys, repo.path, *args)
    assert result.code == 0, f"champion {' '.join(args)}: {result.err}"
    return result.out


def test_concurrent_registrations_get_distinct_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path)
    ok(capsys, repo, "register", "churn", "--push")  # 0.1.0 already there before the race
    before = origin_tags(repo, "churn@*")
    assert list(before) == ["churn@v0.1.0"]
    first_tag_object = git(repo.origin, "rev-parse", "refs/tags/churn@v0.1.0")

    clones, commits = [], []
    for i in range(WORKERS):
        clone = repo.clone(tmp_path / f"worker-{i}")
        commits.append(clone.commit_artifact(f"model trained by worker {i}", message=f"train {i}"))
        clones.append(clone)
    assert len(set(commits)) == WORKERS

    results = run_together(
        [
            (c.path, ["-C", str(c.path), "register", "churn", "--bump", "patch", "--push"])
            for c in clones
        ],
        tmp_path / "barrier",
    )
    for r in results:
        assert r.code == 0, f"{r.args}: {r.err}"

    after = origin_tags(repo, "churn@*")
    new = {t: after[t] for t in after if t not in before}
    # Nothing existing was touched, and exactly one new version per worker, with no gap.
    assert after["churn@v0.1.0"] == before["churn@v0.1.0"]
    assert git(repo.origin, "rev-parse", "refs/tags/churn@v0.1.0") == first_tag_object
    assert sorted(new, key=lambda t: int(t.rsplit(".", 1)[1])) == [
        f"churn@v0.1.{n}" for n in range(1, WORKERS + 1)
    ]
    assert all(otype == "tag" for otype, _ in new.values()), "every tag is annotated"
    # Each tag is on a distinct one of the workers' commits.
    assert sorted(commit for _, commit in new.values()) == sorted(commits)

    # Each worker's output names a distinct version: the one whose tag is on its own commit.
    by_commit = {commit: tag for tag, (_, commit) in new.items()}
    said = []
    for clone, commit, r in zip(clones, commits, results, strict=True):
        m = re.search(r"registered churn (\S+) as (\S+) on ([0-9a-f]{12}), pushed to origin", r.out)
        assert m is not None, r.out
        version, tag, short = m.groups()
        assert tag == f"churn@v{version}" == by_commit[commit]
        assert commit.startswith(short)
        # The worker's own tag is the one the origin has (same tag object), not a stale local one.
        assert clone.git("rev-parse", f"refs/tags/{tag}") == git(
            repo.origin, "rev-parse", f"refs/tags/{tag}"
        )
        assert tag_metadata(repo, tag)["commit"] == commit
        said.append(version)
    assert len(set(said)) == WORKERS

    # champion reads the origin the same way.
    result = run_cli(capsys, repo.path, "versions", "churn", "--json", "--remote")
    assert result.code == 0, result.err
    listed = json.loads(result.out)["versions"]
    assert [x["version"] for x in listed] == [f"0.1.{n}" for n in range(WORKERS + 1)]


def test_concurrent_promotions_leave_one_live_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path)
    versions = {"0.1.0": repo.git("rev-parse", "HEAD")}
    ok(capsys, repo, "register", "churn", "--push")
    for n in range(1, PROMOTERS + 1):
        versions[f"0.1.{n}"] = repo.commit_artifact(f"model {n}")
        ok(capsys, repo, "register", "churn", "--push")
    # 0.1.0 is live, so every promotion has to retract whichever version is live when it lands.
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")

    clones = [repo.clone(tmp_path / f"promoter-{i}") for i in range(PROMOTERS)]
    wanted = [f"0.1.{i + 1}" for i in range(PROMOTERS)]
    outputs = [tmp_path / f"github-output-{i}" for i in range(PROMOTERS)]
    results = run_together(
        [
            (
                c.path,
                [
                    "-C",
                    str(c.path),
                    "promote",
                    "churn",
                    version,
                    "--stage",
                    "prod",
                    "--push",
                    "--github-output",
                    str(out),
                ],
            )
            for c, version, out in zip(clones, wanted, outputs, strict=True)
        ],
        tmp_path / "barrier",
    )
    for r in results:
        assert r.code == 0, f"{r.args}: {r.err}"

    commit_version = {c: x for x, c in versions.items()}
    stage_tags = origin_tags(repo, "churn#*")
    events = {}
    for name, (otype, commit) in stage_tags.items():
        m = _TAG.match(name)
        assert m is not None and m["stage"] == "prod", name
        assert otype == "tag"
        events[int(m["n"])] = ("unassign" if m["un"] else "assign", commit_version[commit], name)

    # Counters are unique (one tag each) and contiguous: the first assign, then a pair per promote.
    assert sorted(events) == list(range(1, 2 * PROMOTERS + 2))
    # Replayed in counter order, each unassign retracts exactly the live version and is directly
    # followed by the assign of the same promotion (the pair was pushed atomically).
    live = None
    for n in sorted(events):
        action, version, name = events[n]
        if action == "assign":
            assert live is None, f"{name} assigns {version} while {live} is still live"
            live = version
        else:
            assert version == live, f"{name} unassigns {version}, but {live} is live"
            assert n % 2 == 0 and events[n + 1][0] == "assign"
            assert tag_metadata(repo, name)["replaced_by"] == events[n + 1][1]
            live = None
    assert live == events[2 * PROMOTERS + 1][1]

    # Every promoter's assign tag is on the origin, on its version's commit, with a distinct counter.
    reported = []
    for version, out, r in zip(wanted, outputs, results, strict=True):
        values = dict(line.split("=", 1) for line in out.read_text().splitlines())
        assert values["to"] == version
        assert re.search(rf"promoted churn {re.escape(version)} to prod \(was (\S+)\)", r.out)
        assert stage_tags[values["tag"]] == ("tag", versions[version])
        reported.append((values["from"], values["tag"]))
    assert len({tag for _, tag in reported}) == PROMOTERS
    # Each promotion replaced the version live just before it: a chain from 0.1.0 to the winner.
    assert sorted(frm for frm, _ in reported) == sorted({"0.1.0", *wanted} - {live})

    # Exactly one live version by champion's rule, read from the origin and after a fetch.
    result = run_cli(capsys, repo.path, "status", "churn", "--json", "--remote")
    assert result.code == 0, result.err
    prod = json.loads(result.out)["models"][0]["stages"]
    assert prod == {
        "staging": None,
        "prod": {
            "version": live,
            "tag": f"churn#prod#{2 * PROMOTERS + 1}",
            "counter": 2 * PROMOTERS + 1,
            "commit": versions[live],
        },
    }
    repo.git("fetch", "-q", "origin", "refs/tags/*:refs/tags/*")
    result = run_cli(capsys, repo.path, "status", "churn", "--json")
    assert json.loads(result.out)["models"][0]["stages"] == prod

    from gto import api  # and GTO agrees: each version was assigned once, so no tie to break

    found = api.find_versions_in_stage(str(repo.path), "churn", "prod")
    assert [x.version for x in found or []] == [f"v{live}"]


def test_concurrent_writes_to_different_stages_take_distinct_counters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The counter is 1 + the largest among ALL the model's tags (DESIGN.md), not per stage: two
    # writers on different stages must not both take the next one (churn#prod#4 and
    # churn#staging#4), although their tags' names never collide.
    repo = make_repo(tmp_path)
    versions = {"0.1.0": repo.git("rev-parse", "HEAD")}
    ok(capsys, repo, "register", "churn", "--push")
    for n in range(1, STAGE_WRITERS + 1):
        versions[f"0.1.{n}"] = repo.commit_artifact(f"model {n}")
        ok(capsys, repo, "register", "churn", "--push")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "staging", "--push")
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod", "--push")
    # As GTO or an older champion would leave it: no counter ref yet, so the first writers race
    # to create it (tests/registry/test_counter_lease.py has each case alone).
    git(repo.origin, "update-ref", "-d", "refs/champion/counters/churn#counter")

    clones = [repo.clone(tmp_path / f"promoter-{i}") for i in range(STAGE_WRITERS)]
    stages = ["staging", "prod"] * (STAGE_WRITERS // 2)
    wanted = [f"0.1.{i + 1}" for i in range(STAGE_WRITERS)]
    results = run_together(
        [
            (c.path, ["-C", str(c.path), "promote", "churn", version, "--stage", stage, "--push"])
            for c, version, stage in zip(clones, wanted, stages, strict=True)
        ],
        tmp_path / "barrier",
    )
    for r in results:
        assert r.code == 0, f"{r.args}: {r.err}"

    counters: dict[int, list[str]] = {}
    for name in origin_tags(repo, "churn#*"):
        m = _TAG.match(name)
        assert m is not None, name
        counters.setdefault(int(m["n"]), []).append(name)
    assert {n: names for n, names in counters.items() if len(names) > 1} == {}
    # Two first assigns, then an unassign and an assign per promotion: nothing skipped either.
    assert sorted(counters) == list(range(1, 2 * STAGE_WRITERS + 3))

    # Each stage ends with the version of its last promotion by counter, as GTO reads it too.
    result = run_cli(capsys, repo.path, "status", "churn", "--json", "--remote")
    assert result.code == 0, result.err
    live = json.loads(result.out)["models"][0]["stages"]
    repo.git("fetch", "-q", "origin", "refs/tags/*:refs/tags/*")
    from gto import api

    for stage in ("staging", "prod"):
        assigns = [
            counters[n][0] for n in sorted(counters) if counters[n][0].startswith(f"churn#{stage}#")
        ]
        last = assigns[-1]
        assert live[stage]["tag"] == last
        found = api.find_versions_in_stage(str(repo.path), "churn", stage)
        assert [f"v{live[stage]['version']}"] == [x.version for x in found or []]

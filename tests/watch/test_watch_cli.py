"""`champion watch` end to end: a loopback server serves scripted metric sequences, the registry is
real git with a bare origin and a real DVC remote (tests/watch/conftest.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from testing.metrics_server import Seen, prometheus, sequence, serve
from testing.releases import read_outputs, tag_metadata
from testing.repos import Repo, Result, git, run_cli

FAST = ("--interval", "0.05s")


def run(repo: Repo, *args: str) -> Result:
    return run_cli(repo.capsys, repo.path, *args)  # type: ignore[attr-defined]


def watch(repo: Repo, *args: str) -> tuple[Result, dict[str, str]]:
    """`champion watch churn ARGS` with fast readings; returns the result and the outputs."""
    out = repo.path.parent / "github-output"
    out.unlink(missing_ok=True)
    result = run(repo, "watch", "churn", *FAST, *args, "--github-output", str(out))
    return result, read_outputs(out) if out.exists() else {}


def live(repo: Repo, stage: str = "prod") -> str:
    result = run(repo, "status", "churn", "--json")
    assert result.code == 0, result.err
    return str(json.loads(result.out)["models"][0]["stages"][stage]["version"])


def snapshot(repo: Repo) -> tuple[list[str], list[str], str]:
    pointer = repo.path.parent / "pointers" / "prod.json"
    return repo.tags(), repo.remote_tags(), pointer.read_text()


def test_healthy_readings_exit_0_and_write_nothing(project: Repo) -> None:
    before = snapshot(project)
    with serve(sequence("error_rate", [0.011, 0.02, 0.013])) as server:
        result, outputs = watch(
            project, "--source", f"{server.url}/metrics", "--rule", "error_rate < 0.05",
            "--rollback", "--push",
        )  # fmt: skip
    assert result.code == 0, result.err
    assert "watching churn 0.2.0 in prod" in result.out
    assert "healthy: churn 0.2.0 in prod met the rules over 3 readings" in result.out
    assert len(server.seen) == 3  # without --for: the readings the window needs
    assert outputs["verdict"] == "healthy" and outputs["rolled-back"] == "false"
    assert snapshot(project) == before


def test_a_single_spike_is_reported_and_rolls_nothing_back(project: Repo) -> None:
    before = snapshot(project)
    values = [0.01, 0.09, 0.012, 0.011, 0.2, 0.01]
    with serve(sequence("error_rate", values)) as server:
        result, outputs = watch(
            project, "--source", f"{server.url}/metrics", "--rule", "error_rate < 0.05",
            "--window", "2", "--for", "0.25s", "--rollback", "--push",
        )  # fmt: skip
    assert result.code == 0, result.err
    assert len(server.seen) == 6
    assert "reading 2 at" in result.out and "error_rate 0.09 BREACH (not < 0.05, 1/2)" in result.out
    assert "2 breached reading(s), never 2 consecutive readings: not sustained" in result.out
    assert outputs["verdict"] == "healthy"
    assert snapshot(project) == before


def test_a_sustained_breach_rolls_back_with_the_evidence_in_the_tags(project: Repo) -> None:
    values = [0.012, 0.071, 0.083, 0.094, 0.01]
    with serve(sequence("error_rate", values)) as server:
        result, outputs = watch(
            project, "--source", f"{server.url}/metrics", "--rule", "error_rate < 0.05",
            "--rule", "error_rate <= 1", "--for", "10s", "--rollback", "--push",
        )  # fmt: skip
    assert result.code == 1, result.err
    assert len(server.seen) == 4  # it stops at the breach, long before --for is over
    out = result.out
    assert (
        "breached: error_rate < 0.05 breached at 3 consecutive readings (0.071, 0.083, 0.094)"
        in out
    )
    assert "rolled churn in prod back from 0.2.0 to 0.1.0: churn#prod!#5, churn#prod#6" in out
    assert "pushed to origin" in out
    assert (outputs["verdict"], outputs["rolled-back"]) == ("breached", "true")
    assert (outputs["from"], outputs["to"], outputs["watched-version"]) == (
        "0.2.0",
        "0.1.0",
        "0.2.0",
    )
    assert live(project) == "0.1.0"
    assert project.remote_tags() == project.tags()

    # The reason is one line with the gist; the tags carry the whole evidence.
    assign = tag_metadata(project.origin, "churn#prod#6")
    assert assign["trigger"] == "watch" and "\n" not in assign["reason"]
    assert assign["reason"].startswith(
        "champion watch: error_rate < 0.05 breached at 3 consecutive"
    )
    evidence = assign["evidence"]
    assert (evidence["version"], evidence["stage"], evidence["readings"]) == ("0.2.0", "prod", 4)
    assert evidence["source"] == f"{server.url}/metrics"
    assert evidence["window"] == "3 consecutive readings"
    [breach] = evidence["breached"]
    assert breach["rule"] == "error_rate < 0.05"
    assert [r["value"] for r in breach["readings"]] == [0.071, 0.083, 0.094]
    assert {r["limit"] for r in breach["readings"]} == {0.05}
    assert tag_metadata(project.origin, "churn#prod!#5")["evidence"] == evidence

    # Visible in the audit trail, and the pointer follows.
    history = run(project, "history", "churn")
    assert (
        "rollback" in history.out and "from 0.2.0: champion watch: error_rate < 0.05" in history.out
    )
    pointer = json.loads((project.path.parent / "pointers" / "prod.json").read_text())
    assert pointer["version"] == "0.1.0"


def test_no_data_is_its_own_verdict_and_never_rolls_back(project: Repo) -> None:
    before = snapshot(project)
    with serve(sequence("error_rate", [None])) as server:
        result, outputs = watch(
            project, "--source", f"{server.url}/metrics", "--rule", "error_rate < 0.05",
            "--rollback", "--push",
        )  # fmt: skip
    assert result.code == 0, result.err
    assert "no data: error_rate < 0.05 could not be judged at any of 3 readings" in result.err
    assert "error_rate is null" in result.err
    assert outputs["verdict"] == "no data"
    assert snapshot(project) == before


def test_a_reading_without_data_interrupts_a_breach(project: Repo) -> None:
    before = snapshot(project)
    answers: list[Any] = [
        {"error_rate": 0.07},
        {"error_rate": 0.08},
        (503, b"busy"),  # a later failed read is a reading without data, not bad input
        {"error_rate": 0.09},
        {"error_rate": 0.1},
    ]
    with serve(answers) as server:
        result, outputs = watch(
            project, "--source", f"{server.url}/metrics", "--rule", "error_rate < 0.05",
            "--for", "0.2s", "--rollback", "--push",
        )  # fmt: skip
    assert result.code == 0, result.err
    assert "error_rate no data (source" in result.out and "answered HTTP 503" in result.out
    assert outputs["verdict"] == "healthy"
    assert snapshot(project) == before


BREACH = ("--rule", "error_rate < 0.05", "--rollback", "--push")


def test_no_rollback_when_the_live_version_changed_within_the_cooldown(project: Repo) -> None:
    before = snapshot(project)
    with serve(sequence("error_rate", [0.09])) as server:
        result, outputs = watch(project, "--source", server.url, *BREACH, "--cooldown", "3h")
    assert result.code == 1
    assert "warning: no automatic rollback: the live version changed 2h ago (churn#prod#3 made " \
        "0.2.0 live), within the cooldown (3h)" in result.err  # fmt: skip
    assert "previous automatic rollback" not in result.err
    assert (outputs["verdict"], outputs["rolled-back"]) == ("breached", "false")
    assert snapshot(project) == before


def test_no_rollback_within_the_cooldown_of_the_previous_automatic_one(project: Repo) -> None:
    with serve(sequence("error_rate", [0.09])) as server:
        first, _ = watch(project, "--source", server.url, *BREACH)
        assert first.code == 1 and "rolled churn in prod back" in first.out, first.err
        # The version live now (0.1.0) breaches too: a watch does not roll back twice in a row.
        before = snapshot(project)
        second, outputs = watch(project, "--source", server.url, *BREACH, "--cooldown", "1h")
    assert second.code == 1
    assert (
        "no automatic rollback: the previous automatic rollback (churn#prod#6: 0.2.0 → 0.1.0)"
        in second.err
    )
    assert "within the cooldown (1h): a watch does not roll back twice in a row" in second.err
    # Its own rollback is the change; it is reported once, as what it is.
    assert "the live version changed" not in second.err
    assert outputs["rolled-back"] == "false"
    assert snapshot(project) == before
    assert live(project) == "0.1.0"


def test_no_rollback_without_an_eligible_target(project: Repo) -> None:
    before = snapshot(project)
    with serve(sequence("error_rate", [0.09])) as server:
        result, outputs = watch(project, "--source", server.url, "--stage", "staging", *BREACH)
    assert result.code == 1
    assert (
        "no automatic rollback: no eligible target: no version was live in staging before 0.2.0"
        in result.err
    )
    assert outputs["rolled-back"] == "false"
    assert snapshot(project) == before


def test_a_failed_rollback_is_reported_with_the_breach(project: Repo) -> None:
    shutil.rmtree(project.path.parent / "dvc-remote")  # the target's artifact is gone
    (project.path.parent / "dvc-remote").mkdir()
    before = snapshot(project)
    with serve(sequence("error_rate", [0.09])) as server:
        result, outputs = watch(project, "--source", server.url, *BREACH)
    assert result.code == 1
    assert "warning: no automatic rollback: it failed: " in result.err
    assert (outputs["verdict"], outputs["rolled-back"]) == ("breached", "false")
    assert snapshot(project) == before


def test_breached_without_rollback_reports_and_writes_nothing(project: Repo) -> None:
    before = snapshot(project)
    with serve(sequence("latency", [{"p95": 310}, {"p95": 320}, {"p95": 350}])) as server:
        result, outputs = watch(
            project, "--source", server.url, "--rule", "latency_p95_ms <= 300",
            "--metric", "latency_p95_ms=/latency/p95",
        )  # fmt: skip
    assert result.code == 1
    assert (
        "breached: latency_p95_ms <= 300 breached at 3 consecutive readings (310, 320, 350)"
        in result.out
    )
    assert "nothing rolled back (--rollback rolls back automatically)" in result.out
    assert outputs["breach"].startswith("champion watch: latency_p95_ms <= 300 breached")
    assert snapshot(project) == before


def test_a_prometheus_instant_query_per_metric(project: Repo) -> None:
    query = 'sum(rate(http_errors_total{model="churn"}[5m])) / sum(rate(http_requests_total[5m]))'
    with serve([prometheus("0.07")]) as server:
        result, outputs = watch(
            project, "--source", f"prom+{server.url}/prom", "--rule", "error_rate < 0.05",
            "--metric", f"error_rate={query}",
        )  # fmt: skip
    assert result.code == 1, result.err
    assert "error_rate 0.07 BREACH (not < 0.05, 3/3)" in result.out
    assert outputs["verdict"] == "breached"
    assert {(s.path, s.query["query"]) for s in server.seen} == {("/prom/api/v1/query", query)}
    assert all("time" not in s.query for s in server.seen)  # the current value


def test_a_prometheus_query_without_series_is_no_data(project: Repo) -> None:
    with serve([prometheus(None)]) as server:
        result, outputs = watch(project, "--source", f"prom+{server.url}", *BREACH)
    assert result.code == 0, result.err
    assert "query 'error_rate' returned no series" in result.err
    assert outputs["verdict"] == "no data"


def test_a_baseline_rule_asks_prometheus_for_the_previous_version_as_it_was_live(
    project: Repo,
) -> None:
    def answer(seen: Seen) -> dict[str, Any]:
        return prometheus("0.2" if "time" in seen.query else "0.17")

    with serve([answer]) as server:
        result, outputs = watch(
            project, "--source", f"prom+{server.url}", "--rule", "conversion >= 0.95 * baseline",
        )  # fmt: skip
    assert result.code == 1, result.err
    # 0.1.0 stopped being live when 0.2.0's promotion unassigned it; the baseline is the second before.
    unassigned = int(
        git(project.path, "for-each-ref", "--format=%(creatordate:unix)", "refs/tags/churn#prod!#2")
    )
    [asked] = [s for s in server.seen if "time" in s.query]
    assert float(asked.query["time"]) == unassigned - 1
    assert "baseline: 0.1.0 at" in result.out and "conversion 0.2" in result.out
    assert "conversion 0.17 BREACH (not >= 0.19, 3/3)" in result.out
    assert outputs["verdict"] == "breached"


def test_a_baseline_document_per_version_for_a_json_source(project: Repo, tmp_path: Path) -> None:
    (tmp_path / "kpi-0.1.0.json").write_text(json.dumps({"shop": {"conversion": 0.2}}))
    rule = ("--rule", "conversion >= baseline - 0.01", "--metric", "conversion=shop.conversion")
    baseline = ("--baseline", str(tmp_path / "kpi-{version}.json"))
    with serve([{"shop": {"conversion": 0.195}}]) as server:
        healthy, _ = watch(project, "--source", server.url, *rule, *baseline)
    assert healthy.code == 0, healthy.err
    assert "conversion 0.195 ok" in healthy.out
    with serve([{"shop": {"conversion": 0.18}}]) as server:
        breached, _ = watch(project, "--source", server.url, *rule, *baseline)
    assert breached.code == 1, breached.err
    assert "conversion >= baseline - 0.01 (limit 0.19) breached at 3 consecutive" in breached.out


SECRET = "s3cr3t-t0ken-value"


def test_headers_come_from_the_environment_and_never_reach_the_output(
    project: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METRICS_TOKEN", f"Bearer {SECRET}")
    header = ("--header", "Authorization=METRICS_TOKEN")
    with serve([{"error_rate": 0.01}]) as server:
        ok, _ = watch(project, "--source", server.url, "--rule", "error_rate < 0.05", *header)
    assert ok.code == 0, ok.err
    assert {s.headers["authorization"] for s in server.seen} == {f"Bearer {SECRET}"}
    # A server that echoes the token in its error, and one that redirects elsewhere.
    echo = {"status": "error", "errorType": "auth", "error": f"Bearer {SECRET}: {SECRET} expired"}
    with serve([echo]) as server:
        refused, _ = watch(project, "--source", f"prom+{server.url}", *BREACH, *header)
    with serve([(302, b"")]) as server:
        redirected, _ = watch(project, "--source", server.url, *BREACH, *header)
    assert refused.code == 2 and "API: ***: *** expired" in refused.err
    assert redirected.code == 2 and "HTTP 302" in redirected.err
    assert len(server.seen) == 1  # the redirect was not followed
    for result in (ok, refused, redirected):
        assert SECRET not in result.out + result.err


@pytest.mark.parametrize(
    ("answers", "args", "named"),
    [
        ([], ("--source", "http://127.0.0.1:9/metrics"), "source http://127.0.0.1:9/metrics is unreachable"),
        ([(200, b"{not json")], ("--source", "URL"), "did not answer with valid JSON"),
        ([(200, b"[" * 5000 + b"]" * 5000)], ("--source", "URL"), "nested more than 64 levels deep"),
        ([(200, b'{"error_rate": ' + b"1" * 5000 + b"}")], ("--source", "URL"), "a number of 5000 digits"),
        ([{"error_rate": 0.01}], ("--source", "URL", "--rule", "error_rte < 0.05"),
         "rule `error_rte < 0.05`: 'error_rte' is not in the document (keys at the top: error_rate)"),
        ([{"error_rate": "high"}], ("--source", "URL"), "the string 'high', not a number"),
        ([{"error_rate": 0.01}], ("--source", "URL", "--rule", "error_rate = 0.05"),
         "rule `error_rate = 0.05` is malformed"),
        ([{"error_rate": 0.01}], ("--source", "URL", "--rule", "error_rate < lots"),
         "`lots` is neither a number nor a baseline expression"),
        ([{"conversion": 0.2}], ("--source", "URL", "--rule", "conversion >= 0.9 * baseline"),
         "compares with the baseline, but source"),
        ([{"error_rate": 0.01}], ("--source", "URL", "--interval", "soon"), "--interval 'soon' is not a duration"),
        ([{"error_rate": 0.01}], ("--source", "URL", "--for", "0.05s"), "--for 0.05s: too short for the window"),
        ([{"error_rate": 0.01}], ("--source", "URL", "--header", "X-Token=NOT_SET_ANYWHERE"),
         "the environment variable NOT_SET_ANYWHERE is not set"),
        ([], ("--source", "ftp://example.com/m.json"), "unknown scheme 'ftp'"),
        ([prometheus("0.1", series=3)], ("--source", "prom+URL"), "returned 3 series; aggregate it"),
        ([{"error_rate": 0.01}], ("--source", "URL", "--stage", "qa"), "qa"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_names_the_culprit_and_writes_nothing(
    project: Repo, answers: list[Any], args: tuple[str, ...], named: str
) -> None:
    before = snapshot(project)
    with serve(answers or [{}]) as server:
        args = tuple(a.replace("URL", server.url) for a in args)
        rule = () if "--rule" in args else ("--rule", "error_rate < 0.05")
        result, outputs = watch(project, *args, *rule, "--rollback", "--push")
    assert result.code == 2, result.out + result.err
    assert named in result.err
    assert result.err.startswith("error: ") and result.err.count("\n") == 1
    assert outputs == {}
    assert snapshot(project) == before

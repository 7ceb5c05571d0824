"""`champion comment` end to end: a real report, the real renderer, GitHub's API on `responses`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from champion.evaluation.report import read_report
from champion.render.markdown import fit, marker, render_comment
from testing.github import (
    BOT,
    NOT_ACCESSIBLE,
    REPO,
    SECONDARY_HEADERS,
    SECONDARY_RATE_LIMIT,
    FakeGitHub,
    Fault,
    pull_event,
    sent,
    workflow_run_event,
)
from testing.repos import Result, run_cli

Capsys = pytest.CaptureFixture[str]
PR = 7
MARK = marker("churn", "default")


@pytest.fixture
def event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    def write(name: str, payload: dict[str, Any]) -> Path:
        path = tmp_path / "event.json"
        path.write_text(json.dumps(payload))
        monkeypatch.setenv("GITHUB_EVENT_NAME", name)
        monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
        return path

    return write


@pytest.fixture
def same_repo_pr(event: Any) -> None:
    event("pull_request", pull_event(PR))


def comment(capsys: Capsys, tmp_path: Path, report: Path, *args: str) -> Result:
    return run_cli(capsys, tmp_path, "comment", "--report", str(report), *args)


def outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines())


def expected_body(report: Path) -> str:
    return render_comment(read_report(report), key="default")


@pytest.mark.usefixtures("same_repo_pr")
def test_creates_the_comment_and_writes_the_outputs(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys
) -> None:
    out_file = tmp_path / "out.txt"
    result = comment(capsys, tmp_path, report_path, "--github-output", str(out_file))
    assert result.code == 0, result.err
    assert fake.bodies(PR) == [expected_body(report_path)]
    assert fake.bodies(PR)[0].startswith(MARK + "\n")
    created = fake.comments[PR][0]
    assert created["user"]["login"] == BOT
    assert f"created comment {created['html_url']}" in result.out
    assert outputs(out_file) == {"comment-url": created["html_url"], "comment-action": "created"}
    # 100 a page, not GitHub's default 30.
    assert all("per_page=100" in str(r.url) for r in fake.calls("GET") if "comments" in str(r.url))


@pytest.mark.usefixtures("same_repo_pr")
def test_updates_its_own_comment_in_place(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys
) -> None:
    old = fake.add(PR, f"{MARK}\n### churn: an older run")
    fake.add(PR, "LGTM", login="alice")
    result = comment(capsys, tmp_path, report_path)
    assert result.code == 0, result.err
    assert f"updated comment {old['html_url']}" in result.out
    assert fake.bodies(PR) == [expected_body(report_path), "LGTM"]
    assert [r.method for r in fake.writes()] == ["PATCH"]
    assert str(fake.writes()[0].url).endswith(f"/issues/comments/{old['id']}")


@pytest.mark.usefixtures("same_repo_pr")
def test_an_unchanged_body_makes_no_write(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys
) -> None:
    assert comment(capsys, tmp_path, report_path).code == 0
    assert len(fake.writes()) == 1
    out_file = tmp_path / "out.txt"
    result = comment(capsys, tmp_path, report_path, "--github-output", str(out_file))
    assert result.code == 0, result.err
    assert "unchanged comment" in result.out
    assert outputs(out_file)["comment-action"] == "unchanged"
    assert len(fake.writes()) == 1  # still only the first run's POST
    assert len(fake.bodies(PR)) == 1


@pytest.mark.usefixtures("same_repo_pr")
def test_finds_its_comment_on_a_later_page(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys
) -> None:
    for i in range(120):
        fake.add(PR, f"review comment {i}", login="alice")
    ours = fake.add(PR, f"{MARK}\nold")  # comment 121: on page 2
    for i in range(15):
        fake.add(PR, f"more talk {i}", login="bob")
    result = comment(capsys, tmp_path, report_path)
    assert result.code == 0, result.err
    assert "updated comment" in result.out
    assert [r.method for r in fake.writes()] == ["PATCH"]
    assert str(fake.writes()[0].url).endswith(f"/issues/comments/{ours['id']}")
    assert any("/repositories/" in str(r.url) and "page=2" in str(r.url) for r in fake.calls("GET"))
    assert len(fake.bodies(PR)) == 136


@pytest.mark.usefixtures("same_repo_pr")
def test_the_latest_of_several_marked_comments_is_the_one_updated(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys
) -> None:
    first = fake.add(PR, f"{MARK}\nfirst")
    latest = fake.add(PR, f"{MARK}\nlatest")
    assert comment(capsys, tmp_path, report_path).code == 0
    assert str(fake.writes()[0].url).endswith(f"/issues/comments/{latest['id']}")
    assert first["body"] == f"{MARK}\nfirst"


@pytest.mark.usefixtures("same_repo_pr")
def test_several_models_on_one_pull_request_get_one_comment_each(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys
) -> None:
    data = json.loads(report_path.read_text())
    data["model"] = "fraud"
    fraud = tmp_path / "fraud.json"
    fraud.write_text(json.dumps(data))
    for report in (report_path, fraud, report_path, fraud):
        assert comment(capsys, tmp_path, report).code == 0
    bodies = fake.bodies(PR)
    assert len(bodies) == 2
    assert bodies[0].startswith(marker("churn", "default"))
    assert bodies[1].startswith(marker("fraud", "default"))
    assert [r.method for r in fake.writes()] == ["POST", "POST"]

    data["created_at"] = "2030-01-01T00:00:00Z"
    data["metrics"][0]["candidate"] = 0.999
    fraud.write_text(json.dumps(data))
    result = comment(capsys, tmp_path, fraud)
    assert "updated comment" in result.out
    assert fake.writes()[-1].method == "PATCH"
    assert str(fake.writes()[-1].url).endswith(f"/issues/comments/{fake.comments[PR][1]['id']}")
    assert fake.bodies(PR)[0] == bodies[0]  # churn's comment untouched
    assert "0.999" in fake.bodies(PR)[1]

    # A second key for the same model is a comment of its own.
    assert comment(capsys, tmp_path, report_path, "--key", "nightly").code == 0
    assert fake.bodies(PR)[2].startswith(marker("churn", "nightly"))


@pytest.mark.parametrize(
    ("login", "mine"),
    [
        (None, "github-actions[bot]"),  # the Actions GITHUB_TOKEN: GET /user answers 403
        ("alice", "alice"),  # a personal token: only alice's comments count
    ],
)
@pytest.mark.usefixtures("same_repo_pr")
def test_only_comments_by_the_tokens_identity_are_edited(
    fake: FakeGitHub,
    report_path: Path,
    tmp_path: Path,
    capsys: Capsys,
    login: str | None,
    mine: str,
) -> None:
    fake.login = login
    others = [  # the human's is the latest: it must still not count
        fake.add(PR, f"{MARK}\nanother app", login="other-app[bot]"),
        fake.add(PR, f"{MARK}\nthe actions bot", login=BOT),
        fake.add(PR, f"{MARK}\na human quoting the marker", login="mallory"),
    ]
    kept = {c["id"]: c["body"] for c in others if c["user"]["login"] != mine}
    result = comment(capsys, tmp_path, report_path)
    assert result.code == 0, result.err
    for c in fake.comments[PR]:
        if c["id"] in kept:
            assert c["body"] == kept[c["id"]]
    if login is None:  # the latest comment by a Bot carrying the marker: the actions bot's
        assert [r.method for r in fake.writes()] == ["PATCH"]
        assert fake.comments[PR][1]["body"] == expected_body(report_path)
        assert fake.comments[PR][2]["body"].endswith("quoting the marker")
    else:  # none of them is alice's: a new comment, by alice
        assert [r.method for r in fake.writes()] == ["POST"]
        assert fake.comments[PR][-1]["user"]["login"] == "alice"


@pytest.mark.usefixtures("same_repo_pr")
def test_a_humans_marked_comment_is_never_edited(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys
) -> None:
    human = fake.add(PR, f"{MARK}\nI pasted the bot's comment here", login="alice")
    result = comment(capsys, tmp_path, report_path)
    assert result.code == 0, result.err
    assert "created comment" in result.out
    assert human["body"] == f"{MARK}\nI pasted the bot's comment here"
    assert [r.method for r in fake.writes()] == ["POST"]


def test_a_fork_pull_request_403_warns_exits_0_and_keeps_the_summary(
    fake: FakeGitHub,
    report_path: Path,
    tmp_path: Path,
    capsys: Capsys,
    event: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event("pull_request", pull_event(PR, head_repo="mallory/app"))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    fake.faults.append(Fault("POST", 403, NOT_ACCESSIBLE))
    out_file = tmp_path / "out.txt"
    result = comment(capsys, tmp_path, report_path, "--github-output", str(out_file))
    assert result.code == 0, result.err
    assert result.out.startswith("::warning ")
    assert "fork" in result.out and "workflow_run" in result.out and "artifact" in result.out
    assert "\n" not in result.out.rstrip("\n")  # an annotation is one line
    assert summary.read_text() == expected_body(report_path) + "\n"
    assert fake.bodies(PR) == []
    assert outputs(out_file) == {"comment-url": "", "comment-action": "skipped"}


def test_a_fork_is_recognised_through_the_api_when_only_pr_is_given(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys
) -> None:
    fake.pull(PR, head_repo="mallory/app")
    fake.faults.append(Fault("POST", 403, NOT_ACCESSIBLE))
    result = comment(capsys, tmp_path, report_path, "--pr", str(PR))
    assert result.code == 0, result.err
    assert "::warning " in result.out


@pytest.mark.parametrize("with_pr", [False, True])
def test_a_same_repo_403_exits_2_naming_the_permissions(
    fake: FakeGitHub,
    report_path: Path,
    tmp_path: Path,
    capsys: Capsys,
    event: Any,
    monkeypatch: pytest.MonkeyPatch,
    with_pr: bool,
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    if with_pr:
        fake.pull(PR, head_repo=REPO)
        args = ["--pr", str(PR)]
    else:
        event("pull_request", pull_event(PR))
        args = []
    fake.faults.append(Fault("POST", 403, NOT_ACCESSIBLE))
    result = comment(capsys, tmp_path, report_path, *args)
    assert result.code == 2
    assert "permissions: pull-requests: write" in result.err
    assert "issues: write" in result.err
    assert "Resource not accessible by integration" in result.err
    assert "workflow_run" in result.err
    assert "::warning" not in result.out
    assert MARK in summary.read_text()


def test_the_fork_safe_workflow_run_finds_the_fork_pull_request_and_comments(
    api: responses.RequestsMock,
    fake: FakeGitHub,
    report_path: Path,
    tmp_path: Path,
    capsys: Capsys,
    event: Any,
) -> None:
    from testing.github import pull_json

    sha = "c" * 40
    event("workflow_run", workflow_run_event("mallory/app", pulls=[], sha=sha))
    api.get(
        f"https://api.github.com:443/repos/{REPO}/pulls",
        json=[pull_json(PR, "mallory/app", sha=sha)],
        match=[
            responses.matchers.query_param_matcher({"head": "mallory:feature"}, strict_match=False)
        ],
    )
    result = comment(capsys, tmp_path, report_path)
    assert result.code == 0, result.err
    assert "created comment" in result.out
    assert fake.bodies(PR) == [expected_body(report_path)]


@pytest.mark.usefixtures("same_repo_pr")
def test_5xx_answers_are_retried(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys
) -> None:
    fake.add(PR, f"{MARK}\nold")
    fake.faults += [
        Fault("GET", 502, {"message": "Server Error"}),
        Fault("GET", 503, {"message": "Service Unavailable"}),
        Fault("PATCH", 500, {"message": "Server Error"}),
    ]
    result = comment(capsys, tmp_path, report_path)
    assert result.code == 0, result.err
    assert "updated comment" in result.out
    assert fake.faults == []
    assert len(fake.calls("PATCH")) == 2
    assert fake.bodies(PR) == [expected_body(report_path)]


@pytest.mark.usefixtures("same_repo_pr")
def test_a_secondary_rate_limit_is_waited_out(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys
) -> None:
    fake.faults.append(Fault("POST", 403, SECONDARY_RATE_LIMIT, headers=SECONDARY_HEADERS))
    fake.faults.append(Fault("POST", 403, SECONDARY_RATE_LIMIT))  # body only, no Retry-After
    result = comment(capsys, tmp_path, report_path)
    assert result.code == 0, result.err
    assert "created comment" in result.out
    assert len(fake.calls("POST")) == 3
    assert len(fake.bodies(PR)) == 1


@pytest.mark.parametrize("landed", [True, False])
@pytest.mark.usefixtures("same_repo_pr")
def test_a_failed_create_is_retried_only_after_looking_again(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys, landed: bool
) -> None:
    # GitHub answered 502, having created the comment (landed) or not.
    fake.faults.append(Fault("POST", 502, {"message": "Server Error"}, apply=landed))
    result = comment(capsys, tmp_path, report_path)
    assert result.code == 0, result.err
    assert "created comment" in result.out
    assert fake.bodies(PR) == [expected_body(report_path)]  # exactly one comment either way
    assert len(fake.calls("POST")) == (1 if landed else 2)
    assert len(fake.calls("PATCH")) == 0


@pytest.mark.usefixtures("same_repo_pr")
def test_a_body_over_the_limit_is_cut_with_a_note(
    fake: FakeGitHub,
    report_path: Path,
    tmp_path: Path,
    capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template = tmp_path / "long.md.j2"
    template.write_text(
        "{{ marker }}\n## {{ model }}\n"
        "{% for i in range(700) %}{% for m in metrics %}"
        "| {{ i }} | {{ m.name }} | {{ m.champion }} | {{ m.candidate }} | {{ m.delta }} |\n"
        "{% endfor %}{% endfor %}"
    )
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    full = render_comment(read_report(report_path), template=template)
    assert len(full) > 65536
    result = comment(capsys, tmp_path, report_path, "--template", str(template))
    assert result.code == 0, result.err
    (posted,) = fake.bodies(PR)
    (request,) = fake.calls("POST")
    assert len(sent(request)["body"]) <= 65536
    assert posted == fit(full)
    assert posted.startswith(MARK) and "65,536-character limit" in posted
    assert summary.read_text() == full + "\n"  # the summary holds up to 1 MiB: all of it

    # The next run compares against the cut body: nothing to write.
    assert (
        "unchanged comment"
        in comment(capsys, tmp_path, report_path, "--template", str(template)).out
    )
    assert len(fake.writes()) == 1


@pytest.mark.usefixtures("same_repo_pr")
def test_a_template_without_the_marker_still_gets_one(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys
) -> None:
    template = tmp_path / "plain.md.j2"
    template.write_text("## {{ model }} {{ verdict_text }}\n")
    for _ in range(2):
        assert comment(capsys, tmp_path, report_path, "--template", str(template)).code == 0
    (body,) = fake.bodies(PR)
    assert body.startswith(MARK + "\n## churn")


@pytest.mark.usefixtures("same_repo_pr")
def test_github_enterprise_api_url_is_honoured(
    api: responses.RequestsMock,
    report_path: Path,
    tmp_path: Path,
    capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3")
    fake = FakeGitHub(api, base="https://ghe.example.com/api/v3").install()
    result = comment(capsys, tmp_path, report_path)
    assert result.code == 0, result.err
    assert len(fake.bodies(PR)) == 1
    assert all(
        str(c.request.url).startswith("https://ghe.example.com:443/api/v3/") for c in api.calls
    )


def test_no_token_exits_2_naming_github_token_after_writing_the_summary(
    report_path: Path, tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = comment(capsys, tmp_path, report_path, "--pr", "3")
    assert result.code == 2
    assert "GITHUB_TOKEN" in result.err and "pull-requests: write" in result.err
    assert MARK in summary.read_text()


def test_no_pull_request_exits_2(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys, event: Any
) -> None:
    event("push", {"ref": "refs/heads/main"})
    result = comment(capsys, tmp_path, report_path)
    assert result.code == 2
    assert "'push'" in result.err and "--pr" in result.err
    assert fake.writes() == []


def test_an_untrusted_report_is_refused_before_any_call(
    fake: FakeGitHub, report_path: Path, tmp_path: Path, capsys: Capsys
) -> None:
    data = json.loads(report_path.read_text())
    data["model"] = "<img src=x onerror=alert(1)>"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = comment(capsys, tmp_path, bad, "--pr", "3")
    assert result.code == 2
    assert "does not match the report schema" in result.err
    assert len(fake.rsps.calls) == 0


# --- the link to the run that evaluated (issue 13.5) ---------------------------------------------


def with_run_url(report: Path, tmp_path: Path, url: str | None) -> Path:
    data = json.loads(report.read_text())
    data["run_url"] = url
    copy = tmp_path / "report-with-run.json"
    copy.write_text(json.dumps(data))
    return copy


def test_a_workflow_run_comment_links_the_evaluation_run_and_a_rerun_writes_nothing(
    api: responses.RequestsMock,
    fake: FakeGitHub,
    report_path: Path,
    tmp_path: Path,
    capsys: Capsys,
    event: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_RUN_ID", "500")  # the comment's own run
    event("workflow_run", workflow_run_event(REPO, pulls=[PR]))
    report = with_run_url(report_path, tmp_path, f"https://github.com/{REPO}/actions/runs/99")
    assert comment(capsys, tmp_path, report).code == 0
    (body,) = fake.bodies(PR)
    assert f"[Evaluation run](https://github.com/{REPO}/actions/runs/99)" in body
    assert "/runs/500" not in body
    # Another comment run (a new run id) for the same evaluation: the body is the same, no write.
    monkeypatch.setenv("GITHUB_RUN_ID", "501")
    result = comment(capsys, tmp_path, report)
    assert result.code == 0, result.err
    assert "unchanged comment" in result.out
    assert len(fake.writes()) == 1


@pytest.mark.usefixtures("same_repo_pr")
@pytest.mark.parametrize(
    ("recorded", "linked"),
    [
        (
            f"https://github.com/{REPO}/actions/runs/77",
            f"https://github.com/{REPO}/actions/runs/77",
        ),
        # Untrusted: another repository's run, or anything else, is not linked; this run is.
        (
            "https://github.com/evil/app/actions/runs/77",
            f"https://github.com/{REPO}/actions/runs/5",
        ),
        ("https://evil.example/x", f"https://github.com/{REPO}/actions/runs/5"),
        (None, f"https://github.com/{REPO}/actions/runs/5"),
    ],
    ids=["same-repo", "other-repo", "other-host", "none"],
)
def test_the_reports_run_url_is_linked_only_when_it_is_a_run_of_this_repository(
    fake: FakeGitHub,
    report_path: Path,
    tmp_path: Path,
    capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
    recorded: str | None,
    linked: str,
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_RUN_ID", "5")
    assert comment(capsys, tmp_path, with_run_url(report_path, tmp_path, recorded)).code == 0
    (body,) = fake.bodies(PR)
    assert f"[Evaluation run]({linked})" in body
    assert "evil" not in body


# --- an evaluation that failed (issue 13.2) --------------------------------------------------------


def failure(tmp_path: Path, message: str, run_url: str | None = None) -> Path:
    path = tmp_path / "failed" / "report.json"
    path.parent.mkdir(exist_ok=True)
    error = {"step": "build", "exit_code": 2, "message": message}
    path.write_text(json.dumps({"schema": 1, "model": "churn", "error": error, "run_url": run_url}))
    return path


@pytest.mark.usefixtures("same_repo_pr")
def test_a_failed_evaluation_gets_a_comment_saying_why_then_its_report_replaces_it(
    fake: FakeGitHub,
    report_path: Path,
    tmp_path: Path,
    capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_RUN_ID", "5")
    message = (
        "the train command of model 'churn' failed with exit code 1:\n"
        "ModuleNotFoundError: No module named 'joblib'\n"
        "``` <img src=x onerror=alert(1)> @octocat #12"
    )
    run = f"https://github.com/{REPO}/actions/runs/4"
    result = comment(capsys, tmp_path, failure(tmp_path, message, run))
    assert result.code == 0, result.err
    (body,) = fake.bodies(PR)
    assert body.startswith(MARK + "\n")
    assert "### ❌ churn: the evaluation failed" in body
    assert "building the candidate stopped (exit code 2)" in body
    assert "No module named 'joblib'" in body
    assert f"[Evaluation run]({run})" in body
    # The message sits in a code block its backticks cannot close: nothing in it renders.
    assert "````\nthe train command" in body and body.count("````") == 2
    assert "nothing to do" not in body

    # The next push evaluates: the same sticky comment now shows the report.
    assert comment(capsys, tmp_path, report_path).code == 0
    (body,) = fake.bodies(PR)
    assert "the evaluation failed" not in body and "gate" in body
    assert [r.method for r in fake.writes()] == ["POST", "PATCH"]


def test_a_failure_that_breaks_its_schema_is_refused(tmp_path: Path, capsys: Capsys) -> None:
    path = failure(tmp_path, "x")
    data = json.loads(path.read_text())
    data["error"]["step"] = "<script>"
    path.write_text(json.dumps(data))
    result = comment(capsys, tmp_path, path, "--pr", "7")
    assert result.code == 2
    assert "does not match the failure schema" in result.err

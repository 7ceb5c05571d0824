"""`python -m champion.ci.action`, the actions' entry point: inputs from the environment to one
command line, errors as annotations on their file and line, a job summary always; and the
action files themselves (no `${{ }}` in any script, outputs the commands really write)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from champion.ci import action
from champion.ci.context import report_artifact_name
from champion.errors import ChampionError
from champion.evaluation.report import read_report, read_report_or_failure
from testing.repos import make_repo

ROOT = Path(__file__).resolve().parents[2]
ACTION_FILES = [ROOT / "action.yml", *sorted((ROOT / "actions").glob("*/action.yml"))]
WORKFLOWS = sorted((ROOT / "workflows-examples").glob("*.yml"))


def plan(**inputs: str) -> list[list[str]]:
    # `for_` stands for the input `for`, a Python keyword.
    env = {f"CHAMPION_INPUT_{k.rstrip('_').upper()}": v for k, v in inputs.items()}
    return action.plan(action.Inputs(env))


def test_evaluate_builds_first_and_passes_every_input_as_one_argument() -> None:
    steps = plan(
        command="evaluate", model="churn", base="abc", baseline="x; rm -rf /", no_fail="true"
    )
    assert steps == [
        ["build", "churn", "--base=abc"],
        ["evaluate", "churn", "--baseline=x; rm -rf /", "--out=report.json", "--no-fail"],
    ]


def test_build_false_skips_the_build_and_a_zero_base_means_none() -> None:
    assert plan(command="evaluate", model="m", build="false") == [
        ["evaluate", "m", "--out=report.json"]
    ]
    assert plan(command="changed", base="0" * 40) == [["changed", "--json"]]


def test_release_rollback_and_publish_command_lines() -> None:
    assert plan(command="release", model="a b", github_release="true") == [
        ["release", "a", "b", "--github-release", "--push"]
    ]
    assert plan(command="release", model="a", sign="sigstore") == [
        ["release", "a", "--sign=sigstore", "--push"]
    ]
    assert plan(command="release", model="a", sign="false") == [["release", "a", "--push"]]
    assert plan(command="rollback", model="m", reason="bad", to="0.1.0", dry_run="true") == [
        ["rollback", "m", "--reason=bad", "--to=0.1.0", "--dry-run", "--push"]
    ]
    assert plan(command="publish", model="a b", stage="prod") == [
        ["publish", "a", "--stage=prod"],
        ["publish", "b", "--stage=prod"],
    ]
    assert plan(command="status", working_directory="sub") == [["-C", "sub", "status"]]
    assert plan(command="site") == [["site", "--out=site"]]
    assert plan(command="site", model="a b") == [["site", "--out=site", "--models", "a", "b"]]


def test_watch_takes_one_rule_metric_and_header_per_line() -> None:
    steps = plan(
        command="watch",
        model="churn",
        source="prom+https://prom.example",
        rules="error_rate < 0.05\n\n  latency_p95_ms <= 1.2 * baseline  \n",
        metrics='error_rate=sum(rate(e{code=~"5.."}[5m])) / sum(rate(r[5m]))\nlatency_p95_ms=/p95',
        headers="Authorization=PROM_AUTH",
        stage="prod",
        baseline="kpis/{version}.json",
        interval="30s",
        window="5",
        for_="10m",
        timeout="5s",
        cooldown="0s",
    )
    assert steps == [
        [
            "watch",
            "churn",
            "--source=prom+https://prom.example",
            "--rule=error_rate < 0.05",
            "--rule=latency_p95_ms <= 1.2 * baseline",
            '--metric=error_rate=sum(rate(e{code=~"5.."}[5m])) / sum(rate(r[5m]))',
            "--metric=latency_p95_ms=/p95",
            "--header=Authorization=PROM_AUTH",
            "--stage=prod",
            "--baseline=kpis/{version}.json",
            "--interval=30s",
            "--window=5",
            "--for=10m",
            "--timeout=5s",
            "--cooldown=0s",
        ]
    ]


def test_watch_pushes_and_dispatches_only_when_it_may_roll_back() -> None:
    inputs = {
        "command": "watch",
        "model": "m",
        "source": "m.json",
        "rules": "x < 1",
        "dispatch_workflow": "deploy.yml",
        "repo": "o/r",
    }
    assert plan(**inputs) == [["watch", "m", "--source=m.json", "--rule=x < 1"]]
    assert plan(**inputs, rollback="true") == [
        [
            "watch",
            "m",
            "--source=m.json",
            "--rule=x < 1",
            "--rollback",
            "--dispatch-workflow=deploy.yml",
            "--repo=o/r",
            "--push",
        ]
    ]
    assert plan(**inputs, rollback="true", push="false")[0][-1] == "--repo=o/r"


def test_comment_takes_a_glob_of_reports(tmp_path: Path) -> None:
    for name in ("b", "a"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text("{}")
    steps = plan(command="comment", report=f"{tmp_path}/*/report.json", pr="3")
    assert steps == [
        ["comment", f"--report={tmp_path}/a/report.json", "--pr=3"],
        ["comment", f"--report={tmp_path}/b/report.json", "--pr=3"],
    ]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"command": "deploy"}, "input `command` must be one of evaluate, comment"),
        ({"command": "evaluate"}, "input `model` is required for command `evaluate`"),
        ({"command": "rollback", "model": "m"}, "input `reason` is required"),
        ({"command": "evaluate", "model": "m", "no_fail": "maybe"}, "input `no-fail` must be true"),
        ({"command": "comment", "report": "r.json", "pr": "7; x"}, "input `pr` must be a number"),
        ({"command": "watch", "model": "m", "rules": "x < 1"}, "input `source` is required"),
        ({"command": "watch", "model": "m", "source": "s.json", "rules": "\n \n"}, "`rules`"),
        ({"command": "watch", "source": "s.json", "rules": "x < 1"}, "input `model` is required"),
        (
            {"command": "watch", "model": "m", "source": "s", "rules": "x<1", "rollback": "y"},
            "input `rollback` must be true or false",
        ),
    ],
)
def test_a_bad_input_is_named(inputs: dict[str, str], message: str) -> None:
    with pytest.raises(ChampionError, match=re.escape(message)):
        plan(**inputs)


OPTIONS = ["--help", "-h", "--push", "-C/tmp", "--version"]
ACTIONS_INPUTS = [  # (inputs, the input that carries the option)
    ({"command": "rollback", "reason": "bad"}, "model"),
    ({"command": "evaluate"}, "model"),
    ({"command": "release"}, "model"),
    ({"command": "publish"}, "model"),
    ({"command": "status"}, "model"),
    ({"command": "build"}, "model"),
    ({"command": "watch", "source": "s.json", "rules": "x < 1"}, "model"),
    ({"command": "rollback", "model": "m"}, "reason"),
    ({"command": "rollback", "model": "m", "reason": "r"}, "to"),
    ({"command": "evaluate", "model": "m"}, "baseline"),
    ({"command": "release", "model": "m"}, "ref"),
    ({"command": "status"}, "working_directory"),
    ({"command": "watch", "model": "m", "source": "s.json"}, "rules"),
]


@pytest.mark.parametrize("option", OPTIONS)
@pytest.mark.parametrize(("inputs", "name"), ACTIONS_INPUTS)
def test_an_input_is_a_value_never_an_option(
    inputs: dict[str, str], name: str, option: str
) -> None:
    """Alone, after other values, or on a later line of a multiline input."""
    for value in (option, f"churn {option}", f"x < 1\n{option}"):
        if (" " in value and name != "model") or ("\n" in value and name != "rules"):
            continue
        refused = "an input is a value, never an option|must be one value"
        with pytest.raises(ChampionError, match=refused):
            plan(**{**inputs, name: value})


@pytest.mark.parametrize("command", ["evaluate", "rollback", "status", "watch"])
def test_a_single_value_is_never_split_into_several_arguments(command: str) -> None:
    inputs = {"command": command, "reason": "r", "source": "s.json", "rules": "x < 1"}
    with pytest.raises(ChampionError, match="input `model` must be one value"):
        plan(**inputs, model="churn fraud")


def test_model_help_runs_nothing_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """`model: --help` made the rollback step print champion's help and succeed."""
    repo = make_repo(tmp_path)
    monkeypatch.chdir(repo.path)
    env = {
        "CHAMPION_INPUT_COMMAND": "rollback",
        "CHAMPION_INPUT_MODEL": "--help",
        "CHAMPION_INPUT_REASON": "bad",
    }
    assert action.main(env) == 2
    out = capfd.readouterr().out
    assert "::error title=champion rollback::input `model` is '--help'" in out
    assert "usage:" not in out


def test_annotation_points_at_the_file_and_line() -> None:
    text = action.annotation("champion.yaml:12: unknown key 'gaet', 50%", "evaluate", "sub")
    assert text == (
        "::error file=sub/champion.yaml,line=12,title=champion evaluate::unknown key 'gaet', 50%25"
    )
    assert action.annotation("two\nlines", "comment") == (
        "::error title=champion comment::two%0Alines"
    )


def test_artifact_name_has_no_character_upload_artifact_refuses() -> None:
    assert report_artifact_name("models/churn:churn") == "champion-report-models-churn-churn"


def test_a_failing_command_gives_an_annotation_exit_code_and_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, "models:\n  churn:\n    path: m.bin\n    gaet: {}\n")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(repo.path)
    code = action.main({"CHAMPION_INPUT_COMMAND": "status"})
    out = capfd.readouterr().out
    assert code == 2
    assert "::error file=champion.yaml,line=4,title=champion status::unknown key 'gaet'" in out
    assert "### champion status: failed" in summary.read_text()


def test_a_succeeding_command_without_a_summary_of_its_own_gets_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(repo.path)
    assert action.main({"CHAMPION_INPUT_COMMAND": "status"}) == 0
    text = summary.read_text()
    assert text.startswith("### champion status\n\n```\n") and "churn" in text


def test_a_bad_input_writes_a_summary_and_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert action.main({"CHAMPION_INPUT_COMMAND": "nope"}) == 2
    assert "::error title=champion nope::input `command` must be one of" in capfd.readouterr().out
    assert "failed" in summary.read_text()


def test_fence_cannot_be_closed_by_the_text() -> None:
    fenced = action._fence("a ``` b ````")
    assert fenced.startswith("`````\n") and fenced.endswith("\n`````\n")


# --- the action files ---------------------------------------------------------------------------


def _runs(doc: dict[str, object]) -> list[str]:
    if "runs" in doc:
        steps = doc["runs"]["steps"]  # type: ignore[index]
    else:
        steps = [s for job in doc["jobs"].values() for s in job.get("steps", [])]  # type: ignore[attr-defined]
    return [s["run"] for s in steps if "run" in s]


@pytest.mark.parametrize("path", ACTION_FILES + WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_inside_any_script(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    for script in _runs(doc):
        assert "${{" not in script, f"{path}: {script}"


@pytest.mark.parametrize("path", ACTION_FILES + WORKFLOWS, ids=lambda p: p.name)
def test_every_third_party_action_is_pinned_to_a_full_sha_with_its_version(path: Path) -> None:
    for line in path.read_text().splitlines():
        found = re.search(r"uses: (actions/[\w/-]+)@(\S+)(.*)", line)
        if found:
            assert re.fullmatch(r"[0-9a-f]{40}", found[2]), line
            assert re.search(r"# v\d+\.\d+\.\d+", found[3]), line


@pytest.mark.parametrize("path", ACTION_FILES, ids=lambda p: str(p.parent.name))
def test_every_sub_action_input_reaches_the_script(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    env = next(s for s in doc["runs"]["steps"] if s.get("id") == "run")["env"]
    for name in doc["inputs"]:
        if name in ("github-token", "python-version"):
            continue
        variable = "CHAMPION_INPUT_" + name.upper().replace("-", "_")
        assert env[variable] == f"${{{{ inputs.{name} }}}}"
    assert action.Inputs({"CHAMPION_INPUT_DRY_RUN": "x"}).get("dry-run") == "x"


def test_sub_actions_share_the_root_actions_install_steps() -> None:
    root = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"][:-1]
    for path in ACTION_FILES[1:]:
        doc = yaml.safe_load(path.read_text())
        text = yaml.safe_dump(doc["runs"]["steps"][:-1]).replace(
            "../install.sh", "actions/install.sh"
        )
        if "requirements" not in doc["inputs"]:  # comment and rollback load no model
            text = text.replace(
                "CHAMPION_REQUIREMENTS: ''", "CHAMPION_REQUIREMENTS: ${{ inputs.requirements }}"
            )
        assert text == yaml.safe_dump(root), path


def test_the_input_names_the_messages_use_are_the_root_actions() -> None:
    doc = yaml.safe_load((ROOT / "action.yml").read_text())
    assert sorted(action.INPUT_NAMES) == sorted(doc["inputs"])


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("pick a version with --to VERSION", "pick a version with input `to`"),
        ("(--to VERSION)", "(input `to`)"),
        ("--github-release needs --push: x", "input `github-release` needs input `push`: x"),
        ("--rule 'x <': no operator", "input `rules` 'x <': no operator"),
        ("pass --pr N", "pass input `pr`"),
        # Options that are no input of the action stay as they are.
        (
            "run with --remote origin or --version 1.2.3",
            "run with --remote origin or --version 1.2.3",
        ),
        ("models/a--to-b.bin", "models/a--to-b.bin"),
    ],
)
def test_messages_name_the_actions_inputs_not_the_clis_options(message: str, shown: str) -> None:
    assert action.as_inputs(message) == shown


def test_a_rollback_error_under_the_action_names_the_to_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(repo.path)
    for args in (["register", "churn"], ["promote", "churn", "0.1.0", "--stage", "prod"]):
        assert action.run(args)[0] == 0
    env = {"CHAMPION_INPUT_COMMAND": "rollback", "CHAMPION_INPUT_MODEL": "churn"}
    code = action.main({**env, "CHAMPION_INPUT_REASON": "bad", "CHAMPION_INPUT_PUSH": "false"})
    out = capfd.readouterr().out
    assert code == 2
    (error,) = [line for line in out.splitlines() if line.startswith("::error")]
    assert "input `to`" in error and "--to" not in error
    assert "--to" not in summary.read_text()


def test_an_evaluation_that_fails_leaves_a_failure_report_for_the_comment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    config = "models:\n  churn:\n    path: m.bin\n    train: python -c 'import joblibb'\n"
    repo = make_repo(tmp_path, config, commit=False)
    repo.git("add", "champion.yaml")
    repo.git("commit", "-q", "-m", "config")
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/app")
    monkeypatch.setenv("GITHUB_RUN_ID", "12")
    monkeypatch.chdir(repo.path)
    code = action.main({"CHAMPION_INPUT_COMMAND": "evaluate", "CHAMPION_INPUT_MODEL": "churn"})
    assert code == 2
    assert "No module named 'joblibb'" in capfd.readouterr().out
    values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert values["report-path"] == "report.json"
    assert values["artifact-name"] == "champion-report-churn"
    failure, kind = read_report_or_failure(repo.path / "report.json")
    assert kind == "failure"
    assert failure["error"]["step"] == "build" and failure["error"]["exit_code"] == 2
    assert "No module named 'joblibb'" in failure["error"]["message"]
    assert failure["run_url"] == "https://github.com/octo/app/actions/runs/12"
    # It is no report: nothing may take a verdict from it.
    with pytest.raises(ChampionError, match="the evaluation of churn failed"):
        read_report(repo.path / "report.json")


def test_a_requirements_input_puts_champions_environment_first_on_path() -> None:
    assert action._environment(action.Inputs({})) is None
    env = action._environment(action.Inputs({"CHAMPION_INPUT_REQUIREMENTS": "req.txt"}))
    assert env is not None
    venv = Path(action.sys.executable).parent.parent
    assert env["PATH"].split(":")[0] == str(venv / "bin")
    assert env["VIRTUAL_ENV"] == str(venv)


# --- every output the docs name is declared, and every declared one documented (13.5, 17) ---------

# The command pages whose outputs the sub-actions of the same name must declare too.
SUB_ACTION_OF_PAGE = {
    "docs/commands/evaluate.md": "evaluate",
    "docs/commands/comment.md": "comment",
    "docs/commands/release.md": "release",
    "docs/commands/rollback.md": "rollback",
}


def documented_outputs() -> dict[str, set[str]]:
    """Per page of the docs (and the README), the output names its "Outputs: ..." sentences list
    ("Outputs (`--github-output`): ...", "the outputs are ..."). A parenthesis right after a name
    holds its values (`verdict` (`healthy`, ...)), not outputs; one that starts with "and" lists
    more outputs."""
    found: dict[str, set[str]] = {}
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        sentences = r"\b[Oo]utputs(?: \([^()]*\))?(?::| are)\s(.*?)(?:\n\n|\Z)"
        for paragraph in re.findall(sentences, page.read_text(encoding="utf-8"), re.S):
            listed = re.sub(r"(`[a-z-]+`)\s*\((?!and\b)[^()]*\)", r"\1", paragraph)
            names = {n for n in re.findall(r"`([a-z][a-z0-9-]*)`", listed)}
            found.setdefault(page.relative_to(ROOT).as_posix(), set()).update(names)
    return found


def declared(path: Path) -> set[str]:
    return set(yaml.safe_load(path.read_text())["outputs"])


def test_every_output_the_docs_name_is_declared_by_the_actions() -> None:
    outputs = documented_outputs()
    named = set().union(*outputs.values())
    assert {"count", "releases", "comment-action", "builds", "built", "commit", "sha256"} <= named
    assert {"promoted", "gate"} <= named
    root = declared(ROOT / "action.yml")
    assert named - root == set(), "named in the docs, not declared in action.yml"
    for page, sub in SUB_ACTION_OF_PAGE.items():
        missing = outputs[page] - declared(ROOT / "actions" / sub / "action.yml")
        assert missing == set(), f"{page}: not declared in actions/{sub}/action.yml"


def test_every_output_the_actions_declare_is_documented_on_a_command_page() -> None:
    outputs = documented_outputs()
    on_command_pages = set().union(
        *(names for page, names in outputs.items() if page.startswith("docs/commands/"))
    )
    for path in ACTION_FILES:
        undocumented = declared(path) - on_command_pages
        assert undocumented == set(), f"{path.relative_to(ROOT)}: no command page names them"


def test_every_declared_output_is_one_the_run_step_can_write() -> None:
    for path in ACTION_FILES:
        doc = yaml.safe_load(path.read_text())
        for name, spec in doc["outputs"].items():
            assert spec["value"] == f"${{{{ steps.run.outputs.{name} }}}}", (path, name)

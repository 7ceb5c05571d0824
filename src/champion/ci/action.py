"""The GitHub Actions entry point: `python -m champion.ci.action`, run by `action.yml` and the
sub-actions under `actions/`.

The action's inputs arrive as `CHAMPION_INPUT_<NAME>` environment variables (never interpolated
into a script), are checked and turned into one `champion` command line. The command runs as a
child process with the job's `$GITHUB_OUTPUT`, so its outputs become the step's. Its error becomes
an `::error::` annotation (on the file and line it names, e.g. champion.yaml:12), and the job
summary always gets a section, on success and on failure alike.

Over 400 lines: every action's inputs mapped to one command line, command by command, with the
input checks they share; the writers it uses are ci/workflow.py's.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from champion.ci import workflow
from champion.ci.context import report_artifact_name, run_url
from champion.errors import ChampionError

PREFIX = "CHAMPION_INPUT_"
TRUE, FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off", "")
SUMMARY_TAIL = 60  # lines of a command's output quoted in the summary
_FILE_LINE = re.compile(r"^(?P<file>[\w./-]+\.(?:ya?ml|json|csv|parquet)):(?P<line>\d+): ")

Argv = list[str]


class Inputs:
    """The action's inputs, read from the environment; a bad one is named as the input."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.values = {
            k[len(PREFIX) :].lower().replace("_", "-"): v.strip()
            for k, v in env.items()
            if k.startswith(PREFIX)
        }

    def get(self, name: str) -> str:
        value = self.values.get(name, "")
        _not_an_option(name, value)
        return value

    def required(self, name: str, command: str) -> str:
        value = self.get(name)
        if not value:
            raise ChampionError(f"input `{name}` is required for command `{command}`")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.get(name).lower()
        if not value:
            return default
        if value in TRUE:
            return True
        if value in FALSE:
            return False
        raise ChampionError(f"input `{name}` must be true or false, got {value!r}")

    def lines(self, name: str) -> list[str]:
        """A multiline input: one value per line, blank lines skipped."""
        values = [line.strip() for line in self.get(name).splitlines() if line.strip()]
        for value in values:
            _not_an_option(name, value)
        return values

    def one(self, name: str, command: str, required: bool = True) -> str:
        """A single value that becomes one positional argument: one word, never several."""
        value = self.required(name, command) if required else self.get(name)
        if len(value.split()) > 1:
            raise ChampionError(
                f"input `{name}` must be one value for command `{command}`, got {value!r}: "
                "it holds whitespace"
            )
        return value

    def words(self, name: str) -> list[str]:
        """A list input: values separated by whitespace (`model: churn fraud` for release),
        each checked alone."""
        values = self.get(name).split()
        for value in values:
            _not_an_option(name, value)
        return values

    def number(self, name: str) -> str:
        value = self.get(name)
        if value and not value.isdigit():
            raise ChampionError(f"input `{name}` must be a number, got {value!r}")
        return value


def _not_an_option(name: str, value: str) -> None:
    # `model: --help` would make champion print its help and exit 0: the step "succeeds" having
    # done nothing. An input is a value; no value champion takes starts with a dash.
    if value.startswith("-"):
        raise ChampionError(
            f"input `{name}` is {value!r}: an input is a value, never an option, and none starts "
            "with '-'"
        )


ZERO_SHA = "0" * 40  # github.event.before of a branch's first push: no previous commit


def _opt(argv: Argv, inputs: Inputs, name: str, option: str | None = None) -> None:
    value = inputs.get(name)
    if name == "base" and value == ZERO_SHA:
        return
    if value:
        # `--option=value`: a value that starts with a dash stays a value.
        argv.append(f"{option or '--' + name}={value}")


def _models(inputs: Inputs) -> Argv:
    # A model name never holds whitespace, so `model: churn fraud` lists several.
    return inputs.words("model")


def _evaluate(i: Inputs) -> list[Argv]:
    argv = ["evaluate", i.one("model", "evaluate")]
    for name in ("candidate", "baseline", "data"):
        _opt(argv, i, name)
    argv.append(f"--out={i.get('out') or 'report.json'}")
    if i.flag("no-fail"):
        argv.append("--no-fail")
    return [argv]


def _comment(i: Inputs) -> list[Argv]:
    """One comment per report: `report` may be a glob (the reports of every model evaluated)."""
    pattern = i.required("report", "comment")
    reports = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
    options: Argv = []
    for name in ("repo", "key", "template"):
        _opt(options, i, name)
    if i.number("pr"):
        options.append(f"--pr={i.get('pr')}")
    return [["comment", f"--report={report}", *options] for report in reports]


def _release(i: Inputs) -> list[Argv]:
    argv = ["release", *_models(i)]
    for name in ("ref", "promote", "bump", "report", "repo", "allow-failed-gate"):
        _opt(argv, i, name)
    if i.get("sign") not in ("", "false"):  # `false`: a workflow's switch to release unsigned
        _opt(argv, i, "sign")
    if i.flag("github-release"):
        argv.append("--github-release")
    if i.flag("push", default=True):
        argv.append("--push")
    return [argv]


def _rollback(i: Inputs) -> list[Argv]:
    argv = [
        "rollback",
        i.one("model", "rollback"),
        f"--reason={i.required('reason', 'rollback')}",
    ]
    for name in ("stage", "to", "dispatch-workflow", "repo"):
        _opt(argv, i, name)
    if i.flag("dry-run"):
        argv.append("--dry-run")
    if i.flag("push", default=True):
        argv.append("--push")
    return [argv]


def _status(i: Inputs) -> list[Argv]:
    model = i.one("model", "status", required=False)
    return [["status", model] if model else ["status"]]


def _publish(i: Inputs) -> list[Argv]:
    i.required("model", "publish")
    stage = [f"--stage={i.get('stage')}"] if i.get("stage") else []
    return [["publish", model, *stage] for model in _models(i)]


def _build(i: Inputs) -> list[Argv]:
    argv = ["build", *_models(i)]
    _opt(argv, i, "base")
    if i.flag("commit"):
        argv.append("--commit")
        if i.flag("push", default=True):
            argv.append("--push")
    return [argv]


def _changed(i: Inputs) -> list[Argv]:
    argv = ["changed", "--json"]
    _opt(argv, i, "base")
    _opt(argv, i, "head")
    return [argv]


def _watch(i: Inputs) -> list[Argv]:
    argv = ["watch", i.one("model", "watch"), f"--source={i.required('source', 'watch')}"]
    i.required("rules", "watch")
    # One per line: a rule or a PromQL query holds spaces and commas, never a line break.
    for name, option in (("rules", "--rule"), ("metrics", "--metric"), ("headers", "--header")):
        argv += [f"{option}={line}" for line in i.lines(name)]
    for name in ("stage", "baseline", "interval", "window", "for", "timeout", "cooldown"):
        _opt(argv, i, name)
    if i.flag("rollback"):  # push, dispatch-workflow and repo only act on a rollback
        argv.append("--rollback")
        for name in ("dispatch-workflow", "repo"):
            _opt(argv, i, name)
        if i.flag("push", default=True):
            argv.append("--push")
    return [argv]


def _site(i: Inputs) -> list[Argv]:
    """The site goes to `site/` in the workspace, where the Pages upload step finds it."""
    models = _models(i)
    return [["site", "--out=site", *(["--models", *models] if models else [])]]


COMMANDS: dict[str, Callable[[Inputs], list[Argv]]] = {
    "evaluate": _evaluate,
    "comment": _comment,
    "release": _release,
    "rollback": _rollback,
    "status": _status,
    "publish": _publish,
    "build": _build,
    "changed": _changed,
    "watch": _watch,
    "site": _site,
}


def plan(inputs: Inputs) -> list[Argv]:
    """The champion command lines to run, in order; a bad input raises before anything runs."""
    command = inputs.get("command")
    if command not in COMMANDS:
        raise ChampionError(
            f"input `command` must be one of {', '.join(COMMANDS)}, got {command!r}"
        )
    prefix = ["-C", inputs.get("working-directory")] if inputs.get("working-directory") else []
    steps = COMMANDS[command](inputs)
    if command == "evaluate" and inputs.flag("build", default=True):
        build = ["build", inputs.one("model", "evaluate")]
        _opt(build, inputs, "base")
        steps.insert(0, build)
    return [[*prefix, *argv] for argv in steps]


# Every input of action.yml (tests/ci/test_action.py checks the list against it). A message of the
# CLI that names one of its options names the input instead: the user of the action set `to`,
# not `--to VERSION`.
INPUT_NAMES = (
    "command", "model", "stage", "to", "reason", "dry-run", "candidate", "baseline", "data",
    "out", "no-fail", "build", "base", "head", "report", "repo", "pr", "key", "template", "ref",
    "promote", "bump", "allow-failed-gate", "push", "github-release", "dispatch-workflow",
    "commit", "source", "rules", "metrics", "headers", "interval", "window", "for", "timeout",
    "cooldown", "rollback", "requirements", "working-directory", "github-token", "python-version",
    "sign",
)  # fmt: skip
_PLURAL = {"rule": "rules", "metric": "metrics", "header": "headers"}
_OPTION = re.compile(r"(?<![\w-])--([a-z][a-z-]*)(?:[ =](?:[A-Z][A-Z_/|]*|N)\b)?")


def as_inputs(message: str) -> str:
    """The CLI's message with its options named as the action's inputs."""

    def name(found: re.Match[str]) -> str:
        option = _PLURAL.get(found[1], found[1])
        return f"input `{option}`" if option in INPUT_NAMES else found[0]

    return _OPTION.sub(name, message)


def annotation(message: str, command: str, workdir: str = "") -> str:
    """`::error ...::message`, on the file and line the message starts with, if any."""
    found = _FILE_LINE.match(message)
    if not found:
        return workflow.command("error", message, title=f"champion {command}")
    path = found["file"]
    if workdir and not Path(path).is_absolute():
        path = f"{workdir.rstrip('/')}/{path}"
    where = {"file": path, "line": found["line"]}
    return workflow.command("error", message[found.end() :], **where, title=f"champion {command}")


def _annotate(message: str, command: str, workdir: str = "") -> None:
    workflow.emit(annotation(message, command, workdir))


_PREFIXES = ("error: ", "unexpected error: ", "champion: error: ")  # the last: argparse's


def _errors(stderr: str) -> list[str]:
    """The CLI's error messages; one may run over several lines (a failed train command's
    traceback ends it), up to the next message or warning."""
    messages: list[str] = []
    current: list[str] | None = None
    for line in stderr.splitlines():
        prefix = next((p for p in _PREFIXES if line.startswith(p)), None)
        if prefix is not None:
            current = [line[len(prefix) :]]
            messages.append("")
        elif line.startswith("warning: "):
            current = None
        elif current is not None:
            current.append(line)
        if current is not None:
            messages[-1] = "\n".join(current).rstrip()
    return messages


def _fence(text: str) -> str:
    lines = text.rstrip("\n").splitlines()[-SUMMARY_TAIL:]
    body = "\n".join(lines)
    # A fence longer than any run of backticks inside: the text cannot close it early.
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{body}\n{fence}\n"


def run(argv: Argv, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """Runs `champion ARGV` with this interpreter; its output is shown as it is and returned."""
    proc = subprocess.run(
        [sys.executable, "-m", "champion", *argv], capture_output=True, text=True, env=env
    )
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    return proc.returncode, proc.stdout, proc.stderr


def main(env: Mapping[str, str] | None = None) -> int:
    inputs = Inputs(os.environ if env is None else env)
    command = inputs.get("command") or "?"
    workdir = inputs.get("working-directory")
    try:
        steps = plan(inputs)
    except ChampionError as e:
        _annotate(f"{e}", command)
        workflow.append_summary(f"### champion {command}: failed\n\n{_fence(str(e))}")
        return e.exit_code
    if not steps:
        note = f"nothing to do: no file matches report {inputs.get('report')!r} (no model was evaluated)"
        workflow.annotate("notice", note, title=f"champion {command}")
        workflow.append_summary(f"### champion {command}\n\n{note}\n")
        return 0
    env = _environment(inputs)
    for argv in steps:
        before = workflow.summary_size()
        code, out, err = run(argv, env)
        name = argv[2] if argv[0] == "-C" else argv[0]
        if name == "evaluate":
            workflow.set_outputs(None, {"artifact-name": report_artifact_name(inputs.get("model"))})
            code = _summarize_report(argv, code)
        if code != 0:
            messages = [as_inputs(m) for m in _errors(err)]
            messages = messages or [f"champion {name} exited with code {code}"]
            for message in messages:
                _annotate(message, name, workdir)
            verdict = "the gate failed" if code == 1 else "failed"
            workflow.append_summary(
                f"### champion {name}: {verdict}\n\n{_fence(as_inputs(err or out))}"
            )
            if command == "evaluate" and code != 1:
                _evaluation_failed(inputs, name, code, messages)
            return code
        if workflow.summary_size() == before:  # the command wrote no summary of its own
            workflow.append_summary(f"### champion {name}\n\n{_fence(out or '(no output)')}")
    return 0


def _environment(inputs: Inputs) -> dict[str, str] | None:
    """With `requirements`, the project's packages are in champion's environment: a `train:`
    command (`python train.py`) and DVC's stages run with it first on PATH, so training, loading
    and evaluating all see the same packages. Without, the job's PATH is left alone."""
    if not inputs.get("requirements"):
        return None
    venv = Path(sys.executable).parent.parent
    path = os.pathsep.join([str(venv / "bin"), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "VIRTUAL_ENV": str(venv)}


def _evaluation_failed(inputs: Inputs, step: str, code: int, messages: list[str]) -> None:
    """An evaluation that could not judge (a build that failed, bad input, a bug) leaves a report
    that says so, where report.json would have been: uploaded like it, so that the comment of the
    pull request says the evaluation failed and why, not "nothing to do"."""
    from champion.evaluation.report import write_failure

    out = inputs.get("out") or "report.json"
    failure = {
        "schema": 1,
        "model": inputs.get("model"),
        "error": {"step": step, "exit_code": code, "message": "\n".join(messages)},
        "run_url": run_url(),
    }
    try:
        path = write_failure(out, failure)
    except (OSError, ValueError, RuntimeError) as e:  # the step fails anyway; no comment then
        workflow.annotate("warning", f"could not write {out}: {e}", title="champion evaluate")
        return
    workflow.set_outputs(
        None, {"report-path": str(path), "artifact-name": report_artifact_name(inputs.get("model"))}
    )


def _summarize_report(argv: Argv, code: int) -> int:
    """After evaluate, the metric diff goes to the job summary, gate passed or failed."""
    out = next((a.split("=", 1)[1] for a in argv if a.startswith("--out=")), "report.json")
    report = Path(out)  # the CLI writes --out relative to where it runs, whatever -C says
    if code in (0, 1) and report.is_file():
        run(["summary", f"--report={report}"])
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Registry read benchmark: champion's `status` and `history` on a large tag history, against GTO.

Builds a git repository with `git fast-import` holding MODELS x VERSIONS annotated version tags
plus the stage tags champion would have written (an unassign of the live version, then the assign
of the new one; one counter per model), and checks that champion reads back the live versions
and event order the generator implies. Then it times, each run a fresh process:

- `champion status MODEL` and `champion history MODEL` (best of --runs, after a warm-up);
- their floors: `git for-each-ref` over the model's refs, `python -c pass`, `import champion.cli`;
- `champion status MODEL` in a second repository holding the same history of MODEL but only two
  models: a read should grow with the model's own tags, not with the repository's;
- `champion status` over every model, for reference;
- `gto show MODEL` once per repository (it rebuilds the whole registry, so it is slow), and
  whether it shows the same live versions.

Python keeps its bytecode in the work folder (PYTHONPYCACHEPREFIX), so figures do not depend on
whether `__pycache__` can be written next to the sources.

    .venv/bin/python bench/registry.py [--models 20] [--versions 500] [--workdir DIR] [--runs 5]
                                       [--skip-gto] [--gto-timeout SECONDS]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from champion.git import FOR_EACH_REF_FORMAT

MODEL = "model07"  # the model every read is timed on
OTHER_MODEL = "model00"  # the second model of the small repository
STAGES = ("staging", "prod")
RUNS = 5
TARGET_SECONDS = 0.3
TARGET_SPEEDUP = 100.0
EPOCH = 1_700_000_000  # the first commit; every later commit and tag is one minute after the last
NAME, EMAIL = "Bench", "bench@example.com"
ACTOR = "bench"
CHAMPION_VERSION = "0.1.0"  # the tool version the generated tags claim wrote them

# After each new version of a model: the chance it is promoted to staging, to prod, and then that
# prod is rolled back to the version live before, or left empty.
P_STAGING, P_PROD, P_ROLLBACK, P_CLEAR = 0.2, 0.1, 0.03, 0.01

# What champion reads per ref, for the git floor: the very format its git edge uses.
REF_FORMAT = FOR_EACH_REF_FORMAT


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


# --- the generated history ------------------------------------------------------------------


class Clock:
    """Strictly increasing timestamps, so tagger dates order the events like their counters."""

    def __init__(self) -> None:
        self.now = EPOCH

    def tick(self) -> int:
        self.now += 60
        return self.now


@dataclass(frozen=True)
class Commit:
    mark: int
    message: str
    files: dict[str, bytes]
    timestamp: int


@dataclass(frozen=True)
class Tag:
    name: str
    mark: int  # the commit it points at
    summary: str
    metadata: dict[str, Any]
    timestamp: int


@dataclass
class ModelHistory:
    """One model's events as champion writes them, and the state they imply."""

    model: str
    rng: random.Random
    counter: int = 0
    latest: tuple[int, int, int] | None = None
    marks: dict[str, int] = field(default_factory=dict)  # version -> commit mark
    live: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(STAGES))
    prod_stack: list[str] = field(default_factory=list)  # prod versions, for rollbacks
    tags: list[str] = field(default_factory=list)  # every tag name, in the order written

    @property
    def path(self) -> str:
        return f"models/{self.model}.bin"

    def advance(self, index: int, mark: int, clock: Clock) -> tuple[Commit, list[Tag]]:
        """Commits and registers the next version; maybe promotes it, rolls back or clears prod."""
        parent = self.version_string()
        version, bump = self._next_version(index)
        content = f"{self.model} {version}\n".encode() * 8
        commit = Commit(mark, f"Train {self.model} {version}", {self.path: content}, clock.tick())
        self.marks[version] = mark
        tags = [self._register(version, parent, bump, content, mark, clock)]
        if self.rng.random() < P_STAGING:
            tags += self._assign("staging", version, clock)
        if self.rng.random() < P_PROD:
            tags += self._assign("prod", version, clock)
            self.prod_stack.append(version)
        roll = self.rng.random()
        if roll < P_ROLLBACK:
            tags += self._rollback("prod", clock)
        elif roll < P_ROLLBACK + P_CLEAR:
            tags += self._clear("prod", clock)
        self.tags += [t.name for t in tags]
        return commit, tags

    def _next_version(self, index: int) -> tuple[str, str | None]:
        if self.latest is None:
            self.latest, bump = (0, 1, 0), None
        elif index % 100 == 0:
            self.latest, bump = (self.latest[0] + 1, 0, 0), "major"
        elif index % 10 == 0:
            self.latest, bump = (self.latest[0], self.latest[1] + 1, 0), "minor"
        else:
            self.latest, bump = (*self.latest[:2], self.latest[2] + 1), "patch"
        return ".".join(map(str, self.latest)), bump

    def version_string(self) -> str | None:
        return ".".join(map(str, self.latest)) if self.latest else None

    def _base(self, event: str, version: str) -> dict[str, Any]:
        return {
            "actor": ACTOR,
            "event": event,
            "model": self.model,
            "tool": {"champion": CHAMPION_VERSION},
            "version": version,
        }

    def _register(
        self,
        version: str,
        parent: str | None,
        bump: str | None,
        content: bytes,
        mark: int,
        clock: Clock,
    ) -> Tag:
        metadata = {
            **self._base("register", version),
            "after_counter": self.counter,
            "artifact": {
                "path": self.path,
                "sha256": hashlib.sha256(content).hexdigest(),
                "size": len(content),
                "tracked_by": "git",
            },
            "bump": bump,
            "bump_reason": "first version" if bump is None else f"--bump {bump}",
            "parent": parent,
        }
        return Tag(
            f"{self.model}@v{version}",
            mark,
            f"Register {self.model} v{version}",
            metadata,
            clock.tick(),
        )

    def _stage_tag(
        self, stage: str, version: str, unassign: bool, extra: dict[str, Any], clock: Clock
    ) -> Tag:
        self.counter += 1
        verb, bang = ("Unassign", "!") if unassign else ("Assign", "")
        preposition = "from" if unassign else "to"
        metadata = {
            **self._base("unassign" if unassign else "assign", version),
            "stage": stage,
            **extra,
        }
        return Tag(
            f"{self.model}#{stage}{bang}#{self.counter}",
            self.marks[version],
            f"{verb} {self.model} v{version} {preposition} {stage}",
            metadata,
            clock.tick(),
        )

    def _assign(
        self, stage: str, version: str, clock: Clock, reason: str = "", rolled_back: bool = False
    ) -> list[Tag]:
        """champion's promotion: unassign the live version (if any), then assign the new one."""
        current = self.live[stage]
        if current == version:
            return []
        extra = {"reason": reason} if reason else {}
        tags = []
        if current is not None:
            mark = {"mark": "rolled-back"} if rolled_back else {}
            tags.append(
                self._stage_tag(
                    stage, current, True, {**extra, **mark, "replaced_by": version}, clock
                )
            )
        tags.append(self._stage_tag(stage, version, False, {**extra, "from": current}, clock))
        self.live[stage] = version
        return tags

    def _rollback(self, stage: str, clock: Clock) -> list[Tag]:
        if len(self.prod_stack) < 2 or self.live[stage] != self.prod_stack[-1]:
            return []
        self.prod_stack.pop()
        reason = "error rate above threshold"
        return self._assign(stage, self.prod_stack[-1], clock, reason=reason, rolled_back=True)

    def _clear(self, stage: str, clock: Clock) -> list[Tag]:
        current = self.live[stage]
        if current is None:
            return []
        self.live[stage] = None
        return [self._stage_tag(stage, current, True, {"reason": "incident"}, clock)]

    def expected_status(self) -> dict[str, Any]:
        return {"latest": self.version_string(), "stages": dict(self.live)}


@dataclass
class Timeline:
    commits: list[Commit]
    tags: list[Tag]
    histories: dict[str, ModelHistory]


def model_names(count: int) -> list[str]:
    return [f"model{i:02d}" for i in range(count)]


def seed_of(model: str) -> int:
    """A stable seed per model name, so a model's history is the same in every repository."""
    return int.from_bytes(hashlib.sha256(model.encode()).digest()[:8], "big")


def champion_yaml(models: Sequence[str]) -> bytes:
    lines = [f"stages: [{', '.join(STAGES)}]", "models:"]
    lines += [f"  {m}: {{path: models/{m}.bin}}" for m in models]
    return ("\n".join(lines) + "\n").encode()


def generate(models: Sequence[str], versions: int) -> Timeline:
    """Versions are made round-robin across the models, one commit each, in time order."""
    clock = Clock()
    histories = {m: ModelHistory(m, random.Random(seed_of(m))) for m in models}
    commits = [Commit(1, "Declare the models", {"champion.yaml": champion_yaml(models)}, EPOCH)]
    tags: list[Tag] = []
    for index in range(versions):
        for model in models:
            commit, new_tags = histories[model].advance(index, len(commits) + 1, clock)
            commits.append(commit)
            tags += new_tags
    return Timeline(commits, tags, histories)


# --- building the repository ----------------------------------------------------------------


def bench_env(pycache: Path | None = None) -> dict[str, str]:
    """Fixed identity, no system git config, no analytics. With `pycache`, Python keeps its
    bytecode there, so no run recompiles sources even where `__pycache__` cannot be written."""
    env = dict(os.environ)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env.update(
        DVC_NO_ANALYTICS="1",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME=NAME,
        GIT_AUTHOR_EMAIL=EMAIL,
        GIT_COMMITTER_NAME=NAME,
        GIT_COMMITTER_EMAIL=EMAIL,
    )
    for var in ("GITHUB_ACTOR", "GITHUB_OUTPUT", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"):
        env.pop(var, None)
    return env


def git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, input=stdin, capture_output=True, env=bench_env()
    )
    if proc.returncode != 0:
        raise BenchError(f"git {' '.join(args[:2])} failed in {repo}: {proc.stderr.decode()}")
    return proc.stdout.decode()


def data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def commit_stream(commits: Sequence[Commit]) -> bytes:
    chunks = []
    for c in commits:
        who = f"{NAME} <{EMAIL}> {c.timestamp} +0000".encode()
        chunks += [b"commit refs/heads/main\nmark :%d\n" % c.mark]
        chunks += [b"author " + who + b"\n", b"committer " + who + b"\n", data(c.message.encode())]
        for path, content in c.files.items():
            chunks += [b"M 100644 inline " + path.encode() + b"\n", data(content)]
        chunks.append(b"\n")
    return b"".join([*chunks, b"done\n"])


def tag_message(tag: Tag, commit: str) -> str:
    """Like champion's NewTag.message: a summary, a blank line, sorted JSON with schema 1."""
    metadata = dict(tag.metadata)
    if metadata["event"] == "register":
        metadata["commit"] = commit
    body = json.dumps({"schema": 1, **metadata}, sort_keys=True, indent=2)
    return f"{tag.summary}\n\n{body}\n"


def tag_stream(tags: Sequence[Tag], shas: dict[int, str]) -> bytes:
    chunks = []
    for t in tags:
        sha = shas[t.mark]
        chunks += [f"tag {t.name}\nfrom {sha}\n".encode()]
        chunks += [f"tagger {NAME} <{EMAIL}> {t.timestamp} +0000\n".encode()]
        chunks += [data(tag_message(t, sha).encode())]
    return b"".join([*chunks, b"done\n"])


def read_marks(path: Path) -> dict[int, str]:
    marks = {}
    for line in path.read_text().splitlines():
        mark, sha = line.split()
        marks[int(mark.lstrip(":"))] = sha
    return marks


def build_repo(repo: Path, timeline: Timeline) -> int:
    """Commits first (to learn their shas), then the tags; returns the number of tags."""
    if repo.exists() and any(repo.iterdir()):
        raise BenchError(f"{repo} is not empty: remove it or choose another --workdir")
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    marks = repo / ".git" / "bench-marks"
    stream = commit_stream(timeline.commits)
    git(repo, "fast-import", "--quiet", "--done", f"--export-marks={marks}", stdin=stream)
    git(
        repo, "fast-import", "--quiet", "--done", stdin=tag_stream(timeline.tags, read_marks(marks))
    )
    marks.unlink()
    git(repo, "reset", "--quiet", "--hard", "main")
    git(repo, "pack-refs", "--all")
    count = len(git(repo, "for-each-ref", "--format=%(refname)", "refs/tags").splitlines())
    if count != len(timeline.tags):
        raise BenchError(f"{repo} holds {count} tags, expected {len(timeline.tags)}")
    return count


def build(repo: Path, models: Sequence[str], versions: int) -> Timeline:
    start = time.perf_counter()
    timeline = generate(models, versions)
    count = build_repo(repo, timeline)
    stage_tags = count - len(models) * versions
    print(
        f"built {repo}: {len(models)} models x {versions} versions, {count} tags "
        f"({len(models) * versions} version + {stage_tags} stage) "
        f"in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    return timeline


# --- timing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    label: str
    times: tuple[float, ...] = ()
    note: str = ""
    target: float | None = None  # the time it should stay under, in seconds

    @property
    def best(self) -> float | None:
        return min(self.times) if self.times else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def verdict(self) -> str:
        if self.target is None or self.best is None:
            return ""
        return f"< {self.target:.3f} {'met' if self.best < self.target else 'MISSED'}"


@dataclass(frozen=True)
class Command:
    label: str
    argv: tuple[str, ...]
    cwd: Path
    target: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Runner:
    env: dict[str, str]

    def once(self, cmd: Command, timeout: float | None = None) -> tuple[float, str]:
        """Wall-clock seconds of one run, and its stdout."""
        start = time.perf_counter()
        proc = subprocess.run(
            cmd.argv, cwd=cmd.cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise BenchError(
                f"{' '.join(cmd.argv)} exited {proc.returncode} in {cmd.cwd}: {proc.stderr}"
            )
        return elapsed, proc.stdout

    def best_of(self, commands: Sequence[Command], runs: int) -> list[Timing]:
        """One untimed warm-up run each (bytecode and page caches), then `runs` rounds in turn,
        so a change in the machine's load weighs on every command alike."""
        for cmd in commands:
            self.once(cmd)
        times: list[list[float]] = [[] for _ in commands]
        for _ in range(runs):
            for cmd, bucket in zip(commands, times, strict=True):
                bucket.append(self.once(cmd)[0])
        timings = [
            Timing(c.label, tuple(t), note=c.note, target=c.target)
            for c, t in zip(commands, times, strict=True)
        ]
        for t in timings:
            print(f"  {t.label}: {fmt(t.best)} s", flush=True)
        return timings

    def time_once(self, cmd: Command, timeout: float) -> tuple[Timing, str]:
        """One run and its output; a timeout or a failure becomes a note, not an error."""
        print(f"  {cmd.label}: running (timeout {timeout:.0f} s) ...", flush=True)
        try:
            elapsed, out = self.once(cmd, timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"  {cmd.label}: timed out", flush=True)
            return Timing(cmd.label, note=f"timed out after {timeout:.0f} s"), ""
        except BenchError as e:
            print(f"  {cmd.label}: {e}", flush=True)
            return Timing(cmd.label, note="failed (see above)"), ""
        print(f"  {cmd.label}: {fmt(elapsed)} s", flush=True)
        return Timing(cmd.label, (elapsed,)), out


def executable(name: str) -> Path:
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise BenchError(f"{path} not found: install the project first (make venv)")
    return path


def read_commands(champion: Path, repo: Path, where: str) -> list[Command]:
    """champion status and history in `repo`, and git for-each-ref over the same refs."""
    refs = (f"refs/tags/{MODEL}@*", f"refs/tags/{MODEL}#*")
    return [
        Command(
            f"champion status {MODEL} ({where})",
            (str(champion), "status", MODEL),
            repo,
            TARGET_SECONDS,
        ),
        Command(
            f"champion history {MODEL} ({where})",
            (str(champion), "history", MODEL),
            repo,
            TARGET_SECONDS,
        ),
        Command(
            f"git for-each-ref {MODEL} refs ({where}; floor)",
            ("git", "for-each-ref", f"--format={REF_FORMAT}", *refs),
            repo,
        ),
    ]


def status_all_command(champion: Path, repo: Path, models: int) -> Command:
    return Command(
        f"champion status (all {models} models)",
        (str(champion), "status"),
        repo,
        note="every model: all the repository's tags",
    )


def python_commands(cwd: Path) -> list[Command]:
    python = sys.executable
    return [
        Command("python -c pass (floor)", (python, "-c", "pass"), cwd),
        Command(
            "python -c 'import champion.cli' (floor)", (python, "-c", "import champion.cli"), cwd
        ),
    ]


# --- correctness ----------------------------------------------------------------------------


def champion_json(runner: Runner, champion: Path, repo: Path, command: str) -> dict[str, Any]:
    cmd = Command(command, (str(champion), command, MODEL, "--json"), repo)
    result: dict[str, Any] = json.loads(runner.once(cmd)[1])
    return result


def check(runner: Runner, champion: Path, repo: Path, history: ModelHistory) -> None:
    """champion's live versions and event order are the ones the generator wrote."""
    status = champion_json(runner, champion, repo, "status")["models"][0]
    got = {
        "latest": status["latest"],
        "stages": {s: (status["stages"].get(s) or {}).get("version") for s in STAGES},
    }
    expected = history.expected_status()
    if got != expected:
        raise BenchError(
            f"champion status {MODEL} --json in {repo} reports {got}, the generated history "
            f"implies {expected}"
        )
    events = [e["tag"] for e in champion_json(runner, champion, repo, "history")["events"]]
    if events != history.tags:
        first = next(
            (i for i, (a, b) in enumerate(zip(events, history.tags, strict=False)) if a != b),
            min(len(events), len(history.tags)),
        )
        raise BenchError(
            f"champion history {MODEL} --json in {repo} lists {len(events)} events, the generator "
            f"wrote {len(history.tags)}; first difference at position {first}"
        )
    print(
        f"  check ok: {MODEL} latest {expected['latest']}, prod {expected['stages']['prod']}, "
        f"staging {expected['stages']['staging']}, {len(events)} events in order",
        flush=True,
    )


def gto_stages(table: str) -> dict[str, str]:
    """Stage -> version from `gto show MODEL`'s table (columns artifact, version, stage, ...)."""
    live = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) >= 3 and cells[0] == MODEL and cells[2]:
            for stage in cells[2].replace(",", " ").split():
                live[stage] = cells[1].removeprefix("v")
    return live


def gto_agreement(table: str, history: ModelHistory) -> str | None:
    """None when GTO shows the live versions champion does; else what differs."""
    expected = {s: v for s, v in history.live.items() if v is not None}
    got = gto_stages(table)
    if got == expected:
        shown = ", ".join(f"{s} {v}" for s, v in sorted(got.items()))
        print(f"  check ok: gto show {MODEL} agrees with champion ({shown})", flush=True)
        return None
    return f"gto show {MODEL} shows {got or 'no live version'}, champion's rule gives {expected}"


# --- report ---------------------------------------------------------------------------------


def fmt(seconds: float | None) -> str:
    return f"{seconds:.3f}" if seconds is not None else "-"


def print_table(timings: Sequence[Timing]) -> None:
    width = max(len(t.label) for t in timings)
    print(f"\n{'benchmark':<{width}}  {'best s':>7}  {'median s':>8}  runs  target / note")
    for t in timings:
        line = f"{t.label:<{width}}  {fmt(t.best):>7}  {fmt(t.median):>8}  {len(t.times):>4}"
        print(f"{line}  {' '.join(filter(None, (t.verdict, t.note)))}".rstrip())


@dataclass(frozen=True)
class Ratio:
    label: str
    value: float | None
    at_least: bool = False  # the slower side timed out: the value is a lower bound
    target: str = ""
    met: bool | None = None

    def render(self, width: int) -> str:
        if self.value is None:
            shown = "-"
        else:
            digits = 2 if self.value < 10 else 0
            shown = f"{'> ' if self.at_least else ''}{self.value:.{digits}f}x"
        verdict = "" if self.met is None else ("met" if self.met else "MISSED")
        return f"{self.label:<{width}}  {shown:>8}  {self.target} {verdict}".rstrip()


def ratio(label: str, num: Timing, den: Timing, target: str = "", median: bool = False) -> Ratio:
    """Of the best times; of the medians with `median` (steadier on a busy machine)."""
    a, b = (num.median, den.median) if median else (num.best, den.best)
    if a is None or b is None:
        return Ratio(label, None, target=target)
    return Ratio(label, a / b, target=target)


def speedup(gto: Timing, read: Timing, timeout: float) -> Ratio:
    label = f"{gto.label.split(' (')[0]} / {read.label}"
    target = f">= {TARGET_SPEEDUP:.0f}x"
    if read.best is None:
        return Ratio(label, None, target=target)
    if gto.best is None:
        if not gto.note.startswith("timed out"):
            return Ratio(label, None, target=target)
        value = timeout / read.best  # a lower bound: below the target, it decides nothing
        met = True if value >= TARGET_SPEEDUP else None
        return Ratio(label, value, at_least=True, target=target, met=met)
    value = gto.best / read.best
    return Ratio(label, value, target=target, met=value >= TARGET_SPEEDUP)


def print_ratios(ratios: Sequence[Ratio]) -> None:
    width = max(len(r.label) for r in ratios)
    print(f"\n{'ratio':<{width}}  {'value':>8}  target")
    for r in ratios:
        print(r.render(width))


# --- main -----------------------------------------------------------------------------------


@contextmanager
def workspace(path: str | None) -> Iterator[Path]:
    if path is not None:
        root = Path(path).resolve()
        root.mkdir(parents=True, exist_ok=True)
        yield root
        return
    with tempfile.TemporaryDirectory(prefix="champion-bench-") as tmp:
        yield Path(tmp)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", type=int, default=20, help="models in the big repo (>= 8)")
    parser.add_argument("--versions", type=int, default=500, help="versions per model")
    parser.add_argument(
        "--workdir", help="build the repositories here (kept) instead of a temp folder"
    )
    parser.add_argument(
        "--runs", type=int, default=RUNS, help=f"timed runs per command, best kept; default {RUNS}"
    )
    parser.add_argument("--skip-gto", action="store_true", help="do not time gto show")
    parser.add_argument(
        "--gto-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="per gto run; default 300",
    )
    args = parser.parse_args(argv)
    if args.models < 8:
        parser.error(f"--models must be at least 8 so that {MODEL} exists")
    if args.versions < 1 or args.runs < 1:
        parser.error("--versions and --runs must be at least 1")
    return args


def time_gto(
    runner: Runner, big: Path, small: Path, where: str, timeout: float
) -> tuple[list[Timing], str]:
    """`gto show MODEL` once per repository, after an untimed run that compiles its bytecode."""
    gto = str(executable("gto"))
    runner.time_once(Command("gto show (warm-up, untimed)", (gto, "show", MODEL), small), timeout)
    timing, table = runner.time_once(
        Command(f"gto show {MODEL} ({where})", (gto, "show", MODEL), big), timeout
    )
    timing_small, _ = runner.time_once(
        Command(f"gto show {MODEL} (2 models)", (gto, "show", MODEL), small), timeout
    )
    return [timing, timing_small], table


def time_champion(
    runner: Runner, champion: Path, big: Path, small: Path, models: int, runs: int
) -> list[Timing]:
    """Big-repo status, history and git floor, small-repo status, python floors, status of all."""
    print(f"\ntiming (best of {runs} after a warm-up; each run a fresh process)", flush=True)
    commands = [
        *read_commands(champion, big, f"{models} models"),
        read_commands(champion, small, "2 models")[0],
        *python_commands(big),
        status_all_command(champion, big, models),
    ]
    return runner.best_of(commands, runs)


def run(args: argparse.Namespace, root: Path) -> int:
    champion = executable("champion")
    runner = Runner(bench_env(pycache=root / "pycache"))
    big, small = root / "big", root / "small"
    history = build(big, model_names(args.models), args.versions).histories[MODEL]
    small_history = build(small, [OTHER_MODEL, MODEL], args.versions).histories[MODEL]
    check(runner, champion, big, history)
    check(runner, champion, small, small_history)

    timings = time_champion(runner, champion, big, small, args.models, args.runs)
    status, hist, floor, status_small = timings[:4]
    where = f"{args.models} models"
    ratios = [
        ratio(f"champion status {MODEL}: {where} / 2 models", status, status_small, "~1x"),
        ratio(
            f"champion status {MODEL}: {where} / 2 models, medians",
            status,
            status_small,
            "~1x",
            median=True,
        ),
        ratio(f"champion status / git for-each-ref ({where})", status, floor),
    ]
    problem = None
    if not args.skip_gto:
        gto_timings, table = time_gto(runner, big, small, where, args.gto_timeout)
        gto_big, gto_small = gto_timings
        timings += gto_timings
        ratios = [
            speedup(gto_big, status, args.gto_timeout),
            speedup(gto_big, hist, args.gto_timeout),
            *ratios,
            ratio(f"gto show {MODEL}: {where} / 2 models", gto_big, gto_small),
        ]
        problem = gto_agreement(table, history) if table else None

    print_table(timings)
    print_ratios(ratios)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with workspace(args.workdir) as root:
            return run(args, root)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

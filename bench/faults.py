"""Fault injection: kill -9 champion mid-write, race it, then check that nothing false was said.

Repeats the crash half of issue 14's sweep, reproducibly (--seed). A project with a bare origin
whose pre-receive hook sleeps a random time (so a kill can land while the push is in flight),
four versions of a git-tracked model, 0.1.0 -> 0.2.0 -> 0.3.0 promoted to prod in turn, a pointer
folder. Then:

- crash trials: one of `promote 0.4.0 --stage prod`, `promote 0.2.0 --stage staging`,
  `rollback --reason ...`, `release --promote prod` (on a new commit), all with --push, killed
  with SIGKILL at a random moment (start-up, planning, tag writing, the push, the publish); then
  the same command again, to completion, as a CI rerun would (same GITHUB_RUN_ID);
- race trials: two to three of those commands from separate clones, released together, some of
  them killed at random; then each killed one rerun.

After every run it reads the origin (git ls-remote and the tag messages) and counts:

- half-applied pushes: the origin holds part of one operation (an unassign whose assign is
  missing, a `release --promote` version with no assign);
- false successes: a run exited 0 but the origin does not hold what it reported (the version it
  said is live is not, a tag it said it pushed is absent);
- wrong reports: a run exited 0, the origin holds what it said, but the clone's own view
  (`champion status`, without --remote) disagrees with the origin afterwards, or it said
  "already ..." / "nothing to do" about a state the origin did not have before the run;
- exit 3: an unexpected error.

    .venv/bin/python bench/faults.py [--trials 40] [--races 8] [--seed 1] [--workdir DIR]

Prints the counts and each finding; exits 1 when any count is not zero.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from champion.registry import Registry

MODEL = "churn"
CONFIG = f"""\
stages: [staging, prod]
models:
  {MODEL}:
    path: models/{MODEL}.bin
    pointer: ../pointers
"""
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Faults",
    "GIT_AUTHOR_EMAIL": "faults@example.com",
    "GIT_COMMITTER_NAME": "Faults",
    "GIT_COMMITTER_EMAIL": "faults@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
for _var in [v for v in ENV if v.startswith("GITHUB_")]:
    ENV.pop(_var)
CHAMPION = [sys.executable, "-m", "champion"]
HOOK = """#!/bin/sh
# Slows every push down by the delay the trial wrote, so a kill can land mid-push.
cat > /dev/null
sleep "$(cat "$GIT_DIR/delay" 2>/dev/null || echo 0)"
"""
OPERATIONS = {
    "promote-prod": ["promote", MODEL, "0.4.0", "--stage", "prod", "--push"],
    "promote-staging": ["promote", MODEL, "0.2.0", "--stage", "staging", "--push"],
    "rollback": ["rollback", MODEL, "--reason", "fault trial", "--push"],
    "release": ["release", MODEL, "--promote", "prod", "--bump", "minor", "--push"],
}


def sh(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env or ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"`{' '.join(cmd)}` failed in {cwd}:\n{proc.stderr[-2000:]}")
    return proc.stdout


def build(base: Path) -> Path:
    """The template project: work/, origin.git/ (hooked), pointers/."""
    template = base / "template"
    work, origin = template / "work", template / "origin.git"
    template.mkdir(parents=True)
    sh(["git", "init", "-q", "--bare", "-b", "main", str(origin)], template)
    sh(["git", "init", "-q", "-b", "main", str(work)], template)
    sh(["git", "remote", "add", "origin", "../origin.git"], work)
    (work / "champion.yaml").write_text(CONFIG)
    for n in range(1, 5):
        (work / "models").mkdir(exist_ok=True)
        (work / "models" / f"{MODEL}.bin").write_bytes(f"model {n}".encode())
        sh(["git", "add", "-A"], work)
        sh(["git", "commit", "-q", "-m", f"train {n}"], work)
        sh(["git", "push", "-q", "origin", "main"], work)
        sh([*CHAMPION, "register", MODEL, "--version", f"0.{n}.0", "--push"], work)
    for version in ("0.1.0", "0.2.0", "0.3.0"):
        sh([*CHAMPION, "promote", MODEL, version, "--stage", "prod", "--push"], work)
    hook = origin / "hooks" / "pre-receive"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    return template


def trial_copy(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, symlinks=True)
    return dest / "work"


def clone(origin: Path, dest: Path) -> Path:
    sh(["git", "clone", "-q", str(origin), str(dest)], origin.parent)
    return dest


def new_commit(work: Path, content: str) -> None:
    """A new artifact on main, pushed (what `release` would run on after a merge)."""
    sh(["git", "pull", "-q", "--no-rebase", "origin", "main"], work)
    (work / "models" / f"{MODEL}.bin").write_text(content)
    sh(["git", "commit", "-q", "-am", "retrain"], work)
    sh(["git", "push", "-q", "origin", "main"], work)


# --- reading the origin --------------------------------------------------------------------------


@dataclass
class Origin:
    tags: dict[str, dict[str, object]]  # name -> metadata (empty when none)
    live: dict[str, str]

    @property
    def names(self) -> set[str]:
        return set(self.tags)


def read_origin(origin: Path) -> Origin:
    fmt = "%(refname:strip=2)%00%(contents:body)%00%00"
    out = subprocess.run(
        ["git", "for-each-ref", f"--format={fmt}", "refs/tags"],
        cwd=origin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tags: dict[str, dict[str, object]] = {}
    for record in out.split("\0\0\n"):
        if not record:
            continue
        name, _, body = record.partition("\0")
        try:
            meta = json.loads(body)
        except ValueError:
            meta = {}
        tags[name] = meta if isinstance(meta, dict) else {}
    state = Registry(origin).state(MODEL)  # a bare repository reads the same way
    return Origin(tags, {s: str(x.version) for s, x in state.live.items()})


_STAGE = re.compile(rf"^{MODEL}#(?P<stage>[^#!]+)(?P<un>!?)#(?P<n>[0-9]+)$")


def half_applied(origin: Origin) -> list[str]:
    """Parts of an operation without the rest: an unassign that makes way for an assign (it names
    `replaced_by`) must be followed by that assign; a version released with --promote must be
    assigned somewhere."""
    found = []
    by_counter = {}
    for name in origin.tags:
        m = _STAGE.match(name)
        if m:
            by_counter[int(m["n"])] = (m["stage"], bool(m["un"]), name)
    for n, (stage, un, name) in by_counter.items():
        meta = origin.tags[name]
        if un and meta.get("replaced_by"):
            follow = by_counter.get(n + 1)
            if follow is None or follow[1] or follow[0] != stage:
                found.append(f"{name} (unassign for {meta['replaced_by']}) has no assign after it")
    for name, meta in origin.tags.items():
        if "@v" in name and meta.get("bump_reason") == "--bump minor":  # released by a trial
            version = name.split("@v", 1)[1]
            assigned = any(
                m.get("event") == "assign" and m.get("version") == version
                for m in origin.tags.values()
            )
            if not assigned:
                found.append(f"{name} was released with --promote but is assigned nowhere")
    return found


# --- running commands ----------------------------------------------------------------------------


@dataclass
class Run:
    op: str
    work: Path
    env: dict[str, str]
    code: int | None = None  # None: killed
    out: str = ""
    err: str = ""


def start(op: str, work: Path, run_id: str) -> tuple[Run, subprocess.Popen[str]]:
    env = {**ENV, "GITHUB_RUN_ID": run_id}
    proc = subprocess.Popen(
        [*CHAMPION, *OPERATIONS[op]],
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the kill takes git children too
    )
    return Run(op, work, env), proc


def finish(run: Run, proc: subprocess.Popen[str], kill_after: float | None) -> Run:
    try:
        out, err = proc.communicate(timeout=kill_after)
        run.code, run.out, run.err = proc.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        run.code = None
    return run


def rerun(run: Run) -> Run:
    proc = subprocess.run(
        [*CHAMPION, *OPERATIONS[run.op]], cwd=run.work, env=run.env, capture_output=True, text=True
    )
    return Run(run.op, run.work, run.env, proc.returncode, proc.stdout, proc.stderr)


# --- judging what a completed run said -----------------------------------------------------------

_PROMOTED = re.compile(r"promoted \S+ (\S+) to (\S+)")
_ALREADY_LIVE = re.compile(r"\S+ (\S+) is already live in (\S+)")
_ROLLED = re.compile(r"rolled \S+ in (\S+) back from \S+ to (\S+)")
_RELEASED = re.compile(r"released \S+ (\S+) as (\S+)")
_PUSHED_TAGS = re.compile(r": ((?:[^\s,]+#[^\s,]+(?:, )?)+), pushed to")
_OWN_ROLLBACK = re.compile(r"already rolled back by this run \((\S+)\)")
_OTHERS_ROLLBACK = re.compile(
    r"in (\S+): \S+ was rolled back by another run meanwhile \((\S+) made (\S+) live\)"
)


@dataclass
class Tally:
    trials: int = 0
    runs: int = 0
    kills: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        self.counts[kind] += 1
        self.findings.append(f"{kind}: {text}")


def judge(run: Run, before: Origin, after: Origin, tally: Tally) -> None:
    """A completed run: exit 0 must mean the origin holds what it printed."""
    tally.runs += 1
    label = f"{run.op} in {run.work.parent.name}/{run.work.name}"
    if run.code == 3 or "Traceback" in run.err:
        tally.add("exit 3", f"{label}: {run.err.strip()[-300:]}")
        return
    if run.code != 0:
        return  # a refusal (exit 2), e.g. a rollback that lost a race: said, not claimed
    claims: list[tuple[str, str]] = []  # (stage, version) the run says is live now
    for m in _PROMOTED.finditer(run.out):
        claims.append((m[2].rstrip(":"), m[1]))
    for m in _ALREADY_LIVE.finditer(run.out):
        claims.append((m[2].rstrip(";"), m[1]))
    for m in _ROLLED.finditer(run.out):
        claims.append((m[1], m[2].rstrip(":")))
    for m in _RELEASED.finditer(run.out):
        if m[2].rstrip(",") not in after.names:
            tally.add("false success", f"{label}: said released {m[2]}, the origin lacks it")
    for m in _OWN_ROLLBACK.finditer(run.out):
        if m[1] not in after.names:
            tally.add(
                "false success", f"{label}: said this run already wrote {m[1]}, the origin lacks it"
            )
    for m in _OTHERS_ROLLBACK.finditer(run.out):
        claims.append((m[1], m[3]))
        if m[2] not in after.names:
            tally.add("false success", f"{label}: named {m[2]}, the origin lacks it")
    for m in _PUSHED_TAGS.finditer(run.out):
        missing = [t for t in m[1].split(", ") if t not in after.names]
        if missing:
            tally.add("false success", f"{label}: said it pushed {missing}, the origin lacks them")
    for stage, version in claims:
        # Another racer may have moved the stage since: only a lie if nobody wrote after it.
        if after.live.get(stage) != version and not _moved_by_others(before, after, run):
            tally.add(
                "false success",
                f"{label}: said {version} is live in {stage}, the origin says "
                f"{after.live.get(stage)}",
            )
    if ("already" in run.out or "nothing to do" in run.out) and before.live == after.live:
        for stage, version in claims:
            if before.live.get(stage) != version:
                tally.add(
                    "wrong report",
                    f"{label}: said {version} was already live in {stage}; the origin had "
                    f"{before.live.get(stage)}",
                )
    local = Registry(run.work).state(MODEL)
    mine = {s: str(x.version) for s, x in local.live.items()}
    if mine != after.live and not _moved_by_others(before, after, run):
        tally.add("wrong report", f"{label}: the clone's view {mine} != the origin's {after.live}")


def _moved_by_others(before: Origin, after: Origin, run: Run) -> bool:
    """In a race, tags other runs pushed after this one's: their stage events are not this run's
    business (compared by what this run printed)."""
    written = set(re.findall(r"[^\s,:]+#[^\s,:]+", run.out))
    return bool((after.names - before.names) - written - {n for n in after.names if "@" in n})


# --- the trials ----------------------------------------------------------------------------------


def crash_trial(template: Path, base: Path, i: int, rng: random.Random, tally: Tally) -> None:
    work = trial_copy(template, base / f"crash-{i}")
    origin = work.parent / "origin.git"
    op = rng.choice(list(OPERATIONS))
    if op == "release":
        new_commit(work, f"model {i}-new")
    (origin / "delay").write_text(f"{rng.uniform(0, 0.8):.2f}")
    before = read_origin(origin)
    run, proc = start(op, work, run_id=f"{1000 + i}")
    finish(run, proc, kill_after=rng.uniform(0.2, 1.6))
    tally.trials += 1
    middle = read_origin(origin)
    for text in half_applied(middle):
        tally.add("half-applied push", f"{op} (killed: {run.code is None}): {text}")
    if run.code is None:
        tally.kills += 1
    else:
        judge(run, before, middle, tally)
    (origin / "delay").write_text("0")
    again = rerun(run)
    after = read_origin(origin)
    judge(again, middle, after, tally)
    for text in half_applied(after):
        tally.add("half-applied push", f"{op} rerun: {text}")


def race_trial(template: Path, base: Path, i: int, rng: random.Random, tally: Tally) -> None:
    root = base / f"race-{i}"
    work = trial_copy(template, root)
    origin = root / "origin.git"
    ops = rng.sample(list(OPERATIONS), rng.randint(2, 3))
    if "release" in ops:
        new_commit(work, f"model race {i}")
    works = [clone(origin, root / f"racer-{n}") for n in range(len(ops))]
    (origin / "delay").write_text(f"{rng.uniform(0, 0.4):.2f}")
    before = read_origin(origin)
    started = [
        start(op, w, run_id=f"{5000 + i * 10 + n}")
        for n, (op, w) in enumerate(zip(ops, works, strict=True))
    ]
    runs = [
        finish(run, proc, kill_after=rng.uniform(0.3, 3.0) if rng.random() < 0.5 else 60)
        for run, proc in started
    ]
    tally.trials += 1
    middle = read_origin(origin)
    for text in half_applied(middle):
        tally.add("half-applied push", f"race {ops}: {text}")
    for run in runs:
        if run.code is None:
            tally.kills += 1
        else:
            judge(run, before, middle, tally)
    (origin / "delay").write_text("0")
    for run in runs:
        if run.code is None:
            prior = read_origin(origin)
            again = rerun(run)
            judge(again, prior, read_origin(origin), tally)
    for text in half_applied(read_origin(origin)):
        tally.add("half-applied push", f"race {ops} after reruns: {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40, help="crash trials")
    parser.add_argument("--races", type=int, default=8, help="race trials")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, help="keep the trials here (default: a temp dir)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    base = args.workdir or Path(tempfile.mkdtemp(prefix="champion-faults-"))
    base.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    template = build(base)
    tally = Tally()
    for i in range(args.trials):
        crash_trial(template, base, i, rng, tally)
    for i in range(args.races):
        race_trial(template, base, i, rng, tally)
    elapsed = time.perf_counter() - started
    print(f"fault injection, seed {args.seed}: {args.trials} crash trials, {args.races} races")
    print(f"  runs killed with SIGKILL:  {tally.kills}")
    print(f"  runs completed and judged: {tally.runs}")
    for kind in ("half-applied push", "false success", "wrong report", "exit 3"):
        print(f"  {kind + ':':26} {tally.counts[kind]}")
    print(f"  ({elapsed:.0f} s)")
    for text in tally.findings:
        print(f"- {text}")
    if args.workdir is None:
        shutil.rmtree(base, ignore_errors=True)
    return 1 if tally.counts else 0


if __name__ == "__main__":
    sys.exit(main())

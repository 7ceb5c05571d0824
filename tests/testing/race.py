"""Start several `python -m champion ...` processes and release them at the same instant.

Each process imports champion first, reports ready through a file, then spins until the parent
creates the `go` file; only then does it run `champion` as `python -m champion` would
(`runpy.run_module("champion", run_name="__main__")`). So interpreter start-up and imports are not
part of the race and the writes really overlap.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 60

_WRAPPER = """\
import os, runpy, sys, time
ready, go = sys.argv[1], sys.argv[2]
import champion.cli  # noqa: F401  (start-up cost before the barrier)
open(ready, "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("the start barrier was never released")
    time.sleep(0.001)
sys.argv = ["champion", *sys.argv[3:]]
runpy.run_module("champion", run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class Finished:
    args: tuple[str, ...]
    code: int
    out: str
    err: str


def run_together(
    commands: Sequence[tuple[Path, Sequence[str]]], barrier: Path, timeout: float = TIMEOUT
) -> list[Finished]:
    """Runs `champion ARGS` in `cwd` for each (cwd, ARGS), all released together; returns their
    results in the same order. The environment is the test's (`os.environ`)."""
    barrier.mkdir(parents=True, exist_ok=True)
    go = barrier / "go"
    ready = [barrier / f"ready-{i}" for i in range(len(commands))]
    procs: list[subprocess.Popen[str]] = []
    try:
        for (cwd, args), flag in zip(commands, ready, strict=True):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", _WRAPPER, str(flag), str(go), *args],
                    cwd=cwd,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=os.environ.copy(),
                )
            )
        deadline = time.monotonic() + timeout
        while not all(f.exists() for f in ready):
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                _, err = dead[0].communicate()
                raise AssertionError(f"a racer exited before the start: {err}")
            if time.monotonic() > deadline:
                raise AssertionError("the racers did not get ready in time")
            time.sleep(0.005)
        go.touch()
        results = []
        for (_, args), proc in zip(commands, procs, strict=True):
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            results.append(Finished(tuple(args), proc.returncode, out, err))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

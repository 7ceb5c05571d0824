"""Progress of long work (an evaluation over a large set, a DVC push or pull, a watch run).

The core reports (`report(task, done, fraction)`) and never draws: the CLI installs a sink with
`on_terminal()`, which draws tqdm bars on stderr only when stderr is a terminal. On anything else
(a CI log, a pipe, a file) nothing is drawn, so logs stay clean (issue 17).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any

# task, units done, fraction of the whole done (None: unknown), the unit's name
Sink = Callable[[str, int, "float | None", str], None]

_sink: ContextVar[Sink | None] = ContextVar("champion_progress_sink", default=None)


def report(task: str, done: int, fraction: float | None = None, unit: str = "rows") -> None:
    sink = _sink.get()
    if sink is not None:
        sink(task, done, fraction, unit)


def finish(task: str) -> None:
    """Closes `task`'s bar, if one is drawn (the next output then starts on a clean line)."""
    sink = _sink.get()
    if sink is not None:
        sink(task, -1, None, "")


def enabled() -> bool:
    """Whether progress is drawn: a child process (dvc) may then draw its own."""
    return _sink.get() is not None


@contextmanager
def on_terminal(stream: IO[str] | None = None) -> Iterator[None]:
    stream = sys.stderr if stream is None else stream
    if not _is_terminal(stream):
        yield
        return
    bars: dict[str, Any] = {}
    started: dict[str, float] = {}
    size = _size(stream)

    def draw(task: str, done: int, fraction: float | None, unit: str) -> None:
        from tqdm import tqdm  # type: ignore[import-untyped]

        if done < 0:  # the rate keeps counting from the task's first report
            bar = bars.pop(task, None)
            if bar is not None:
                bar.close()
            return
        bar = bars.get(task)
        if bar is None:
            started.setdefault(task, time.perf_counter())
            bar = bars[task] = tqdm(
                total=100,
                desc=task,
                file=stream,
                leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}"
                if fraction is not None
                else "{desc}: {postfix}",
                ncols=size[0],
                nrows=size[1],
            )
        elapsed = max(time.perf_counter() - started[task], 1e-9)
        if fraction is not None:
            bar.n = round(min(max(fraction, 0.0), 1.0) * 100, 1)
        bar.set_postfix_str(f"{done:,} {unit}, {done / elapsed:,.0f} {unit}/s", refresh=False)
        bar.refresh()

    token = _sink.set(draw)
    try:
        yield
    finally:
        _sink.reset(token)
        for bar in bars.values():
            bar.close()


def _size(stream: IO[str]) -> tuple[int, int]:
    # A terminal that reports no size (0 x 0: a fresh pseudo-terminal) would get no bar at all:
    # tqdm draws nothing below its last row.
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return 80, 24
    return size.columns or 80, size.lines or 24


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

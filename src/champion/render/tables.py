"""Aligned tables for a terminal, with their verdicts in colour when colour is allowed.

Colour is allowed on a terminal unless `NO_COLOR` is set (no-color.org) or `TERM=dumb`;
`FORCE_COLOR` turns it on elsewhere (a CI log that renders colour). `NO_COLOR` wins. Cells are
escaped (no control character or escape sequence from a tag or a message reaches the terminal)
before champion adds its own colour codes, and aligned on their visible text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import IO

from champion.redact import scrub
from champion.render.escape import terminal

GOOD, BAD, WARN, MUTED = "good", "bad", "warn", "muted"
_SGR = {GOOD: "32", BAD: "31", WARN: "33", MUTED: "2", "header": "1"}
_CODE = re.compile(r"\x1b\[[0-9;]*m")

# paint(column header, cell text) -> a style name, or None for plain
Paint = Callable[[str, str], "str | None"]


def colour_allowed(stream: IO[str]) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def table(
    rows: Sequence[Sequence[str]], headers: Sequence[str], paint: Paint, *, colour: bool
) -> list[str]:
    """The lines of the table, each cell escaped; with `colour`, styled by `paint`."""
    cells = [[_safe(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = []
        for i, text in enumerate(row):
            padded = text.ljust(widths[i]) if i < len(row) - 1 else text
            style = "header" if n == 0 else paint(headers[i], text)
            if colour and style and text:
                padded = f"\x1b[{_SGR[style]}m{text}\x1b[0m{padded[len(text) :]}"
            parts.append(padded)
        lines.append("  ".join(parts).rstrip())
    return lines


def plain(text: str) -> str:
    """`text` without champion's colour codes (what a terminal shows)."""
    return _CODE.sub("", text)


def _safe(value: object) -> str:
    return terminal(scrub(str(value))).replace("\n", " ")


# --- the registry's tables --------------------------------------------------------------------


def status_paint(stages: Sequence[str]) -> Paint:
    def paint(column: str, text: str) -> str | None:
        if text == "-":
            return MUTED
        if column in stages:
            return GOOD  # the version live there
        if column == "rolled back":
            return BAD
        return None

    return paint


def versions_paint(column: str, text: str) -> str | None:
    if text == "-":
        return MUTED
    if column == "live in":
        return GOOD
    if column == "notes" and ("rolled back" in text or "deregistered" in text):
        return BAD
    return None


_EVENTS = {"assign": GOOD, "register": GOOD, "rollback": BAD, "deregister": BAD, "unassign": WARN}


def history_paint(column: str, text: str) -> str | None:
    if text == "-":
        return MUTED
    if column == "event":
        return _EVENTS.get(text)
    if column == "note" and text.startswith("rolled back"):
        return BAD
    return None

"""Console and `$GITHUB_OUTPUT` writing; commands present results, the core never prints."""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from champion.redact import scrub
from champion.render.escape import terminal


def line(text: str = "") -> None:
    # What champion prints quotes tags, reports and files others wrote: never raw control or
    # bidi characters, never a secret.
    sys.stdout.write(f"{terminal(scrub(text))}\n")


def styled(text: str) -> None:
    """A line render.tables built: its cells escaped already, its colour codes champion's own."""
    sys.stdout.write(f"{text}\n")


def warn(text: str) -> None:
    sys.stderr.write(f"warning: {terminal(scrub(text))}\n")


def dump_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def github_output_path(explicit: str | None) -> Path | None:
    chosen = explicit or os.environ.get("GITHUB_OUTPUT")
    return Path(chosen) if chosen else None


def write_github_output(path: Path | None, values: Mapping[str, Any]) -> None:
    """Appends `name=value` lines; a multiline value gets a random delimiter it cannot contain."""
    if path is None:
        return
    chunks = []
    for key, value in values.items():
        text = "" if value is None else str(value)
        if "\n" in text or "\r" in text:
            delimiter = f"CHAMPION_{secrets.token_hex(8)}"
            chunks.append(f"{key}<<{delimiter}\n{text}\n{delimiter}\n")
        else:
            chunks.append(f"{key}={text}\n")
    with path.open("a", encoding="utf-8") as f:
        f.write("".join(chunks))


def table(rows: list[list[str]], headers: list[str]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*headers).rstrip(), *(fmt.format(*map(str, r)).rstrip() for r in rows)]


# GitHub keeps at most 1 MiB of summary per step; 4 bytes a character at worst in UTF-8.
SUMMARY_CHARS = (1 << 20) // 4


def append_step_summary(markdown: str) -> bool:
    """Appends to `$GITHUB_STEP_SUMMARY` (cut to its limit); False when there is none to write."""
    from champion.render.markdown import fit

    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    try:
        with open(target, "a", encoding="utf-8") as f:
            f.write(fit(markdown, SUMMARY_CHARS) + "\n")
    except OSError as e:  # a summary is worth less than the command's own work
        warn(f"the job summary {target} cannot be written: {e.strerror}")
        return False
    return True

"""What a step hands back to its GitHub Actions workflow, and the only code that writes it:
outputs (`$GITHUB_OUTPUT`), the job summary (`$GITHUB_STEP_SUMMARY`) and annotations (workflow
commands on stdout). Commands present their results; these are the files they present them in.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from champion import console
from champion.render.markdown import fit

# GitHub keeps at most 1 MiB of summary per step; 4 bytes a character at worst in UTF-8.
SUMMARY_CHARS = (1 << 20) // 4


def output_file(explicit: str | None) -> Path | None:
    """`--github-output FILE`, else `$GITHUB_OUTPUT`; None outside Actions."""
    chosen = explicit or os.environ.get("GITHUB_OUTPUT")
    return Path(chosen) if chosen else None


def set_outputs(github_output: str | None, values: Mapping[str, Any]) -> None:
    """Appends `name=value` lines to the output file (`output_file`); a multiline value gets a
    random delimiter it cannot contain, so no value can set another output."""
    path = output_file(github_output)
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


def append_summary(markdown: str) -> bool:
    """Appends to `$GITHUB_STEP_SUMMARY` (cut to its limit); False when there is none to write."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    try:
        with open(target, "a", encoding="utf-8") as f:
            f.write(fit(markdown, SUMMARY_CHARS) + "\n")
    except OSError as e:  # a summary is worth less than the command's own work
        console.warn(f"the job summary {target} cannot be written: {e.strerror}")
        return False
    return True


def summary_size() -> int:
    """The job summary's size so far (0 when there is none): whether a step wrote to it."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    try:
        return Path(target).stat().st_size if target else 0
    except OSError:
        return 0


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: str) -> str:
    """`::KIND name=value,...::message` (kind: error, warning, notice), escaped the way the
    runner reads it back: no text can end the command early or start another."""
    props = ",".join(f"{name}={escape_property(value)}" for name, value in properties.items())
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def annotate(kind: str, message: str, **properties: str) -> None:
    """An annotation on the run's page: `command(...)` on stdout."""
    emit(command(kind, message, **properties))


def emit(workflow_command: str) -> None:
    """Writes a workflow command on stdout at once, ahead of what a child process prints next."""
    console.line(workflow_command)
    sys.stdout.flush()

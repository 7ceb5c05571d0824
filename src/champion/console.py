"""The terminal: what commands print on stdout and stderr. The core never prints; commands present
what it returns through these, made inert first (no control character, no hidden text, no
secret), since what champion prints quotes tags, reports and files others wrote."""

from __future__ import annotations

import json
import sys
from typing import Any

from champion.redact import scrub
from champion.render.escape import terminal


def line(text: str = "") -> None:
    # What champion prints quotes tags, reports and files others wrote: never raw control or
    # bidi characters, never a secret.
    sys.stdout.write(f"{terminal(scrub(text))}\n")


def warn(text: str) -> None:
    sys.stderr.write(f"warning: {terminal(scrub(text))}\n")


def dump_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")

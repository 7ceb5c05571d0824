"""What `champion init` would do to each file, decided before anything is written.

Every file init writes starts with a marker holding the sha256 of the rest. A file whose marker
still matches is init's own, unedited: init may rewrite it. A file without one, or edited since,
is the user's: init shows the diff it would make and writes it only with --force.
"""

from __future__ import annotations

import difflib
import enum
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from champion.files import write_atomic

HEADER = "# Written by `champion init`. Edit it freely: init then leaves it alone (--force rewrites it).\n"
_MARK = "# champion-init-sha256: "
_MARK_RE = re.compile(r"\A(?:#[^\n]*\n)?# champion-init-sha256: ([0-9a-f]{64})\n")


class Action(enum.Enum):
    CREATE = "create"
    UNCHANGED = "unchanged"
    UPDATE = "update"  # init's own file, unedited, whose content init would now write differently
    EDITED = "edited"  # the user's (edited, or not written by init): refused without --force
    KEPT = "kept"  # champion.yaml that is already there: the user's contract, read, not rewritten


@dataclass(frozen=True)
class Change:
    path: str  # relative to the repository root
    action: Action
    text: str  # the full text init would write
    diff: str = ""  # for EDITED: from what is there to what init would write


def stamped(body: str) -> str:
    return f"{HEADER}{_MARK}{_digest(body)}\n{body}"


def ours_unedited(existing: str) -> bool:
    m = _MARK_RE.match(existing)
    return m is not None and m[1] == _digest(existing[m.end() :])


def plan(root: Path, desired: dict[str, str], *, keep: Iterable[str] = ()) -> list[Change]:
    """One Change per file of `desired` (path -> body, unstamped). A path in `keep` that exists
    is KEPT whatever it holds."""
    keep = set(keep)
    changes = []
    for path, body in desired.items():
        text = stamped(body)
        target = root / path
        try:
            existing = target.read_text(encoding="utf-8")
        except FileNotFoundError:
            changes.append(Change(path, Action.CREATE, text))
            continue
        except (OSError, UnicodeDecodeError):
            existing = ""
        if existing == text:
            changes.append(Change(path, Action.UNCHANGED, text))
        elif path in keep:
            changes.append(Change(path, Action.KEPT, text))
        elif existing == text:
            changes.append(Change(path, Action.UNCHANGED, text))
        elif ours_unedited(existing):
            changes.append(Change(path, Action.UPDATE, text))
        else:
            diff = "".join(
                difflib.unified_diff(
                    existing.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    f"{path} (yours)",
                    f"{path} (champion init)",
                )
            )
            changes.append(Change(path, Action.EDITED, text, diff))
    return changes


def apply(root: Path, changes: Iterable[Change], *, force: bool) -> list[Change]:
    """Writes what the changes call for (EDITED and KEPT only with `force`); returns them."""
    done = []
    for change in changes:
        wanted = {Action.CREATE, Action.UPDATE} | ({Action.EDITED, Action.KEPT} if force else set())
        if change.action in wanted:
            target = root / change.path
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, change.text)
            done.append(change)
    return done


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()

"""Files champion writes for others to read: a pointer, an artifact copied beside it, a report.

They are written to a temp name beside the target, then renamed over it, so a reader sees the
old file or the new one, never half of one. Unlike `tempfile.mkstemp`, whose files are 0600
whatever the umask, the temp file gets the mode any new file would (0644 under umask 022): a
service running as another user must be able to read what was published for it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_ATTEMPTS = 100


def new_temp(folder: Path, prefix: str, suffix: str = "") -> tuple[int, Path]:
    """A new, empty file in `folder` (an open descriptor and its path), mode 0666 less the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(_ATTEMPTS):
        path = folder / f"{prefix}{secrets.token_hex(8)}{suffix}"
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp name in {folder} after {_ATTEMPTS} attempts")

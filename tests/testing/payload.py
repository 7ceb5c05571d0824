"""A hostile artifact: a pickle that creates a marker file when anything unpickles it (joblib and
pickle alike). Where it replaces a real artifact, champion must refuse it by its sha256 and the
marker must never appear."""

from __future__ import annotations

import io
import pickle
from pathlib import Path


class _Marks:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return io.open, (str(self.marker), "w")


def payload(marker: Path) -> bytes:
    return pickle.dumps(_Marks(marker))


def plant(target: Path, data: bytes) -> None:
    """Replaces `target` (a DVC object is read-only) with `data`."""
    target.unlink()
    target.write_bytes(data)

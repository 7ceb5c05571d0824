"""Reading untrusted values from a tag's metadata: only the expected type is kept.

Anyone who can push a tag writes its metadata, so text is stripped of control and bidirectional
characters and capped, versions are parsed, numbers must be finite, hashes must look like one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from champion.registry.tags import Version

MAX_TEXT = 2000
# C0/C1 controls and the characters that reorder text (a "Trojan Source" reason could make a
# version read as another): never shown.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def text(value: object, limit: int = MAX_TEXT) -> str | None:
    if not isinstance(value, str):
        return None
    clean = _UNSAFE.sub(" ", value).strip()
    if len(clean) > limit:
        clean = clean[: limit - 1] + "…"
    return clean or None


def finite_number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    result = float(value)
    return result if math.isfinite(result) else None


def integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def version(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > 100:
        return None
    try:
        return str(Version.parse(value))
    except Exception:  # RegistryError, or a pathological string
        return None


def sha256(value: object) -> str | None:
    return value if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) else None


def mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}

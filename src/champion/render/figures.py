"""The one way a report's number is shown (terminal, markdown, the model card): four significant
digits, a sign when asked, and `missing` for no value (None, NaN, infinities or anything else a
template of the user's own may pass)."""

from __future__ import annotations

import math
from typing import Any


def figure(x: Any, signed: bool = False, missing: str = "-") -> str:
    if not isinstance(x, (int, float)) or isinstance(x, bool) or not math.isfinite(x):
        return missing
    return f"{x:+.4g}" if signed else f"{x:.4g}"

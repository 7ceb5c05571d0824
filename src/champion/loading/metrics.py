"""Metrics files written by the user's own pipeline (DVC metrics style: JSON or YAML, nested), for
models champion cannot load itself (PyTorch, LLM evaluations): the "model" of `format: metrics`
is the mapping of its metric names to numbers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from champion import untrusted
from champion.errors import ChampionError

MAX_BYTES = 4 << 20


def flatten(data: Any, prefix: str = "") -> dict[str, float]:
    """`{"eval": {"roc_auc": 0.9}}` -> `{"eval.roc_auc": 0.9}`; non-numeric leaves are dropped."""
    out: dict[str, float] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        out[prefix[:-1]] = float(data)
    return out


def read_metrics_file(path: Path, what: str) -> dict[str, float]:
    if path.stat().st_size > MAX_BYTES:
        raise ChampionError(f"{what} is over {MAX_BYTES >> 20} MiB: is it really a metrics file?")
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        json_file = path.suffix.lower() == ".json"
        # NaN and infinities are named below, metric by metric.
        data = (
            untrusted.load_json(text, what, finite=False)
            if json_file
            else untrusted.load_yaml(text, what)
        )
    except untrusted.UntrustedInput as e:
        raise ChampionError(f"{what} is not valid JSON or YAML: {e}") from e
    if not isinstance(data, dict):
        raise ChampionError(f"{what} must hold a mapping of metric names to numbers")
    metrics = flatten(data)
    bad = [k for k, v in metrics.items() if not math.isfinite(v)]
    if bad:
        raise ChampionError(f"{what}: metrics {', '.join(bad)} are NaN or infinite")
    return metrics

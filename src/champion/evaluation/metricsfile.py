"""Metrics files written by the user's own pipeline (DVC metrics style: JSON or YAML, nested),
for models champion cannot load itself (PyTorch, LLM evaluations)."""

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


def from_files(
    items: list[Any], candidate: dict[str, float], champion: dict[str, float] | None, source: str
) -> list[Any]:
    """Metric values read from both metrics files; no interval (there are no rows to pair)."""
    from champion.errors import ConfigError
    from champion.evaluation.metrics import MetricValue, direction

    out = []
    for item in items:
        name = item if isinstance(item, str) else str(item["name"])
        declared = None if isinstance(item, str) else item.get("direction")
        leaf = name.rsplit(".", 1)[-1]
        way = declared or direction(leaf)
        if way is None:
            raise ConfigError(
                f"metric {name!r} has no known direction: declare it as {{name: {name}, direction: "
                "higher} (or lower) under metrics: in champion.yaml"
            )
        if name not in candidate:
            known = ", ".join(sorted(candidate)[:20]) or "none"
            raise ChampionError(
                f"candidate metrics {source} has no metric {name!r}; it has: {known}"
            )
        value = candidate[name]
        base = champion.get(name) if champion is not None else None
        note = (
            ""
            if champion is None or base is not None
            else "missing from the champion's metrics file"
        )
        delta = value - base if base is not None else None
        out.append(MetricValue(name, way, value, base, delta, None, note))
    return out

"""The metric values of a metrics-only model (`format: metrics`): the numbers its metrics files
hold (read by champion.loading.metrics), compared name by name, with no interval (there are no
rows to pair)."""

from __future__ import annotations

from typing import Any

from champion.errors import ChampionError, ConfigError
from champion.evaluation.metrics import MetricValue, direction


def from_files(
    items: list[Any], candidate: dict[str, float], champion: dict[str, float] | None, source: str
) -> list[MetricValue]:
    """Metric values read from both metrics files; no interval (there are no rows to pair)."""
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

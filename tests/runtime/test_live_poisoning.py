"""A running service and a poisoned pointer (issue 14 item 2). LiveModel cannot see the tags; it
validates what a pointer alone shows (schema and types, model, stage, format, a bounded counter
that never goes back, the artifact's sha256), and a pointer failing any of it leaves the current
version serving and health() "degraded", never "ok"."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from live_support import ROWS, Registry

from champion.runtime import LiveModel


def poisoned(registry: Registry, change: dict[str, Any], raw_counter: str | None = None) -> bytes:
    data = json.loads(registry.make("0.2.0").to_json())
    for key, value in change.items():
        if key == "format":
            data["artifact"]["format"] = value
        else:
            data[key] = value
    text = json.dumps(data)
    if raw_counter is not None:
        text = text.replace(f'"counter": {data["counter"]}', f'"counter": {raw_counter}')
    return text.encode()


CASES = {
    "another model": ({"model": "fraud"}, None, "is for model 'fraud', not 'churn'"),
    "another stage": ({"stage": "staging"}, None, "is for stage 'staging', not 'prod'"),
    "unloadable format": ({"format": "exe"}, None, "format 'exe', which cannot be served"),
    "5000-digit counter": ({}, "9" * 5000, "a number of 5000 digits"),
    "counter beyond any history": ({}, "1" + "0" * 12, "beyond any model's history"),
    "counter as text": ({"counter": "7"}, None, "'counter' must be a non-negative integer"),
    "version not a version": ({"version": "latest"}, None, "'version' must be a version"),
    "commit not a sha": ({"commit": "HEAD"}, None, "'commit' must be a commit sha"),
    "format not text": (
        {"format": ["joblib"]},
        None,
        "'artifact.format' must be null or a format name",
    ),
}


@pytest.mark.parametrize(("change", "raw_counter", "error"), CASES.values(), ids=CASES)
def test_a_poisoned_pointer_degrades_and_keeps_serving(
    registry: Registry,
    models: dict[str, Any],
    change: dict[str, Any],
    raw_counter: str | None,
    error: str,
) -> None:
    live = LiveModel("churn", str(registry.folder), registry.root / "cache")
    registry.overwrite(poisoned(registry, change, raw_counter))
    assert live.refresh() is False
    health = live.health()
    assert (health["status"], health["version"]) == ("degraded", "0.1.0")
    assert error in str(health["last_error"]), health["last_error"]
    np.testing.assert_array_equal(live.predict_proba(ROWS), models["good"].predict_proba(ROWS))
    registry.publish("0.2.0", counter=registry.counter + 1)  # a valid pointer again
    assert live.refresh() is True and live.health()["status"] == "ok"


def test_the_unpoisoned_pointer_is_followed(registry: Registry) -> None:
    """The cases above differ from a pointer LiveModel follows only by what they change."""
    live = LiveModel("churn", str(registry.folder), registry.root / "cache")
    registry.overwrite(poisoned(registry, {}))
    assert live.refresh() is True and live.version == "0.2.0"

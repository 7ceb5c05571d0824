"""A canary serves a stable share of keys: the same keys in every replica and process, about
`weight` of them, none at 0 and all at 1; if it cannot load, the main version serves them all."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from typing import Any

import numpy as np
from live_support import ROWS, Registry

from champion.runtime import LiveModel, bucket, routes_to_canary

KEYS = [f"user-{i}" for i in range(10_000)]


def test_a_key_goes_to_the_same_version_in_every_replica(
    registry: Registry, models: dict[str, Any]
) -> None:
    registry.publish("0.1.0", canary=("0.2.0", 0.3))
    first = LiveModel("churn", str(registry.folder), registry.root / "cache-a")
    second = LiveModel("churn", str(registry.folder), registry.root / "cache-b")
    assert first.canary_version == second.canary_version == "0.2.0"
    expected = {"0.1.0": models["good"].predict(ROWS), "0.2.0": models["weak"].predict(ROWS)}
    versions = []
    for key in KEYS[:1500]:
        result, version = first.predict_with_version(ROWS, key=key)
        assert second.predict_with_version(ROWS, key=key)[1] == version
        assert version == ("0.2.0" if routes_to_canary(key, 0.3) else "0.1.0")
        np.testing.assert_array_equal(result, expected[version])
        versions.append(version)
    assert 0.25 < versions.count("0.2.0") / len(versions) < 0.35
    assert first.predict_with_version(ROWS)[1] == "0.1.0"  # no key: the main version
    assert first.health()["canary"] == {"version": "0.2.0", "weight": 0.3}


def test_the_share_is_close_to_the_weight() -> None:
    for weight in (0.01, 0.1, 0.5, 0.9):
        share = sum(routes_to_canary(key, weight) for key in KEYS) / len(KEYS)
        assert abs(share - weight) < 0.02, (weight, share)


def test_raising_the_weight_only_adds_keys() -> None:
    at_10 = {key for key in KEYS if routes_to_canary(key, 0.1)}
    at_30 = {key for key in KEYS if routes_to_canary(key, 0.3)}
    assert at_10 < at_30


def test_weight_zero_routes_none_and_one_routes_all(registry: Registry) -> None:
    registry.publish("0.1.0", canary=("0.2.0", 0.0))
    live = LiveModel("churn", str(registry.folder), registry.root / "cache")
    assert {live.predict_with_version(ROWS, key=k)[1] for k in KEYS[:500]} == {"0.1.0"}
    registry.publish("0.1.0", canary=("0.2.0", 1.0))
    assert live.refresh() is True
    assert {live.predict_with_version(ROWS, key=k)[1] for k in KEYS[:500]} == {"0.2.0"}
    assert live.predict_with_version(ROWS)[1] == "0.1.0"
    assert not any(routes_to_canary(key, 0.0) for key in KEYS)
    assert all(routes_to_canary(key, 1.0) for key in KEYS)


def test_the_bucket_does_not_depend_on_the_process() -> None:
    """Python's hash() of a str changes with PYTHONHASHSEED; the bucket must not."""
    code = "from champion.runtime import bucket; print([bucket(f'user-{i}') for i in range(50)])"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            timeout=60,
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {f"{[bucket(f'user-{i}') for i in range(50)]}\n"}


def test_a_canary_that_fails_to_load_leaves_the_main_version_serving(
    registry: Registry, models: dict[str, Any]
) -> None:
    broken = replace(registry.versions["0.2.0"], sha256="0" * 64)
    registry.publish("0.1.0", canary=("0.2.0", 1.0), canary_artifact=broken)
    live = LiveModel("churn", str(registry.folder), registry.root / "cache")
    assert live.canary_version is None
    assert {live.predict_with_version(ROWS, key=k)[1] for k in KEYS[:100]} == {"0.1.0"}
    health = live.health()
    assert health["status"] == "degraded" and health["canary"] is None
    assert health["last_error"] is not None and "sha256 mismatch" in health["last_error"]
    assert live.refresh() is False  # retried, failed again: nothing new to serve
    registry.publish("0.1.0", canary=("0.2.0", 1.0))
    assert live.refresh() is True
    assert live.canary_version == "0.2.0" and live.health()["status"] == "ok"
    result, version = live.predict_with_version(ROWS, key="anyone")
    assert version == "0.2.0"
    np.testing.assert_array_equal(result, models["weak"].predict(ROWS))


def test_promoting_the_canary_reuses_the_loaded_model(registry: Registry) -> None:
    registry.publish("0.1.0", canary=("0.2.0", 0.5))
    live = LiveModel("churn", str(registry.folder), registry.root / "cache")
    for path in registry.root.glob("artifacts/*"):
        path.unlink()  # nothing left to download: the swap must come from memory
    for path in (registry.root / "cache").iterdir():
        path.unlink()
    registry.publish("0.2.0")
    assert live.refresh() is True
    assert live.version == "0.2.0" and live.canary_version is None
    assert live.health()["status"] == "ok"

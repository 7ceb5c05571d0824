"""The swap under load: calls that run while the pointer flips finish on one whole version."""

from __future__ import annotations

import threading
from typing import Any

import live_support
import numpy as np
from live_support import ROWS, Registry

from champion.runtime import LiveModel, Swap

DEADLINE = 10.0
FLIPS = 20
CALLERS = 3


def test_hot_swap_under_concurrent_predict(registry: Registry, models: dict[str, Any]) -> None:
    expected = {
        "0.1.0": models["good"].predict_proba(ROWS),
        "0.2.0": models["weak"].predict_proba(ROWS),
    }
    swapped = threading.Event()
    swaps: list[Swap] = []

    def on_swap(swap: Swap) -> None:
        swaps.append(swap)
        swapped.set()

    live = LiveModel(
        "churn", str(registry.folder), registry.root / "cache", poll_interval=0.002, on_swap=on_swap
    )
    stop = threading.Event()
    failures: list[BaseException] = []
    served: dict[str, int] = {"0.1.0": 0, "0.2.0": 0}
    wrong: list[str] = []

    def call() -> None:
        while not stop.is_set():
            try:
                result, version = live.predict_proba_with_version(ROWS)
            except BaseException as e:
                failures.append(e)
                return
            served[version] += 1  # a KeyError here would be an unknown version: a failure too
            if not np.array_equal(result, expected[version]):
                wrong.append(version)

    callers = [threading.Thread(target=call) for _ in range(CALLERS)]
    for thread in callers:
        thread.start()
    try:
        for flip in range(FLIPS):
            target = "0.2.0" if flip % 2 == 0 else "0.1.0"
            swapped.clear()
            registry.publish(target)
            assert swapped.wait(DEADLINE), f"flip {flip} to {target} was not picked up"
            assert live.version == target
    finally:
        stop.set()
        for thread in callers:
            thread.join(DEADLINE)
        live.close()
    assert failures == []
    assert wrong == []
    assert len(swaps) == FLIPS
    assert served["0.1.0"] > 0 and served["0.2.0"] > 0  # the calls really ran across swaps
    assert live.health()["status"] == "ok"


def test_a_call_in_flight_finishes_on_the_model_it_started_with(
    registry: Registry, models: dict[str, Any]
) -> None:
    live_support.ENTERED.clear()
    live_support.RELEASE.clear()
    registry.add("0.1.1", live_support.Paused(models["good"]))
    registry.publish("0.1.1")
    live = LiveModel("churn", str(registry.folder), registry.root / "cache")
    results: list[tuple[Any, str]] = []
    caller = threading.Thread(target=lambda: results.append(live.predict_proba_with_version(ROWS)))
    caller.start()
    try:
        assert live_support.ENTERED.wait(DEADLINE)
        registry.publish("0.2.0")
        assert live.refresh() is True  # swapped while the call is inside the old model
        assert live.predict_proba_with_version(ROWS)[1] == "0.2.0"
    finally:
        live_support.RELEASE.set()
        caller.join(DEADLINE)
    result, version = results[0]
    assert version == "0.1.1"
    np.testing.assert_array_equal(result, models["good"].predict_proba(ROWS))

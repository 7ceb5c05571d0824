"""Following the pointer: a move swaps the model, an older pointer is ignored, and a failure keeps
the last good version serving until a later refresh succeeds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from live_support import ROWS, Registry

from champion.runtime import LiveModel, Swap

DEADLINE = 10.0


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE} s: {what}")
        time.sleep(0.005)


def test_refresh_hot_swaps_to_the_new_version(registry: Registry, models: dict[str, Any]) -> None:
    swaps: list[Swap] = []
    live = LiveModel("churn", str(registry.folder), registry.root / "cache", on_swap=swaps.append)
    assert live.refresh() is False  # nothing moved
    assert swaps == []
    registry.publish("0.2.0")
    assert live.refresh() is True
    assert live.version == "0.2.0"
    np.testing.assert_array_equal(live.predict_proba(ROWS), models["weak"].predict_proba(ROWS))
    assert [(s.from_version, s.to_version, s.counter) for s in swaps] == [("0.1.0", "0.2.0", 2)]
    assert live.health()["pointer_counter"] == 2
    assert live.refresh() is False


def test_a_lower_counter_pointer_is_ignored(registry: Registry, models: dict[str, Any]) -> None:
    registry.publish("0.2.0", counter=5)
    live = LiveModel("churn", str(registry.folder), registry.root / "cache")
    registry.overwrite(registry.make("0.1.0", counter=4).to_json())  # a stale copy
    assert live.refresh() is False
    assert live.version == "0.2.0"
    health = live.health()
    assert health["pointer_counter"] == 5
    # Not "ok": it is not following the pointer, and says why (issue 14.2).
    assert health["status"] == "degraded"
    assert "went back from counter 5 to 4" in str(health["last_error"])
    np.testing.assert_array_equal(live.predict_proba(ROWS), models["weak"].predict_proba(ROWS))
    registry.publish("0.1.0", counter=6)  # the check can fail: a higher one is taken
    assert live.refresh() is True and live.version == "0.1.0"


def _bad_hash(registry: Registry) -> None:
    ref = registry.versions["0.2.0"]
    registry.publish("0.2.0", artifact=replace(ref, sha256="0" * 64))


def _unreachable(registry: Registry) -> None:
    ref = registry.versions["0.2.0"]
    registry.publish("0.2.0", artifact=replace(ref, url=str(registry.root / "gone.joblib")))


def _corrupt(registry: Registry) -> None:
    path = registry.root / "corrupt.joblib"
    path.write_bytes(b"not a joblib file at all" * 10)
    registry.publish("0.2.0", artifact=registry.ref(path))


def _invalid_pointer(registry: Registry) -> None:
    registry.overwrite(b'{"schema": 1, "model": "churn"}')


def _pointer_deleted(registry: Registry) -> None:
    (registry.folder / "prod.json").unlink()


@pytest.mark.parametrize(
    ("break_it", "error"),
    [
        (_bad_hash, "sha256 mismatch"),
        (_unreachable, "does not exist: push it"),
        (_corrupt, "cannot be loaded as joblib"),
        (_invalid_pointer, "not a valid pointer"),
        (_pointer_deleted, "does not exist: publish it"),
    ],
)
def test_a_failed_refresh_keeps_the_old_version_then_recovers(
    registry: Registry,
    models: dict[str, Any],
    break_it: Callable[[Registry], None],
    error: str,
) -> None:
    live = LiveModel("churn", str(registry.folder), registry.root / "cache")
    break_it(registry)
    assert live.refresh() is False
    assert live.refresh() is False  # and again: still failing, still serving
    assert live.version == "0.1.0"
    np.testing.assert_array_equal(live.predict_proba(ROWS), models["good"].predict_proba(ROWS))
    health = live.health()
    assert health["status"] == "degraded"
    assert health["version"] == "0.1.0"
    assert health["last_error"] is not None and error in health["last_error"]
    registry.publish("0.2.0", counter=registry.counter + 1)
    assert live.refresh() is True
    assert live.version == "0.2.0"
    assert live.health()["status"] == "ok" and live.health()["last_error"] is None
    np.testing.assert_array_equal(live.predict_proba(ROWS), models["weak"].predict_proba(ROWS))


def test_an_unreadable_pointer_read_recovers_without_a_move(registry: Registry) -> None:
    live = LiveModel("churn", str(registry.folder), registry.root / "cache")
    good = (registry.folder / "prod.json").read_bytes()
    registry.overwrite(b"garbage")
    assert live.refresh() is False and live.health()["status"] == "degraded"
    registry.overwrite(good)
    assert live.refresh() is False  # nothing to swap, but the pointer reads fine again
    assert live.health()["status"] == "ok"


def test_the_poll_thread_follows_the_pointer_and_survives_failures(
    registry: Registry, models: dict[str, Any]
) -> None:
    swaps: list[Swap] = []

    def on_swap(swap: Swap) -> None:
        swaps.append(swap)
        raise RuntimeError("a broken callback must not stop the poll")

    with LiveModel(
        "churn", str(registry.folder), registry.root / "cache", poll_interval=0.01, on_swap=on_swap
    ) as live:
        registry.overwrite(b"garbage")
        eventually(lambda: live.health()["status"] == "degraded", "the poll records the error")
        registry.publish("0.2.0", counter=2)
        eventually(lambda: live.version == "0.2.0", "the poll swaps to 0.2.0")
        eventually(lambda: live.health()["status"] == "ok", "the error clears")
        registry.publish("0.1.0", counter=3)
        eventually(lambda: live.version == "0.1.0", "the poll survives a failing on_swap")
        assert [s.to_version for s in swaps] == ["0.2.0", "0.1.0"]
        assert swaps[-1].at <= time.time()
    assert "champion-live-churn-prod" not in [t.name for t in threading.enumerate()]


def test_start_needs_an_interval(registry: Registry) -> None:
    live = LiveModel("churn", str(registry.folder), registry.root / "cache")
    with pytest.raises(ValueError, match="poll_interval"):
        live.start()
    with pytest.raises(ValueError, match="poll_interval"):
        LiveModel("churn", str(registry.folder), registry.root / "cache", poll_interval=0)
    live.start(0.01)
    live.start(0.01)  # a no-op while it runs
    live.close()
    live.close()


def test_a_second_instance_reuses_the_verified_cache(registry: Registry, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    LiveModel("churn", str(registry.folder), cache)
    Path(registry.versions["0.1.0"].url).unlink()  # the remote is gone, the cache is not
    assert LiveModel("churn", str(registry.folder), cache).version == "0.1.0"

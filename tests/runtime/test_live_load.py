"""Loading the live version: where the pointer is, what it must say, and the sha256 check that
comes before any byte is unpickled."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from live_support import ROWS, Evil, Registry

from champion.errors import ChampionError
from champion.runtime import LiveModel, RuntimeLoadError


def test_loads_the_live_version_and_predicts(registry: Registry, models: dict[str, Any]) -> None:
    live = LiveModel("churn", str(registry.folder), registry.root / "cache")
    assert live.version == "0.1.0"
    assert live.canary_version is None
    np.testing.assert_array_equal(live.predict(ROWS), models["good"].predict(ROWS))
    np.testing.assert_array_equal(live.predict_proba(ROWS), models["good"].predict_proba(ROWS))
    result, version = live.predict_with_version(ROWS, key="user-1")
    assert version == "0.1.0"
    np.testing.assert_array_equal(result, models["good"].predict(ROWS))
    cached = registry.root / "cache" / registry.versions["0.1.0"].sha256
    assert cached.read_bytes() == Path(registry.versions["0.1.0"].url).read_bytes()


def test_health_reports_what_serves(registry: Registry) -> None:
    health = LiveModel("churn", str(registry.folder), registry.root / "cache").health()
    assert health["status"] == "ok"
    assert health["last_error"] is None
    assert (health["model"], health["stage"], health["version"]) == ("churn", "prod", "0.1.0")
    assert health["pointer_counter"] == 1
    assert health["canary"] is None
    assert health["loaded_at"].endswith("Z") and health["last_checked_at"].endswith("Z")


@pytest.mark.parametrize("form", ["json-path", "file-url", "folder-file-url"])
def test_pointer_url_may_name_the_json_or_use_file_urls(registry: Registry, form: str) -> None:
    json_path = registry.folder / "prod.json"
    url = {
        "json-path": str(json_path),
        "file-url": f"file://{json_path}",
        "folder-file-url": f"file://{registry.folder}",
    }[form]
    assert LiveModel("churn", url, registry.root / "cache").version == "0.1.0"


def test_artifact_urls_may_be_file_urls_or_relative_to_the_pointer(registry: Registry) -> None:
    path = Path(registry.versions["0.2.0"].url)
    registry.publish("0.2.0", artifact=registry.ref(path, url=f"file://{path}"))
    assert LiveModel("churn", str(registry.folder), registry.root / "c1").version == "0.2.0"
    relative = registry.ref(path, url=f"../artifacts/{path.name}")
    registry.publish("0.2.0", artifact=relative)
    assert LiveModel("churn", str(registry.folder), registry.root / "c2").version == "0.2.0"


def test_a_pickle_artifact_loads_too(registry: Registry, models: dict[str, Any]) -> None:
    registry.add("0.3.0", models["weak"], fmt="pickle")
    registry.publish("0.3.0")
    live = LiveModel("churn", str(registry.folder), registry.root / "cache")
    np.testing.assert_array_equal(live.predict_proba(ROWS), models["weak"].predict_proba(ROWS))


def test_sha256_mismatch_is_refused_before_unpickling(tmp_path: Path, registry: Registry) -> None:
    marker = tmp_path / "unpickled"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps(Evil(marker)))
    # The pointer records the size of the evil file, so only the sha256 can tell.
    honest = registry.ref(evil, fmt="pickle")
    forged = replace(honest, sha256="ab" * 32)
    registry.publish("0.3.0", artifact=forged)
    with pytest.raises(RuntimeLoadError, match="sha256 mismatch") as e:
        LiveModel("churn", str(registry.folder), tmp_path / "cache")
    assert str(evil) in str(e.value) and str(registry.folder / "prod.json") in str(e.value)
    assert not marker.exists()
    assert list((tmp_path / "cache").iterdir()) == []  # no partial or unverified file is left
    # The check can fail: the same bytes, recorded honestly, do get unpickled.
    registry.publish("0.3.1", artifact=honest)
    with pytest.raises(RuntimeLoadError):  # an open file is no estimator, but it was unpickled
        LiveModel("churn", str(registry.folder), tmp_path / "cache")
    assert marker.exists()


def test_a_tampered_cache_entry_is_fetched_again(
    tmp_path: Path, registry: Registry, models: dict[str, Any]
) -> None:
    cache = tmp_path / "cache"
    LiveModel("churn", str(registry.folder), cache)
    marker = tmp_path / "unpickled"
    entry = cache / registry.versions["0.1.0"].sha256
    entry.write_bytes(pickle.dumps(Evil(marker)))
    live = LiveModel("churn", str(registry.folder), cache)
    assert not marker.exists()
    assert entry.read_bytes() == Path(registry.versions["0.1.0"].url).read_bytes()
    np.testing.assert_array_equal(live.predict_proba(ROWS), models["good"].predict_proba(ROWS))


def test_a_bigger_artifact_is_refused(tmp_path: Path, registry: Registry) -> None:
    ref = registry.versions["0.2.0"]
    registry.publish("0.2.0", artifact=replace(ref, size=ref.size - 1))
    with pytest.raises(RuntimeLoadError, match="bigger than"):
        LiveModel("churn", str(registry.folder), tmp_path / "cache")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "fraud"}, "is for model 'fraud', not 'churn'"),
        ({"stage": "staging"}, "is for stage 'staging', not 'prod'"),
    ],
)
def test_a_pointer_for_another_model_or_stage_is_refused(
    tmp_path: Path, registry: Registry, change: dict[str, str], message: str
) -> None:
    made = registry.make("0.2.0", **change)
    registry.overwrite(made.to_json())
    with pytest.raises(RuntimeLoadError, match=message):
        LiveModel("churn", str(registry.folder), tmp_path / "cache")


def test_errors_name_the_pointer_and_what_to_do(tmp_path: Path, registry: Registry) -> None:
    with pytest.raises(RuntimeLoadError, match=r"does not exist: publish it \(champion publish"):
        LiveModel("churn", str(registry.folder), tmp_path / "cache", stage="staging")
    registry.overwrite(b"{not json")
    with pytest.raises(ChampionError, match="not valid JSON") as e:
        LiveModel("churn", str(registry.folder), tmp_path / "cache")
    assert isinstance(e.value, RuntimeLoadError)
    assert str(registry.folder / "prod.json") in str(e.value)


def test_a_missing_artifact_names_its_url(tmp_path: Path, registry: Registry) -> None:
    Path(registry.versions["0.2.0"].url).unlink()
    registry.publish("0.2.0")
    with pytest.raises(RuntimeLoadError, match="does not exist: push it") as e:
        LiveModel("churn", str(registry.folder), tmp_path / "cache")
    assert registry.versions["0.2.0"].url in str(e.value)


def test_a_metrics_only_artifact_cannot_be_served(tmp_path: Path, registry: Registry) -> None:
    ref = registry.versions["0.2.0"]
    registry.publish("0.2.0", artifact=replace(ref, format="metrics"))
    with pytest.raises(RuntimeLoadError, match="cannot be served"):
        LiveModel("churn", str(registry.folder), tmp_path / "cache")

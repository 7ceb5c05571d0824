"""Fixtures for the runtime tests: two real classifiers and a pointer folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from live_support import ROWS, Registry, X, Y
from sklearn.linear_model import LogisticRegression


@pytest.fixture(scope="session")
def models() -> dict[str, Any]:
    """Two real classifiers whose probabilities differ on every row of ROWS."""
    good = LogisticRegression(max_iter=1000).fit(X, Y)
    weak = LogisticRegression(C=0.001, max_iter=1000).fit(X, Y)
    assert not np.isclose(good.predict_proba(ROWS), weak.predict_proba(ROWS)).any()
    return {"good": good, "weak": weak}


@pytest.fixture
def registry(tmp_path: Path, models: dict[str, Any]) -> Registry:
    """churn 0.1.0 (the good model) live in prod, 0.2.0 (the weak one) registered."""
    reg = Registry(tmp_path)
    reg.add("0.1.0", models["good"])
    reg.add("0.2.0", models["weak"])
    reg.publish("0.1.0")
    return reg

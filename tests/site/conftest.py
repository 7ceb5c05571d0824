"""The registry every site test reads: testing.site_registry, built once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testing.repos import isolated
from testing.site_registry import Registry, build


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    base = tmp_path_factory.mktemp("site-registry")
    with isolated(base):
        yield build(base)

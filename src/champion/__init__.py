"""champion: release discipline for ML models, on plain git tags."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from champion._version import __version__
from champion.errors import (
    ChampionError,
    ConfigError,
    GateFailed,
    GitError,
    PushRejected,
    RegistryError,
)

if TYPE_CHECKING:
    from champion.config import Config, ModelConfig, load_config
    from champion.registry import ModelState, Registry, Version
    from champion.runtime import LiveModel

# Loaded on first use, so that a service importing only what it needs (the serving runtime) does
# not load the registry and the config (ARCHITECTURE.md: the runtime is a light dependency).
_LAZY = {
    "Config": "champion.config",
    "ModelConfig": "champion.config",
    "load_config": "champion.config",
    "ModelState": "champion.registry",
    "Registry": "champion.registry",
    "Version": "champion.registry",
    "LiveModel": "champion.runtime",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'champion' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "ChampionError",
    "Config",
    "ConfigError",
    "GateFailed",
    "GitError",
    "LiveModel",
    "ModelConfig",
    "ModelState",
    "PushRejected",
    "Registry",
    "RegistryError",
    "Version",
    "__version__",
    "load_config",
]

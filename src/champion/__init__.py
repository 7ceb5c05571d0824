"""champion: release discipline for ML models, on plain git tags."""

from __future__ import annotations

from champion._version import __version__
from champion.config import Config, ModelConfig, load_config
from champion.errors import (
    ChampionError,
    ConfigError,
    GateFailed,
    GitError,
    PushRejected,
    RegistryError,
)
from champion.registry import ModelState, Registry, Version

__all__ = [
    "ChampionError",
    "Config",
    "ConfigError",
    "GateFailed",
    "GitError",
    "ModelConfig",
    "ModelState",
    "PushRejected",
    "Registry",
    "RegistryError",
    "Version",
    "__version__",
    "load_config",
]

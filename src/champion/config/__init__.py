"""The repository's configuration: champion.yaml (model: what it declares; schema: the checker;
load: reading it; policy: its `policy:` section) and the models dvc.yaml and GTO's index declare
(declarations)."""

from __future__ import annotations

from champion.config.declarations import dvc_yaml_files
from champion.config.load import MAX_MODELS, load_config
from champion.config.model import Config, DataSection, ModelConfig, SigningSection, StatsSection
from champion.config.schema import CONFIG_FILE, MAX_BYTES

__all__ = [
    "CONFIG_FILE",
    "MAX_BYTES",
    "MAX_MODELS",
    "Config",
    "DataSection",
    "ModelConfig",
    "SigningSection",
    "StatsSection",
    "dvc_yaml_files",
    "load_config",
]

"""The git-native model registry: tags are the source of truth, read per model."""

from __future__ import annotations

from champion.registry.plans import Plan
from champion.registry.registry import Registry, WriteResult
from champion.registry.state import Event, Live, ModelState, VersionInfo, build_state
from champion.registry.tags import Action, TagName, Version, format_tag, parse_tag

__all__ = [
    "Action",
    "Event",
    "Live",
    "ModelState",
    "Plan",
    "Registry",
    "TagName",
    "Version",
    "VersionInfo",
    "WriteResult",
    "build_state",
    "format_tag",
    "parse_tag",
]

"""The serving runtime: `LiveModel` loads the version a pointer names, verified by sha256, and
hot-swaps to the next one when the pointer moves.

A service depends on it lightly: it imports neither the registry, GitHub code, the CLI nor DVC,
only the pointer, the store, and the verified loader evaluation uses.
"""

from __future__ import annotations

from champion.runtime._artifact import RuntimeLoadError
from champion.runtime._live import CanaryHealth, Health, LiveModel, Swap
from champion.runtime._routing import bucket, routes_to_canary

__all__ = [
    "CanaryHealth",
    "Health",
    "LiveModel",
    "RuntimeLoadError",
    "Swap",
    "bucket",
    "routes_to_canary",
]

"""Which calls a canary serves: a stable share of keys, the same in every process and replica.

Python's `hash()` of a string changes with each process (PYTHONHASHSEED), so the bucket comes from
blake2b. A key's bucket never changes, so raising a canary's weight only adds keys to it: a user
who saw the canary keeps seeing it.
"""

from __future__ import annotations

import hashlib


def bucket(key: object) -> float:
    """A number in [0, 1) fixed for `str(key)`: the top 53 bits of its blake2b digest, which a
    float holds exactly (all 64 could round up to 1.0)."""
    digest = hashlib.blake2b(str(key).encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / 2**53


def routes_to_canary(key: object, weight: float) -> bool:
    """Whether the canary serves `key` at `weight` (0: never, 1: always)."""
    return bucket(key) < weight

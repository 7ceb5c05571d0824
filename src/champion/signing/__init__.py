"""Signed model versions (issue 18): OpenSSF model-signing bundles over an artifact exactly as it
was registered, made with a key pair or keylessly with Sigstore, kept in the version's tag
(`signing` in its metadata) and checked by `champion verify`, the `signing:` policy and
`LiveModel(public_key=...)`.

This package's top level stays light (no registry, git or DVC), because the serving runtime
imports `champion.signing.bundle`; `verify_version` reaches the registry only when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from champion.signing.bundle import (
    SigningError,
    SigningUnavailable,
    Trust,
    sign_path,
    verify_path,
)
from champion.signing.record import Signed, read_record

if TYPE_CHECKING:
    from champion.project import Project
    from champion.signing.check import Verdict

__all__ = [
    "Signed",
    "SigningError",
    "SigningUnavailable",
    "Trust",
    "read_record",
    "sign_path",
    "verify_path",
    "verify_version",
]


def verify_version(
    project: Project, model: str, version: str | None = None, *, trust: Trust | None = None
) -> Verdict:
    """Whether `model` `version` (default: the version live in the gate stage) carries a valid
    signature over the artifact as others fetch it (from git or the DVC remote, never a local
    cache), by `trust` (default: the `signing:` section of champion.yaml).

    Returns a Verdict: `status` "verified", "missing" (no signature in its tag) or "invalid"
    (with the reason); raises a ChampionError for bad input (unknown model or version, an
    unreadable key, no trust given anywhere)."""
    from champion.signing.check import verify_version as check

    return check(project, model, version, trust=trust)

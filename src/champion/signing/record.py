"""Where a version's signature lives: `signing` in its registration tag's metadata (and in the
pointer, for services without git).

    "signing": {"method": "key", "key_hint": "<sha256 of the public key's PEM>",
                "bundle": {<the Sigstore bundle v0.3, as model-signing writes it>}}
    "signing": {"method": "sigstore", "identity": "https://github.com/o/r/.github/workflows/
                release.yml@refs/heads/main", "issuer": "https://token.actions...", "bundle": {...}}

Not `signature`: release already records the model's input/output signature under that key.
The identity and key hint here are what the signer claimed; only verification makes them true.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from champion.signing.bundle import Signature, SigningError, check_bundle

KEY = "signing"


@dataclass(frozen=True)
class Signed:
    """A signature as a tag or a pointer carries it (read from there: untrusted until verified)."""

    bundle: dict[str, Any]
    method: str
    key_hint: str | None = None
    identity: str | None = None
    issuer: str | None = None

    @classmethod
    def of(cls, made: Signature) -> Signed:
        return cls(made.bundle, made.method, made.key_hint, made.identity, made.issuer)

    def as_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"method": self.method, "bundle": self.bundle}
        for name in ("key_hint", "identity", "issuer"):
            value = getattr(self, name)
            if value is not None:
                meta[name] = value
        return meta

    def signer(self) -> str:
        if self.method == "sigstore":
            return f"{self.identity} (issuer {self.issuer})"
        return f"key {(self.key_hint or '?')[:12]}"


def read_record(metadata: Mapping[str, Any], source: str) -> Signed | None:
    """The signature `metadata` (a tag's, or a pointer artifact's) carries, or None when it
    carries none. Malformed: a SigningError naming `source`."""
    raw = metadata.get(KEY)
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise SigningError(f"{source}: `{KEY}` is not an object holding a signing bundle")
    method = raw.get("method")
    if method not in ("key", "sigstore"):
        raise SigningError(f"{source}: `{KEY}.method` must be key or sigstore, not {method!r}")
    bundle = check_bundle(raw.get("bundle"), source)
    texts = {}
    for name in ("key_hint", "identity", "issuer"):
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            raise SigningError(f"{source}: `{KEY}.{name}` must be a string")
        texts[name] = value
    return Signed(bundle, method, **texts)

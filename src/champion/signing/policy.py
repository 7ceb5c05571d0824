"""The `signing:` policy of champion.yaml:

    signing: {required: true, public_key: keys/release.pub.pem}
    signing: {required: true, identity: "https://github.com/o/r/.github/workflows/release.yml@refs/heads/main",
              issuer: "https://token.actions.githubusercontent.com"}

With `required: true`, a version goes live nowhere (promote, rollback's target, canary start,
publish, release --promote) unless its signature verifies by that key or identity; the command
stops with exit 2 before it writes anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from champion.config import CONFIG_FILE, Config
from champion.errors import ConfigError
from champion.signing.bundle import SigningError, Trust

if TYPE_CHECKING:
    from champion.project import Project
    from champion.registry import VersionInfo
    from champion.signing.check import Verdict


class SignatureRequired(SigningError):
    """The policy requires a valid signature and the version has none (exit 2: refused)."""


@dataclass(frozen=True)
class SigningPolicy:
    required: bool
    trust: Trust | None


def policy_of(config: Config) -> SigningPolicy | None:
    section = config.signing
    if section is None:
        return None
    source = config.path.name if config.path is not None else CONFIG_FILE
    key, identity, issuer = section.public_key, section.identity, section.issuer
    if key and (identity or issuer):
        raise ConfigError(
            f"signing: in {source} names both a public_key and a Sigstore identity: keep one "
            "(a version is signed either with a key or keylessly)"
        )
    trust = None
    if key:
        path = config.root / str(key)
        if not path.is_file():
            raise ConfigError(
                f"signing.public_key in {source} names {key}, which is not a file: commit the "
                "public key there (openssl ec -in signing-key.pem -pubout -out "
                f"{key})"
            )
        trust = Trust.key(path, source=f"{key} (signing.public_key in {source})")
    elif identity or issuer:
        trust = Trust.sigstore(str(identity or ""), str(issuer or ""), f"signing: in {source}")
    required = section.required
    if required and trust is None:
        raise ConfigError(
            f"signing.required in {source} needs whose signature to require: add public_key: "
            "PATH, or identity: and issuer: for Sigstore"
        )
    return SigningPolicy(required, trust)


def enforce(project: Project, model: str, info: VersionInfo, doing: str) -> Verdict | None:
    """Before `doing` makes `info` live anywhere: with `signing.required`, its signature must
    verify, or SignatureRequired says why. None when no signature is required."""
    policy = policy_of(project.config)
    if policy is None or not policy.required or policy.trust is None:
        return None
    from champion.signing.check import verify_info

    verdict = verify_info(project, project.config.model(model), info, policy.trust)
    if not verdict.ok:
        raise SignatureRequired(
            f"refusing to {doing} {verdict.model} {verdict.version}: signing.required is set "
            f"and its signature is {verdict.status}: {verdict.reason}. Nothing was written; "
            f"sign a new version (champion release --sign) or pick a signed one"
        )
    return verdict


def required_trust(project: Project) -> Trust | None:
    """The trust a version must be signed by before it goes live, when signing is required."""
    policy = policy_of(project.config)
    return policy.trust if policy is not None and policy.required else None

"""Signing a version's artifact as it is about to be registered (register --sign, release
--sign): the bytes at the commit, read in full as registration reads them, signed before the
tag is written; a signature that cannot be made stops the command with nothing written."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from champion import artifacts
from champion.errors import ChampionError
from champion.signing.bundle import (
    SignatureInvalid,
    SigningError,
    Trust,
    require,
    sign_path,
    verify_path,
)
from champion.signing.record import Signed

KEY_ENV = "CHAMPION_SIGNING_KEY"
PASSWORD_ENV = "CHAMPION_SIGNING_KEY_PASSWORD"
TOKEN_ENV = "CHAMPION_SIGSTORE_TOKEN"  # an explicit OIDC token, when the CI's is not ambient
METHODS = ("key", "sigstore")


@dataclass(frozen=True)
class Signer:
    """How to sign: with a private key (PEM), or keylessly with Sigstore."""

    method: str
    key_pem: bytes | None = None
    key_source: str = ""
    password: bytes | None = None
    identity_token: str | None = None  # sigstore: the OIDC token the certificate is issued for


def signer(method: str | bool | None, key_path: str | None = None) -> Signer | None:
    """The signer `--sign [key|sigstore]` (or `release.sign:`) and `--signing-key` ask for,
    checked before anything is read or written; None when not signing."""
    if method is None or method is False:
        if key_path:
            raise SigningError("--signing-key is given without --sign: add --sign to sign")
        return None
    chosen = "key" if method is True else str(method)
    if chosen not in METHODS:
        raise SigningError(f"--sign {chosen}: sign with `key` or `sigstore`")
    require()
    if chosen == "sigstore":
        if key_path:
            raise SigningError("--signing-key is for --sign key; sigstore signs without a key")
        return Signer("sigstore", identity_token=_oidc_token())
    password = os.environ.get(PASSWORD_ENV)
    if key_path:
        try:
            pem, source = Path(key_path).read_bytes(), key_path
        except OSError as e:
            raise SigningError(f"cannot read --signing-key {key_path}: {e.strerror or e}") from e
    else:
        value = os.environ.get(KEY_ENV, "")
        if not value.strip():
            raise SigningError(
                f"--sign key needs the private key: set {KEY_ENV} to its PEM text (a CI secret) "
                "or pass --signing-key PATH"
            )
        pem, source = value.encode(), KEY_ENV
    from champion.signing.bundle import private_key

    private_key(pem, source, password.encode() if password else None)  # fails now, not later
    return Signer("key", pem, source, password.encode() if password else None)


def _oidc_token() -> str:
    """The identity keyless signing certifies: CHAMPION_SIGSTORE_TOKEN, else the CI's ambient
    OIDC token (GitHub Actions with `id-token: write`, GitLab, Buildkite, ...). Never the
    library's interactive browser flow: a CI job would hang on it."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    from sigstore.oidc import IdentityError, detect_credential

    try:
        found = detect_credential()
    except IdentityError as e:
        raise SigningError(f"cannot get the CI's OIDC token for keyless signing: {e}") from e
    if not found:
        raise SigningError(
            "--sign sigstore needs an OIDC identity: run it in GitHub Actions with "
            f"`permissions: id-token: write` on the job, or set {TOKEN_ENV} (or sign with a key: "
            "--sign key)"
        )
    return found


def sign_artifact(
    root: Path, path: str, commit: str, sha256: str, how: Signer, check: Trust | None = None
) -> Signed:
    """Signs the artifact at `commit` (a file, or a folder's files) whose sha256 registration
    just computed; the bytes signed are checked to be those very ones. With `check` (the
    `signing:` policy's key or identity), the new signature must verify by it: a version signed
    with another key than the one required would be refused wherever it should go live."""
    with tempfile.TemporaryDirectory(prefix="champion-sign-") as tmp:
        dest = Path(tmp) / (PurePosixPath(path).name or "artifact")
        got = artifacts.read(root, path, commit, dest=dest)
        if got.sha256 != sha256:
            raise ChampionError(
                f"{path} at {commit[:12]} changed while it was being signed (sha256 {got.sha256}, "
                f"not {sha256}): run the command again"
            )
        made = sign_path(
            dest,
            key_pem=how.key_pem,
            key_source=how.key_source,
            password=how.password,
            sigstore=how.method == "sigstore",
            identity_token=how.identity_token,
        )
        if check is not None:
            try:
                verify_path(dest, made.bundle, check, path)
            except SignatureInvalid as e:
                raise SigningError(
                    f"the new signature does not verify by signing: in champion.yaml ({e}): sign "
                    f"with the key whose public half is {check.source or 'configured there'}"
                ) from e
    return Signed.of(made)

"""Signing a local file or folder with the OpenSSF `model-signing` library, and verifying one
against a bundle: the library does the hashing, the in-toto statement, the DSSE envelope and
the Sigstore bundle; champion checks the keys first, so a bad key is named before anything is
hashed, and turns the library's errors into messages that say which file differs.

Every file of a folder is signed, git's own files included (`.gitignore`, `.gitattributes`):
the signature covers the artifact exactly as champion registered it (its manifest lists every
file). OpenSSF's CLI ignores those files by default; `--no-ignore-git-paths` makes it check
them too (champion verify --export-signature prints the command).

Light on purpose: the serving runtime imports this module, so it imports neither the registry,
git nor DVC, and the library itself only when a signature is made or checked.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from champion.errors import ChampionError

INSTALL = "pip install 'champion[signing]'"
# Fulcio's certificate extensions naming the OIDC issuer (v2: a DER UTF8String; v1: raw text).
_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"
_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"
_CURVES = ("secp256r1", "secp384r1", "secp521r1")  # what model-signing accepts
MAX_BUNDLE_BYTES = 512 * 1024  # a bundle is a few KB; a folder's adds ~150 bytes per file


class SigningError(ChampionError):
    """A key, a bundle or the signing itself is unusable (bad input: exit 2)."""


class SigningUnavailable(SigningError):
    """The `signing` extra is not installed."""


class SignatureInvalid(SigningError):
    """The signature does not verify: another key or identity, or bytes that differ."""

    exit_code = 1


@dataclass(frozen=True)
class Trust:
    """Whom a signature must come from: a public key (PEM), or a Sigstore identity and issuer.
    `source` says where that came from (a file, champion.yaml), for messages."""

    public_key: bytes | None = None
    identity: str | None = None
    issuer: str | None = None
    source: str = ""
    # A Sigstore trust configuration (JSON) to use instead of the public instance's.
    trust_config: Path | None = None

    @classmethod
    def key(cls, path_or_pem: str | bytes | os.PathLike[str], source: str = "") -> Trust:
        """A public key given as a PEM text or as the path of a PEM file."""
        pem, where = _pem_or_path(path_or_pem, "public key")
        public_key_hint(pem, source or where)  # validates it now, naming where it came from
        return cls(public_key=pem, source=source or where)

    @classmethod
    def sigstore(cls, identity: str, issuer: str, source: str = "") -> Trust:
        if not identity or not issuer:
            raise SigningError(
                f"{source or 'a Sigstore identity'} needs both the identity (the workflow or the "
                "e-mail that signed) and its issuer (e.g. "
                "https://token.actions.githubusercontent.com)"
            )
        # A private Sigstore instance's (or an offline copy of the public one's) trust root.
        config = os.environ.get("CHAMPION_SIGSTORE_TRUST_CONFIG")
        return cls(
            identity=identity,
            issuer=issuer,
            source=source,
            trust_config=Path(config) if config else None,
        )

    def describe(self) -> str:
        if self.public_key is not None:
            return f"the key {self.source or 'given'} ({public_key_hint(self.public_key)[:12]})"
        return f"{self.identity} (issuer {self.issuer})"


@dataclass(frozen=True)
class Signature:
    """A bundle just made, and who made it."""

    bundle: dict[str, Any]
    method: str  # "key" | "sigstore"
    key_hint: str | None = None  # sha256 of the public key's PEM, as the bundle names it
    identity: str | None = None
    issuer: str | None = None


def require() -> None:
    """Fails with the install command when the `signing` extra is missing."""
    try:
        import model_signing.signing  # noqa: F401
        import OpenSSL  # noqa: F401  model-signing 1.1.1 imports it without declaring it
    except ImportError as e:
        raise SigningUnavailable(
            f"signing needs the model-signing library ({e.name or e} is not installed): {INSTALL}"
        ) from e


# --- keys -------------------------------------------------------------------------------------


def _pem_or_path(value: str | bytes | os.PathLike[str], what: str) -> tuple[bytes, str]:
    if isinstance(value, bytes):
        return value, f"the {what} given"
    text = os.fspath(value)
    if "-----BEGIN" in text:
        return text.encode(), f"the {what} given"
    path = Path(text)
    try:
        return path.read_bytes(), str(path)
    except OSError as e:
        raise SigningError(f"cannot read the {what} {path}: {e.strerror or e}") from e


def private_key(pem: bytes, source: str, password: bytes | None = None) -> Any:
    """The EC private key in `pem`, checked: a wrong type, a curve model-signing does not sign
    with, or a password-protected key without its password each say so and how to fix it."""
    require()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if b"PRIVATE KEY" not in pem:
        hint = " (that is a public key)" if b"PUBLIC KEY" in pem else ""
        raise SigningError(
            f"{source} is not a PEM private key{hint}: make one with "
            "`openssl ecparam -name prime256v1 -genkey -noout -out signing-key.pem`"
        )
    try:
        key = serialization.load_pem_private_key(pem, password)
    except TypeError as e:
        if password is None:
            raise SigningError(
                f"{source} is encrypted and no password was given: set "
                "CHAMPION_SIGNING_KEY_PASSWORD"
            ) from e
        raise SigningError(f"{source} is not encrypted: unset CHAMPION_SIGNING_KEY_PASSWORD") from e
    except ValueError as e:
        detail = "wrong password?" if password is not None else str(e).split("\n")[0]
        raise SigningError(f"cannot read the private key {source}: {detail}") from e
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SigningError(
            f"{source} is a {type(key).__name__.removeprefix('_').replace('PrivateKey', '')} key; "
            "model-signing signs with elliptic-curve keys (P-256, P-384, P-521): make one with "
            "`openssl ecparam -name prime256v1 -genkey -noout -out signing-key.pem`"
        )
    if key.curve.name not in _CURVES:
        raise SigningError(
            f"{source} is on the curve {key.curve.name}; model-signing signs with P-256, P-384 "
            "or P-521 keys"
        )
    return key


def public_key_hint(pem: bytes, source: str = "the public key") -> str:
    """The sha256 of the key's PEM (SubjectPublicKeyInfo), as model-signing names a key in a
    bundle: a key's identity that can be shown and compared without the key."""
    require()
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as e:
        hint = " (that is a private key: pass its public half)" if b"PRIVATE" in pem else ""
        raise SigningError(
            f"{source} is not a PEM public key{hint}: export it with "
            "`openssl ec -in signing-key.pem -pubout -out signing-key.pub.pem`"
        ) from e
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in _CURVES:
        raise SigningError(
            f"{source} is not an elliptic-curve P-256, P-384 or P-521 public key: model-signing "
            "verifies only those"
        )
    raw = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(raw).hexdigest()


def _public_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    data: bytes = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


# --- signing and verifying --------------------------------------------------------------------


def _hashing() -> Any:
    from model_signing import hashing

    # Every file, as champion's manifest lists them (see the module's docstring).
    return hashing.Config().set_ignored_paths(paths=[], ignore_git_paths=False)  # type: ignore[no-untyped-call]


@contextmanager
def _scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="champion-signing-") as tmp:
        yield Path(tmp)


def sign_path(
    path: Path,
    *,
    key_pem: bytes | None = None,
    key_source: str = "the signing key",
    password: bytes | None = None,
    sigstore: bool = False,
    identity_token: str | None = None,
) -> Signature:
    """Signs the file or folder at `path` with a private key (PEM), or keylessly with Sigstore
    (the CI's ambient OIDC identity, or `identity_token`)."""
    require()
    from model_signing import signing

    config = signing.Config().set_hashing_config(_hashing())  # type: ignore[no-untyped-call]
    hint = None
    if sigstore:
        if not identity_token:
            raise SigningError("keyless signing needs an OIDC identity token")
        # Only the token given: never the library's interactive browser flow.
        config.use_sigstore_signer(use_ambient_credentials=False, identity_token=identity_token)
    else:
        if key_pem is None:
            raise SigningError(
                "signing with a key needs one: set CHAMPION_SIGNING_KEY to the PEM private key "
                "or pass --signing-key PATH (or sign keylessly in CI: --sign sigstore)"
            )
        key = private_key(key_pem, key_source, password)
        hint = public_key_hint(_public_pem(key))
    with _scratch() as tmp:
        out = tmp / "bundle.json"
        try:
            if not sigstore:
                # The library reads the key from a file: a private one, in a private folder.
                key_file = tmp / "key.pem"
                key_file.touch(mode=0o600)
                key_file.write_bytes(key_pem or b"")
                config.use_elliptic_key_signer(private_key=key_file, password=_any(password))
            config.sign(path, out)
        except SigningError:
            raise
        except Exception as e:  # the library raises what its dependencies raise
            raise SigningError(f"signing {path.name} failed: {_reason(e)}") from e
        bundle = json.loads(out.read_text(encoding="utf-8"))
    if not sigstore:
        return Signature(bundle, "key", key_hint=hint)
    identity, issuer = signer_identity(bundle)
    return Signature(bundle, "sigstore", identity=identity, issuer=issuer)


def verify_path(path: Path, bundle: dict[str, Any], trust: Trust, what: str = "") -> None:
    """Raises SignatureInvalid unless `bundle` is a valid signature of the file or folder at
    `path` by `trust`: the key (or Sigstore identity) and every file's bytes, none added or
    missing. `what` names the artifact in messages."""
    require()
    from model_signing import verifying

    what = what or path.name
    config = verifying.Config().set_hashing_config(_hashing())  # type: ignore[no-untyped-call]
    if trust.public_key is None:
        identity, issuer = signer_identity(bundle)
        if (identity, issuer) != (trust.identity, trust.issuer):
            raise SignatureInvalid(
                f"{what} was signed by {identity} (issuer {issuer}), not by {trust.describe()}"
            )
    else:
        signed_by = key_hint_of(bundle)
        wanted = public_key_hint(trust.public_key, trust.source or "the public key")
        if signed_by is None:
            raise SignatureInvalid(
                f"{what}'s signature was made keylessly (Sigstore), not with a key: verify it "
                "with the signer's identity and issuer"
            )
        if signed_by != wanted:
            raise SignatureInvalid(
                f"{what} was signed with another key (sha256 {signed_by[:12]}...), not with "
                f"{trust.describe()}"
            )
    with _scratch() as tmp:
        sig = tmp / "bundle.json"
        sig.write_text(json.dumps(bundle), encoding="utf-8")
        try:
            if trust.public_key is not None:
                key = tmp / "key.pub.pem"
                key.write_bytes(trust.public_key)
                config.use_elliptic_key_verifier(public_key=key)
            else:
                config.use_sigstore_verifier(
                    identity=trust.identity or "",
                    oidc_issuer=trust.issuer or "",
                    trust_config=trust.trust_config,
                )
        except Exception as e:  # Sigstore's trust root is fetched (TUF) when none is given
            raise SigningError(
                f"cannot set up the verification of {what}: {_reason(e)} (keyless verification "
                "needs Sigstore's trust root: network access, or a trust configuration)"
            ) from e
        try:
            config.verify(path, sig)
        except SigningError:
            raise
        except Exception as e:
            raise SignatureInvalid(f"{what}: {_reason(e)}") from e


# --- reading a bundle (untrusted: it comes from a tag or a pointer) ---------------------------


def check_bundle(raw: Any, source: str) -> dict[str, Any]:
    """A bundle's shape, before the library parses it: a Sigstore bundle with a DSSE envelope."""
    if not isinstance(raw, dict):
        raise SigningError(f"{source}: the signing bundle is not a JSON object")
    if len(json.dumps(raw)) > MAX_BUNDLE_BYTES:
        raise SigningError(f"{source}: the signing bundle is over {MAX_BUNDLE_BYTES >> 10} KiB")
    media = raw.get("mediaType")
    envelope = raw.get("dsseEnvelope")
    if not (isinstance(media, str) and media.startswith("application/vnd.dev.sigstore.bundle")):
        raise SigningError(f"{source}: not a Sigstore bundle (mediaType {str(media)[:80]!r})")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), str):
        raise SigningError(f"{source}: the bundle holds no DSSE envelope (not a model signature)")
    return raw


def key_hint_of(bundle: dict[str, Any]) -> str | None:
    material = bundle.get("verificationMaterial")
    key = material.get("publicKey") if isinstance(material, dict) else None
    hint = key.get("hint") if isinstance(key, dict) else None
    return hint if isinstance(hint, str) else None


def signed_files(bundle: dict[str, Any]) -> dict[str, str]:
    """The files the bundle's statement names (path in the folder, or "." for a single file)
    and their sha256, as signed. Not authenticated by itself: `verify_path` does that."""
    import base64

    try:
        payload = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        resources = payload["predicate"]["resources"]
        return {str(r["name"]): str(r["digest"]) for r in resources if r["algorithm"] == "sha256"}
    except (KeyError, TypeError, ValueError) as e:
        raise SigningError(f"the bundle's statement cannot be read: {e}") from e


def signer_identity(bundle: dict[str, Any]) -> tuple[str, str]:
    """A keyless bundle's signer: the identity (the certificate's e-mail or URI) and the OIDC
    issuer Fulcio recorded in it. Read from the certificate, not yet trusted: the library checks
    the chain, the transparency log and the identity when it verifies."""
    import base64

    from cryptography import x509

    material = bundle.get("verificationMaterial")
    cert = material.get("certificate") if isinstance(material, dict) else None
    if not isinstance(cert, dict):
        chain = material.get("x509CertificateChain") if isinstance(material, dict) else None
        certs = chain.get("certificates") if isinstance(chain, dict) else None
        cert = certs[0] if isinstance(certs, list) and certs else None
    raw = cert.get("rawBytes") if isinstance(cert, dict) else None
    if not isinstance(raw, str):
        raise SigningError(
            "the bundle carries no signing certificate: it was not signed keylessly (Sigstore); "
            "verify it with the public key"
        )
    try:
        parsed = x509.load_der_x509_certificate(base64.b64decode(raw))
    except ValueError as e:
        raise SigningError(f"the bundle's certificate cannot be read: {e}") from e
    identity = ""
    try:
        san = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*san.get_values_for_type(x509.RFC822Name)]
        names += san.get_values_for_type(x509.UniformResourceIdentifier)
        identity = names[0] if names else ""
    except x509.ExtensionNotFound:
        pass
    issuer = ""
    for ext in parsed.extensions:
        if ext.oid.dotted_string == _ISSUER_V2:
            issuer = _der_utf8(ext.value.value)
        elif ext.oid.dotted_string == _ISSUER_V1 and not issuer:
            issuer = ext.value.value.decode("utf-8", "replace")
    return identity, issuer


def _der_utf8(data: bytes) -> str:
    # A DER UTF8String: tag 0x0c, a length (short or long form), the text.
    if len(data) < 2 or data[0] != 0x0C:
        return data.decode("utf-8", "replace")
    length, start = data[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, start = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
    return data[start : start + length].decode("utf-8", "replace")


def _reason(e: Exception) -> str:
    text = str(e).strip() or type(e).__name__
    if text.startswith("Signature mismatch: "):
        # The library's list of differences: "Extra files found ...", "Hash mismatch for ...".
        text = "the bytes differ from the signed ones: " + text.removeprefix(
            "Signature mismatch: "
        ).strip("[]").replace("', '", "; ").replace('", "', "; ").strip("'\"")
    if type(e).__name__ == "InvalidSignature":
        text = "the signature does not match its statement (tampered bundle, or another key)"
    return text


def _any(value: Any) -> Any:
    """The library declares `password: str | None` and hands it to cryptography, which wants
    bytes: passed as they are."""
    return value

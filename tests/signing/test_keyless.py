"""Keyless (Sigstore) bundles, offline: a bundle crafted here the way Fulcio and model-signing
shape one (a short-lived certificate naming the workflow and the OIDC issuer, a DSSE envelope
over the same in-toto statement), since no recorded bundle can be made without the network.

What this exercises: reading the signer's identity and issuer from the certificate, refusing
another identity or issuer before any hashing, the tag/pointer record of a keyless signature, and
the library's own keyless verification refusing a certificate that does not chain to Sigstore's
trust root (the public instance's root, shipped inside sigstore-python, given as a trust
configuration). What it cannot: a real Fulcio certificate and Rekor entry verifying; keyless
signing itself (it needs the CI's OIDC token and the network)."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

import pytest
import sigstore
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from champion.signing.bundle import (
    SignatureInvalid,
    SigningError,
    Trust,
    sign_path,
    signer_identity,
    verify_path,
)
from champion.signing.make import signer
from champion.signing.record import Signed, read_record
from testing.keys import make_key

WORKFLOW = "https://github.com/acme/models/.github/workflows/release.yml@refs/heads/main"
ISSUER = "https://token.actions.githubusercontent.com"


def _certificate(leaf: ec.EllipticCurvePrivateKey, identity: str, issuer: str) -> bytes:
    ca_key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sigstore.dev")])
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer_v2 = bytes([0x0C, len(issuer)]) + issuer.encode()  # a DER UTF8String
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(name)
        .public_key(leaf.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(minutes=10))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity)]), critical=True
        )
        .add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8"), issuer_v2),
            critical=False,
        )
        .add_extension(
            x509.UnrecognizedExtension(
                x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1"), issuer.encode()
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA384())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def keyless_bundle(model: Path, tmp_path: Path, identity: str = WORKFLOW) -> dict[str, object]:
    """model-signing's statement for `model`, signed by a certificate's key, in a v0.3 bundle."""
    keyed = sign_path(model, key_pem=make_key(tmp_path / "k").private.read_bytes()).bundle
    envelope = dict(keyed["dsseEnvelope"])
    payload = base64.b64decode(envelope["payload"])
    leaf = ec.generate_private_key(ec.SECP256R1())
    sig = leaf.sign(_pae(envelope["payloadType"], payload), ec.ECDSA(hashes.SHA256()))
    envelope["signatures"] = [{"sig": base64.b64encode(sig).decode(), "keyid": ""}]
    der = _certificate(leaf, identity, ISSUER)
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": base64.b64encode(der).decode()},
            "tlogEntries": [],
        },
        "dsseEnvelope": envelope,
    }


def public_trust_config(tmp_path: Path) -> Path:
    """Sigstore's public trust root and signing config as sigstore-python ships them, as one
    client trust configuration: no TUF update, no network."""
    store = Path(sigstore.__file__).parent / "_store" / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
    config = {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": json.loads((store / "trusted_root.json").read_text()),
        "signingConfig": json.loads((store / "signing_config.v0.2.json").read_text()),
    }
    path = tmp_path / "trust_config.json"
    path.write_text(json.dumps(config))
    return path


def test_the_signer_is_read_from_the_certificate(tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"model bytes")
    bundle = keyless_bundle(model, tmp_path)
    assert signer_identity(bundle) == (WORKFLOW, ISSUER)
    record = {"signing": Signed(bundle, "sigstore", None, WORKFLOW, ISSUER).as_metadata()}
    signed = read_record(json.loads(json.dumps(record)), "churn@v1.0.0")
    assert signed is not None and signed.signer() == f"{WORKFLOW} (issuer {ISSUER})"


def test_another_identity_or_issuer_is_refused_offline(tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"model bytes")
    bundle = keyless_bundle(model, tmp_path, identity=WORKFLOW.replace("main", "evil"))
    with pytest.raises(SignatureInvalid, match=r"signed by .*refs/heads/evil"):
        verify_path(model, bundle, Trust.sigstore(WORKFLOW, ISSUER))
    with pytest.raises(SignatureInvalid, match="not by"):
        verify_path(model, bundle, Trust.sigstore(WORKFLOW, "https://accounts.google.com"))
    # A key cannot verify a keyless bundle, nor the other way round.
    with pytest.raises(SignatureInvalid, match="made keylessly"):
        verify_path(model, bundle, Trust.key(make_key(tmp_path / "v").public))
    keyed = sign_path(model, key_pem=make_key(tmp_path / "w").private.read_bytes()).bundle
    with pytest.raises(SigningError, match="no signing certificate"):
        verify_path(model, keyed, Trust.sigstore(WORKFLOW, ISSUER))


def test_the_library_refuses_a_certificate_sigstore_did_not_issue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"model bytes")
    bundle = keyless_bundle(model, tmp_path)
    monkeypatch.setenv("CHAMPION_SIGSTORE_TRUST_CONFIG", str(public_trust_config(tmp_path)))
    # sigstore-python's verifier: no transparency-log entry, so no proof Sigstore saw it.
    with pytest.raises(SignatureInvalid, match="log entry"):
        verify_path(model, bundle, Trust.sigstore(WORKFLOW, ISSUER))


def test_keyless_signing_without_an_oidc_identity_says_how(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("CHAMPION_SIGSTORE_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "SIGSTORE_ID_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SigningError, match="id-token: write"):
        signer("sigstore")
    with pytest.raises(SigningError, match="--signing-key is for --sign key"):
        signer("sigstore", "key.pem")

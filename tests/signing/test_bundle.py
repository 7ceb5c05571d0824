"""Signing and verifying local files and folders with the real model-signing library: real keys
made here, tampered bytes, an added or removed file, another key, bad keys."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from champion.signing.bundle import (
    SignatureInvalid,
    SigningError,
    Trust,
    private_key,
    public_key_hint,
    sign_path,
    signed_files,
    verify_path,
)
from testing.keys import encrypted_key, make_key, rsa_key


def _folder(base: Path) -> Path:
    folder = base / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    (folder / "sub" / "config.json").write_text('{"layers": 3}')
    (folder / ".gitignore").write_text("*.tmp\n")  # signed too: it is part of the artifact
    return folder


def test_a_file_signed_with_a_key_verifies_and_names_the_key(tmp_path: Path) -> None:
    keys = make_key(tmp_path / "keys")
    model = tmp_path / "model.bin"
    model.write_bytes(b"model bytes")
    made = sign_path(model, key_pem=keys.private.read_bytes())
    assert made.method == "key"
    assert made.key_hint == public_key_hint(keys.public.read_bytes())
    assert made.bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    import hashlib

    assert signed_files(made.bundle) == {".": hashlib.sha256(b"model bytes").hexdigest()}
    verify_path(model, made.bundle, Trust.key(keys.public))
    verify_path(model, made.bundle, Trust.key(keys.public.read_text()))  # PEM text works too


def test_tampered_bytes_fail_naming_what_differs(tmp_path: Path) -> None:
    keys = make_key(tmp_path / "keys")
    model = tmp_path / "model.bin"
    model.write_bytes(b"model bytes")
    made = sign_path(model, key_pem=keys.private.read_bytes())
    model.write_bytes(b"model bytez")
    with pytest.raises(SignatureInvalid, match="bytes differ from the signed ones"):
        verify_path(model, made.bundle, Trust.key(keys.public))


def test_a_folder_signs_every_file_and_an_added_or_removed_file_fails(tmp_path: Path) -> None:
    keys = make_key(tmp_path / "keys")
    folder = _folder(tmp_path)
    made = sign_path(folder, key_pem=keys.private.read_bytes())
    assert set(signed_files(made.bundle)) == {"weights.bin", "sub/config.json", ".gitignore"}
    verify_path(folder, made.bundle, Trust.key(keys.public))
    (folder / "extra.py").write_text("import os")
    with pytest.raises(SignatureInvalid, match=r"Extra files.*extra\.py"):
        verify_path(folder, made.bundle, Trust.key(keys.public))
    (folder / "extra.py").unlink()
    (folder / "sub" / "config.json").unlink()
    with pytest.raises(SignatureInvalid, match=r"Missing files.*sub/config\.json"):
        verify_path(folder, made.bundle, Trust.key(keys.public))


def test_another_key_is_refused_before_hashing(tmp_path: Path) -> None:
    keys = make_key(tmp_path / "a")
    other = make_key(tmp_path / "b")
    model = tmp_path / "model.bin"
    model.write_bytes(b"model bytes")
    made = sign_path(model, key_pem=keys.private.read_bytes())
    with pytest.raises(SignatureInvalid, match="signed with another key"):
        verify_path(model, made.bundle, Trust.key(other.public))


def test_a_forged_bundle_with_the_right_key_hint_fails(tmp_path: Path) -> None:
    """Someone without the key rewrites the statement (new digests) and keeps the key hint."""
    keys = make_key(tmp_path / "keys")
    model = tmp_path / "model.bin"
    model.write_bytes(b"model bytes")
    made = sign_path(model, key_pem=keys.private.read_bytes())
    model.write_bytes(b"evil bytes")
    other = sign_path(model, key_pem=make_key(tmp_path / "evil").private.read_bytes())
    forged = json.loads(json.dumps(made.bundle))
    forged["dsseEnvelope"]["payload"] = other.bundle["dsseEnvelope"]["payload"]
    payload = json.loads(base64.b64decode(forged["dsseEnvelope"]["payload"]))
    assert payload["predicate"]["resources"][0]["name"] == "."
    with pytest.raises(SignatureInvalid):
        verify_path(model, forged, Trust.key(keys.public))


def test_bad_keys_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    keys = make_key(folder)
    with pytest.raises(SigningError, match="that is a public key"):
        private_key(keys.public.read_bytes(), "k.pub.pem")
    with pytest.raises(SigningError, match="is not a PEM private key"):
        private_key(b"hello", "junk.pem")
    with pytest.raises(SigningError, match="RSA key; model-signing signs with elliptic-curve"):
        private_key(rsa_key(folder).read_bytes(), "rsa.pem")
    locked = encrypted_key(folder, b"s3cret")
    with pytest.raises(SigningError, match="encrypted and no password was given"):
        private_key(locked.read_bytes(), "encrypted.pem")
    with pytest.raises(SigningError, match="wrong password"):
        private_key(locked.read_bytes(), "encrypted.pem", b"nope")
    assert private_key(locked.read_bytes(), "encrypted.pem", b"s3cret") is not None
    with pytest.raises(SigningError, match="curve secp256k1"):
        private_key(make_key(folder, "k1", ec.SECP256K1()).private.read_bytes(), "k1.pem")
    with pytest.raises(SigningError, match="that is a private key"):
        Trust.key(keys.private)
    with pytest.raises(SigningError, match="cannot read the public key"):
        Trust.key(tmp_path / "missing.pem")


def test_a_password_protected_key_signs_with_its_password(tmp_path: Path) -> None:
    locked = encrypted_key(tmp_path, b"s3cret")
    model = tmp_path / "model.bin"
    model.write_bytes(b"model bytes")
    made = sign_path(model, key_pem=locked.read_bytes(), password=b"s3cret")
    assert made.key_hint


def test_without_the_extra_the_error_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from champion.signing.bundle import SigningUnavailable, require
    from testing.repos import make_repo, run_cli

    for name in [m for m in sys.modules if m == "model_signing" or m.startswith("model_signing.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "model_signing", None)  # what an absent package imports as
    with pytest.raises(SigningUnavailable, match=r"pip install 'champion\[signing\]'"):
        require()
    repo = make_repo(tmp_path)
    result = run_cli(capsys, repo.path, "register", "churn", "--sign")
    assert result.code == 2 and "pip install 'champion[signing]'" in result.err
    assert repo.tags() == []

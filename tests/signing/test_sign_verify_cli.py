"""register/release --sign and champion verify on real repositories, with keys made here and the
real model-signing library; the exported bundle checked by OpenSSF's own CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from champion.project import open_project
from champion.registry import Version
from champion.signing import verify_version
from champion.signing.bundle import Trust
from testing.keys import KeyPair, make_key, rsa_key
from testing.releases import tag_metadata
from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]

FOLDER_CONFIG = """\
models:
  churn:
    path: models/churn
    format: pickle
"""


@pytest.fixture
def keys(tmp_path: Path) -> KeyPair:
    return make_key(tmp_path / "keys")


def _signed_repo(tmp_path: Path, keys: KeyPair, mp: pytest.MonkeyPatch) -> Repo:
    repo = make_repo(tmp_path)
    mp.setenv("CHAMPION_SIGNING_KEY", keys.private_pem)
    return repo


def test_register_sign_stores_the_bundle_and_verify_passes(
    tmp_path: Path, keys: KeyPair, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _signed_repo(tmp_path, keys, monkeypatch)
    result = run_cli(capsys, repo.path, "register", "churn", "--sign")
    assert result.code == 0, result.err
    assert "signed (key)" in result.out
    meta = tag_metadata(repo.path, "churn@v0.1.0")
    signing = meta["signing"]
    assert signing["method"] == "key"
    assert signing["bundle"]["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert signing["bundle"]["verificationMaterial"]["publicKey"]["hint"] == signing["key_hint"]
    assert "signature" not in meta  # that key is the model's input/output signature

    result = run_cli(capsys, repo.path, "verify", "churn", "0.1.0", "--key", str(keys.public))
    assert result.code == 0, result.out + result.err
    assert "signature verified" in result.out

    verdict = verify_version(
        open_project(repo.path), "churn", "0.1.0", trust=Trust.key(keys.public)
    )
    assert verdict.ok and verdict.status == "verified"


def test_verify_fails_for_another_key_and_for_an_unsigned_version(
    tmp_path: Path, keys: KeyPair, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _signed_repo(tmp_path, keys, monkeypatch)
    assert run_cli(capsys, repo.path, "register", "churn", "--sign").code == 0
    other = make_key(tmp_path / "other")
    result = run_cli(capsys, repo.path, "verify", "churn", "0.1.0", "--key", str(other.public))
    assert result.code == 1
    assert "signature invalid" in result.out and "another key" in result.out

    repo.commit_artifact("model v2")
    assert run_cli(capsys, repo.path, "register", "churn").code == 0
    result = run_cli(capsys, repo.path, "verify", "churn", "0.1.1", "--key", str(keys.public))
    assert result.code == 1
    assert "signature missing" in result.out


def test_a_bundle_copied_onto_another_version_is_invalid(
    tmp_path: Path, keys: KeyPair, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone with push access but no key copies 0.1.0's signature into a new version's tag."""
    repo = _signed_repo(tmp_path, keys, monkeypatch)
    assert run_cli(capsys, repo.path, "register", "churn", "--sign").code == 0
    stolen = tag_metadata(repo.path, "churn@v0.1.0")["signing"]
    commit = repo.commit_artifact("evil model")
    project = open_project(repo.path)
    from champion import artifacts

    artifact = artifacts.describe(repo.path, "models/churn.bin", commit)
    project.registry.register(
        "churn",
        commit,
        version=Version.parse("0.2.0"),
        metadata={"artifact": artifact.as_metadata(), "signing": stolen},
    )
    result = run_cli(capsys, repo.path, "verify", "churn", "0.2.0", "--key", str(keys.public))
    assert result.code == 1
    assert "bytes differ from the signed ones" in result.out
    assert "Hash mismatch" in result.out


def test_signing_failures_write_no_tag(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    monkeypatch.delenv("CHAMPION_SIGNING_KEY", raising=False)
    result = run_cli(capsys, repo.path, "register", "churn", "--sign")
    assert result.code == 2 and "CHAMPION_SIGNING_KEY" in result.err
    result = run_cli(
        capsys, repo.path, "register", "churn", "--sign", "--signing-key", str(rsa_key(tmp_path))
    )
    assert result.code == 2 and "RSA key" in result.err
    result = run_cli(capsys, repo.path, "release", "--sign", "--signing-key", "nope.pem")
    assert result.code == 2 and "cannot read --signing-key nope.pem" in result.err
    monkeypatch.setenv("CHAMPION_SIGNING_KEY", "not a key")
    result = run_cli(capsys, repo.path, "release", "--sign")
    assert result.code == 2 and "CHAMPION_SIGNING_KEY is not a PEM private key" in result.err
    assert repo.tags() == []


def test_release_signs_with_release_sign_in_champion_yaml(
    tmp_path: Path, keys: KeyPair, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = "models:\n  churn:\n    path: models/churn.bin\n    release: {sign: true}\n"
    repo = make_repo(tmp_path, config)
    monkeypatch.setenv("CHAMPION_SIGNING_KEY", keys.private_pem)
    result = run_cli(capsys, repo.path, "release", "--bump", "patch")
    assert result.code == 0, result.out + result.err
    assert tag_metadata(repo.path, "churn@v0.1.0")["signing"]["method"] == "key"
    assert run_cli(capsys, repo.path, "verify", "churn", "--key", str(keys.public)).code == 0


def _openssf_verify(
    public: Path, bundle: Path, path: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "model_signing",
            "verify",
            "key",
            "--public_key",
            str(public),
            "--signature",
            str(bundle),
            *extra,
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_exported_bundle_passes_openssf_s_own_cli(
    tmp_path: Path, keys: KeyPair, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, FOLDER_CONFIG, commit=False)
    folder = repo.path / "models" / "churn"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.pkl").write_bytes(b"\x80\x04K\x01.")
    (folder / "sub" / "vocab.txt").write_text("a\nb\n")
    (folder / ".gitattributes").write_text("*.pkl binary\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "folder model")
    commit = repo.git("rev-parse", "HEAD")
    result = run_cli(
        capsys,
        repo.path,
        "release",
        "--sign",
        "--signing-key",
        str(keys.private),
        "--bump",
        "patch",
    )
    assert result.code == 0, result.out + result.err
    bundle = tmp_path / "churn.sig"
    result = run_cli(
        capsys,
        repo.path,
        "verify",
        "churn",
        "0.1.0",
        "--key",
        str(keys.public),
        "--export-signature",
        str(bundle),
    )
    assert result.code == 0, result.out + result.err
    assert "model_signing verify key" in result.out and "--no-ignore-git-paths" in result.out
    assert (
        json.loads(bundle.read_text())
        == tag_metadata(repo.path, "churn@v0.1.0")["signing"]["bundle"]
    )

    # The artifact as it was at that version's commit, in a fresh checkout of its own.
    checkout = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "checkout", "-q", commit], check=True)
    theirs = _openssf_verify(
        keys.public, bundle, checkout / "models/churn", "--no-ignore-git-paths"
    )
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr

    (checkout / "models/churn/sub/vocab.txt").write_text("a\nb\nc\n")
    theirs = _openssf_verify(
        keys.public, bundle, checkout / "models/churn", "--no-ignore-git-paths"
    )
    assert theirs.returncode != 0
    assert "vocab.txt" in theirs.stdout + theirs.stderr


def test_a_single_file_bundle_passes_openssf_s_cli(
    tmp_path: Path, keys: KeyPair, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _signed_repo(tmp_path, keys, monkeypatch)
    assert run_cli(capsys, repo.path, "register", "churn", "--sign").code == 0
    bundle = tmp_path / "churn.sig"
    result = run_cli(
        capsys,
        repo.path,
        "verify",
        "churn",
        "--key",
        str(keys.public),
        "--export-signature",
        str(bundle),
    )
    assert result.code == 0, result.out + result.err
    theirs = _openssf_verify(keys.public, bundle, repo.path / "models/churn.bin")
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr

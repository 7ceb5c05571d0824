"""The signing: policy (promote, rollback's target, canary start, publish, release --promote
refuse a version without a valid signature: exit 2, nothing written), the pointer carrying the
bundle, and LiveModel(public_key=...) verifying main and canary before unpickling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from champion.runtime import LiveModel, RuntimeLoadError
from testing.keys import KeyPair, make_key
from testing.models import save, train
from testing.releases import tag_metadata
from testing.repos import Repo, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]

CONFIG = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn.joblib
    pointer: ../pointers
"""
POLICY = "signing: {required: true, public_key: keys/release.pub.pem}\n"


def _version(repo: Repo, kind: str, version: str, capsys: Capsys, *sign: str) -> None:
    save(train(kind), repo.path / "models/churn.joblib")
    repo.git("add", "models/churn.joblib")
    repo.git("commit", "-qm", f"train {version}")
    result = run_cli(capsys, repo.path, "register", "churn", "--version", version, *sign)
    assert result.code == 0, result.err


@pytest.fixture
def keys(tmp_path: Path) -> KeyPair:
    return make_key(tmp_path / "keys")


@pytest.fixture
def repo(tmp_path: Path, keys: KeyPair, capsys: Capsys) -> Repo:
    """0.1.0 signed by the release key, 0.2.0 unsigned, 0.3.0 signed by another key; the
    policy (requiring the release key) added after them."""
    repo = make_repo(tmp_path, CONFIG, commit=False)
    repo.git("remote", "remove", "origin")  # tags stay local and the pointer is published
    (repo.path / "keys").mkdir()
    (repo.path / "keys/release.pub.pem").write_bytes(keys.public.read_bytes())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "config")
    _version(repo, "good", "0.1.0", capsys, "--sign", "--signing-key", str(keys.private))
    _version(repo, "weak", "0.2.0", capsys)
    other = make_key(tmp_path / "other")
    _version(repo, "noise", "0.3.0", capsys, "--sign", "--signing-key", str(other.private))
    with (repo.path / "champion.yaml").open("a") as f:
        f.write(POLICY)
    return repo


def _no_new_tags(repo: Repo, before: list[str]) -> None:
    assert repo.tags() == before


def test_promote_refuses_unsigned_and_wrongly_signed_versions(repo: Repo, capsys: Capsys) -> None:
    before = repo.tags()
    result = run_cli(capsys, repo.path, "promote", "churn", "0.2.0", "--stage", "prod")
    assert result.code == 2
    assert "signature is missing" in result.err and "Nothing was written" in result.err
    result = run_cli(capsys, repo.path, "promote", "churn", "0.3.0", "--stage", "prod")
    assert result.code == 2 and "signed with another key" in result.err
    _no_new_tags(repo, before)
    assert not (repo.path.parent / "pointers").exists()
    result = run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod")
    assert result.code == 0, result.err


def test_the_pointer_carries_the_bundle_and_live_model_verifies_it(
    repo: Repo, keys: KeyPair, capsys: Capsys, tmp_path: Path
) -> None:
    assert run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod").code == 0
    pointers = repo.path.parent / "pointers"
    ref = json.loads((pointers / "prod.json").read_text())["artifact"]["signature"]
    assert ref["method"] == "key"
    assert ref["url"] == str(pointers / "signatures" / f"{ref['sha256']}.json")
    bundle = json.loads(Path(ref["url"]).read_text())
    assert bundle == tag_metadata(repo.path, "churn@v0.1.0")["signing"]["bundle"]

    live = LiveModel("churn", str(pointers), tmp_path / "cache", public_key=keys.public)
    assert live.version == "0.1.0"
    live2 = LiveModel(
        "churn", str(pointers), tmp_path / "cache2", public_key=keys.public.read_text()
    )
    assert live2.version == "0.1.0"
    other = make_key(tmp_path / "stranger")
    with pytest.raises(RuntimeLoadError, match="signed with another key"):
        LiveModel("churn", str(pointers), tmp_path / "cache3", public_key=other.public)


def test_live_model_refuses_a_tampered_bundle_or_artifact(
    repo: Repo, keys: KeyPair, capsys: Capsys, tmp_path: Path
) -> None:
    assert run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod").code == 0
    pointers = repo.path.parent / "pointers"
    pointer = json.loads((pointers / "prod.json").read_text())
    ref = pointer["artifact"]["signature"]
    url = Path(ref["url"])
    url.write_text(url.read_text().replace('"sig"', '"sig" ', 1))  # same bundle, other bytes
    with pytest.raises(RuntimeLoadError, match=r"signature .* has sha256"):
        LiveModel("churn", str(pointers), tmp_path / "cache", public_key=keys.public)


def test_a_refresh_to_an_unverifiable_version_keeps_the_old_one(
    repo: Repo, keys: KeyPair, capsys: Capsys, tmp_path: Path
) -> None:
    assert run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod").code == 0
    pointers = repo.path.parent / "pointers"
    live = LiveModel("churn", str(pointers), tmp_path / "cache", public_key=keys.public)
    # Someone promotes without the policy (another clone's champion.yaml): 0.2.0 is unsigned.
    config = repo.path / "champion.yaml"
    config.write_text(config.read_text().replace(POLICY, ""))
    assert run_cli(capsys, repo.path, "promote", "churn", "0.2.0", "--stage", "prod").code == 0
    assert live.refresh() is False
    health = live.health()
    assert live.version == "0.1.0" and health["status"] == "degraded"
    assert "0.2.0" in (health["last_error"] or "") and "carries no signature" in (
        health["last_error"] or ""
    )
    # The canary is checked too: a canary signed by another key does not serve.
    assert run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod").code == 0
    assert run_cli(capsys, repo.path, "canary", "start", "churn", "0.3.0").code == 0
    assert live.refresh() is True
    assert live.canary_version is None
    assert "canary not serving" in (live.health()["last_error"] or "")
    assert "another key" in (live.health()["last_error"] or "")


def test_rollback_canary_and_publish_refuse_unsigned_versions(repo: Repo, capsys: Capsys) -> None:
    config = repo.path / "champion.yaml"
    policy_less = config.read_text().replace(POLICY, "")
    with_policy = config.read_text()
    # Without the policy: 0.2.0 then 0.1.0 go live.
    config.write_text(policy_less)
    assert run_cli(capsys, repo.path, "promote", "churn", "0.2.0", "--stage", "prod").code == 0
    assert run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod").code == 0
    config.write_text(with_policy)
    before = repo.tags()
    result = run_cli(capsys, repo.path, "rollback", "churn", "--reason", "bad")
    assert result.code == 2 and "refusing to roll prod back to churn 0.2.0" in result.err
    result = run_cli(capsys, repo.path, "canary", "start", "churn", "0.2.0")
    assert result.code == 2 and "signature is missing" in result.err
    _no_new_tags(repo, before)
    result = run_cli(capsys, repo.path, "rollback", "churn", "--reason", "bad", "--to", "0.2.0")
    assert result.code == 2
    # publish names the live version: refused once the live one is unsigned.
    config.write_text(policy_less)
    assert run_cli(capsys, repo.path, "promote", "churn", "0.2.0", "--stage", "prod").code == 0
    pointer = (repo.path.parent / "pointers/prod.json").read_bytes()
    config.write_text(with_policy)
    result = run_cli(capsys, repo.path, "publish", "churn")
    assert result.code == 2 and "refusing to publish prod of churn 0.2.0" in result.err
    assert (repo.path.parent / "pointers/prod.json").read_bytes() == pointer


def test_release_promote_needs_a_signature_by_the_required_key(
    repo: Repo, keys: KeyPair, capsys: Capsys, tmp_path: Path
) -> None:
    save(train("good", n=2000), repo.path / "models/churn.joblib")
    repo.git("commit", "-qam", "retrain")
    before = repo.tags()
    result = run_cli(capsys, repo.path, "release", "--promote", "prod", "--bump", "patch")
    assert result.code == 2 and "unsigned" in result.err and "--sign" in result.err
    other = make_key(tmp_path / "other2")
    result = run_cli(
        capsys,
        repo.path,
        "release",
        "--promote",
        "prod",
        "--bump",
        "patch",
        "--sign",
        "--signing-key",
        str(other.private),
    )
    assert result.code == 2 and "does not verify by signing" in result.err
    _no_new_tags(repo, before)
    result = run_cli(
        capsys,
        repo.path,
        "release",
        "--promote",
        "prod",
        "--bump",
        "patch",
        "--sign",
        "--signing-key",
        str(keys.private),
    )
    assert result.code == 0, result.out + result.err


def test_a_policy_without_a_key_file_is_bad_input(repo: Repo, capsys: Capsys) -> None:
    (repo.path / "keys/release.pub.pem").unlink()
    result = run_cli(capsys, repo.path, "promote", "churn", "0.1.0", "--stage", "prod")
    assert result.code == 2 and "signing.public_key" in result.err and "not a file" in result.err

"""`policy.STAGE.signed` with real keys and real signatures (OpenSSF model-signing): the rule
verifies through signing's own verifier (champion.signing.check.verify_info), by the key
`signing:` names, for the writes that put a version live in that stage; `signing.required`
applies the same check to every stage and to a rollback's target. When both apply, one check is
made and one refusal shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import champion.signing.check as check
from testing.keys import KeyPair, make_key
from testing.models import save, train
from testing.releases import tag_metadata
from testing.repos import Repo, Result, make_repo, run_cli

Capsys = pytest.CaptureFixture[str]

CONFIG = """\
stages: [staging, prod]
models:
  churn:
    path: models/churn.joblib
    pointer: ../pointers
"""
KEY = "signing: {public_key: keys/release.pub.pem}\n"
REQUIRED = "signing: {required: true, public_key: keys/release.pub.pem}\n"
SIGNED_PROD = "policy:\n  prod:\n    signed: true\n"


def cli(capsys: Capsys, repo: Repo, *args: str) -> Result:
    return run_cli(capsys, repo.path, *args)


def ok(capsys: Capsys, repo: Repo, *args: str) -> str:
    result = cli(capsys, repo, *args)
    assert result.code == 0, f"champion {' '.join(args)}: {result.err}"
    return result.out


def configure(repo: Repo, *sections: str) -> None:
    (repo.path / "champion.yaml").write_text(CONFIG + "".join(sections))


def _version(repo: Repo, kind: str, version: str, capsys: Capsys, *sign: str) -> None:
    save(train(kind), repo.path / "models/churn.joblib")
    repo.git("add", "models/churn.joblib")
    repo.git("commit", "-qm", f"train {version}")
    ok(capsys, repo, "register", "churn", "--version", version, *sign)


@pytest.fixture
def keys(tmp_path: Path) -> KeyPair:
    return make_key(tmp_path / "keys")


@pytest.fixture
def repo(tmp_path: Path, keys: KeyPair, capsys: Capsys) -> Repo:
    """0.1.0 signed by the release key, 0.2.0 unsigned, 0.3.0 signed by another key; no policy
    yet. Tags stay local (no origin) and the pointer is published to ../pointers."""
    repo = make_repo(tmp_path, CONFIG, commit=False)
    repo.git("remote", "remove", "origin")
    (repo.path / "keys").mkdir()
    (repo.path / "keys/release.pub.pem").write_bytes(keys.public.read_bytes())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "config")
    _version(repo, "good", "0.1.0", capsys, "--sign", "--signing-key", str(keys.private))
    _version(repo, "weak", "0.2.0", capsys)
    other = make_key(tmp_path / "other")
    _version(repo, "noise", "0.3.0", capsys, "--sign", "--signing-key", str(other.private))
    return repo


def snapshot(repo: Repo) -> tuple[list[str], dict[str, bytes]]:
    folder = repo.path.parent / "pointers"
    files = folder.rglob("*") if folder.exists() else ()
    return repo.tags(), {str(p): p.read_bytes() for p in files if p.is_file()}


def refused(capsys: Capsys, repo: Repo, *args: str) -> str:
    before = snapshot(repo)
    result = cli(capsys, repo, *args)
    assert result.code == 2, f"champion {' '.join(args)} was not refused: {result.out}"
    assert snapshot(repo) == before
    return result.err


def test_signed_needs_a_key_or_identity_to_verify_by(repo: Repo, capsys: Capsys) -> None:
    configure(repo, SIGNED_PROD)
    result = cli(capsys, repo, "status")
    assert result.code == 2
    assert "champion.yaml:8: policy.prod.signed needs whose signature to verify" in result.err
    configure(repo, SIGNED_PROD, KEY)
    assert cli(capsys, repo, "status").code == 0


def test_signed_refuses_an_unsigned_or_wrongly_signed_version_in_its_stage_alone(
    repo: Repo, capsys: Capsys
) -> None:
    configure(repo, KEY, SIGNED_PROD)
    # staging has no rule, and signing: without required: asks nothing there.
    ok(capsys, repo, "promote", "churn", "0.2.0", "--stage", "staging")

    err = refused(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod")
    assert "the policy in champion.yaml refuses to promote churn 0.2.0 to prod" in err
    assert (
        "policy.prod.signed: 0.2.0's signature does not verify: it is missing: churn@v0.2.0 "
        "carries no signature (registered without --sign); promote a version signed by the key"
    ) in err
    err = refused(capsys, repo, "promote", "churn", "0.3.0", "--stage", "prod")
    assert "policy.prod.signed: 0.3.0's signature does not verify: it is invalid:" in err
    assert "signed with another key" in err
    # A canary serves prod's traffic: it answers to prod's policy.
    err = refused(capsys, repo, "canary", "start", "churn", "0.2.0", "--stage", "prod")
    assert "refuses to make churn 0.2.0 the canary of prod" in err
    assert "policy.prod.signed" in err

    out = ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod")
    assert "promoted churn 0.1.0 to prod" in out
    assert (repo.path.parent / "pointers" / "prod.json").is_file()


def test_another_version_s_signature_fails_the_rule(
    repo: Repo, capsys: Capsys, tmp_path: Path
) -> None:
    # The signature is checked over the bytes a service fetches: 0.2.0's tag rewritten to carry
    # 0.1.0's signature (its own artifact and sha256 kept) does not pass.
    configure(repo, KEY, SIGNED_PROD)
    meta = tag_metadata(repo.path, "churn@v0.2.0")
    meta["signing"] = tag_metadata(repo.path, "churn@v0.1.0")["signing"]
    commit = repo.git("rev-parse", "churn@v0.2.0^{commit}")
    forged = tmp_path / "forged.txt"
    forged.write_text("Registration of 0.2.0\n\n" + json.dumps(meta, sort_keys=True) + "\n")
    repo.git("tag", "-d", "churn@v0.2.0")
    repo.git("tag", "-a", "-F", str(forged), "churn@v0.2.0", commit)
    err = refused(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod")
    assert "policy.prod.signed: 0.2.0's signature does not verify: it is invalid:" in err


def test_a_rollback_answers_to_signing_required_not_to_the_policy(
    repo: Repo, capsys: Capsys
) -> None:
    # Before any policy, 0.2.0 (unsigned) served prod; then 0.1.0 (signed) replaced it.
    ok(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod")
    configure(repo, KEY, SIGNED_PROD)
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod")

    # signing.required covers every version that goes live, a rollback's target included.
    configure(repo, REQUIRED, SIGNED_PROD)
    err = refused(capsys, repo, "rollback", "churn", "--stage", "prod", "--reason", "slow")
    assert "refusing to roll prod back to churn 0.2.0: signing.required is set" in err
    assert "policy.prod" not in err

    # policy.prod.signed is a promotion rule: a rollback returns to a version that was live.
    configure(repo, KEY, SIGNED_PROD)
    out = ok(capsys, repo, "rollback", "churn", "--stage", "prod", "--reason", "slow")
    assert "back from 0.1.0 to 0.2.0" in out


def test_with_signing_required_too_one_check_and_one_refusal(
    repo: Repo, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(repo, REQUIRED, SIGNED_PROD)
    err = refused(capsys, repo, "promote", "churn", "0.2.0", "--stage", "prod")
    assert err.count("signing.required is set and its signature is missing") == 1
    assert "policy.prod.signed" not in err

    calls: list[Any] = []
    real = check.verify_path

    def spy(*args: Any, **kwargs: Any) -> None:
        calls.append(args[2])  # the trust
        real(*args, **kwargs)

    monkeypatch.setattr(check, "verify_path", spy)
    ok(capsys, repo, "promote", "churn", "0.1.0", "--stage", "prod")
    # signing's check before the write, the policy's rule in the write loop and publish's check
    # of the live version all asked about 0.1.0: its artifact was fetched and verified once.
    assert len(calls) == 1


def test_release_promote_needs_a_signed_version(repo: Repo, keys: KeyPair, capsys: Capsys) -> None:
    configure(repo, KEY, SIGNED_PROD)
    save(train("better"), repo.path / "models/churn.joblib")
    repo.git("commit", "-qam", "train 0.4.0")
    result = cli(capsys, repo, "release", "churn", "--promote", "prod", "--bump", "minor")
    assert result.code == 2
    assert "policy.prod.signed: 0.4.0's signature does not verify: it is missing" in result.err
    assert "churn@v0.4.0" in repo.tags()  # registered all the same, not promoted
    assert not any(t.startswith("churn#prod") for t in repo.tags())

    save(train("good", n=2000), repo.path / "models/churn.joblib")
    repo.git("commit", "-qam", "train 0.5.0")
    out = ok(
        capsys,
        repo,
        "release",
        "churn",
        "--promote",
        "prod",
        "--bump",
        "minor",
        "--sign",
        "--signing-key",
        str(keys.private),
    )
    assert "released churn 0.5.0" in out and "signed (key)" in out
    assert "churn#prod#1" in repo.tags()


def test_status_says_whether_the_candidate_carries_a_signature(repo: Repo, capsys: Capsys) -> None:
    configure(repo, KEY, SIGNED_PROD)
    ok(capsys, repo, "promote", "churn", "0.2.0", "--stage", "staging")
    view = json.loads(ok(capsys, repo, "status", "churn", "--json"))["models"][0]["policy"]
    # With no after:, the candidate is the latest: 0.3.0, which carries a signature (another
    # key's: only a promotion fetches and verifies it).
    signed = view["prod"]["candidate"]
    assert signed["version"] == "0.3.0" and signed["eligible"] is True
    assert signed["rules"] == [
        {
            "rule": "signed",
            "ok": True,
            "record": "0.3.0 carries a signature, verified when it is promoted",
            "satisfy": None,
        }
    ]
    history = json.loads(ok(capsys, repo, "history", "churn", "--json"))["policy"]["prod"]
    unsigned = next(v for v in history["versions"] if v["version"] == "0.2.0")
    assert unsigned["eligible"] is False
    assert unsigned["rules"][0]["record"] == "0.2.0 carries no signature"
    assert "0.2.0 not eligible (signed: 0.2.0 carries no signature)" in ok(
        capsys, repo, "history", "churn"
    )

"""Verifying a registered version's signature against its artifact fetched as rollback fetches it
(from git, or from the DVC remote: never from a local cache, which anyone on this machine could
have changed), by the trusted key or Sigstore identity."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from champion import artifacts
from champion.config import ModelConfig
from champion.errors import RegistryError
from champion.project import Project
from champion.registry import Version, VersionInfo
from champion.signing.bundle import SignatureInvalid, SigningError, Trust, verify_path
from champion.signing.policy import policy_of
from champion.signing.record import Signed, read_record

Status = Literal["verified", "missing", "invalid"]


@dataclass(frozen=True)
class Verdict:
    model: str
    version: str
    tag: str
    status: Status
    reason: str = ""  # why it is missing or invalid
    signer: str = ""  # who signed it (when verified: by the trusted key or identity)

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    def describe(self) -> str:
        if self.ok:
            return f"{self.model} {self.version} ({self.tag}): signature verified, signed by {self.signer}"
        return f"{self.model} {self.version} ({self.tag}): signature {self.status}: {self.reason}"


def find_version(project: Project, model: str, version: str | None) -> VersionInfo:
    """`version`, or by default the version live in the gate stage, else the latest."""
    state = project.registry.state(model)
    if version is None:
        live = state.live.get(project.config.gate_stage)
        info = state.find(live.version) if live is not None else state.latest
        if info is None:
            raise RegistryError(f"{model} has no registered version yet: nothing to verify")
        return info
    info = state.find(Version.parse(version))
    if info is None:
        known = ", ".join(str(v.version) for v in state.versions[-5:]) or "none yet"
        raise RegistryError(f"{model} {version} is not registered; latest versions: {known}")
    return info


def trust_for(project: Project, trust: Trust | None) -> Trust:
    if trust is not None:
        return trust
    policy = policy_of(project.config)
    if policy is None or policy.trust is None:
        raise SigningError(
            "whose signature? pass --key PUBLIC_KEY.pem (or --identity ID --issuer URL), or set "
            "signing: {public_key: PATH} in champion.yaml"
        )
    return policy.trust


def verify_version(
    project: Project, model: str, version: str | None = None, *, trust: Trust | None = None
) -> Verdict:
    spec = project.config.model(model)
    info = find_version(project, spec.name, version)
    return verify_info(project, spec, info, trust_for(project, trust))


def verify_info(project: Project, spec: ModelConfig, info: VersionInfo, trust: Trust) -> Verdict:
    """Once per version and trust in a run (Project.signatures): the checks before it goes
    live, the policy's `signed` rule and publish all ask, each fetch would read the artifact."""
    key = (info.tag, info.commit, trust)
    found = project.signatures.get(key)
    if not isinstance(found, Verdict):
        found = project.signatures[key] = _verify(project, spec, info, trust)
    return found


def _verify(project: Project, spec: ModelConfig, info: VersionInfo, trust: Trust) -> Verdict:
    def verdict(status: Status, reason: str = "", signer: str = "") -> Verdict:
        return Verdict(spec.name, str(info.version), info.tag, status, reason, signer)

    try:
        signed = read_record(info.metadata, info.tag)
    except SigningError as e:  # the tag's to blame, not the caller's input
        return verdict("invalid", str(e))
    if signed is None:
        return verdict("missing", f"{info.tag} carries no signature (registered without --sign)")
    meta = info.metadata.get("artifact")
    if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str):
        return verdict("invalid", f"{info.tag} records no artifact sha256 to check the bytes by")
    path = str(meta.get("path") or spec.path)
    with tempfile.TemporaryDirectory(prefix="champion-verify-") as tmp:
        # Under its own name, so the statement's subject reads the same as when it was signed.
        dest = Path(tmp) / (PurePosixPath(path).name or "artifact")
        got = artifacts.read(project.root, path, info.commit, remote_only=True, dest=dest)
        if got.sha256 != meta["sha256"]:
            return verdict(
                "invalid",
                f"{path} at {info.commit[:12]} has sha256 {got.sha256}, but {info.tag} recorded "
                f"{meta['sha256']}: the artifact was replaced",
            )
        try:
            verify_path(dest, signed.bundle, trust, f"{path} of {info.tag}")
        except SignatureInvalid as e:
            return verdict("invalid", str(e))
    return verdict("verified", signer=_signer(signed, trust))


def _signer(signed: Signed, trust: Trust) -> str:
    if signed.method == "sigstore":
        return signed.signer()
    return trust.describe()

from __future__ import annotations

import json
import shlex
from pathlib import Path

from champion import console
from champion.ci import workflow
from champion.errors import ChampionError
from champion.project import Project
from champion.signing import Trust
from champion.signing.check import find_version, trust_for, verify_info
from champion.signing.record import read_record


def verify(
    project: Project,
    model: str,
    version: str | None = None,
    *,
    key: str | None = None,
    identity: str | None = None,
    issuer: str | None = None,
    export_signature: str | None = None,
    github_output: str | None = None,
) -> int:
    """Exit 0: the signature verifies; 1: it is missing or invalid (the message says which and
    why); 2: bad input. With --export-signature, the version's bundle is written to FILE as the
    OpenSSF CLI reads it (written whether or not it verifies: it is the evidence)."""
    spec = project.config.model(model)
    if key and (identity or issuer):
        raise ChampionError("pass either --key or --identity and --issuer, not both")
    trust = None
    if key:
        trust = Trust.key(key, source=key)
    elif identity or issuer:
        trust = Trust.sigstore(identity or "", issuer or "", "--identity/--issuer")
    info = find_version(project, spec.name, version)
    if export_signature:
        signed = read_record(info.metadata, info.tag)
        if signed is None:
            raise ChampionError(
                f"{info.tag} carries no signature to export (registered without --sign)"
            )
        target = Path(export_signature)
        target.write_text(json.dumps(signed.bundle, indent=2) + "\n", encoding="utf-8")
        console.line(f"wrote the signature of {info.tag} to {target}")
        console.line(
            "check it with OpenSSF's CLI against the artifact at "
            f"{info.commit[:12]}: {_their_command(signed.method, target, spec.path)}"
        )
    verdict = verify_info(project, spec, info, trust_for(project, trust))
    console.line(verdict.describe())
    workflow.set_outputs(
        github_output,
        {"version": verdict.version, "tag": verdict.tag, "signature": verdict.status},
    )
    return 0 if verdict.ok else 1


def _their_command(method: str, bundle: Path, path: str) -> str:
    who = (
        "--public_key PUBLIC_KEY.pem"
        if method == "key"
        else "--identity IDENTITY --identity_provider ISSUER"
    )
    kind = "key" if method == "key" else "sigstore"
    return (
        f"model_signing verify {kind} {who} --signature {shlex.quote(str(bundle))} "
        f"--no-ignore-git-paths {shlex.quote(path)}"
    )

from __future__ import annotations

from champion import artifacts, console
from champion.ci import workflow
from champion.commands import _notes
from champion.project import Project
from champion.registry import Version
from champion.signing.make import sign_artifact, signer
from champion.signing.record import KEY


def register(
    project: Project,
    model: str,
    ref: str = "HEAD",
    *,
    version: str | None = None,
    bump: str | None = None,
    message: str | None = None,
    sign: str | None = None,
    signing_key: str | None = None,
    push: bool = False,
    github_output: str | None = None,
) -> int:
    spec = project.config.model(model)
    how = signer(sign or spec.sign, signing_key)  # a bad key fails before anything is read
    wanted = Version.parse(version) if version is not None else None
    commit = project.registry.git.resolve_commit(ref)
    # The artifact must be readable in full at that commit (a file or a folder, in git or DVC):
    # a version that cannot be fetched, or that is a placeholder, is worse than none.
    artifact = artifacts.describe(project.root, spec.path, commit)
    metadata = {"artifact": {**artifact.as_metadata(), **spec.loading_metadata(spec.path)}}
    if how is not None:  # before the tag: a signature that cannot be made writes no version
        signed = sign_artifact(project.root, spec.path, commit, artifact.sha256, how)
        metadata[KEY] = signed.as_metadata()
    result = project.registry.register(
        spec.name,
        commit,
        version=wanted,
        bump=bump,
        first_version=project.config.first_version,
        message=message,
        metadata=metadata,
        push=push,
    )
    tag = result.plan.tags[0].tag
    where = f", pushed to {result.remote}" if result.pushed else ""
    note = f", signed ({how.method})" if how is not None else ""
    console.line(f"registered {spec.name} {result.version} as {tag} on {commit[:12]}{where}{note}")
    _notes.show(result)
    workflow.set_outputs(
        github_output,
        {
            "version": result.version,
            "tag": tag,
            "previous-version": result.plan.previous or "",
            "bump": result.plan.bump or "",
            "commit": commit,
        },
    )
    return 0

"""The GitHub Release of a version: its model card, made after every tag is pushed."""

from __future__ import annotations

from champion.config import ModelConfig
from champion.project import Project
from champion.release.engine import Outcome


def wants_github_release(project: Project, model: str, outcome: Outcome, commit: str) -> bool:
    """A new version gets its GitHub Release. So does the version a rerun finds on this very
    commit (with --push, one the remote has), so that a rerun converges when the first run
    pushed the tag and then failed at GitHub."""
    if outcome.released:
        return True
    if not outcome.tag:
        return False
    found = project.registry.state(model).version_of_commit(commit)
    return found is not None and found.tag == outcome.tag


def github_release(project: Project, spec: ModelConfig, outcome: Outcome, repo: str | None) -> str:
    from champion.github import client
    from champion.github.pulls import repository
    from champion.github.releases import ensure_release
    from champion.registry import Version
    from champion.render.card import model_card

    info = project.registry.state(spec.name).find(Version.parse(outcome.version))
    assert info is not None
    body = model_card(spec.name, spec.description, info.metadata)
    name = repository(repo)
    with client.guarded(
        f"creating the GitHub Release of {outcome.tag} in {name}",
        ". The tag is pushed: give the job `permissions: contents: write` and rerun; the rerun "
        "makes the missing release",
    ):
        _, url = ensure_release(
            client.connect(),
            name,
            outcome.tag,
            f"{spec.name} v{outcome.version}",
            body,
            # With several models, no one model's release is the repository's "Latest".
            latest=len(project.config.models) == 1,
        )
    return url

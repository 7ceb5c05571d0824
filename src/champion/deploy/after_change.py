"""What follows a change of a stage's live version (promote, release --promote, rollback, canary):
publish the pointer when the model has one, and dispatch the deploy workflow when asked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from champion.project import Project

if TYPE_CHECKING:
    from champion.deploy.publish import Published


def after_stage_change(
    project: Project,
    model: str,
    stage: str,
    version: str,
    *,
    pushed: bool,
    changed: bool = True,
    dispatch_workflow: str | None = None,
    repo: str | None = None,
    ref: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    """Returns lines to show and outputs to set. Publishing is idempotent, so a re-run that wrote
    no tag still converges the pointer; the deploy workflow is dispatched only when the stage
    `changed`, so a re-run does not deploy again."""
    spec = project.config.model(model)
    lines: list[str] = []
    values: dict[str, str] = {}
    if spec.pointer is not None:
        has_remote = project.registry.git.remote_exists(project.registry.remote)
        if pushed or not has_remote:
            from champion.deploy.publish import publish

            # The command that changed the stage checked the signature before its tags.
            done = publish(project, spec.name, stage, fetch=pushed, check_signatures=False)
            lines += published_lines(done)
            values["pointer-url"] = done.url
        else:
            lines.append(
                f"pointer {spec.pointer} not published: the tags are only local; push them "
                "(--push), then run champion publish"
            )
    if dispatch_workflow and changed:
        from champion.github import client
        from champion.github.dispatch import dispatch_workflow as dispatch
        from champion.github.pulls import repository

        name = repository(repo)
        with client.guarded(f"dispatching {dispatch_workflow} in {name}"):
            used = dispatch(
                client.connect(),
                name,
                dispatch_workflow,
                ref,
                {"model": spec.name, "stage": stage, "version": version},
            )
        lines.append(f"dispatched {dispatch_workflow} on {used} ({spec.name} {version} in {stage})")
        values["dispatched"] = dispatch_workflow
    return lines, values


def check_dispatch(dispatch_workflow: str | None, repo: str | None) -> None:
    """Fails before anything is written when the dispatch could not happen afterwards: a re-run
    writes no tag, so it would not dispatch either."""
    if dispatch_workflow:
        from champion.github import client
        from champion.github.dispatch import find_workflow
        from champion.github.pulls import repository

        name = repository(repo)
        gh = client.connect()  # no token: a GitHubError saying how to pass one
        with client.guarded(f"looking up the workflow {dispatch_workflow} in {name}"):
            find_workflow(gh, name, dispatch_workflow)


def published_lines(done: Published) -> list[str]:
    """What publishing did: what it mended beside the pointer, then the pointer itself."""
    return [*done.repairs, _pointer_line(done)]


def _pointer_line(done: Published) -> str:
    url, version = done.url, done.pointer.version
    if done.outcome == "written":
        return f"pointer {url} now names {version}"
    if done.outcome == "replaced":
        return f"pointer {url} was invalid ({done.invalid}): replaced, it now names {version}"
    if done.outcome == "unchanged":
        return f"pointer {url} already names {version}"
    counter = done.there.counter if done.there is not None else "?"
    return f"pointer {url} left as is: it holds a newer view (counter {counter})"


def check_pointer(project: Project, model: str) -> None:
    """Before anything is written: the pointer that follows a stage change can be published
    where it outlives this job (never into a CI job's own checkout)."""
    from champion.deploy.publish import check_location

    check_location(project, project.config.model(model))

"""Starting the user's deploy workflow after a stage changed. `workflow_dispatch` is one of the two
events the Actions `GITHUB_TOKEN` may trigger (a tag it pushes triggers nothing), so this is how a
release or a rollback reaches a deploy job."""

from __future__ import annotations

from github import Github, GithubException

from champion.errors import GitHubError


def dispatch_workflow(
    gh: Github, repo: str, workflow: str, ref: str | None, inputs: dict[str, str]
) -> str:
    """Dispatches `workflow` (a file name such as deploy.yml, or an id) on `ref` (default: the
    repository's default branch). Returns the ref used."""
    r = gh.get_repo(repo)
    target = ref or r.default_branch
    try:
        found = r.get_workflow(workflow)
        # The client is lazy: without a read, a missing workflow would surface only as a refused
        # dispatch, and the message below would never be shown.
        found.id  # noqa: B018
    except GithubException as e:
        if e.status == 404:
            raise GitHubError(
                f"no workflow {workflow!r} in {repo}: name a file under .github/workflows/ that has "
                "`on: workflow_dispatch` (e.g. deploy.yml)"
            ) from None
        raise
    if not found.create_dispatch(target, inputs):
        raise GitHubError(
            f"GitHub refused to dispatch {workflow} on {target} in {repo}: does the workflow declare "
            f"`on: workflow_dispatch` with the inputs {', '.join(sorted(inputs))}, and does the job "
            "have `permissions: actions: write`?"
        )
    return target

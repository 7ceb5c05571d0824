"""Starting the user's deploy workflow after a stage changed. `workflow_dispatch` is one of the two
events the Actions `GITHUB_TOKEN` may trigger (a tag it pushes triggers nothing), so this is how a
release or a rollback reaches a deploy job."""

from __future__ import annotations

from github import Github, GithubException
from github.Workflow import Workflow

from champion.errors import GitHubError


def find_workflow(gh: Github, repo: str, workflow: str) -> Workflow:
    """The workflow, read now (the client is lazy: without a read, a missing workflow would
    surface only later, as a refused dispatch)."""
    try:
        found = gh.get_repo(repo).get_workflow(workflow)
        if not isinstance(found.id, int):  # a 200 that is not a workflow: a proxy's page, say
            raise GitHubError(
                f"GitHub's answer for the workflow {workflow!r} in {repo} holds no workflow: check "
                "GITHUB_API_URL and that the token can read the repository's Actions"
            )
    except GithubException as e:
        if e.status == 404:
            raise GitHubError(
                f"no workflow {workflow!r} in {repo}: name a file under .github/workflows/ that has "
                "`on: workflow_dispatch` (e.g. deploy.yml)"
            ) from None
        raise
    return found


def dispatch_workflow(
    gh: Github, repo: str, workflow: str, ref: str | None, inputs: dict[str, str]
) -> str:
    """Dispatches `workflow` (a file name such as deploy.yml, or an id) on `ref` (default: the
    repository's default branch). Returns the ref used."""
    target = ref or gh.get_repo(repo).default_branch
    if not isinstance(target, str) or not target:
        raise GitHubError(
            f"GitHub's answer for {repo} names no default branch to dispatch {workflow} on: check "
            "GITHUB_API_URL and that the token can read the repository"
        )
    found = find_workflow(gh, repo, workflow)
    if not found.create_dispatch(target, inputs):
        raise GitHubError(
            f"GitHub refused to dispatch {workflow} on {target} in {repo}: does the workflow declare "
            f"`on: workflow_dispatch` with the inputs {', '.join(sorted(inputs))}, and does the job "
            "have `permissions: actions: write`?"
        )
    return target

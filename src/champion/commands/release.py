from __future__ import annotations

import os

from champion import console
from champion.ci import workflow
from champion.deploy.after_change import check_dispatch, check_pointer
from champion.errors import ChampionError, GateFailed, GitHubError, PolicyRefused
from champion.evaluation.report import read_report
from champion.project import Project
from champion.release import gate as gates
from champion.release.announce import github_release as make_github_release
from champion.release.announce import wants_github_release
from champion.release.engine import Outcome, deploy_lines, outputs, release_all
from champion.release.evidence import Pull, flag_override, label_override, pull_of
from champion.render.escape import md
from champion.signing.make import signer


def release(
    project: Project,
    models: list[str],
    *,
    ref: str = "HEAD",
    push: bool = False,
    promote: str | None = None,
    bump: str = "auto",
    report: str | None = None,
    allow_failed_gate: str | None = None,
    github_release: bool = False,
    repo: str | None = None,
    dispatch_workflow: str | None = None,
    sign: str | None = None,
    signing_key: str | None = None,
    github_output: str | None = None,
) -> int:
    config = project.config
    specs = (
        [config.model(m) for m in models]
        if models
        else [config.models[m] for m in sorted(config.models)]
    )
    for spec in specs:
        if promote or spec.promote_to:
            project.check_stage(promote or spec.promote_to or "", spec.name)
    if github_release and not push:
        raise ChampionError(
            "--github-release needs --push: a GitHub Release is made on a pushed tag"
        )
    if allow_failed_gate is not None and not allow_failed_gate.strip():
        raise ChampionError(
            "--allow-failed-gate needs a reason (it is recorded in the tags): "
            '--allow-failed-gate "why it may go live anyway"'
        )
    check_dispatch(dispatch_workflow, repo)
    for spec in specs:
        if promote or spec.promote_to:
            check_pointer(project, spec.name)
    # How each model is signed (--sign, else its release.sign): keys checked before any work.
    signers = {spec.name: signer(sign or spec.sign, signing_key) for spec in specs}
    commit = project.registry.git.resolve_commit(ref)
    given = read_report(report) if report else None
    # Labels need the API: a token and a repository (the Actions environment has both).
    has_repo = bool(repo or os.environ.get("GITHUB_REPOSITORY"))
    pull = pull_of(project, commit, repo) if os.environ.get("GITHUB_TOKEN") and has_repo else Pull()
    flag = flag_override(project, allow_failed_gate) if allow_failed_gate else None
    outcomes = release_all(
        project,
        specs,
        commit,
        push=push,
        promote=promote,
        bump=bump,
        report=given,
        pull=pull,
        override=flag or label_override(pull),
        repo=repo,
        signers=signers,
    )
    # GitHub Releases come after every tag is pushed: a GitHub failure then stops no version, its
    # outputs are still written, and a rerun makes the missing release.
    failure: GitHubError | None = None
    for spec, outcome in zip(specs, outcomes, strict=True):
        if github_release and wants_github_release(project, spec.name, outcome, commit):
            try:
                outcome.github_release = make_github_release(project, spec, outcome, repo)
            except GitHubError as e:
                failure = e
                break
    _present(outcomes, github_output)
    if failure is not None:
        raise failure
    for spec, outcome in zip(specs, outcomes, strict=True):
        stage = promote or spec.promote_to
        for text in deploy_lines(project, spec, outcome, stage, push, dispatch_workflow, repo):
            console.line(text)
    refused = [o.refused for o in outcomes if o.refused]
    if refused:
        raise PolicyRefused(
            "\n".join(refused) + "\nThe version is registered; promote it when the policy allows "
            "(champion promote MODEL VERSION --stage STAGE)"
        )
    held = [o.held for o in outcomes if o.held]
    if held:
        raise GateFailed(
            "; ".join(held) + f". The version is registered; to promote it anyway, add the label "
            f"{gates.OVERRIDE_LABEL} to its pull request before merging, or rerun the release "
            'with --allow-failed-gate "REASON"'
        )
    return 0


def _present(outcomes: list[Outcome], github_output: str | None) -> None:
    lines = []
    for o in outcomes:
        for warning in o.warnings:
            console.warn(warning)
        if o.released:
            text = f"released {o.model} {o.version} as {o.tag} ({o.bump}: {o.reason})"
            if o.note:
                text += f", {o.note}"
            if o.github_release:
                text += f"; GitHub Release {o.github_release}"
        else:
            text = f"{o.model}: {o.note}"
            if o.github_release:
                text += f"; GitHub Release {o.github_release}"
        console.line(text)
        lines.append(f"- {md(text, 1000)}")
        for note in o.local:
            console.line(f"{o.model}: {note}")
            lines.append(f"- {md(f'{o.model}: {note}', 1000)}")
    title = "### champion release"
    if any(o.refused for o in outcomes):
        title += ": ❌ not promoted, champion.yaml's policy refused it"
    elif any(o.held for o in outcomes):
        title += ": ❌ not promoted, the gate failed"
    workflow.append_summary(title + "\n\n" + "\n".join(lines) + "\n")
    workflow.set_outputs(github_output, outputs(outcomes))

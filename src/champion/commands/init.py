from __future__ import annotations

import argparse
import sys
from pathlib import Path

from champion import console
from champion.config import CONFIG_FILE
from champion.init import changes, discover, plan, render, source
from champion.init.changes import Action
from champion.render.escape import terminal


def init(cwd: str, options: plan.Options, *, force: bool, interactive: bool | None = None) -> int:
    root = discover.git_root(Path(cwd))
    interactive = sys.stdin.isatty() if interactive is None else interactive
    found = discover.discover(root)
    notes = plan.Notes()
    config = root / CONFIG_FILE
    if config.is_file() and not force:
        chosen = plan.plan_from_config(root, found, options)
    else:
        chosen = plan.plan_from_discovery(
            root, found, options, _ask if interactive else None, notes
        )
    desired = {CONFIG_FILE: render.champion_yaml(chosen), **render.workflows(chosen)}
    # champion.yaml, once there, is the user's contract (init's own included: its models may have
    # come from flags a rerun does not repeat); --force alone rewrites it from what is found.
    todo = changes.plan(root, desired, keep=[CONFIG_FILE] if not force else [])
    edited = [c for c in todo if c.action is Action.EDITED]
    if edited and not force:
        for change in edited:  # the user's text: shown with its control characters visible
            sys.stderr.write(terminal(change.diff))
        names = ", ".join(c.path for c in edited)
        raise plan.InitError(
            f"{names}: changed since champion init wrote it (or not written by it): left alone, "
            "and nothing else written. The diff above is what init would write: rerun with "
            "--force to apply it"
        )
    written = changes.apply(root, todo, force=force)
    for change in todo:
        console.line(f"{_verb(change, written)}: {change.path}")
    for model in chosen.models:
        console.line(f"model {model.name}: {model.path or '(no artifact found)'} ({model.note})")
    if found.tagged:
        console.line(f"registry tags already name: {', '.join(found.tagged)} (kept as they are)")
    if found.remotes:
        default = f" (default: {found.default_remote})" if found.default_remote else ""
        console.line(f"DVC remotes: {', '.join(found.remotes)}{default}")
    for line in notes.lines:
        console.warn(line)
    if chosen.action.repository.startswith("OWNER/"):
        console.warn(
            "the workflows call OWNER/champion: replace OWNER with where you get champion from, "
            "or rerun with --action-repo OWNER/NAME --force"
        )
    if written and any("sign: ${{ vars.CHAMPION_SIGN" in c.text for c in todo):
        # The release workflow signs new versions (issue 18); it needs the signing packages.
        console.warn(
            "champion-release.yml signs each new version with Sigstore: add model-signing and "
            "pyopenssl to your requirements, or set the repository variable CHAMPION_SIGN=false "
            "to release unsigned"
        )
    if not written:
        console.line("nothing to do: every file is as champion init would write it")
    else:
        console.line(
            "next: review, then `git add champion.yaml .github/workflows && git commit`; "
            "make `champion gate` a required check"
        )
    return 0


def _verb(change: changes.Change, written: list[changes.Change]) -> str:
    if change in written:
        return {
            Action.CREATE: "created",
            Action.UPDATE: "updated",
            Action.EDITED: "overwritten (--force)",
            Action.KEPT: "rewritten (--force)",
        }[change.action]
    if change.action is Action.KEPT:
        return "kept (there already: init reads its models; --force rewrites it)"
    return "unchanged"


def _ask(question: str, choices: list[str], default: str) -> str:
    if choices:
        for i, choice in enumerate(choices, 1):
            sys.stderr.write(f"  {i}. {choice}\n")
        question += f" [1-{len(choices)}, empty: skip]"
    sys.stderr.write(f"{question}: ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip()
    if choices and answer.isdigit() and 1 <= int(answer) <= len(choices):
        return choices[int(answer) - 1]
    return answer or default


def options_from(args: argparse.Namespace) -> plan.Options:
    def pairs(values: list[str], flag: str, *, named: bool) -> dict[str, str]:
        out = {}
        for value in values:
            name, sep, rest = value.partition("=")
            if not sep:
                if named:
                    raise plan.InitError(f"{flag} {value}: write it as NAME=PATH")
                name, rest = "", value
            out[name.strip()] = rest.strip()
        return out

    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip()) or ("prod",)
    return plan.Options(
        models=pairs(args.model, "--model", named=True),
        data=pairs(args.data, "--data", named=False),
        targets=pairs(args.target, "--target", named=False),
        stages=stages,
        promote=args.promote or None,
        pointer=args.pointer,
        branch=args.branch or discover.current_branch(Path(args.cwd)),
        action=source.action_ref(args.action_repo, args.action_ref),
        requirements=args.requirements,
    )

"""The command line: parses arguments, dispatches to `commands/`, maps errors to exit codes.

Exit codes: 0 ok, 1 gate failed, 2 bad input or usage, 3 unexpected (141: stdout was closed early).

Over 400 lines: the parser of every subcommand (its flags and help: the CLI's contract); the
dispatch and the error handler are short.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from champion._version import __version__
from champion.errors import ChampionError

EXIT_UNEXPECTED = 3
# What a shell reports for a process killed by SIGPIPE: the reader of stdout left (`| head`).
EXIT_CLOSED_STDOUT = 128 + 13


@contextmanager
def error_handler() -> Iterator[None]:
    # Every message may quote a server's answer, a tag or a file others wrote: scrubbed of
    # secrets (the traceback in the log too) and printed with hidden characters made visible.
    from champion.redact import scrub
    from champion.render.escape import terminal

    try:
        yield
    except ChampionError as e:
        sys.stderr.write(f"error: {terminal(scrub(str(e)))}\n")
        raise SystemExit(e.exit_code) from None
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    except Exception as e:
        # `champion evaluate ... | head` left early: nothing went wrong here, so nothing to say
        # (a broken pipe to a child process is another matter: unexpected, below). stdout goes
        # to /dev/null, so the interpreter's last flush does not fail again.
        if isinstance(e, BrokenPipeError) and _stdout_closed():
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(EXIT_CLOSED_STDOUT) from None
        import tempfile
        import traceback

        trace = scrub(traceback.format_exc())
        log = Path(tempfile.gettempdir()) / "champion-error.log"
        try:
            log.write_text(trace, encoding="utf-8", errors="backslashreplace")
            where = f"; the traceback is in {log}"
        except OSError:
            where = ""
        if os.environ.get("CHAMPION_DEBUG"):
            sys.stderr.write(terminal(trace))
        message = terminal(scrub(f"{type(e).__name__}: {e}"))
        sys.stderr.write(
            f"unexpected error: {message}{where}. This is a bug in champion; "
            "please report it with that file\n"
        )
        raise SystemExit(EXIT_UNEXPECTED) from None


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader is gone: poll says POLLERR on its write end."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no fd, or no poll (Windows)
        return False


def _add_write_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--push", action="store_true", help="push the tags with one atomic push")
    p.add_argument("--remote", default="origin", help="the remote to push to (default: origin)")
    p.add_argument(
        "--actor",
        metavar="LOGIN",
        help="who acts, for the tags and champion.yaml's policy (default: $GITHUB_ACTOR)",
    )
    p.add_argument(
        "--github-output", metavar="FILE", help="append outputs here (default: $GITHUB_OUTPUT)"
    )


def _add_deploy_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dispatch-workflow",
        metavar="FILE",
        help="after the change, dispatch this workflow (e.g. deploy.yml) with model, stage, version",
    )
    p.add_argument("--repo", metavar="OWNER/NAME", help="default: $GITHUB_REPOSITORY")


def _add_sign_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sign",
        nargs="?",
        const="key",
        choices=["key", "sigstore"],
        help="sign the artifact (OpenSSF model-signing) before the tag is written: with the EC "
        "key in $CHAMPION_SIGNING_KEY or --signing-key (default), or keylessly in CI (sigstore)",
    )
    p.add_argument("--signing-key", metavar="PATH", help="the PEM private key to sign with")


def _add_read_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON (a stable shape, see the docs)")
    p.add_argument(
        "--remote",
        nargs="?",
        const="origin",
        default=None,
        metavar="NAME",
        help="read the remote's tags with git ls-remote, without fetching (default NAME: origin)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="champion",
        description="Release discipline for ML models: versions, stages and rollbacks as git tags.",
    )
    parser.add_argument("--version", action="version", version=f"champion {__version__}")
    parser.add_argument(
        "-C", dest="cwd", default=".", metavar="DIR", help="run as if started in DIR"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("register", help="register a new version of a model on a commit")
    p.add_argument("model")
    p.add_argument(
        "ref", nargs="?", default="HEAD", help="the commit holding the artifact (default HEAD)"
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--version", dest="set_version", metavar="V", help="explicit version, 1.2.3 or v1.2.3"
    )
    group.add_argument(
        "--bump", choices=["major", "minor", "patch"], help="bump from the latest (default patch)"
    )
    p.add_argument("-m", "--message", help="a note stored in the version's metadata")
    _add_sign_options(p)
    _add_write_options(p)

    p = sub.add_parser("promote", help="make a version the live one in a stage")
    p.add_argument("model")
    p.add_argument("version")
    p.add_argument("--stage", required=True)
    p.add_argument("--reason", default="", help="recorded in the tag's metadata")
    _add_deploy_options(p)
    _add_write_options(p)

    p = sub.add_parser(
        "rollback", help="move a stage back to the version live before (or to --to VERSION)"
    )
    p.add_argument("model")
    p.add_argument("--stage", help="default: gate_stage (prod)")
    p.add_argument("--to", metavar="VERSION", help="default: the previous good version")
    p.add_argument("--reason", required=True, help="why; recorded in the audit trail")
    p.add_argument("--dry-run", action="store_true", help="check and show, write nothing")
    _add_deploy_options(p)
    _add_write_options(p)

    p = sub.add_parser(
        "watch",
        help="judge production metrics against rules; roll back on a sustained breach",
        description="Reads a metrics document every --interval and judges each --rule. Exits 0 "
        "healthy (or no data), 1 breached (rolled back or not), 2 bad input.",
    )
    p.add_argument("model")
    p.add_argument("--stage", help="default: gate_stage (prod)")
    p.add_argument(
        "--source",
        required=True,
        metavar="URL_OR_FILE",
        help="a JSON document (http(s) URL or file) or prom+http(s)://HOST:PORT (Prometheus)",
    )
    p.add_argument(
        "--rule",
        dest="rules",
        action="append",
        required=True,
        metavar="RULE",
        help="what healthy means, e.g. 'error_rate < 0.05' or 'conversion >= 0.95 * baseline'",
    )
    p.add_argument(
        "--metric",
        dest="metrics",
        action="append",
        default=[],
        metavar="NAME=WHERE",
        help="where a rule's metric is: a JSON pointer, a dotted path or a PromQL query "
        "(default: the name itself)",
    )
    p.add_argument(
        "--baseline",
        metavar="FILE_OR_URL",
        help="a JSON document with the previous version's values ({version} is replaced); "
        "a Prometheus source needs none",
    )
    p.add_argument(
        "--header",
        dest="headers",
        action="append",
        default=[],
        metavar="NAME=ENVVAR",
        help="send this header, its value read from the environment variable (never logged)",
    )
    p.add_argument("--interval", default="60s", help="between readings (default 60s)")
    p.add_argument(
        "--window",
        default="3",
        metavar="N|DURATION",
        help="a breach counts after N consecutive breached readings, or every reading over "
        "DURATION (default 3)",
    )
    p.add_argument(
        "--for",
        dest="run_for",
        metavar="DURATION",
        help="watch this long at most (default: just the readings the window needs)",
    )
    p.add_argument("--timeout", default="10s", help="per request (default 10s)")
    p.add_argument(
        "--rollback", action="store_true", help="roll back on a sustained breach, guards allowing"
    )
    p.add_argument(
        "--cooldown",
        default="30m",
        metavar="DURATION",
        help="no automatic rollback within this long of a change of the live version or of the "
        "previous automatic rollback (default 30m)",
    )
    _add_deploy_options(p)
    _add_write_options(p)

    p = sub.add_parser("publish", help="write the stage's pointer from the registry")
    p.add_argument("model")
    p.add_argument("--stage", help="default: gate_stage (prod)")
    p.add_argument(
        "--remote", default="origin", help="fetch the model's tags from it first (default: origin)"
    )
    p.add_argument("--github-output", metavar="FILE", help="default: $GITHUB_OUTPUT")

    p = sub.add_parser("canary", help="let another version take a share of a stage's traffic")
    canary = p.add_subparsers(dest="canary_action", metavar="ACTION", required=True)
    c = canary.add_parser("start", help="make VERSION the canary of the stage")
    c.add_argument("model")
    c.add_argument("version")
    c.add_argument("--weight", type=float, default=0.1, help="share of keys, 0..1 (default 0.1)")
    c.add_argument("--reason", default="")
    for action, text in (
        ("promote", "make the canary the live version"),
        ("abort", "stop the canary"),
    ):
        c2 = canary.add_parser(action, help=text)
        c2.add_argument("model")
        c2.add_argument("--reason", default="")
    for c in canary.choices.values():
        c.add_argument("--stage", help="default: gate_stage (prod)")
        _add_deploy_options(c)
        _add_write_options(c)

    p = sub.add_parser("unassign", help="take the live version out of a stage")
    p.add_argument("model")
    p.add_argument("--stage", required=True)
    p.add_argument("--reason", default="")
    _add_write_options(p)

    p = sub.add_parser("deregister", help="mark a version as withdrawn (it is never reused)")
    p.add_argument("model")
    p.add_argument("version")
    p.add_argument("--reason", default="")
    _add_write_options(p)

    p = sub.add_parser("status", help="the live version in each stage, per model")
    p.add_argument("model", nargs="?")
    _add_read_options(p)

    p = sub.add_parser("versions", help="a model's registered versions")
    p.add_argument("model")
    _add_read_options(p)

    p = sub.add_parser("history", help="a model's events in order")
    p.add_argument("model")
    _add_read_options(p)

    p = sub.add_parser(
        "evaluate", help="the candidate against the champion, gated; writes a report"
    )
    p.add_argument("model")
    p.add_argument(
        "--candidate", metavar="PATH", help="default: the model's path in the working tree"
    )
    p.add_argument(
        "--baseline",
        metavar="stage:S|VERSION|PATH",
        help="default: stage:GATE_STAGE, the version live in the gating stage",
    )
    p.add_argument("--data", metavar="PATH", help="default: the model's data.path")
    p.add_argument(
        "--champion-predictions",
        default="auto",
        choices=["auto", "recorded", "model"],
        help="the champion's predictions recorded at its release (when the data is unchanged) "
        "or from its model; default auto: recorded when they apply, else the model",
    )
    p.add_argument("--out", default="report.json", metavar="PATH", help="default: report.json")
    p.add_argument("--no-fail", action="store_true", help="exit 0 even when the gate fails")
    p.add_argument("--github-output", metavar="FILE", help="default: $GITHUB_OUTPUT")

    p = sub.add_parser("release", help="tag the commit's changed models with their next versions")
    p.add_argument("models", nargs="*", metavar="MODEL", help="default: every declared model")
    p.add_argument("--ref", default="HEAD", help="the merged commit (default HEAD)")
    p.add_argument(
        "--promote", metavar="STAGE", help="also make it live there (or release.promote)"
    )
    p.add_argument("--bump", default="auto", choices=["auto", "major", "minor", "patch"])
    p.add_argument("--report", metavar="PATH", help="an evaluation of this very artifact to reuse")
    p.add_argument(
        "--allow-failed-gate",
        metavar="REASON",
        help="promote even when the gate failed; who and REASON are recorded in the tags",
    )
    p.add_argument("--github-release", action="store_true", help="one GitHub Release per version")
    p.add_argument("--dispatch-workflow", metavar="FILE", help="then dispatch it (deploy.yml)")
    p.add_argument("--repo", metavar="OWNER/NAME", help="default: $GITHUB_REPOSITORY")
    _add_sign_options(p)
    _add_write_options(p)

    p = sub.add_parser("summary", help="render report.json to $GITHUB_STEP_SUMMARY (or stdout)")
    p.add_argument("--report", required=True, metavar="PATH")
    p.add_argument("--template", metavar="PATH", help="a Jinja2 template of your own")
    p.add_argument("--key", default="default", help="distinguishes several reports of one model")

    p = sub.add_parser(
        "comment", help="post or update the sticky metric-diff comment on the pull request"
    )
    p.add_argument("--report", required=True, metavar="PATH", help="report.json from evaluate")
    p.add_argument("--repo", metavar="OWNER/NAME", help="default: $GITHUB_REPOSITORY")
    p.add_argument(
        "--pr", type=int, metavar="N", help="default: the pull request of the triggering event"
    )
    p.add_argument("--key", default="default", help="one comment per model and key")
    p.add_argument("--template", metavar="PATH", help="a Jinja2 template of your own")
    p.add_argument("--github-output", metavar="FILE", help="default: $GITHUB_OUTPUT")

    p = sub.add_parser(
        "changed", help="the models whose artifact, data or inputs changed between two commits"
    )
    p.add_argument(
        "--base", metavar="REF", help="default: HEAD's first parent (the commit before a merge)"
    )
    p.add_argument("--head", default="HEAD", metavar="REF", help="default: HEAD")
    p.add_argument("--json", action="store_true", help="print JSON (a stable shape, see the docs)")
    p.add_argument("--github-output", metavar="FILE", help="default: $GITHUB_OUTPUT")

    p = sub.add_parser(
        "build", help="make the candidate artifact present: as committed, pulled, or rebuilt"
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="default: every declared model")
    p.add_argument(
        "--base",
        metavar="REF",
        help="rebuild when BASE...HEAD changed the model's inputs but not its artifact "
        "(default: HEAD's first parent)",
    )
    p.add_argument(
        "--commit", action="store_true", help="commit the files a rebuild rewrote (dvc.lock, ...)"
    )
    _add_write_options(p)

    p = sub.add_parser(
        "site",
        help="write the registry as a static site (index, a page per model, registry.json)",
        description="Builds a self-contained static site from the tags: no script, no request "
        "leaving the page; publish the folder with GitHub Pages or any web server.",
    )
    p.add_argument("--out", default="site", metavar="DIR", help="the site's folder (default: site)")
    p.add_argument(
        "--models",
        nargs="+",
        metavar="MODEL",
        help="only these models (default: every declared one)",
    )
    p.add_argument(
        "--recent-days",
        type=int,
        default=7,
        metavar="N",
        help="mark rollbacks of the last N days on the index (default 7)",
    )

    p = sub.add_parser(
        "init",
        help="set up champion in this repository: champion.yaml and the GitHub workflows",
        description=(
            "Finds the models (dvc.yaml artifacts:, registry tags, model files), DVC remotes and "
            "evaluation data, then writes a commented champion.yaml and .github/workflows/. Asks "
            "what it cannot tell when run on a terminal; otherwise the flags decide. A second run "
            "changes nothing; a file you edited is never overwritten without --force."
        ),
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="declare this model (repeatable); only these, instead of what is found",
    )
    p.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="[NAME=]PATH",
        help="a model's evaluation set (csv or parquet)",
    )
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="[NAME=]COLUMN",
        help="the column of the evaluation set the model predicts",
    )
    p.add_argument(
        "--stages",
        default="prod",
        metavar="S1,S2",
        help="the stages a version can be live in (default: prod)",
    )
    p.add_argument(
        "--promote",
        default="prod",
        metavar="STAGE",
        help="the stage a merge whose gate passed goes live in (default: prod; '' for none)",
    )
    p.add_argument(
        "--pointer",
        metavar="URL",
        help="where services find the live version: a folder or s3://... (one subfolder per model)",
    )
    p.add_argument("--branch", help="the branch a merge releases from (default: the current one)")
    p.add_argument(
        "--requirements",
        metavar="FILE",
        help="the model's own packages for the workflows (default: requirements.txt "
        "when there is one)",
    )
    p.add_argument(
        "--action-repo",
        metavar="OWNER/NAME",
        help="where the workflows get champion's actions (default: where this "
        "champion was installed from)",
    )
    p.add_argument(
        "--action-ref",
        metavar="REF",
        help="the actions' commit sha or tag (default: this champion's commit, else "
        "its release tag v<version>)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite files you edited and rewrite champion.yaml from what is found",
    )

    p = sub.add_parser(
        "verify",
        help="check a version's signature against its artifact as others fetch it",
        description="Exit 0 verified, 1 missing or invalid (which, and why), 2 bad input. "
        "Whose signature: --key, or --identity and --issuer, else signing: in champion.yaml.",
    )
    p.add_argument("model")
    p.add_argument(
        "version", nargs="?", help="default: the version live in gate_stage, else the latest"
    )
    p.add_argument("--key", metavar="PUB", help="the signer's PEM public key")
    p.add_argument("--identity", help="the Sigstore signer (workflow URI or e-mail)")
    p.add_argument("--issuer", metavar="URL", help="the Sigstore identity's OIDC issuer")
    p.add_argument(
        "--export-signature",
        metavar="FILE",
        help="write the version's bundle here, as OpenSSF's model_signing CLI reads it",
    )
    p.add_argument("--github-output", metavar="FILE", help="default: $GITHUB_OUTPUT")

    p = sub.add_parser("demo", help="run the whole flow on an embedded example in a temp folder")
    p.add_argument("--workdir", help="build the example here instead of a temp folder (kept)")
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    # Commands are imported here so `champion status` never pays for another command's imports.
    if args.command == "demo":
        from champion.commands.demo import demo

        return demo(workdir=args.workdir)

    if args.command == "init":
        from champion.commands.init import init, options_from

        return init(args.cwd, options_from(args), force=args.force)

    if args.command == "summary":
        from champion.commands.summary import summary

        return summary(args.report, template=args.template, key=args.key)

    if args.command == "comment":
        from champion.commands.comment import comment

        return comment(
            args.report,
            repo=args.repo,
            pr=args.pr,
            key=args.key,
            template=args.template,
            github_output=args.github_output,
        )

    from champion.project import open_project

    if args.command in ("status", "versions", "history"):
        project = open_project(args.cwd)
        if args.command == "status":
            from champion.commands.status import status

            return status(project, args.model, as_json=args.json, remote=args.remote)
        if args.command == "versions":
            from champion.commands.versions import versions

            return versions(project, args.model, as_json=args.json, remote=args.remote)
        from champion.commands.history import history

        return history(project, args.model, as_json=args.json, remote=args.remote)

    if args.command == "site":
        from champion.commands.site import site

        return site(
            open_project(args.cwd), out=args.out, models=args.models, recent_days=args.recent_days
        )

    if args.command == "changed":
        from champion.commands.changed import changed

        return changed(
            open_project(args.cwd),
            base=args.base,
            head=args.head,
            as_json=args.json,
            github_output=args.github_output,
        )

    if args.command == "verify":
        from champion.commands.verify import verify

        return verify(
            open_project(args.cwd),
            args.model,
            args.version,
            key=args.key,
            identity=args.identity,
            issuer=args.issuer,
            export_signature=args.export_signature,
            github_output=args.github_output,
        )

    if args.command == "evaluate":
        from champion.commands.evaluate import evaluate

        return evaluate(
            open_project(args.cwd),
            args.model,
            candidate=args.candidate,
            baseline=args.baseline,
            data=args.data,
            champion_predictions=args.champion_predictions,
            out=args.out,
            no_fail=args.no_fail,
            github_output=args.github_output,
        )

    project = open_project(args.cwd, remote=args.remote, actor=getattr(args, "actor", None))
    if args.command == "build":
        from champion.commands.build import build_models

        return build_models(
            project,
            args.models,
            base=args.base,
            commit=args.commit,
            push=args.push,
            remote=args.remote,
            github_output=args.github_output,
        )
    if args.command == "release":
        from champion.commands.release import release

        return release(
            project,
            args.models,
            ref=args.ref,
            push=args.push,
            promote=args.promote,
            bump=args.bump,
            report=args.report,
            allow_failed_gate=args.allow_failed_gate,
            github_release=args.github_release,
            repo=args.repo,
            dispatch_workflow=args.dispatch_workflow,
            sign=args.sign,
            signing_key=args.signing_key,
            github_output=args.github_output,
        )
    if args.command == "register":
        from champion.commands.register import register

        return register(
            project,
            args.model,
            args.ref,
            version=args.set_version,
            bump=args.bump,
            message=args.message,
            sign=args.sign,
            signing_key=args.signing_key,
            push=args.push,
            github_output=args.github_output,
        )
    if args.command == "promote":
        from champion.commands.promote import promote

        return promote(
            project,
            args.model,
            args.version,
            stage=args.stage,
            reason=args.reason,
            push=args.push,
            dispatch_workflow=args.dispatch_workflow,
            repo=args.repo,
            github_output=args.github_output,
        )
    if args.command == "rollback":
        from champion.commands.rollback import rollback

        return rollback(
            project,
            args.model,
            reason=args.reason,
            stage=args.stage,
            to=args.to,
            push=args.push,
            dry_run=args.dry_run,
            dispatch_workflow=args.dispatch_workflow,
            repo=args.repo,
            github_output=args.github_output,
        )
    if args.command == "watch":
        from champion.commands.watch import watch
        from champion.watch.loop import WatchOptions

        return watch(
            project,
            args.model,
            WatchOptions(
                source=args.source,
                rules=args.rules,
                metrics=args.metrics,
                baseline=args.baseline,
                headers=args.headers,
                stage=args.stage,
                interval=args.interval,
                window=args.window,
                run_for=args.run_for,
                timeout=args.timeout,
                rollback=args.rollback,
                cooldown=args.cooldown,
            ),
            push=args.push,
            dispatch_workflow=args.dispatch_workflow,
            repo=args.repo,
            github_output=args.github_output,
        )
    if args.command == "publish":
        from champion.commands.publish import publish

        return publish(project, args.model, stage=args.stage, github_output=args.github_output)
    if args.command == "canary":
        from champion.commands.canary import canary

        return canary(
            project,
            args.canary_action,
            args.model,
            version=getattr(args, "version", None),
            weight=getattr(args, "weight", None),
            stage=args.stage,
            reason=args.reason,
            push=args.push,
            dispatch_workflow=args.dispatch_workflow,
            repo=args.repo,
            github_output=args.github_output,
        )
    if args.command == "unassign":
        from champion.commands.unassign import unassign

        return unassign(project, args.model, stage=args.stage, reason=args.reason, push=args.push)
    from champion.commands.deregister import deregister

    return deregister(project, args.model, args.version, reason=args.reason, push=args.push)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from champion import progress

    with error_handler(), progress.on_terminal():
        code = _dispatch(args)
        sys.stdout.flush()  # a closed stdout shows here, in the handler, not at the exit
        return code
    return EXIT_UNEXPECTED  # unreachable: the handler returns or raises

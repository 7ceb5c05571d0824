"""MkDocs hooks: the parts of the documentation that are read off the code, at build time.

- `<!-- champion:help COMMAND [ACTION] -->` becomes the real `champion COMMAND --help`.
- `<!-- champion:action PATH inputs|outputs -->` becomes a table of that action.yml's inputs or
  outputs, so the reference can never drift from the files a workflow uses.
- `<!-- champion:include PATH [TITLE] -->` becomes that markdown file with every heading one
  level down (its first one titled TITLE), so bench/README.md's sections are the page's.
- Every command `champion --help` lists must have its page, `commands/COMMAND.md`, in the nav,
  showing its help, and every action file its tables on `actions.md`: the build fails otherwise
  (`make lint` builds the docs).

Nothing here reaches the network: the help comes from this checkout's `champion`, the tables
from its action files.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parent.parent
# A marker stands alone on its line (one quoted in a sentence's `code` is left as it is).
MARKER = re.compile(r"^<!-- champion:(?P<kind>[a-z-]+) (?P<args>[^>]*?) -->$", re.M)
# argparse lists subcommands as `    name    help`, under the COMMAND (or ACTION) metavar.
SUBCOMMAND = re.compile(r"^    ([a-z][a-z-]*)(?:\s{2,}|$)", re.M)


@functools.cache
def champion_help(*words: str) -> str:
    """`champion WORDS --help` as a user sees it in an 88-column terminal (the width of a page)."""
    env = {**os.environ, "COLUMNS": "88", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "champion", *words, "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise PluginError(f"`champion {' '.join(words)} --help` failed: {proc.stderr.strip()}")
    return proc.stdout.rstrip() + "\n"


def subcommands(*words: str) -> list[str]:
    """The commands `champion --help` lists (or a command's actions, e.g. canary's)."""
    text = champion_help(*words)
    block = text.split("positional arguments:", 1)[-1].split("options:", 1)[0]
    return SUBCOMMAND.findall(block)


def commands() -> list[str]:
    return subcommands()


def _help_block(args: str) -> str:
    words = args.split()
    shown = " ".join(["champion", *words, "--help"])
    return f"```text\n$ {shown}\n{champion_help(*words)}```\n"


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _action_table(args: str) -> str:
    try:
        rel, part = args.split()
    except ValueError:
        raise PluginError(f"champion:action needs PATH and inputs|outputs, got {args!r}") from None
    path = ROOT / rel
    if not path.is_file():
        raise PluginError(f"champion:action: no file {rel}")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if part == "inputs":
        rows = ["| input | required | default | description |", "| --- | --- | --- | --- |"]
        for name, spec in (doc.get("inputs") or {}).items():
            default = spec.get("default", "")
            shown = f"`{_cell(default)}`" if default not in ("", None) else ""
            required = "yes" if spec.get("required") else "no"
            rows.append(
                f"| `{name}` | {required} | {shown} | {_cell(spec.get('description', ''))} |"
            )
    elif part == "outputs":
        rows = ["| output | description |", "| --- | --- |"]
        for name, spec in (doc.get("outputs") or {}).items():
            rows.append(f"| `{name}` | {_cell(spec.get('description', ''))} |")
    else:
        raise PluginError(f"champion:action: {part!r} is neither inputs nor outputs")
    return "\n".join(rows) + "\n"


FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,5}) ")


def _include(args: str) -> str:
    rel, _, title = args.partition(" ")
    path = ROOT / rel
    if not path.is_file():
        raise PluginError(f"champion:include: no file {rel}")
    lines, fenced, titled = [], False, not title
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and HEADING.match(line):
            if not titled:
                line, titled = f"{HEADING.match(line)[1]} {title}", True  # type: ignore[index]
            line = "#" + line
        lines.append(line)
    return "\n".join(lines) + "\n"


def expand(markdown: str, where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        kind, args = match["kind"], match["args"].strip()
        if kind == "help":
            return _help_block(args)
        if kind == "action":
            return _action_table(args)
        if kind == "include":
            return _include(args)
        raise PluginError(f"{where}: unknown marker champion:{kind}")

    return MARKER.sub(replace, markdown)


# --- MkDocs events -----------------------------------------------------------------------------


def action_files() -> list[str]:
    """Every action a workflow can `uses:`: the root action and each one under actions/."""
    under = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "actions").glob("*/action.yml"))
    return ["action.yml", *under]


def on_nav(nav: Any, config: Any, files: Any) -> Any:
    in_nav = {page.file.src_uri for page in nav.pages}
    missing = [c for c in commands() if f"commands/{c}.md" not in in_nav]
    if missing:
        raise PluginError(
            "commands without a page in the nav: "
            + ", ".join(f"{c} (docs/commands/{c}.md)" for c in missing)
            + ": write the page and list it under Commands in mkdocs.yml"
        )
    for command in commands():
        page = Path(config["docs_dir"]) / "commands" / f"{command}.md"
        if f"<!-- champion:help {command}" not in page.read_text(encoding="utf-8"):
            raise PluginError(
                f"docs/commands/{command}.md does not show its help: add "
                f"<!-- champion:help {command} -->"
            )
    actions_page = (Path(config["docs_dir"]) / "actions.md").read_text(encoding="utf-8")
    for action in action_files():
        for part in ("inputs", "outputs"):
            if f"<!-- champion:action {action} {part} -->" not in actions_page:
                raise PluginError(
                    f"docs/actions.md does not list {action}'s {part}: add "
                    f"<!-- champion:action {action} {part} -->"
                )
    return nav


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return expand(markdown, page.file.src_uri)

"""Regenerates docs/snippets/: the real output the documentation shows, from `champion demo`.

    .venv/bin/python scripts/docs_snippets.py        # or: make docs-snippets (about a minute)

It runs `champion demo --workdir` in a temporary folder, keeps the transcript, then runs more
commands in the demo's project (status, versions, history and their --json, changed, a dry-run
rollback, publish, a canary...), and writes each output to docs/snippets/, where the pages
include them (`--8<-- "NAME"`). The temporary folder's path is shown as /tmp/champion-demo, so
a rerun changes only what really changed (hashes, dates). Commit the result.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "snippets"
SHOWN_WORKDIR = "/tmp/champion-demo"

# Blocks of the demo's transcript: a snippet name, and the start of the `$ ...` line it begins
# with (the first block that matches).
TRANSCRIPT_BLOCKS = {
    "register.txt": "$ champion register diagnosis -m",
    "promote.txt": "$ champion promote diagnosis 0.1.0 --stage prod",
    "promote-staging.txt": "$ champion promote diagnosis 0.2.0 --stage staging",
    "evaluate.txt": "$ champion evaluate diagnosis --out",
    "evaluate-onnx.txt": "$ champion evaluate diagnosis-onnx",
    "release.txt": "$ champion release diagnosis --promote prod --push",
    "release-onnx.txt": "$ champion release diagnosis-onnx",
    "watch.txt": "$ champion watch diagnosis",
    "gto-show.txt": "$ gto show diagnosis",
    "site.txt": "$ champion site",
    "status-after-rollback.txt": "$ champion status diagnosis",
}


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.project = workdir / "project"
        self.env = {
            **os.environ,
            "COLUMNS": "100",
            "NO_COLOR": "1",
            "DVC_NO_ANALYTICS": "1",
            "GIT_TERMINAL_PROMPT": "0",
        }
        for key in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "CHAMPION_DEBUG"):
            self.env.pop(key, None)

    def shown(self, text: str) -> str:
        return text.replace(str(self.workdir), SHOWN_WORKDIR)

    def champion(self, *args: str, ok: tuple[int, ...] = (0,), cwd: Path | None = None) -> str:
        """`champion ARGS` in the demo's project: the command line, then what it printed."""
        proc = subprocess.run(
            [sys.executable, "-m", "champion", *args],
            cwd=cwd or self.project,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if proc.returncode not in ok:
            raise SystemExit(
                f"champion {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}{proc.stdout}"
            )
        shown = " ".join(_quote(a) for a in args)
        printed = proc.stdout + proc.stderr
        return self.shown(f"$ champion {shown}\n{printed}")

    def raw(self, *args: str) -> str:
        """What `champion ARGS` printed on stdout alone (a JSON document, a comment's markdown)."""
        proc = subprocess.run(
            [sys.executable, "-m", "champion", *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return self.shown(proc.stdout)


def _quote(word: str) -> str:
    return f"'{word}'" if re.search(r"[^\w@%+=:,./-]", word) else word


def blocks(transcript: str) -> dict[str, str]:
    """The transcript's `$ command` blocks named in TRANSCRIPT_BLOCKS: the line and its output,
    unindented (the first block that starts so)."""
    found: list[str] = []
    for line in transcript.splitlines():
        if line.startswith("$ "):
            found.append(line + "\n")
        elif line.startswith("  ") and found:
            found[-1] += line[2:] + "\n"
        elif found and found[-1]:
            found.append("")  # a heading or a blank line ends the block
    chosen: dict[str, str] = {}
    for name, start in TRANSCRIPT_BLOCKS.items():
        match = next((b for b in found if b.startswith(start)), None)
        if match is None:
            raise SystemExit(f"the demo's transcript has no block starting {start!r}")
        chosen[name] = match
    return chosen


def write(name: str, text: str) -> None:
    path = OUT / name
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="champion-docs-") as tmp:
        workdir = Path(tmp) / "demo"
        demo = Demo(workdir)
        proc = subprocess.run(
            [sys.executable, "-m", "champion", "demo", "--workdir", str(workdir)],
            env=demo.env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise SystemExit(f"champion demo failed:\n{proc.stderr}")
        transcript = demo.shown(proc.stdout)
        write("demo.txt", "$ champion demo --workdir /tmp/champion-demo\n" + transcript)
        for name, block in blocks(transcript).items():
            write(name, block)

        # The demo's pull request comment, as `champion summary` renders it (the same markdown).
        write("comment.md", demo.raw("summary", "--report", str(workdir / "report.json")))
        report = json.loads((workdir / "report.json").read_text(encoding="utf-8"))
        write("report.json", demo.shown(json.dumps(report, indent=2, ensure_ascii=False)))
        write("pointer.json", demo.shown((workdir / "pointers" / "prod.json").read_text()))
        registry = json.loads((workdir / "site" / "registry.json").read_text(encoding="utf-8"))
        write("registry.json", demo.shown(json.dumps(registry, indent=2, ensure_ascii=False)))
        service = next(b for b in transcript.split("\n$ ") if "service.py" in b.split("\n")[0])
        write(
            "service.txt",
            "".join(line[2:] + "\n" for line in service.splitlines() if line.startswith("  ")),
        )

        # The registry's views, after the demo's rollback.
        write("status.txt", demo.champion("status"))
        write("status.json", demo.raw("status", "--json"))
        write("versions.txt", demo.champion("versions", "diagnosis"))
        write("versions.json", demo.raw("versions", "diagnosis", "--json"))
        write("history.txt", demo.champion("history", "diagnosis"))
        write("history.json", demo.raw("history", "diagnosis", "--json"))
        write("status-remote.txt", demo.champion("status", "diagnosis", "--remote"))

        # Commands the demo does not run, on its project as it left it.
        write("changed.json", demo.raw("changed", "--base", "HEAD~1", "--json"))
        write("build.txt", demo.champion("build", "diagnosis"))
        write(
            "rollback-dry-run.txt",
            demo.champion("rollback", "diagnosis", "--reason", "AUC dropped in prod", "--dry-run"),
        )
        write("publish.txt", demo.champion("publish", "diagnosis", "--stage", "prod"))
        write(
            "canary.txt",
            demo.champion("canary", "start", "diagnosis", "0.3.0", "--weight", "0.1", "--push")
            + demo.champion("status", "diagnosis"),
        )
        write("pointer-canary.json", demo.shown((workdir / "pointers" / "prod.json").read_text()))
        write(
            "canary-abort.txt",
            demo.champion("canary", "abort", "diagnosis", "--reason", "enough data", "--push"),
        )
        write(
            "unassign.txt",
            demo.champion(
                "unassign", "diagnosis", "--stage", "staging", "--reason", "retired", "--push"
            ),
        )
        write(
            "deregister.txt",
            demo.champion(
                "deregister", "diagnosis-onnx", "0.1.0", "--reason", "superseded", "--push"
            )
            + demo.champion("versions", "diagnosis-onnx"),
        )
        # The working tree's model against prod's 0.2.0, which its release recorded predictions
        # for: the champion's side is read from them.
        write(
            "evaluate-recorded.txt",
            demo.champion(
                "evaluate", "diagnosis", "--out", str(workdir / "report-2.json"), ok=(0, 1)
            ),
        )
    shutil.rmtree(OUT / "__pycache__", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

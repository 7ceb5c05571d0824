from __future__ import annotations

import os
from pathlib import Path

from champion import output
from champion.ci import run_url
from champion.evaluation.report import read_report
from champion.render.markdown import fit, render_comment

# GitHub keeps at most 1 MiB of summary per step; 4 bytes a character at worst in UTF-8.
SUMMARY_CHARS = (1 << 20) // 4


def summary(report_path: str, *, template: str | None = None, key: str = "default") -> int:
    report = read_report(report_path)
    body = fit(
        render_comment(
            report, key=key, template=Path(template) if template else None, run_url=run_url()
        ),
        SUMMARY_CHARS,
    )
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(body + "\n")
        output.line(f"job summary written for {report['model']}")
    else:
        output.line(body.rstrip("\n"))
    return 0

from __future__ import annotations

from pathlib import Path

from champion import console
from champion.ci import workflow
from champion.ci.context import evaluation_run_url
from champion.evaluation.report import read_report
from champion.render.markdown import render_comment


def summary(report_path: str, *, template: str | None = None, key: str = "default") -> int:
    """The comment's markdown into the job summary, or to stdout outside Actions."""
    report = read_report(report_path)
    body = render_comment(
        report,
        key=key,
        template=Path(template) if template else None,
        run_url=evaluation_run_url(report.get("run_url")),
    )
    if workflow.append_summary(body):
        console.line(f"job summary written for {report['model']}")
    else:
        console.line(body.rstrip("\n"))
    return 0

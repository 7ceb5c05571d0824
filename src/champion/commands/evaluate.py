from __future__ import annotations

from champion import console
from champion.ci import workflow
from champion.errors import GateFailed
from champion.evaluation.report import write_report
from champion.evaluation.run import run
from champion.project import Project
from champion.render.terminal import summary


def evaluate(
    project: Project,
    model: str,
    *,
    candidate: str | None = None,
    baseline: str | None = None,
    data: str | None = None,
    champion_predictions: str = "auto",
    out: str = "report.json",
    no_fail: bool = False,
    github_output: str | None = None,
) -> int:
    report = run(
        project,
        model,
        candidate=candidate,
        baseline=baseline,
        data=data,
        champion_predictions=champion_predictions,
    ).report
    path = write_report(out, report)
    for text in summary(report, str(path)):
        console.line(text)
    workflow.set_outputs(
        github_output,
        {
            "verdict": report["gate"]["verdict"],
            "bump": report["suggested"]["bump"],
            "version": report["suggested"]["version"],
            "previous-version": report["suggested"]["from"] or "",
            "from": report["suggested"]["from"] or "",
            "to": report["suggested"]["version"],
            "report-path": str(path),
        },
    )
    if not report["gate"]["passed"] and not no_fail:
        raise GateFailed(f"{report['model']}: the gate failed; the report is in {path}")
    return 0

"""The short human summary of a report, for the terminal."""

from __future__ import annotations

from champion.evaluation.report import MetricJson, Report, bump_reasons
from champion.render.figures import figure

VERDICT = {"none": "-"}  # no rule on that metric


def table(rows: list[list[str]], headers: list[str]) -> list[str]:
    """Columns padded to their widest cell, two spaces apart; no trailing spaces."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*headers).rstrip(), *(fmt.format(*map(str, r)).rstrip() for r in rows)]


def interval(metric: MetricJson) -> str:
    iv = metric.get("interval")
    if not iv:
        return "-"
    return f"[{figure(iv['low'], True)}, {figure(iv['high'], True)}]"


def headline(report: Report) -> str:
    suggested = report["suggested"]
    if suggested["version"] is None:  # the gate failed: no release is suggested
        change = f"{suggested['from'] or ''} (no release)".strip()
        bump = ""
    else:
        change = (
            f"{suggested['from']} → {suggested['version']}"
            if suggested["from"]
            else suggested["version"]
        )
        bump = f" ({suggested['bump']})"
    verdict: str = report["gate"]["verdict"]
    if report["initial"]:
        verdict += " (initial version)"
    return f"{report['model']} {change}{bump}: gate {verdict}"


def summary(report: Report, report_path: str | None = None) -> list[str]:
    champion = report.get("champion")
    against = (
        f"champion {champion['version'] or champion['source']}"
        + (f" ({champion['stage']})" if champion.get("stage") else "")
        if champion
        else "no champion (initial version)"
    )
    data = report.get("data")
    on = f" on {data['path']} ({data['rows']} rows)" if data else " (metrics files)"
    lines = [f"{report['model']}: candidate vs {against}{on}"]
    level = round(report["stats"]["level"] * 100)
    rows = [
        [
            m["name"],
            figure(m["champion"]),
            figure(m["candidate"]),
            figure(m["delta"], True),
            interval(m),
            VERDICT.get(m["verdict"], m["verdict"]),
        ]
        for m in report["metrics"]
    ]
    lines += table(
        rows, ["metric", "champion", "candidate", "delta", f"{level}% interval", "verdict"]
    )
    failed_slices = [
        s for s in report["slices"] if any(m["verdict"] == "fail" for m in s["metrics"])
    ]
    for s in failed_slices[:5]:
        lines.append(f"slice {s['column']}={s['value']} ({s['rows']} rows) failed")
    lines.append(headline(report))
    for reason in report["gate"]["reasons"]:
        lines.append(f"  - {reason}")
    lines.append(f"suggested bump {report['suggested']['bump']}: {'; '.join(bump_reasons(report))}")
    predictions = champion.get("predictions") if champion else None
    if predictions:
        source = (
            "recorded at its release" if predictions["from"] == "recorded" else "from its model"
        )
        note = f" ({predictions['note']})" if predictions.get("note") else ""
        lines.append(f"champion's predictions: {source}{note}")
    if report_path:
        lines.append(f"report: {report_path}")
    return lines

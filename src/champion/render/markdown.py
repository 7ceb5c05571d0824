"""The metric-diff comment and job summary, rendered from report.json with Jinja2.

The template receives a view in which every string from the report is already escaped
(`escape.md`), so no template, the user's own included, can pass raw report text through.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from champion.errors import ChampionError
from champion.evaluation.report import Report, SigningJson, bump_reasons
from champion.render.escape import md, mermaid_label
from champion.render.figures import figure

COMMENT_LIMIT = 65_536
NONE = "\u2013"  # an en dash: no value
MAX_SLICES = 10
MAX_REASONS = 30
MARK = {"pass": "✅", "fail": "❌", "warn": "⚠️", "none": "\u2796", "skipped": "\u2796"}
TRUNCATED_NOTE = (
    "\n\n> ⚠️ This was cut to fit GitHub's {limit:,}-character limit; the whole report is in "
    "report.json.\n"
)


def marker(model: str, key: str) -> str:
    return f"<!-- champion:{_marker_part(model)}:{_marker_part(key)} -->"


def _marker_part(text: str) -> str:
    # A marker must stay one HTML comment: keep it to a safe alphabet.
    return re.sub(r"[^A-Za-z0-9_./=-]", "_", text)[:100]


def _mark(metric: Mapping[str, Any]) -> str:
    verdict = metric.get("verdict", "none")
    if verdict in ("pass", "fail"):
        return MARK[verdict]
    iv = metric.get("interval")
    if iv and isinstance(iv.get("low"), (int, float)) and isinstance(iv.get("high"), (int, float)):
        sign = 1 if metric.get("direction") == "higher" else -1
        worst = max(sign * iv["low"], sign * iv["high"])
        if worst < 0:  # the whole interval says worse, though no rule judged it
            return MARK["warn"]
    return MARK["none"]


def _interval(metric: Mapping[str, Any]) -> str:
    iv = metric.get("interval")
    if not iv:
        return NONE
    return f"{figure(iv.get('low'), True, NONE)} to {figure(iv.get('high'), True, NONE)} ({md(iv.get('method', ''))})"


def _metric_row(m: Mapping[str, Any]) -> dict[str, str]:
    return {
        "name": md(m["name"]),
        "champion": figure(m.get("champion"), missing=NONE),
        "candidate": figure(m.get("candidate"), missing=NONE),
        "delta": figure(m.get("delta"), True, NONE),
        "interval": _interval(m),
        "mark": _mark(m),
    }


def _signing_note(signing: SigningJson | None) -> str:
    """Issue 18: an unsigned champion is marked (loudly when champion.yaml requires signing)."""
    if signing is None:
        return ""
    if signing["signed"]:
        return f", signed by {md(signing['signer'] or '?')} (as its tag claims)"
    if signing["required"]:
        return ", ⚠️ **unsigned**, although signing.required is set: it could not go live again"
    return ", unsigned"


def _worst_slices(report: Report) -> list[dict[str, str]]:
    """Per slice, its worst metric (most regressed, direction-aware); failed slices first."""
    rows = []
    for s in report.get("slices", []):
        for m in s.get("metrics", []):
            delta = m.get("delta")
            if not isinstance(delta, (int, float)):
                continue
            regression = -delta if m.get("direction") == "higher" else delta
            rows.append((m.get("verdict") == "fail", regression, s, m))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    out, seen = [], set()
    for failed, regression, s, m in rows:
        key = (s["column"], s["value"])
        if key in seen or (regression <= 0 and not failed):
            continue
        seen.add(key)
        out.append(
            {
                "label": f"{md(s['column'])} = {md(s['value'])}",
                "rows": str(int(s.get("rows", 0))),
                "metric": md(m["name"]),
                "champion": figure(m.get("champion"), missing=NONE),
                "candidate": figure(m.get("candidate"), missing=NONE),
                "delta": figure(m.get("delta"), True, NONE),
                "mark": _mark(m),
            }
        )
    return out


def _numbers(m: Mapping[str, Any], *keys: str) -> bool:
    return all(isinstance(m.get(k), (int, float)) and not isinstance(m.get(k), bool) for k in keys)


def _charts(report: Report) -> list[str]:
    """Every gated metric, as Mermaid: those whose values lie in [0, 1] share one chart (champion
    and candidate side by side); any other (rmse, mae, latency, ...) gets a chart of its own on
    its own scale, since one axis cannot show 0.93 next to 27,800."""
    gated: list[Mapping[str, Any]] = [
        m for m in report.get("metrics", []) if m.get("rule") and _numbers(m, "candidate")
    ]
    sides = ("champion", "candidate") if report.get("champion") else ("candidate",)
    unit = [
        m
        for m in gated
        if _unit_scale(str(m["name"]))
        and _numbers(m, *sides)
        and all(0 <= m[k] <= 1 for k in sides)
    ]
    charts = []
    if unit:
        labels = ", ".join(mermaid_label(m["name"]) for m in unit)
        title = "champion (first bar) vs candidate (second bar)" if len(sides) == 2 else "candidate"
        bars = "\n".join(f"    bar [{', '.join(f'{m[side]:.4f}' for m in unit)}]" for side in sides)
        charts.append(
            "xychart-beta\n"
            f'    title "{title}"\n'
            f"    x-axis [{labels}]\n"
            '    y-axis "value" 0 --> 1\n'
            f"{bars}"
        )
    charts += [_scale_chart(m) for m in gated if m not in unit]
    return charts


def _scale_chart(m: Mapping[str, Any]) -> str:
    """One metric on its own axis: champion and candidate bars (the candidate alone at first)."""
    names = ['"champion"', '"candidate"'] if _numbers(m, "champion") else ['"candidate"']
    values = [float(m["champion"])] if _numbers(m, "champion") else []
    values.append(float(m["candidate"]))
    low, high = min(0.0, *values), max(0.0, *values)
    better = "higher" if m.get("direction") == "higher" else "lower"
    name = mermaid_label(m["name"])
    return (
        "xychart-beta\n"
        f'    title "{name[1:-1]}: {better} is better"\n'
        f"    x-axis [{', '.join(names)}]\n"
        f"    y-axis {name} {_plain(low * 1.1, 3)} --> {_plain(high * 1.1 or 1, 3)}\n"
        f"    bar [{', '.join(_plain(v) for v in values)}]"
    )


# Metrics that are a share or a probability, on one [0, 1] axis together; the others named here
# have a scale of their own (an error in the target's units, milliseconds, bytes, an unbounded
# loss, an r2 that can go below 0). A custom metric goes by its values.
_UNIT_METRICS = ("accuracy", "balanced_accuracy", "roc_auc", "brier", "precision", "recall", "f1")
_OWN_SCALE = ("rmse", "mae", "mape", "log_loss", "r2", "latency_p50_ms", "latency_p95_ms")


def _unit_scale(name: str) -> bool:
    base = re.sub(r"_(binary|macro|weighted)$", "", name)
    return base in _UNIT_METRICS or (base not in _OWN_SCALE and name != "size_bytes")


def _plain(x: float, digits: int = 6) -> str:
    """A number as Mermaid reads it: plain decimals (no exponent), `digits` significant."""
    text = format(Decimal(f"{x:.{digits}g}"), "f")
    return "0" if float(text) == 0 else text


def _safe_url(url: str | None) -> str | None:
    """Only an https URL with a plain path (the run's URL comes from the trusted environment)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or re.search(r"[\s()<>\[\]\"'`]", url):
        return None
    return url


def view(report: Report, *, key: str, run_url: str | None) -> dict[str, Any]:
    suggested = report.get("suggested", {})
    gate = report.get("gate", {})
    failed = not gate.get("passed", False)
    champion: Mapping[str, Any] = report.get("champion") or {}
    data = report.get("data")
    reasons = [md(r) for r in gate.get("reasons", [])]
    bump = md(suggested.get("bump", ""))
    previous = suggested.get("from")
    if suggested.get("version") is None:  # the gate failed: no release is suggested
        change = f"{md(previous)} (no release)" if previous else "(no release)"
    elif previous:
        change = f"{md(previous)} → {md(suggested.get('version', ''))}"
    else:
        change = md(suggested.get("version", ""))
    details = [
        (
            "data",
            f"{md(data['path'])}, {int(data['rows'])} rows, sha256 `{md(data['sha256'][:16])}…`",
        )
        if data
        else ("data", "metrics files"),
        (
            "candidate",
            f"{md(report['candidate']['source'])}, sha256 `{md(report['candidate']['sha256'][:16])}…`",
        ),
    ]
    if champion:
        details.append(
            (
                "champion",
                f"{md(champion.get('tag') or champion.get('source'))}, sha256 "
                f"`{md(champion['sha256'][:16])}…`" + _signing_note(champion.get("signing")),
            )
        )
    stats = report.get("stats", {})
    details.append(
        (
            "statistics",
            f"{figure(stats.get('level', 0) * 100, missing=NONE)}% intervals, "
            f"{int(stats.get('resamples', 0))} resamples, seed {int(stats.get('seed', 0))}",
        )
    )
    timings = ", ".join(
        f"{md(k)} {figure(v, missing=NONE)} s" for k, v in sorted(report.get("timings", {}).items())
    )
    slices = _worst_slices(report)
    charts = _charts(report)
    return {
        "marker": marker(report["model"], key),
        "icon": "❌" if failed else "✅",
        "model": md(report["model"]),
        "change": change,
        "bump": bump,
        "verdict_text": ("gate failed" if failed else "gate passed")
        + (" (initial version)" if report.get("initial") else ""),
        "failed": failed,
        "initial": bool(report.get("initial")),
        "candidate_sha": md(report["candidate"]["sha256"][:12]),
        "champion": md(champion.get("version") or champion.get("source") or "")
        + (f" ({md(champion['stage'])})" if champion.get("stage") else ""),
        "data_text": f"{md(data['path'])} ({int(data['rows'])} rows)"
        if data
        else "its metrics files",
        "level": figure(stats.get("level", 0.95) * 100, missing=NONE),
        "metrics": [_metric_row(m) for m in report.get("metrics", [])],
        "reasons": reasons[:MAX_REASONS],
        "reasons_omitted": max(0, len(reasons) - MAX_REASONS),
        "slices": slices[:MAX_SLICES],
        "slices_total": len(report.get("slices", [])),
        "slices_omitted": max(0, len(slices) - MAX_SLICES),
        "signature_changes": [
            md(c)
            for c in report.get("signature", {}).get("reasons", [])
            if not c.endswith("improved significantly")
            and c not in ("initial version", "no signature change and no significant improvement")
        ],
        "bump_reasons": "; ".join(md(r) for r in bump_reasons(report)),
        "chart": charts[0] if charts else "",  # for custom templates written before `charts`
        "charts": charts,
        "details": details,
        "timings": timings,
        "run_url": _safe_url(run_url),
    }


@cache
def _template(path: Path | None) -> Any:
    from jinja2 import StrictUndefined, TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        undefined=StrictUndefined, keep_trailing_newline=True, trim_blocks=False, autoescape=False
    )
    if path is None:
        text = (resources.files("champion") / "templates" / "comment.md.j2").read_text(
            encoding="utf-8"
        )
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise ChampionError(f"template {path} cannot be read: {e}") from e
    try:
        return env.from_string(text)
    except TemplateError as e:
        raise ChampionError(f"template {path or 'comment.md.j2'} is not valid Jinja2: {e}") from e


def render_comment(
    report: Report,
    *,
    key: str = "default",
    template: Path | None = None,
    run_url: str | None = None,
) -> str:
    from jinja2 import TemplateError

    try:
        text = _template(template).render(**view(report, key=key, run_url=run_url))
    except TemplateError as e:
        raise ChampionError(f"template {template or 'comment.md.j2'} failed to render: {e}") from e
    return re.sub(r"\n{3,}", "\n\n", str(text)).strip() + "\n"


STEPS = {"build": "building the candidate", "evaluate": "evaluating the candidate"}


def render_failure(failure: Mapping[str, Any], *, key: str = "default", run_url: str | None) -> str:
    """The comment of an evaluation that could not judge the candidate: what failed and why (its
    message in a code block, where nothing renders), and the run's link."""
    error = failure["error"]
    message = str(error["message"]).strip() or "(no message)"
    longest = max((len(run) for run in re.findall(r"`+", message)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = [
        marker(failure["model"], key),
        f"### ❌ {md(failure['model'])}: the evaluation failed",
        "",
        f"{STEPS.get(error['step'], 'the evaluation')} stopped (exit code {int(error['exit_code'])}), "
        "so the gate could not judge this candidate:",
        "",
        fence,
        message,
        fence,
    ]
    safe = _safe_url(run_url)
    if safe:
        lines += ["", f"[Evaluation run]({safe}) (its log has the whole output)"]
    return "\n".join(lines) + "\n"


def fit(body: str, limit: int = COMMENT_LIMIT) -> str:
    """Cuts a body longer than `limit` at a line break, closes what it leaves open, adds a note."""
    if len(body) <= limit:
        return body
    note = TRUNCATED_NOTE.format(limit=limit)
    budget = limit - len(note) - len("\n```\n</details>\n") - 1
    cut = body[:budget]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    if cut.count("\n```") % 2:
        cut += "\n```"
    if cut.count("<details>") > cut.count("</details>"):
        cut += "\n</details>"
    return cut + note

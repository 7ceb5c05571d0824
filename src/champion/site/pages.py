"""The site's files from its data: index.html, one page per model, registry.json, written together.

Jinja2 with autoescape on: every value from a tag reaches the HTML as escaped text, inside
elements and attributes alike, and the templates build no markup from data. The stylesheet is
inline and allowed by its hash in each page's Content-Security-Policy, which allows nothing else:
no script, no image, font, frame or request of any kind, so a page works offline, from a file,
and under any stricter policy a host adds.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from champion._version import __version__
from champion.errors import ChampionError
from champion.files import write_atomic
from champion.site import charts
from champion.site.schema import KIND, ModelJson, SiteJson, VersionJson

REGISTRY = "registry.json"
INDEX = "index.html"


@cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("champion", "templates/site"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["size"] = human_size
    env.filters["short"] = lambda value, n=12: value[:n] if value else ""
    env.filters["num"] = charts.fmt
    env.filters["when"] = lambda moment: f"{moment[:10]} {moment[11:16]}" if moment else ""
    return env


@cache
def stylesheet() -> tuple[str, str]:
    """The CSS and its CSP source (`'sha256-…'`), which must hash exactly the text inlined."""
    css = (resources.files("champion") / "templates" / "site" / "site.css").read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return css, f"'sha256-{digest}'"


def csp() -> str:
    return (
        f"default-src 'none'; style-src {stylesheet()[1]}; img-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop returns


def ago(moment: str | None, now: int) -> str:
    """`3 days ago`, from an ISO time; "" when unknown."""
    at = charts.parse_iso(moment)
    if at is None:
        return ""
    seconds = max(0, now - at)
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= length:
            count = seconds // length
            return f"{count} {unit}{'s' * (count != 1)} ago"
    return "just now"


# --- page contexts ----------------------------------------------------------------------------


def _classes(v: VersionJson, gate_stage: str) -> tuple[str, ...]:
    return (
        *(("live",) if gate_stage in v["stages"] else ()),
        *(("staged",) if v["stages"] and gate_stage not in v["stages"] else ()),
        *(("rolled-back",) if v["rolled_back"] else ()),
        *(("deregistered",) if v["deregistered"] else ()),
    )


def metric_charts(model: ModelJson, gate_stage: str) -> list[dict[str, Any]]:
    out = []
    for metric in model["metrics"]:
        having = [v for v in model["versions"] if metric["name"] in v["metrics"]]
        chart = charts.series_chart(
            metric["name"],
            [v["version"] for v in having],
            [v["metrics"][metric["name"]] for v in having],
            [_classes(v, gate_stage) for v in having],
        )
        out.append({"metric": metric, "chart": chart})
    return out


def evidence_charts(model: ModelJson) -> dict[str, list[charts.SeriesChart | None]]:
    """Per rollback tag, a chart of each breached rule's readings against its limit."""
    found: dict[str, list[charts.SeriesChart | None]] = {}
    for event in model["events"]:
        evidence = event["evidence"]
        if evidence is None:
            continue
        drawn = []
        for breach in evidence["breached"]:
            readings = [r for r in breach["readings"] if r["value"] is not None]
            drawn.append(
                charts.series_chart(
                    breach["rule"] or "",
                    [(r["at"] or "")[11:19] for r in readings],
                    [r["value"] for r in readings if r["value"] is not None],
                    [("breached",)] * len(readings),
                    [r["limit"] for r in readings],
                    width=560,
                    height=200,
                )
            )
        found[event["tags"][-1]] = drawn
    return found


def _common(site: SiteJson, now: int, root: str) -> dict[str, Any]:
    css, _ = stylesheet()
    return {
        "css": css,
        "csp": csp(),
        "root": root,
        "site": site,
        "tool_version": __version__,
        "ago": lambda moment: ago(moment, now),
    }


def render(site: SiteJson, now: int) -> dict[str, str]:
    """Every file of the site, by its path relative to the site's root."""
    env = _environment()
    groups: dict[str, list[ModelJson]] = {}
    for model in site["models"]:
        groups.setdefault(model["folder"], []).append(model)
    files = {
        INDEX: env.get_template("index.html.j2").render(
            **_common(site, now, ""), groups=sorted(groups.items())
        )
    }
    page = env.get_template("model.html.j2")
    for model in site["models"]:
        lanes = charts.lane_chart(model["lanes"], now)
        files[model["page"]] = page.render(
            **_common(site, now, "../"),
            model=model,
            metric_charts=metric_charts(model, site["gate_stage"]),
            evidence_charts=evidence_charts(model),
            lanes=lanes,
            rollbacks=[e for e in reversed(model["events"]) if e["kind"] == "rollback"],
        )
    files[REGISTRY] = json.dumps(site, sort_keys=True, separators=(",", ":")) + "\n"
    return files


# --- writing ----------------------------------------------------------------------------------


def previous_pages(out: Path) -> set[str]:
    """The model pages an earlier build wrote (from its registry.json). Raises when `out` is a
    file, or a folder with other content that champion did not write: never write over it."""
    if out.exists() and not out.is_dir():
        raise ChampionError(f"--out {out} is a file: name a folder for the site")
    if not out.is_dir() or not any(out.iterdir()):
        return set()
    registry = out / REGISTRY
    try:
        data = json.loads(registry.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ChampionError(
            f"--out {out} is not empty and holds no site champion wrote (no {REGISTRY} of "
            "champion's): name an empty or new folder"
        )
    pages = {m.get("page") for m in data.get("models") or [] if isinstance(m, dict)}
    return {p for p in pages if isinstance(p, str) and p.startswith("models/")}


def write(out: Path, files: Mapping[str, str], stale: set[str]) -> None:
    """Each file written atomically (readable as any new file is, by a web server too); then the
    pages of models no longer listed go."""
    for name, content in files.items():
        write_atomic(out / name, content)
    for name in stale - set(files):
        page = out / name
        if page.resolve().parent == (out / "models").resolve():
            page.unlink(missing_ok=True)

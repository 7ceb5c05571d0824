"""`champion site`: the registry as a static site, built from the tags alone.

- `schema`: `registry.json`'s shape (TypedDicts), the data every page is rendered from;
- `data`: that data, gathered from the models' states (pure), with `timeline` (one event per
  operation, the stage lanes), `clean` (untrusted values from tags) and `links` (which forge URLs
  from a tag may become links);
- `charts`: the geometry of the inline SVG charts (pure);
- `pages`: the HTML from the data (Jinja2, autoescaped), written beside `registry.json`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from champion.project import Project
from champion.site import data, links, pages


@dataclass(frozen=True)
class Built:
    index: Path
    models: int
    files: int
    warnings: tuple[str, ...]


def build_site(
    project: Project,
    out: str | Path,
    models: Sequence[str] = (),
    *,
    recent_days: int = 7,
    now: int | None = None,
) -> Built:
    """Reads every model's refs in one git call (as `status` does), renders every page, and only
    then writes: a bad model name or `--out` writes nothing."""
    config = project.config
    # Each named model once, in the order given (a name may be given twice, or in its tag form).
    names = list(dict.fromkeys(config.model(m).name for m in models)) or sorted(config.models)
    target = Path(out)
    stale = pages.previous_pages(target)
    moment = int(time.time()) if now is None else now
    states = project.registry.states(names)
    forge = links.forge(project.registry.git.config(f"remote.{project.registry.remote}.url"))
    since = data.recent_since(moment, recent_days)
    gathered = [
        data.model_json(
            states[name],
            description=config.models[name].description,
            sections=config.models[name].sections,
            stages=list(config.stages),
            forge=forge,
            recent_since=since,
        )
        for name in names
    ]
    site = data.site_json(
        gathered,
        now=moment,
        recent_days=recent_days,
        stages=list(config.stages),
        gate_stage=config.gate_stage,
    )
    files = pages.render(site, moment)
    pages.write(target, files, stale)
    warnings = tuple(w for name in names for w in states[name].warnings)
    return Built(target / pages.INDEX, len(names), len(files), warnings)

from __future__ import annotations

import json

from champion import console
from champion.ci import workflow
from champion.project import Project
from champion.release.changes import changed_models, diff_range


def changed(
    project: Project,
    *,
    base: str | None = None,
    head: str = "HEAD",
    as_json: bool = False,
    github_output: str | None = None,
) -> int:
    rng = diff_range(project, base, head)
    changes = changed_models(project, rng)
    names = [c.model for c in changes]
    if as_json:
        console.dump_json(
            {
                "schema": 1,
                "base": rng.base or None,
                "head": rng.head,
                "models": names,
                "reasons": {c.model: list(c.reasons) for c in changes},
            }
        )
    else:
        for c in changes:
            console.line(f"{c.model}: {'; '.join(c.reasons)}")
        if not changes:
            console.line(
                f"no model changed between {rng.base[:12] or '(none)'} and {rng.head[:12]}"
            )
    # `models` is a JSON list, ready for `strategy.matrix: {model: ${{ fromJSON(...) }}}`.
    workflow.set_outputs(
        github_output,
        {"models": json.dumps(names), "any": "true" if names else "false", "count": len(names)},
    )
    return 0

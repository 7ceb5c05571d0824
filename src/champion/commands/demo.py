from __future__ import annotations

from champion.demo import walkthrough
from champion.extras import require_dvc


def demo(workdir: str | None = None) -> int:
    require_dvc("the demo (its model and data are tracked by DVC, pushed to a local remote)")
    return walkthrough.run(workdir)

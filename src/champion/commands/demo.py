from __future__ import annotations

from champion.demo import walkthrough


def demo(workdir: str | None = None) -> int:
    return walkthrough.run(workdir)

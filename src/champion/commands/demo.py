from __future__ import annotations


def demo(workdir: str | None = None) -> int:
    raise NotImplementedError

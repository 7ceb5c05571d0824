"""GitHub's forge features (pull request comments), over its REST API with PyGithub.

Only `commands/` import this package; the registry is plain git and never does.
"""

from __future__ import annotations

from champion.github.client import connect, scrub, token_from_env
from champion.github.comments import StickyResult, upsert_sticky
from champion.github.pulls import PullRequestRef, find_pull, is_fork

__all__ = [
    "PullRequestRef",
    "StickyResult",
    "connect",
    "find_pull",
    "is_fork",
    "scrub",
    "token_from_env",
    "upsert_sticky",
]

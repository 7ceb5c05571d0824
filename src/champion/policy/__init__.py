"""Promotion policy (issue 20): who may put which version live in a stage, and after what.

config/policy.py reads `policy:` from champion.yaml; `rules` judges a version's record against
a stage's rules without git or network; `actors` asks GitHub who the acting identity is a member
of; `guard` is what the registry calls before it writes any stage tag. The registry knows only
the `StageGuard` protocol, so it never imports policy or GitHub code.
"""

from __future__ import annotations

from champion.config.policy import StagePolicy, format_duration, parse_duration, parse_policy

__all__ = ["StagePolicy", "format_duration", "parse_duration", "parse_policy"]

"""`champion watch`: production metrics judged against rules, a sustained breach rolled back.

`rules` parses what is judged, `readings` judges it (pure), `sources` reads the metrics (the only
network code), `guards` reads the registry's state for the baseline and the cooldowns, `loop`
plans one run, reads the baseline and takes the readings (commands/watch.py presents it and rolls
back).
"""

from __future__ import annotations

from champion.watch.readings import NoData, Point, Track, judge, verdict
from champion.watch.rules import Rule, Window, parse_duration, parse_rule, parse_window

__all__ = [
    "NoData",
    "Point",
    "Rule",
    "Track",
    "Window",
    "judge",
    "parse_duration",
    "parse_rule",
    "parse_window",
    "verdict",
]

"""A tag's metadata: the JSON object after its summary line.

Anyone who can push a tag writes it, so it is read as untrusted input: its size and nesting are
capped before it is parsed, and the keys champion acts on (the artifact it would serve, a canary's
weight, the counter a registration follows...) must have the type champion writes. Metadata that
cannot be read is dropped whole, a key of the wrong type alone, with the reason; the event always
stands on its tag name and commit, as GTO reads it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MAX_BYTES = 1 << 20
MAX_DEPTH = 32

# A JSON string (so brackets inside strings do not count) or one bracket.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')

Check = Callable[[Any], bool]


def _depth(text: str) -> int:
    if text.count("{") + text.count("[") <= MAX_DEPTH:
        return 0  # cannot nest deeper than its bracket count: the common case, in C
    depth = deepest = 0
    for m in _TOKENS.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                break
        elif token in "]}":
            depth -= 1
    return deepest


def _string(value: Any) -> bool:
    return isinstance(value, str)


def _optional_string(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _optional_number(value: Any) -> bool:
    return value is None or _number(value)


def _boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _mapping(**fields: Check) -> Check:
    """A JSON object whose listed fields, when present, pass their check; others are free."""

    def check(value: Any) -> bool:
        return isinstance(value, dict) and all(
            key not in value or ok(value[key]) for key, ok in fields.items()
        )

    return check


def _list_of(item: Check) -> Check:
    return lambda value: isinstance(value, list) and all(item(x) for x in value)


def _optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _values_of(item: Check) -> Check:
    return lambda value: isinstance(value, dict) and all(item(x) for x in value.values())


_SCALARS: dict[str, Check] = dict.fromkeys(
    (
        "event",
        "model",
        "version",
        "stage",
        "commit",
        "mark",
        "reason",
        "message",
        "actor",
        "run_url",
        "run_id",
        "bump_reason",
        "trigger",
        "replaced_by",
    ),
    _string,
)
# The keys champion reads and acts on, with the type it writes them with.
SCHEMA: dict[str, Check] = {
    **_SCALARS,
    **dict.fromkeys(("from", "to", "parent", "bump", "evaluated_against"), _optional_string),
    "schema": _count,
    "after_counter": _count,
    "rollback": _boolean,
    "canary_promoted": _boolean,
    "artifact": _mapping(
        path=_string, sha256=_string, size=_count, format=_string, tracked_by=_string
    ),
    "canary": _mapping(stage=_string, weight=_number),
    "metrics": _values_of(
        _mapping(candidate=_optional_number, champion=_optional_number, delta=_optional_number)
    ),
    "data": _mapping(path=_string, sha256=_string),
    "pull_request": _mapping(number=_count, url=_string),
    "bump_reasons": _list_of(_string),
    "signature": _mapping(
        task=_string,
        features=_list_of(_mapping(name=_string, dtype=_string)),
        classes=_optional(_list_of(lambda x: isinstance(x, (str, int, float, bool)))),
    ),
    "tool": _values_of(_string),
    "libraries": _values_of(lambda x: True),
}


def parse_metadata(body: str) -> tuple[dict[str, Any], str | None]:
    """The metadata of a tag message's body, and what is wrong with it (None when nothing is).

    A body that is not a JSON object at all is a foreign tag's plain text (GTO's messages): no
    metadata, nothing wrong."""
    text = body.strip()
    if not text.startswith("{"):
        return {}, None
    if len(text) > MAX_BYTES:
        return (
            {},
            f"its metadata is {len(text)} characters long, over the {MAX_BYTES} allowed: ignored",
        )
    if _depth(text) > MAX_DEPTH:
        return {}, f"its metadata nests deeper than {MAX_DEPTH} levels: ignored"
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:  # ValueError: bad JSON, or an int of 5000 digits
        return {}, f"its metadata is not valid JSON ({str(e)[:80]}): ignored"
    if not isinstance(data, dict):
        return {}, "its metadata is not a JSON object: ignored"
    wrong = sorted(k for k, v in data.items() if (ok := SCHEMA.get(k)) and not ok(v))
    if wrong:
        # Only those keys go: the rest of what the tag says is still shown, each key checked.
        kept = {k: v for k, v in data.items() if k not in wrong}
        return (
            kept,
            f"its metadata has the wrong type for {', '.join(wrong)}: those keys are ignored",
        )
    return data, None

"""Making untrusted text inert in GitHub-flavoured markdown.

Every string from a report (which may come from a fork's pull request) goes through `md` before
it reaches a template: it cannot open HTML, a link or an image, mention anyone, reference an
issue, start a heading, or break a table row.
"""

from __future__ import annotations

import re

MAX_FIELD = 300
ZWSP = "\u200b"  # a zero-width space: invisible, and it breaks what GitHub would link

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Markdown punctuation that can start emphasis, code, links, images, tables, headings or lists.
_PUNCT = re.compile(r"([\\`*_\[\]()!|~{}+\-.:])")
# What GitHub links in plain text: @mentions, #123 references, bare URLs (scheme:// or www.).
_TRIGGER = re.compile(r"(?i)[@#]|:(?=//)|www(?=\.)")


def md(value: object, limit: int = MAX_FIELD) -> str:
    text = _CONTROL.sub(" ", str(value))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    # First the zero-width spaces (the entities added next contain a "#" of their own).
    text = _TRIGGER.sub(lambda m: m.group() + ZWSP, text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _PUNCT.sub(r"\\\1", text)


_MERMAID_SAFE = re.compile(r"[^A-Za-z0-9_]")


def mermaid_label(value: object) -> str:
    """A label for a Mermaid chart: letters, digits and underscores only, quoted."""
    return '"' + _MERMAID_SAFE.sub("_", str(value))[:40] + '"'

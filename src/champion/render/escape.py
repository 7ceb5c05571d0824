"""Making untrusted text inert in GitHub-flavoured markdown and on a terminal.

Every string from a report (which may come from a fork's pull request) goes through `md` before
it reaches a template: it cannot open HTML, a link or an image, mention anyone, reference an
issue, start a heading, or break a table row. Nor can it hide: bidi controls (U+202E makes
"gpj.exe" read "exe.jpg"), zero-width characters and lone surrogates are shown as `<U+202E>`
(`visible`), on the terminal too, so what a reviewer reads is what the text holds.
"""

from __future__ import annotations

import re

MAX_FIELD = 300
ZWSP = "\u200b"  # a zero-width space: invisible, and it breaks what GitHub would link

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# What renders as nothing or reorders what follows: Unicode's format characters (category Cf:
# bidi embeddings, overrides and isolates, zero-width joiners and spaces, the BOM, the Arabic
# letter mark, tag characters ...), lone surrogates (Cs), and the invisible fillers and
# joiners of other categories. tests/render/test_escape.py checks this against unicodedata.
_HIDDEN = re.compile(
    "["
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\ud800-\udfff"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "]"
)
_TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def visible(text: str) -> str:
    """`text` with every invisible or reordering character shown as `<U+XXXX>`."""
    return _HIDDEN.sub(lambda m: f"<U+{ord(m[0]):04X}>", text)


def terminal(text: str) -> str:
    """`text` safe to print: no escape sequence (colours, cursor moves, a fake prompt), no hidden
    character; line breaks and tabs stay. The zero-width spaces `md` puts after @ and # (so
    GitHub links nothing) have no use on a terminal and go."""
    text = _TERMINAL_CONTROL.sub(lambda m: f"<U+{ord(m[0]):04X}>", text.replace(ZWSP, ""))
    return visible(text)


# Markdown punctuation that can start emphasis, code, links, images, tables, headings or lists.
_PUNCT = re.compile(r"([\\`*_\[\]()!|~{}+\-.:])")
# What GitHub links in plain text: @mentions, #123 references, bare URLs (scheme:// or www.).
_TRIGGER = re.compile(r"(?i)[@#]|:(?=//)|www(?=\.)")


def md(value: object, limit: int = MAX_FIELD) -> str:
    text = visible(_CONTROL.sub(" ", str(value)))
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

"""Hidden and reordering characters are shown, never passed on, in markdown and on a terminal."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from champion.render.escape import md, terminal, visible

BIDI_AND_ZERO_WIDTH = "\u202e\u2066\u2067\u2068\u2069\u200d\ufeff\u061c\u200b\u200e\u2060\U000e0041"


def test_every_format_character_and_lone_surrogate_is_made_visible() -> None:
    """Against the running Python's Unicode database: a newer one with new format characters
    fails here until escape.py lists them."""
    hidden = [
        c
        for c in map(chr, range(sys.maxunicode + 1))
        if unicodedata.category(c) in ("Cf", "Cs") and visible(c) == c
    ]
    assert hidden == []


@pytest.mark.parametrize("char", list(BIDI_AND_ZERO_WIDTH))
def test_bidi_and_zero_width_characters_are_shown_in_markdown_and_terminal(char: str) -> None:
    text = f"safe{char}evil"
    code = f"U+{ord(char):04X}"
    assert char not in md(text)
    assert code.replace("+", "\\+") in md(text)  # markdown shows `U\+202E` as U+202E
    assert char not in terminal(text)
    # The zero-width space is dropped on a terminal (see the last test); the rest is shown.
    assert terminal(text) == ("safeevil" if char == "\u200b" else f"safe<{code}>evil")


def test_terminal_output_holds_no_escape_sequence_and_encodes() -> None:
    text = "ok\x1b[2J\x1b]0;title\x07\rfake prompt $ \ud800 end\n\tnext"
    shown = terminal(text)
    assert "\x1b" not in shown and "\r" not in shown and "\x07" not in shown
    assert shown.endswith("end\n\tnext")  # line breaks and tabs stay
    shown.encode("utf-8")  # a lone surrogate would raise here


def test_the_zero_width_spaces_md_adds_stay_in_markdown_only() -> None:
    escaped = md("@octocat #12")
    assert "\u200b" in escaped  # what keeps GitHub from linking them
    assert "\u200b" not in terminal(escaped)

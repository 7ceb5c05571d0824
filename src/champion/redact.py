"""Keeping credentials out of everything champion shows, logs or writes to champion-error.log.

A GitHub API error, a traceback or a log record may quote a request or a response, and a server
(or a proxy in between) may echo the Authorization header back in any status. So every such text
passes through `scrub` before it is printed, logged or cut to length: a message cut at 300
characters still holds the token's first half, so any run of 8 or more of a secret's characters
goes, not only the whole secret. Values that look like credentials go too, known or not:
`Authorization: ...`, `token X`, `Bearer X`, `Basic X` and GitHub's token shapes (ghp_, ghs_,
github_pat_ ...).
"""

from __future__ import annotations

import functools
import os
import re

MIN_SECRET = 8  # shorter runs match ordinary words; GitHub's tokens run to 40 characters and more
MASK = "***"
ENV_SECRETS = ("GITHUB_TOKEN", "GH_TOKEN")  # read at each scrub: they may be set after import

_known: set[str] = set()

# `Authorization: token X`, `"authorization": "Bearer X"`, `Proxy-Authorization=Basic X`.
_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)"
    r"((?:token|bearer|basic|digest)\s+)?[^\s\"',;}\]]+"
)
# `token X`, `Bearer X`, `Basic X` anywhere else, when X looks like a credential, not a word.
_SCHEME = re.compile(r"(?i)\b(token|bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})")
_GITHUB_TOKEN = re.compile(r"\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]{8,}")


def register(secret: str | None) -> None:
    """Scrub `secret` (and every run of 8+ of its characters) from now on, in this process."""
    # `Bearer X`: the credential is X, which a server may echo alone; "Bearer" is no secret.
    for word in (secret or "").split():
        if len(word) >= MIN_SECRET:
            _known.add(word)


def scrub(text: str, *extra: str | None) -> str:
    """`text` without any known secret, any part of one of 8+ characters, or any value shaped
    like a credential. Call it before truncating."""
    env = (os.environ.get(name) for name in ENV_SECRETS)
    secrets = {s.strip() for s in (*_known, *env, *extra) if s and len(s.strip()) >= MIN_SECRET}
    for secret in sorted(secrets, key=len, reverse=True):
        text = _without(text, secret)
    text = _HEADER.sub(lambda m: f"{m[1]}{m[2] or ''}{MASK}", text)
    text = _SCHEME.sub(_scheme, text)
    return _GITHUB_TOKEN.sub(lambda m: f"{m[1]}{MASK}", text)


def _scheme(m: re.Match[str]) -> str:
    value = m[3]
    # "token required", "Basic authentication": words. A credential has a digit or is long.
    if any(c.isdigit() for c in value) or len(value) >= 20:
        return f"{m[1]}{m[2]}{MASK}"
    return m[0]


@functools.lru_cache(maxsize=64)
def _grams(secret: str) -> tuple[re.Pattern[str], dict[str, int]]:
    """A pattern matching any MIN_SECRET characters of `secret` in a row, and where each starts."""
    grams: dict[str, int] = {}
    for i in range(len(secret) - MIN_SECRET + 1):
        grams.setdefault(secret[i : i + MIN_SECRET], i)
    return re.compile("|".join(re.escape(g) for g in grams)), grams


def _without(text: str, secret: str) -> str:
    """Every run of MIN_SECRET or more consecutive characters of `secret` replaced by MASK."""
    finder, grams = _grams(secret)
    out: list[str] = []
    pos = 0
    while (found := finder.search(text, pos)) is not None:
        start, end = found.start(), found.end()
        offset = grams[found[0]] + MIN_SECRET
        while end < len(text) and offset < len(secret) and text[end] == secret[offset]:
            end += 1
            offset += 1
        out += [text[pos:start], MASK]
        pos = end
    out.append(text[pos:])
    return "".join(out)

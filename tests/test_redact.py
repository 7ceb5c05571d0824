"""Scrubbing secrets from text that may quote a request or an answer: whole, cut, or shaped like
a credential champion was never told about."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from champion import redact

TOKEN = "ghs_Sup3rSecretT0kenValue0123456789abcd"


@pytest.fixture(autouse=True)
def _no_secrets_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other tests registered their tokens in this process; these start from none."""
    monkeypatch.setattr(redact, "_known", set())
    for name in redact.ENV_SECRETS:
        monkeypatch.delenv(name, raising=False)


def runs(text: str, secret: str) -> list[str]:
    n = redact.MIN_SECRET
    return [secret[i : i + n] for i in range(len(secret) - n + 1) if secret[i : i + n] in text]


def test_the_whole_token_and_any_cut_of_it_go() -> None:
    assert redact.scrub(f"auth {TOKEN} failed", TOKEN) == "auth *** failed"
    cut = f"you sent {TOKEN}"[:20]  # what a message cut at 20 characters keeps: 11 of the token
    assert redact.scrub(cut, TOKEN) == "you sent ***"
    assert redact.scrub(f"...{TOKEN[12:]} end", TOKEN) == "...*** end"  # the tail, cut in front
    assert redact.scrub(TOKEN[:7], TOKEN) == TOKEN[:7]  # 7 characters: a word, not a secret


def test_registered_and_environment_secrets_go_without_being_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "plainvalue-from-the-env-1")
    redact.register("Bearer sessionvalue42")
    text = redact.scrub("a plainvalue-from-th and sessionvalue42 and Bearer sessionvalue42")
    assert text == "a *** and *** and Bearer ***"
    redact.register("short")  # too short to scrub without mangling words
    assert redact.scrub("a short word") == "a short word"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: token abc123def456", "Authorization: token ***"),
        ('{"authorization": "Bearer eyJhbGciOi.J9.x"}', '{"authorization": "Bearer ***"}'),
        ("Proxy-Authorization=Basic dXNlcjpwYXNzd29yZA==", "Proxy-Authorization=Basic ***"),
        ("sent Bearer abc123def456 twice", "sent Bearer *** twice"),
        ("got token ghp_16C7e42F292c6912E7710c838347Ae178B4a", "got token ***"),
        ("ghp_16C7e42F292c6912E7710c838347Ae178B4a alone", "ghp_*** alone"),
        ("github_pat_11ABCDEFG0123456789_abcdefXYZ", "github_pat_***"),
        ("the token is invalid or expired", "the token is invalid or expired"),
        (
            "Basic authentication failed; token required",
            "Basic authentication failed; token required",
        ),
    ],
)
def test_credential_shapes_go_words_stay(text: str, expected: str) -> None:
    assert redact.scrub(text) == expected


@settings(max_examples=200, deadline=None)
@given(
    secret=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=60),
    before=st.text(max_size=50),
    after=st.text(max_size=50),
    cut=st.tuples(st.integers(0, 200), st.integers(0, 200)),
)
def test_no_run_of_8_survives_any_cut(
    secret: str, before: str, after: str, cut: tuple[int, int]
) -> None:
    text = f"{before}{secret}{after}{secret}"[min(cut) : max(cut) + 40]
    assert runs(redact.scrub(text, secret), secret) == []

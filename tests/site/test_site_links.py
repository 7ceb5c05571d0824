"""Which URLs from a tag become links: https, the forge's own host, the shape of a run or a pull
request; the link is rebuilt, never copied."""

from __future__ import annotations

import pytest

from champion.site.links import Forge, forge_from

GH = Forge("github.com")


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "http://github.com/octo/app/actions/runs/1",  # not https
        "https://evil.example/octo/app/actions/runs/1",  # another host
        "https://github.com.evil.example/octo/app/actions/runs/1",
        "https://user@github.com/octo/app/actions/runs/1",  # credentials in the URL
        "https://github.com@evil.example/octo/app/actions/runs/1",
        "https://github.com/octo/app/actions/runs/1?next=https://evil.example",
        "https://github.com/octo/app/actions/runs/1#x",
        "https://github.com/octo/app/actions/runs/abc",
        "https://github.com/../actions/runs/1",
        "https://github.com/octo/app/actions/runs/1/../../../../evil",
        "https://github.com/octo/app/pull/1",  # a pull request is not a run
        "https://github.com/oct\u043e/app/actions/runs/1",  # a Cyrillic o
        " https://github.com/octo/app/actions/runs/1",
        None,
        42,
    ],
)
def test_anything_but_a_run_of_the_forge_is_no_run_link(url: object) -> None:
    assert GH.run(url) is None


def test_a_run_and_a_pull_request_are_rebuilt() -> None:
    assert GH.run("https://GitHub.com/octo/app/actions/runs/123/") == (
        "https://github.com/octo/app/actions/runs/123"
    )
    assert GH.run("https://github.com/octo/app/actions/runs/5/attempts/2") == (
        "https://github.com/octo/app/actions/runs/5/attempts/2"
    )
    assert GH.pull("https://github.com/octo/app.js/pull/0012") == (
        "https://github.com/octo/app.js/pull/12"
    )
    assert GH.pull("https://github.com/octo/app/issues/12") is None
    assert GH.tag("https://github.com/octo/app/pull/12", "models/a=b@v1.0.0") == (
        "https://github.com/octo/app/releases/tag/models%2Fa%3Db%40v1.0.0"
    )


@pytest.mark.parametrize(
    ("server", "remote", "host"),
    [
        ("https://github.com", "/tmp/origin.git", "github.com"),
        ("https://ghe.example.com:8443/", None, "ghe.example.com:8443"),
        ("http://ghe.example.com", "https://github.com/o/r.git", None),  # server set, not https
        (None, "https://github.com/octo/app.git", "github.com"),
        (None, "https://x-access-token:secret@github.com/octo/app", "github.com"),
        (None, "git@github.com:octo/app.git", "github.com"),
        (None, "ssh://git@ghe.example.com:2222/octo/app.git", "ghe.example.com"),
        (None, "/srv/git/app.git", None),
        (None, "file:///srv/git/app.git", None),
        (None, "http://github.com/octo/app.git", None),
        (None, None, None),
    ],
)
def test_the_forge_comes_from_the_runner_or_the_remote(
    server: str | None, remote: str | None, host: str | None
) -> None:
    found = forge_from(server, remote)
    assert (found.host if found else None) == host

"""Metric sources against a loopback server and files: JSON pointers and dotted paths, Prometheus
answers, headers from the environment, and errors that name the source without its secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from champion.errors import ChampionError
from champion.watch.readings import NoData
from champion.watch.sources import (
    Secrets,
    SourceError,
    as_sample,
    display,
    lookup,
    open_source,
    parse_headers,
    parse_metrics,
)
from testing.metrics_server import Seen, prometheus, serve

DOC = {"a": {"b": [10, {"c": 2.5}]}, "x/y": {"~t": 7}, "flag": True, "text": "high", "n": None}


@pytest.mark.parametrize(
    ("where", "value"),
    [("/a/b/0", 10), ("a.b.1.c", 2.5), ("/a/b/1/c", 2.5), ("/x~1y/~0t", 7), ("n", None)],
)
def test_pointers_and_dotted_paths(where: str, value: Any) -> None:
    assert lookup(DOC, where) == value


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("/a/z", "'/a/z' is not in the document (keys at a: b)"),
        ("a.b.7", "(a.b is an array of 2)"),
        ("errors", "(keys at the top: a, flag, n, text, x/y)"),
        ("a.b.0.c", "(a.b.0 is not an object)"),
    ],
)
def test_a_missing_path_says_what_is_there(where: str, message: str) -> None:
    with pytest.raises(Exception) as raised:
        lookup(DOC, where)
    assert message in str(raised.value)


def test_values_become_numbers_or_no_data() -> None:
    assert as_sample(3, "x") == 3.0 and as_sample("0.07", "x") == 0.07
    assert as_sample(None, "x") == NoData("x is null")
    assert as_sample("NaN", "x") == NoData("x is NaN")
    assert as_sample(True, "x") == NoData("x is a boolean, not a number", misconfigured=True)
    assert as_sample({"v": 1}, "x").misconfigured  # type: ignore[union-attr]
    assert as_sample("high", "x") == NoData(
        "x is the string 'high', not a number", misconfigured=True
    )


def test_a_json_file_source_is_read_afresh_each_time(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    source = open_source(str(path), {}, 1.0, Secrets())
    with pytest.raises(SourceError, match=f"source {path} does not exist"):
        source.read({"e": "e"})
    path.write_text(json.dumps({"e": 0.01}))
    assert source.read({"e": "e"}) == {"e": 0.01}
    path.write_text(json.dumps({"e": 0.02}))
    assert open_source(path.as_uri(), {}, 1.0, Secrets()).read({"e": "e"}) == {"e": 0.02}


def test_prometheus_answers() -> None:
    def answer(seen: Seen) -> Any:
        q = seen.query["query"]
        if q == "scalar":
            return {"status": "success", "data": {"resultType": "scalar", "result": [1, "4"]}}
        if q == "matrix":
            return {"status": "success", "data": {"resultType": "matrix", "result": []}}
        if q == "many":
            return prometheus("1", series=2)
        if q == "none":
            return prometheus(None)
        return prometheus("NaN" if q == "nan" else "0.5")

    with serve([answer]) as server:
        source = open_source(f"prom+{server.url}/", {}, 2.0, Secrets())
        got = source.read({m: m for m in ("v", "scalar", "matrix", "many", "none", "nan")}, at=12.5)
    assert got["v"] == 0.5 and got["scalar"] == 4.0
    assert got["none"] == NoData("query 'none' returned no series")
    assert got["nan"] == NoData("query 'nan' is NaN")
    assert isinstance(got["matrix"], NoData) and got["matrix"].misconfigured
    assert isinstance(got["many"], NoData) and "returned 2 series" in got["many"].reason
    assert {s.path for s in server.seen} == {"/api/v1/query"}
    assert {s.query["time"] for s in server.seen} == {"12.500"}


def test_headers_come_from_the_environment() -> None:
    env = {"TOKEN": "Bearer abcdefgh12345", "KEY": "k"}
    assert parse_headers(["Authorization=TOKEN", "X-Key = KEY"], env) == {
        "Authorization": "Bearer abcdefgh12345",
        "X-Key": "k",
    }
    for spec, message in [
        ("Authorization", "write NAME=ENVVAR"),
        ("Authorization=Bearer xyz", "write NAME=ENVVAR"),
        ("Bad Name=TOKEN", "write NAME=ENVVAR"),
        ("X=MISSING", "the environment variable MISSING is not set"),
    ]:
        with pytest.raises(ChampionError, match=message) as raised:
            parse_headers([spec], env)
        assert "abcdefgh" not in str(raised.value)
    with pytest.raises(ChampionError, match="holds a line break"):
        parse_headers(["X=BAD"], {"BAD": "a\r\nInjected: 1"})


def test_secrets_are_scrubbed_whole_and_as_the_token_alone() -> None:
    secrets = Secrets(["Bearer abcdefgh12345", "short"])
    assert secrets.scrub("got Bearer abcdefgh12345 and abcdefgh12345 and short") == (
        "got *** and *** and ***"
    )


def test_urls_are_shown_without_credentials() -> None:
    assert display("https://user:pw@host:8443/m?x=1") == "https://host:8443/m?x=1"
    assert display("prom+http://u:p@prom:9090") == "prom+http://prom:9090"
    assert display("http://host/m") == "http://host/m"


def test_credentials_in_the_url_become_basic_auth_and_are_never_shown() -> None:
    with serve([{"e": 1}, (500, b"boom")]) as server:
        url = server.url.replace("http://", "http://me:hunter22@")
        source = open_source(f"{url}/m", {}, 2.0, Secrets())
        assert source.read({"e": "e"}) == {"e": 1.0}
        with pytest.raises(SourceError) as raised:
            source.read({"e": "e"})
    assert server.seen[0].headers["authorization"] == "Basic bWU6aHVudGVyMjI="  # me:hunter22
    assert str(raised.value) == f"source {server.url}/m answered HTTP 500 Internal Server Error"
    assert parse_metrics(["e=/a/b", "q = sum(rate(x[5m]))"]) == {
        "e": "/a/b",
        "q": "sum(rate(x[5m]))",
    }
    with pytest.raises(ChampionError, match="--metric 'e': write NAME=WHERE"):
        parse_metrics(["e"])

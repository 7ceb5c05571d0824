"""Where `champion watch` reads metrics: a JSON document (an http(s) URL or a file), each metric
taken by JSON pointer or dotted path, or a Prometheus server's instant queries.

Header values come from environment variables and never appear in a message: every error is
scrubbed of them, and redirects are not followed, so they never reach another host.
"""

from __future__ import annotations

import base64
import math
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from champion import redact, untrusted
from champion._version import __version__
from champion.errors import ChampionError
from champion.watch.readings import NoData, Sample

MAX_BYTES = 10 << 20
PROMETHEUS_SCHEMES = ("prom+http", "prom+https")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SourceError(ChampionError):
    """The source could not be read or did not answer with what a watch needs."""


class Secrets:
    """The header values of a run, to scrub from any text that may be shown."""

    def __init__(self, values: Sequence[str] = ()) -> None:
        # The token inside `Bearer TOKEN` too: a server may echo only that part.
        words = {w for v in values for w in v.split() if len(w) >= 8}
        self.values = sorted({v for v in values if v} | words, key=len, reverse=True)
        for value in self.values:
            redact.register(value)  # an unexpected error's message and traceback too

    def scrub(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, "***")
        return redact.scrub(text)  # and any part of one a cut message left


def parse_headers(specs: Sequence[str], environ: Mapping[str, str]) -> dict[str, str]:
    """`NAME=ENVVAR` pairs: the header's value is the environment variable's."""
    headers: dict[str, str] = {}
    for spec in specs:
        name, sep, var = spec.partition("=")
        name, var = name.strip(), var.strip()
        if not sep or not _HEADER_NAME.match(name) or not _ENV_NAME.match(var):
            raise ChampionError(
                f"--header {spec!r}: write NAME=ENVVAR, the header's name and the environment "
                "variable holding its value (e.g. Authorization=METRICS_AUTH); values are never "
                "given on the command line"
            )
        value = environ.get(var)
        if not value:
            raise ChampionError(f"--header {name}={var}: the environment variable {var} is not set")
        if "\r" in value or "\n" in value:
            raise ChampionError(f"--header {name}={var}: the value of {var} holds a line break")
        headers[name] = value
    return headers


def parse_metrics(specs: Sequence[str]) -> dict[str, str]:
    """`NAME=WHERE` pairs: a JSON pointer or dotted path, or a PromQL query."""
    mapping: dict[str, str] = {}
    for spec in specs:
        name, sep, where = spec.partition("=")
        name, where = name.strip(), where.strip()
        if not sep or not name or not where:
            raise ChampionError(
                f"--metric {spec!r}: write NAME=WHERE, WHERE being a JSON pointer (/a/b/0), a "
                "dotted path (a.b.0) or, for a prom+http(s) source, a PromQL query"
            )
        mapping[name] = where
    return mapping


class Source(Protocol):
    label: str  # for messages: the location without credentials
    history: bool  # True when a past value can be asked for (`at`)

    def read(self, queries: Mapping[str, str], at: float | None = None) -> dict[str, Sample]: ...


def display(url: str) -> str:
    """A URL as it may be shown: without user:password."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx surfaces as an HTTPError, and the headers stay with this host


@dataclass(frozen=True)
class Http:
    headers: Mapping[str, str]
    timeout: float
    secrets: Secrets

    def get(self, url: str, what: str) -> bytes:
        request = urllib.request.Request(
            url,
            headers={
                "Accept": "application/json",
                "User-Agent": f"champion/{__version__}",
                **self.headers,
            },
        )
        opener = urllib.request.build_opener(_NoRedirect())
        try:
            with opener.open(request, timeout=self.timeout) as response:
                body: bytes = response.read(MAX_BYTES + 1)
        except urllib.error.HTTPError as e:
            where = e.headers.get("Location") if 300 <= e.code < 400 else None
            hint = (
                f" (a redirect to {display(where)}: give that URL; redirects are not followed, "
                "so headers never reach another host)"
                if where
                else ""
            )
            raise self.error(f"{what} answered HTTP {e.code} {e.reason}{hint}") from None
        except TimeoutError:
            raise self.error(f"{what} did not answer within {self.timeout:g}s") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise self.error(f"{what} did not answer within {self.timeout:g}s") from None
            raise self.error(f"{what} is unreachable: {e.reason}") from None
        except OSError as e:
            raise self.error(f"{what} is unreachable: {e}") from None
        if len(body) > MAX_BYTES:
            raise self.error(f"{what} answered more than {MAX_BYTES >> 20} MiB")
        return body

    def error(self, message: str) -> SourceError:
        return SourceError(self.secrets.scrub(message))


def decode(body: bytes, what: str) -> Any:
    # Bounded (depth, digits): a metrics server is no more trusted than a report. NaN is judged
    # per metric, so it passes here.
    try:
        return untrusted.load_json(body, what, finite=False)
    except untrusted.UntrustedInput as e:
        detail = str(e).removeprefix(what).removeprefix(" is not valid JSON").lstrip(": ")
        raise SourceError(f"{what} did not answer with valid JSON: {detail}") from None


def as_sample(value: Any, where: str) -> Sample:
    """A JSON value as a metric: a number or a numeric string (Prometheus sends strings)."""
    if value is None:
        return NoData(f"{where} is null")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        kind = {bool: "a boolean", dict: "an object", list: "an array"}.get(type(value), "a value")
        return NoData(f"{where} is {kind}, not a number", misconfigured=True)
    try:
        result = float(value)
    except ValueError:
        return NoData(
            f"{where} is the string {str(value)[:40]!r}, not a number", misconfigured=True
        )
    if math.isnan(result):
        return NoData(f"{where} is NaN")
    return result


class _Missing(Exception):
    pass


def lookup(document: Any, where: str) -> Any:
    """A JSON pointer (RFC 6901, `/a/b/0`) or a dotted path (`a.b.0`)."""
    if where.startswith("/"):
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in where[1:].split("/")]
    else:
        tokens = where.split(".")
    node = document
    for i, token in enumerate(tokens):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            here = "/".join(tokens[:i]) if where.startswith("/") else ".".join(tokens[:i])
            if isinstance(node, dict):
                keys = ", ".join(sorted(map(str, node))[:12]) or "none"
                inside = f"keys at {here or 'the top'}: {keys}"
            elif isinstance(node, list):
                inside = f"{here or 'the top'} is an array of {len(node)}"
            else:
                inside = f"{here or 'the top'} is not an object"
            raise _Missing(f"{where!r} is not in the document ({inside})")
    return node


class JsonSource:
    """A JSON document from an http(s) URL, a file:// URL or a path, read afresh each time."""

    history = False

    def __init__(self, location: str, http: Http) -> None:
        self.location = location
        self.http = http
        scheme = urllib.parse.urlsplit(location).scheme
        self.url = location if scheme in ("http", "https") else None
        if scheme == "file":
            self.path: Path | None = Path(urllib.request.url2pathname(location[len("file:") :]))
        else:
            self.path = None if self.url else Path(location)
        self.label = display(location) if self.url else str(self.path)

    def document(self) -> Any:
        what = f"source {self.label}"
        if self.url is not None:
            body = self.http.get(self.url, what)
        else:
            assert self.path is not None
            try:
                body = self.path.read_bytes()
            except FileNotFoundError:
                raise SourceError(f"{what} does not exist") from None
            except OSError as e:
                raise SourceError(f"{what} cannot be read: {e.strerror}") from None
        try:
            return decode(body, what)
        except SourceError as e:
            raise self.http.error(str(e)) from None

    def read(self, queries: Mapping[str, str], at: float | None = None) -> dict[str, Sample]:
        document = self.document()
        samples: dict[str, Sample] = {}
        for name, where in queries.items():
            try:
                samples[name] = as_sample(lookup(document, where), where)
            except _Missing as e:
                samples[name] = NoData(str(e), misconfigured=True)
        return samples


class PrometheusSource:
    """`prom+http(s)://HOST:PORT[/PREFIX]`: one instant query (`/api/v1/query`) per metric; the
    query must come down to one series or a scalar (aggregate it: `sum(...)`, `max(...)`)."""

    history = True

    def __init__(self, location: str, http: Http) -> None:
        base = location.split("+", 1)[1]
        parts = urllib.parse.urlsplit(base)
        if not parts.netloc:
            raise ChampionError(f"--source {display(location)}: give a host, prom+http://HOST:9090")
        self.endpoint = urllib.parse.urlunsplit(
            parts._replace(path=parts.path.rstrip("/") + "/api/v1/query", query="", fragment="")
        )
        self.http = http
        self.label = display(location)

    def read(self, queries: Mapping[str, str], at: float | None = None) -> dict[str, Sample]:
        samples: dict[str, Sample] = {}
        for name, query in queries.items():
            params = {"query": query}
            if at is not None:
                params["time"] = f"{at:.3f}"
            url = f"{self.endpoint}?{urllib.parse.urlencode(params)}"
            what = f"source {self.label} (query {query!r})"
            body = self.http.get(url, what)
            try:
                samples[name] = self._sample(decode(body, what), query)
            except SourceError as e:
                raise self.http.error(str(e)) from None
        return samples

    def _sample(self, answer: Any, query: str) -> Sample:
        what = f"source {self.label} (query {query!r})"
        if not isinstance(answer, dict) or answer.get("status") != "success":
            error = answer.get("error") if isinstance(answer, dict) else None
            detail = f": {str(error)[:200]}" if error else ""
            raise SourceError(f"{what} did not answer like the Prometheus HTTP API{detail}")
        data = answer.get("data")
        kind = data.get("resultType") if isinstance(data, dict) else None
        result = data.get("result") if isinstance(data, dict) else None
        if kind == "scalar" and isinstance(result, list) and len(result) == 2:
            return as_sample(result[1], f"query {query!r}")
        if kind != "vector" or not isinstance(result, list):
            return NoData(
                f"query {query!r} gives a {kind or 'malformed'} result; an instant vector or a "
                "scalar is needed",
                misconfigured=True,
            )
        if not result:
            return NoData(f"query {query!r} returned no series")
        if len(result) > 1:
            return NoData(
                f"query {query!r} returned {len(result)} series; aggregate it to one "
                "(sum, max, avg by nothing)",
                misconfigured=True,
            )
        value = result[0].get("value") if isinstance(result[0], dict) else None
        if not isinstance(value, list) or len(value) != 2:
            raise SourceError(f"{what}: a series without a [time, value] pair")
        return as_sample(value[1], f"query {query!r}")


def open_source(
    location: str, headers: Mapping[str, str], timeout: float, secrets: Secrets
) -> JsonSource | PrometheusSource:
    parts = urllib.parse.urlsplit(location)
    if parts.password is not None or parts.username is not None:
        # user:password in the URL becomes basic authentication, scrubbed like any header.
        pair = f"{urllib.parse.unquote(parts.username or '')}:{urllib.parse.unquote(parts.password or '')}"
        basic = f"Basic {base64.b64encode(pair.encode()).decode()}"
        headers = {"Authorization": basic, **headers}
        secrets = Secrets([*secrets.values, basic, pair, parts.password or ""])
        location = display(location)
    http = Http(headers, timeout, secrets)
    scheme = urllib.parse.urlsplit(location).scheme
    if scheme in PROMETHEUS_SCHEMES:
        return PrometheusSource(location, http)
    if scheme in ("http", "https", "file") or (scheme == "" or os.path.exists(location)):
        return JsonSource(location, http)
    raise ChampionError(
        f"--source {display(location)}: unknown scheme {scheme!r}; give an http(s):// URL or a file "
        "(a JSON document), or prom+http(s)://HOST:PORT (a Prometheus server)"
    )

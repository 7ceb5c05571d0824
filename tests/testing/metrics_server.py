"""A loopback HTTP server that answers with a scripted sequence of metric documents: each request
gets the next answer, the last one repeats. It records every request (path, query, headers)."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


# An answer: a JSON-able document (status 200), or (status, body bytes), or a function of the
# request giving either.
Answer = Any


@dataclass
class MetricsServer:
    answers: Sequence[Answer]
    seen: list[Seen] = field(default_factory=list)
    url: str = ""

    def next_answer(self, request: Seen) -> tuple[int, bytes]:
        index = min(len(self.seen) - 1, len(self.answers) - 1)
        answer = self.answers[index]
        if callable(answer):
            answer = answer(request)
        if isinstance(answer, tuple):
            status, body = answer
            return status, body if isinstance(body, bytes) else str(body).encode()
        return 200, json.dumps(answer).encode()


def prometheus(value: float | str | None, *, series: int = 1) -> dict[str, Any]:
    """An instant-query answer as Prometheus gives it: a vector of `series` samples (none when
    `value` is None)."""
    result = [
        {"metric": {"instance": f"i{n}"}, "value": [1700000000.0, str(value)]}
        for n in range(series if value is not None else 0)
    ]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


@contextmanager
def serve(answers: Sequence[Answer]) -> Iterator[MetricsServer]:
    server_state = MetricsServer(list(answers))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            seen = Seen(
                parts.path,
                dict(urllib.parse.parse_qsl(parts.query)),
                {k.lower(): v for k, v in self.headers.items()},
            )
            with lock:
                server_state.seen.append(seen)
                status, body = server_state.next_answer(seen)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if 300 <= status < 400:
                self.send_header("Location", "http://elsewhere.invalid/metrics")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def sequence(name: str, values: Sequence[float | None]) -> list[dict[str, Any]]:
    """Documents `{name: value}`, one per reading."""
    return [{name: v} for v in values]


Responder = Callable[[Seen], Answer]

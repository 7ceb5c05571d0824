"""A real browser for the site's tests: headless Chromium (Debian's `chromium` package).

`load(page)` opens a file in a fresh profile, returns the DOM Chromium built (after any script
would have run) parsed with BeautifulSoup, and the requests the page made, read from Chromium's
own network log. The browser makes requests of its own (component updates, sign-in checks) even
with background networking off; those have no initiator, so a page's requests are the ones whose
initiator is an origin (a `file://` page's origin is "null").
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM = next((found for name in NAMES if (found := shutil.which(name))), None)
requires_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed: apt-get install -y chromium (.ci/run installs it on CI)",
)
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # the tests may run as root, as CI does
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--disable-gpu",
    "--hide-scrollbars",
)
TIMEOUT = 90
_runs = count()


@dataclass(frozen=True)
class Loaded:
    dom: Any  # bs4.BeautifulSoup
    requests: tuple[str, ...]  # the URLs the page itself asked for


def _run(page: Path, work: Path, *extra: str) -> tuple[str, Path]:
    assert CHROMIUM is not None
    n = next(_runs)
    netlog = work / f"net-{n}.json"
    proc = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={work / f'profile-{n}'}",
            f"--log-net-log={netlog}",
            *extra,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, netlog


def load(page: Path, work: Path) -> Loaded:
    from bs4 import BeautifulSoup

    dom, netlog = _run(page, work, "--dump-dom")
    assert "<html" in dom, f"Chromium printed no DOM for {page}"
    return Loaded(BeautifulSoup(dom, "html.parser"), page_requests(netlog))


def screenshot(page: Path, work: Path, image: Path, size: tuple[int, int]) -> None:
    _run(page, work, f"--screenshot={image}", f"--window-size={size[0]},{size[1]}")
    assert image.is_file() and image.stat().st_size > 0


def page_requests(netlog: Path) -> tuple[str, ...]:
    data = json.loads(netlog.read_text())
    start = data["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return tuple(
        event["params"]["url"]
        for event in data["events"]
        if event["type"] == start
        and event.get("params", {}).get("initiator", "not an origin") != "not an origin"
    )

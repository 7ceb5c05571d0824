"""The site in a real browser (headless Chromium): the DOM it builds from the pages, and every
request a page makes, from Chromium's network log."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from champion.cli import main
from testing.browser import load, requires_chromium, screenshot
from testing.site_registry import HOSTILE, RELEASES, SERVER, Registry

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def site(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("site") / "site"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GITHUB_SERVER_URL", SERVER)
        assert main(["-C", str(registry.repo.path), "site", "--out", str(out)]) == 0
    yield out


def registry_json(site: Path) -> Any:
    return json.loads((site / "registry.json").read_text())


def texts(elements: Any) -> list[str]:
    return [" ".join(e.get_text(" ").split()) for e in elements]


def test_the_index_shows_every_model_its_live_versions_and_recent_rollbacks(
    site: Path, tmp_path: Path
) -> None:
    page = load(site / "index.html", tmp_path)
    dom = page.dom
    folders = [g["data-folder"] for g in dom.select("section.group")]
    assert folders == ["", "models/fraud"]
    cards = {c["data-model"]: c for c in dom.select("article.card")}
    assert list(cards) == ["llm", "models/fraud:fraud"]
    llm = cards["llm"]
    live = {
        r["data-stage"]: r.select_one(".live-version")["data-version"] for r in llm.select("tr")
    }
    assert live == {"staging": "0.1.1", "prod": "0.1.1"}
    assert llm.select_one("[data-latest]")["data-latest"] == "0.1.3"
    marks = llm.select("p.recent-rollback")
    assert [m["data-rolled-back"] for m in marks] == ["0.1.3", "0.1.2"]
    assert "automatic" in marks[0]["class"] and "automatic" not in marks[1]["class"]
    assert "alert" in llm["class"] and "alert" not in cards["models/fraud:fraud"]["class"]
    fraud = cards["models/fraud:fraud"]
    assert fraud.select_one("tr[data-stage=prod] .live-version").get_text() == "v0.1.0"
    assert fraud.select_one("a")["href"] == "models/models_2ffraud_3afraud.html"
    assert page.requests == ()


def test_the_model_page_shows_live_versions_and_the_timeline_in_order(
    site: Path, tmp_path: Path
) -> None:
    page = load(site / "models" / "llm.html", tmp_path)
    dom = page.dom
    live = {
        r["data-stage"]: r.select_one(".live-version")["data-version"]
        for r in dom.select("section.summary tr")
    }
    assert live == {"staging": "0.1.1", "prod": "0.1.1"}
    # Newest first: the registry's events, reversed.
    events = registry_json(site)["models"][0]["events"]
    shown = [(li["data-kind"], li["data-tag"]) for li in dom.select("ol.timeline > li.event")]
    assert shown == [(e["kind"], e["tags"][-1]) for e in reversed(events)]
    assert [kind for kind, _ in shown][:3] == ["deregister", "rollback", "promote"]
    assert page.requests == ()


def test_a_rollback_shows_its_reason_and_a_watch_rollback_its_evidence(
    site: Path, tmp_path: Path
) -> None:
    dom = load(site / "models" / "llm.html", tmp_path).dom
    manual = dom.select_one("li.event.kind-rollback:not(.automatic)")
    assert manual["data-tag"] == "llm#prod#8"
    assert "prod rolled back from v0.1.2 to v0.1.1" in texts([manual.select_one(".what")])[0]
    assert manual.select_one("p.reason").get_text() == HOSTILE
    assert manual.select_one("p.reason").find(True) is None
    assert manual.select_one("a.run")["href"] == "https://github.com/octo/app/actions/runs/104"

    automatic = dom.select_one("li.event.kind-rollback.automatic")
    assert automatic["data-tag"] == "llm#prod#12"
    assert texts(automatic.select(".badge.kind")) == ["automatic rollback"]
    assert (
        "error_rate < 0.05 breached at 2 consecutive readings"
        in automatic.select_one("p.reason").get_text()
    )
    evidence = automatic.select_one("details.evidence")
    rows = [texts(tr.select("td")) for tr in evidence.select("table.readings tbody tr")]
    assert [row[1:] for row in rows] == [["0.2", "0.05"], ["0.2", "0.05"]]
    points = evidence.select("svg.evidence-chart g.point")
    assert [float(p["data-value"]) for p in points] == [0.2, 0.2]
    assert evidence.select_one("svg polyline.limit") is not None
    # The rollbacks, set apart at the top: the automatic one marked as such.
    listed = [
        (li["data-tag"], "automatic" in li["class"]) for li in dom.select("section.rollbacks li")
    ]
    assert listed == [("llm#prod#12", True), ("llm#prod#8", False)]


def test_each_gated_metric_is_charted_across_versions(site: Path, tmp_path: Path) -> None:
    dom = load(site / "models" / "llm.html", tmp_path).dom
    figures = {f["data-metric"]: f for f in dom.select("figure.metric")}
    assert list(figures) == ["accuracy", "latency_ms"]
    for index, name in enumerate(figures):
        points = figures[name].select("g.point")
        assert [p["data-label"] for p in points] == ["0.1.0", "0.1.1", "0.1.2", "0.1.3"]
        assert [float(p["data-value"]) for p in points] == [r[index] for r in RELEASES]
        flags = {p["data-label"]: set(p["class"]) - {"point"} for p in points}
        assert flags == {
            "0.1.0": {"deregistered"},
            "0.1.1": {"live"},
            "0.1.2": {"rolled-back"},
            "0.1.3": {"rolled-back"},
        }
        # A higher value is drawn higher (a smaller y), every point on the line through them.
        ys = {p["data-label"]: float(p.select_one("circle")["cy"]) for p in points}
        values = {p["data-label"]: float(p["data-value"]) for p in points}
        ranked = sorted(values, key=values.__getitem__)
        assert sorted(ys, key=ys.__getitem__, reverse=True) == ranked
        line = figures[name].select_one("polyline.series")["points"].split()
        assert line == [
            f"{p.select_one('circle')['cx']},{p.select_one('circle')['cy']}" for p in points
        ]
        assert len(figures[name].select("path.cross")) == 2  # the rolled-back versions
    assert "higher is better" in figures["accuracy"].get_text()
    assert "lower is better" in figures["latency_ms"].get_text()


def test_the_stage_lanes_and_the_versions_table(site: Path, tmp_path: Path) -> None:
    dom = load(site / "models" / "llm.html", tmp_path).dom
    lanes = {g["data-stage"]: g for g in dom.select("svg.lanes g.lane")}
    assert list(lanes) == ["staging", "prod"]
    prod = [(b["data-version"], set(b["class"]) - {"bar"}) for b in lanes["prod"].select("g.bar")]
    assert prod == [
        ("0.1.0", set()),
        ("0.1.1", set()),
        ("0.1.2", {"rolled-back"}),
        ("0.1.1", set()),
        ("0.1.3", {"rolled-back"}),
        ("0.1.1", {"live"}),
    ]
    staging = [
        (b["data-version"], set(b["class"]) - {"bar"}) for b in lanes["staging"].select("g.bar")
    ]
    assert staging == [("0.1.1", {"live"})]
    xs = [float(b.select_one("rect")["x"]) for b in lanes["prod"].select("g.bar")]
    assert xs == sorted(xs)

    rows = {r["data-version"]: r for r in dom.select("table.versions tbody tr")}
    assert list(rows) == ["0.1.3", "0.1.2", "0.1.1", "0.1.0", "0.0.9"]
    versions = {v["version"]: v for v in registry_json(site)["models"][0]["versions"]}
    for number, row in rows.items():
        sha = versions[number]["artifact"]["sha256"]
        cell = row.select_one("code.sha")
        assert (cell["data-sha256"] if cell else None) == sha
    assert "rolled back" in rows["0.1.2"].get_text() and "deregistered" in rows["0.1.0"].get_text()
    assert "prod, staging" in rows["0.1.1"].get_text()
    headers = texts(dom.select("table.versions thead th"))
    assert "sha256" in headers and "signature" not in headers  # no version is signed


def test_hostile_text_is_text_and_no_element_or_link_comes_from_a_tag(
    site: Path, tmp_path: Path
) -> None:
    for name in ("index.html", "models/llm.html"):
        page = load(site / name, tmp_path)
        dom = page.dom
        for tag in ("script", "img", "iframe", "object", "embed", "form", "base", "link"):
            assert dom.find(tag) is None, (name, tag)
        handlers = [
            (el.name, a) for el in dom.find_all(True) for a in el.attrs if a.startswith("on")
        ]
        assert handlers == []
        for a in dom.find_all("a"):
            href = a["href"]
            if href.startswith("https://"):
                assert re.fullmatch(r"https://github\.com/octo/app/(actions/runs/\d+|releases/tag/\S+)", href), href  # fmt: skip
                assert "noopener" in a["rel"]
            else:
                assert re.fullmatch(r"(\.\./)?(index\.html|registry\.json|models/[\w-]+\.html)", href), href  # fmt: skip
        assert "pwned" not in (dom.title.string or "") and dom.title.string.endswith(
            "champion registry"
        )
        assert page.requests == ()
    dom = load(site / "models" / "llm.html", tmp_path).dom
    # The foreign tag's message, word for word, as text: markdown, a mention, an issue reference.
    foreign = dom.select_one('li.event[data-tag="llm@v0.0.9"]')
    reason = foreign.select_one("p.reason")
    assert reason.get_text() == HOSTILE
    assert reason.find(True) is None  # not one element inside: no <script>, <img>, <a>, <strong>
    assert foreign.select("a") == []  # its javascript: run URL and evil.example pull request
    assert "pull request #3" in foreign.get_text()


def test_the_page_allows_no_request_and_the_check_sees_one_when_allowed(
    site: Path, tmp_path: Path
) -> None:
    """The network check can fail: a page that loads an image from a local server is caught, with
    the request seen by the server too; under the site's own policy the same image is blocked."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        pixel = f"http://127.0.0.1:{server.server_port}/pixel.png"
        html = (site / "models" / "llm.html").read_text()
        assert html.count('http-equiv="Content-Security-Policy"') == 1
        injected = html.replace("<body>", f'<body><img src="{pixel}">', 1)
        guarded = tmp_path / "guarded.html"
        guarded.write_text(injected)
        assert load(guarded, tmp_path).requests == ()
        assert seen == []

        policy = re.search(r'<meta http-equiv="Content-Security-Policy"[^>]*>', injected)
        assert policy is not None
        leaky = tmp_path / "leaky.html"
        leaky.write_text(injected.replace(policy.group(), ""))
        assert load(leaky, tmp_path).requests == (pixel,)
        assert seen == ["/pixel.png"]
    finally:
        server.shutdown()
        server.server_close()


def test_the_inline_stylesheet_applies_under_the_policy(site: Path, tmp_path: Path) -> None:
    """A page drawn with its stylesheet differs from one whose stylesheet the policy refused."""
    page = site / "index.html"
    styled, refused = tmp_path / "styled.png", tmp_path / "refused.png"
    screenshot(page, tmp_path, styled, (800, 600))
    broken = tmp_path / "broken.html"
    html = page.read_text()
    hashed = re.compile(r"sha256-[A-Za-z0-9+/]+=*")
    assert len(hashed.findall(html)) == 1
    broken.write_text(hashed.sub("sha256-AAAA", html))
    screenshot(broken, tmp_path, refused, (800, 600))
    assert styled.read_bytes() != refused.read_bytes()

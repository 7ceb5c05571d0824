"""The rendered comment: golden files for the main cases, and hostile report strings made inert."""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from champion.evaluation.report import problems
from champion.render.escape import mermaid_label
from champion.render.markdown import fit, marker, render_comment

HERE = Path(__file__).parent
REPORTS = sorted((HERE / "reports").glob("*.json"))
RUN_URL = "https://github.com/acme/churn/actions/runs/42"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / "reports" / f"{name}.json").read_text())
    return data


@pytest.mark.parametrize("path", REPORTS, ids=[p.stem for p in REPORTS])
def test_golden(path: Path) -> None:
    """UPDATE_GOLDEN=1 rewrites the golden files; read the diff before committing it."""
    report = json.loads(path.read_text())
    assert problems(report) is None
    body = render_comment(report, run_url=RUN_URL)
    golden = HERE / "golden" / f"{path.stem}.md"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(body)
    assert body == golden.read_text()


def test_the_main_cases_say_what_happened() -> None:
    assert "gate passed" in render_comment(load("passing"))
    failing = render_comment(load("failing"))
    assert "gate failed" in failing and "**Why the gate failed:**" in failing
    assert "initial version" in render_comment(load("initial"))
    assert "its metrics files" in render_comment(load("metrics_only"))
    many = render_comment(load("many_slices"))
    assert "not shown" in many
    assert 0 < many.count("| bucket = ") <= 10  # the slice table is capped


def test_marker_is_first_and_one_per_model_and_key() -> None:
    body = render_comment(load("passing"), key="nightly")
    assert body.startswith(marker("churn", "nightly") + "\n")
    assert marker("churn", "a") != marker("churn", "b") != marker("fraud", "b")
    assert marker("x -->evil", "k") == "<!-- champion:x_--_evil:k -->"


def test_fit_cuts_at_a_line_closes_blocks_and_says_so() -> None:
    body = (
        "<!-- m -->\n<details>\n```mermaid\n"
        + "\n".join("x" * 80 for _ in range(2000))
        + "\n```\n</details>\n"
    )
    cut = fit(body, 65_536)
    assert len(cut) <= 65_536
    assert cut.count("```") % 2 == 0
    assert cut.count("<details>") == cut.count("</details>")
    assert "cut to fit" in cut
    assert fit("short", 65_536) == "short"


HOSTILE = st.one_of(
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "@octocat",
            "@acme/admins",
            "#123",
            "GH-1",
            "[click](https://evil.example/x)",
            "![pixel](https://evil.example/p.png)",
            "https://evil.example",
            "www.evil.example",
            "a | b | c",
            "line\nbreak",
            "`code` ``",
            "</details><details open>",
            "<!-- champion:churn:default -->",
            "-->",
            "***",
            "\\",
            "x@y.com",
            "[ref]: https://evil.example",
            "javascript:alert(1)",
            "gpj\u202e.exe",
            "\u2066isolated\u2069 \u2067rtl\u2069 \u2068first\u2069",
            "zero\u200dwidth\ufeffbom\u061cmark\u200ejoin\u2060",
            "lone \ud800 surrogate \udfff",
        ]
    ),
    st.text(max_size=40),
)
# Nothing that hides or reorders text reaches the body (md's own zero-width spaces aside).
HIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069\u200c-\u200f\u2060\ufeff\u061c\ud800-\udfff]")


def _strings(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of the free-text strings of a report (not the ones the schema pins down)."""
    pinned = {
        "schema",
        "model",
        "format",
        "task",
        "sha256",
        "direction",
        "verdict",
        "bump",
        "passed",
        "created_at",
    }
    out: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k not in pinned and k != "commit":
                out += _strings(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _strings(v, (*path, i))
    elif isinstance(node, str) and "policy" not in path and "tool" not in path:
        out.append(path)
    return out


def _set(node: Any, path: tuple[Any, ...], value: str) -> None:
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


BASES = [load("failing"), load("many_slices"), load("metrics_only")]
TEMPLATE_TAGS = re.compile(
    r"<!-- champion:[A-Za-z0-9_./=-]+:[A-Za-z0-9_./=-]+ -->|</?details>|<summary>|</summary>"
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(BASES))), st.data())
def test_hostile_strings_stay_inert(base_index: int, data: st.DataObject) -> None:
    report = copy.deepcopy(BASES[base_index])
    for path in _strings(report):
        _set(report, path, data.draw(HOSTILE))
    if problems(report) is not None:
        return  # read_report would refuse it before rendering
    body = render_comment(report, run_url=RUN_URL)
    assert body.count("<!-- champion:") == 1
    assert not HIDDEN.search(body), body
    body.encode("utf-8")  # no lone surrogate
    # No raw HTML but the template's own.
    assert not re.search(r"<[A-Za-z/!?]", TEMPLATE_TAGS.sub("", body)), body
    # No live @mention or #reference.
    assert not re.search(r"(?<![\w\\])@(?!\u200b)[A-Za-z0-9]", body)
    assert not re.search(r"(?<![\w&])#(?!\u200b)\d", body)
    # No link or image but the run's own link; no bare URL but the run's.
    assert len(re.findall(r"(?<!\\)\]\(", body)) == 1
    assert re.findall(r"https?://\S+", body) == [RUN_URL + ")"]
    assert "www." not in body.lower()
    # Tables: every row of a table has the same number of cells as its header.
    tables: list[list[str]] = []
    previous_was_row = False
    for line in body.split("\n"):  # markdown's own line ends, not Python's splitlines()
        if line.startswith("|"):
            if not previous_was_row:
                tables.append([])
            tables[-1].append(line)
        previous_was_row = line.startswith("|")
    expected = 2 + (1 if "**Slices that regressed most**" in body else 0)
    assert len(tables) == expected
    for table in tables:
        # A pipe preceded by an even number of backslashes separates cells.
        cells = [len(re.findall(r"(?<!\\)(?:\\\\)*\|", row)) for row in table]
        assert len(set(cells)) == 1, table
        assert re.fullmatch(r"\|( ?:?-+:? ?\|)+", table[1].replace(" ", "")) or set(
            table[1]
        ) <= set("|-: ")


@pytest.mark.parametrize("path", REPORTS, ids=[p.stem for p in REPORTS])
def test_every_gated_metric_is_charted_on_a_scale_that_fits_it(path: Path) -> None:
    report = json.loads(path.read_text())
    charts = re.findall(r"```mermaid\n(.*?)```", render_comment(report), re.S)
    for m in report["metrics"]:
        if not m["rule"] or not isinstance(m["candidate"], (int, float)):
            continue
        (chart,) = [c for c in charts if mermaid_label(m["name"]) in c]
        axis = re.search(r"y-axis \S+ (\S+) --> (\S+)", chart)
        assert axis is not None
        low, high = float(axis[1]), float(axis[2])
        for side in ("champion", "candidate"):
            value = m[side]
            if isinstance(value, (int, float)):
                assert low <= value <= high, (m["name"], side, value, chart)


def test_a_regression_report_charts_rmse_and_latency_each_on_its_own_axis() -> None:
    body = render_comment(load("regression"))
    assert '"rmse: lower is better"' in body and '"latency_p95_ms: lower is better"' in body
    assert 'y-axis "rmse" 0 --> 27100' in body  # its own scale, not [0, 1]

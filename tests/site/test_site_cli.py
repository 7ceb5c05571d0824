"""`champion site` on a real repository (tests/site/conftest.py): registry.json says what the
registry's own readers say; bad input writes nothing; a rebuild converges."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from champion.git import Git
from testing.repos import make_repo, run_cli
from testing.site_registry import RELEASES, SERVER, Registry


def build(capsys: pytest.CaptureFixture[str], registry: Registry, out: Path, *args: str) -> Any:
    result = run_cli(capsys, registry.repo.path, "site", "--out", str(out), *args)
    assert result.code == 0, result.err
    assert f"{out.resolve() / 'index.html'}" in result.out
    return json.loads((out / "registry.json").read_text())


def cli_json(capsys: pytest.CaptureFixture[str], registry: Registry, *args: str) -> Any:
    result = run_cli(capsys, registry.repo.path, *args, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_registry_json_holds_what_status_versions_and_history_say(
    capsys: pytest.CaptureFixture[str],
    registry: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", SERVER)
    site = build(capsys, registry, tmp_path / "site")
    assert (site["schema"], site["kind"], site["gate_stage"]) == (1, "champion-site", "prod")
    by_name = {m["model"]: m for m in site["models"]}
    assert list(by_name) == ["llm", "models/fraud:fraud"]
    assert [m["folder"] for m in site["models"]] == ["", "models/fraud"]
    status = cli_json(capsys, registry, "status")
    for item in status["models"]:
        mine = by_name[item["model"]]
        assert mine["latest"] == item["latest"]
        for stage in ("staging", "prod"):
            theirs = item["stages"][stage]
            assert (mine["stages"][stage] or {}).get("version") == (theirs or {}).get("version")
    llm = by_name["llm"]
    assert llm["stages"]["prod"]["version"] == "0.1.1"
    assert llm["stages"]["prod"]["since"] is not None

    # Every tag of history, in its order, each in exactly one event.
    history = cli_json(capsys, registry, "history", "llm")
    assert [t for e in llm["events"] for t in e["tags"]] == [e["tag"] for e in history["events"]]
    kinds = [e["kind"] for e in llm["events"] if e["kind"] != "register"]
    assert kinds == ["promote", "promote", "promote", "promote", "rollback", "promote", "rollback", "deregister"]  # fmt: skip
    manual, automatic = [e for e in llm["events"] if e["kind"] == "rollback"]
    assert (manual["previous"], manual["version"], manual["automatic"]) == ("0.1.2", "0.1.1", False)
    assert (automatic["previous"], automatic["version"], automatic["automatic"]) == ("0.1.3", "0.1.1", True)  # fmt: skip
    assert manual["actor"] == "bob" and manual["reason"].startswith("<script>")
    assert automatic["evidence"]["breached"][0]["rule"] == "error_rate < 0.05"
    assert [r["value"] for r in automatic["evidence"]["breached"][0]["readings"]] == [0.2, 0.2]
    assert [r["rolled_back"] for r in llm["recent_rollbacks"]] == ["0.1.3", "0.1.2"]

    # Versions: the sha256 and size their tags recorded, the metrics their evaluation recorded.
    versions = cli_json(capsys, registry, "versions", "llm")["versions"]
    recorded = {v["version"]: v["metadata"].get("artifact") for v in versions}
    for v in llm["versions"]:
        if v["version"] != "0.0.9":
            assert v["artifact"]["sha256"] == recorded[v["version"]]["sha256"]
            assert v["artifact"]["size"] == recorded[v["version"]]["size"]
    metrics = {v["version"]: v["metrics"] for v in llm["versions"]}
    assert metrics["0.0.9"] == {}  # the foreign tag's "0.99" is a string, not a number
    for i, (accuracy, latency) in enumerate(RELEASES):
        assert metrics[f"0.1.{i}"] == {"accuracy": accuracy, "latency_ms": latency}
    assert [(m["name"], m["direction"]) for m in llm["metrics"]] == [
        ("accuracy", "higher"),
        ("latency_ms", "lower"),
    ]
    flags = {v["version"]: (v["rolled_back"], v["deregistered"]) for v in llm["versions"]}
    assert flags == {
        "0.0.9": (False, False),
        "0.1.0": (False, True),
        "0.1.1": (False, False),
        "0.1.2": (True, False),
        "0.1.3": (True, False),
    }

    # Links: only the runs the writes recorded, on the forge; nothing from the hostile tag.
    runs = {v["version"]: v["run_url"] for v in llm["versions"]}
    assert runs["0.1.1"] == "https://github.com/octo/app/actions/runs/102"
    assert runs["0.0.9"] is None
    foreign = next(v for v in llm["versions"] if v["version"] == "0.0.9")
    assert foreign["pull_request"] == {"number": 3, "url": None}
    assert foreign["release_url"] is None and foreign["artifact"]["sha256"] is None


def test_it_reads_the_refs_of_all_models_in_one_git_call(
    capsys: pytest.CaptureFixture[str],
    registry: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[list[str]] = []
    real = Git.for_each_ref

    def counted(self: Git, patterns: list[str]) -> Any:
        calls.append(list(patterns))
        return real(self, patterns)

    monkeypatch.setattr(Git, "for_each_ref", counted)
    build(capsys, registry, tmp_path / "site")
    assert calls == [
        [
            "refs/tags/llm@*",
            "refs/tags/llm#*",
            "refs/tags/models/fraud=fraud@*",
            "refs/tags/models/fraud=fraud#*",
        ]
    ]


def test_bad_input_writes_nothing(
    capsys: pytest.CaptureFixture[str], registry: Registry, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    result = run_cli(capsys, registry.repo.path, "site", "--out", str(out), "--models", "nope")
    assert result.code == 2
    assert "unknown model 'nope'" in result.err and "declared models: llm" in result.err
    assert not out.exists()

    afile = tmp_path / "file"
    afile.write_text("mine")
    result = run_cli(capsys, registry.repo.path, "site", "--out", str(afile))
    assert result.code == 2 and f"--out {afile} is a file" in result.err
    assert afile.read_text() == "mine"

    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "index.html").write_text("my own page")
    result = run_cli(capsys, registry.repo.path, "site", "--out", str(foreign))
    assert result.code == 2
    assert "is not empty and holds no site champion wrote" in result.err
    assert sorted(p.name for p in foreign.iterdir()) == ["index.html"]
    assert (foreign / "index.html").read_text() == "my own page"

    result = run_cli(capsys, registry.repo.path, "site", "--out", str(out), "--recent-days", "-1")
    assert result.code == 2 and "--recent-days must be 0 or more" in result.err


def test_a_rebuild_replaces_the_site_and_drops_the_pages_of_models_left_out(
    capsys: pytest.CaptureFixture[str], registry: Registry, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    site = build(capsys, registry, out)
    pages = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert pages == [
        "index.html",
        "models/llm.html",
        "models/models_2ffraud_3afraud.html",
        "registry.json",
    ]
    assert [m["page"] for m in site["models"]] == pages[1:3]
    (out / "models" / "notes.html").write_text("someone's own page")
    site = build(capsys, registry, out, "--models", "llm")
    assert [m["model"] for m in site["models"]] == ["llm"]
    assert not (out / "models" / "models_2ffraud_3afraud.html").exists()
    assert (out / "models" / "notes.html").read_text() == "someone's own page"
    assert "models/fraud" not in (out / "index.html").read_text()
    assert not [p for p in out.rglob(".*")]  # no temp file left behind


def test_an_empty_registry_gets_a_page_too_and_a_lightweight_tag_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    repo.git("tag", "churn@v9.9.9")  # lightweight: GTO and DVC ignore it, and so does champion
    out = tmp_path / "site"
    result = run_cli(capsys, repo.path, "site", "--out", str(out), "--models", "churn", "churn")
    assert result.code == 0, result.err
    assert "warning: tag churn@v9.9.9 is a lightweight tag and is ignored" in result.err
    site = json.loads((out / "registry.json").read_text())
    [churn] = site["models"]
    assert churn["events"] == [] and churn["latest"] is None
    assert churn["stages"] == {"staging": None, "prod": None}
    assert churn["warnings"][0].startswith("tag churn@v9.9.9 is a lightweight tag")
    page = (out / churn["page"]).read_text()
    assert "No event yet" in page and "is a lightweight tag and is ignored" in page


def test_the_site_loads_neither_github_code_nor_a_model_library() -> None:
    """ARCHITECTURE.md: rendering never loads a model; only commands reach GitHub code."""
    code = (
        "import sys, champion.commands.site, champion.site.data as d\n"
        "d.metric_list({'roc_auc': {}}, [], [])\n"
        "bad = ('github', 'champion.github', 'sklearn', 'joblib', 'skops', 'dvc')\n"
        "print(' '.join(m for m in sys.modules if m.split('.')[0] in bad or m.startswith(bad)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)  # fmt: skip
    assert proc.stdout.strip() == ""

"""The documentation site: it builds strict and offline, every command has its page, the actions'
tables and the champion.yaml reference match the code, and the pages name no request to leave."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from champion.config import load_config
from champion.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def champion_help(*words: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "champion", *words, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    return proc.stdout


def commands() -> list[str]:
    """The commands `champion --help` lists, read as a user reads them."""
    block = champion_help().split("positional arguments:", 1)[1].split("options:", 1)[0]
    return re.findall(r"^    ([a-z][a-z-]*)(?:\s{2,}|$)", block, re.M)


def nav_pages(nav: list[object]) -> set[str]:
    pages: set[str] = set()
    for item in nav:
        if isinstance(item, str):
            pages.add(item)
        elif isinstance(item, dict):
            for value in item.values():
                pages |= nav_pages(value) if isinstance(value, list) else {value}
    return pages


def mkdocs_config() -> dict[str, object]:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert isinstance(config, dict)
    return config


def build(tmp_path: Path, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mkdocs", reason="the docs need the dev extra: pip install -e '.[dev]'")
    pytest.importorskip("material", reason="the docs need the dev extra: pip install -e '.[dev]'")
    # A proxy that refuses everything: a plugin or hook that fetched at build time would fail.
    closed = "http://127.0.0.1:9"
    env = {**os.environ, "HTTP_PROXY": closed, "HTTPS_PROXY": closed, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "out")],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )


# --- every command has its page --------------------------------------------------------------


def test_every_command_in_the_help_has_a_page_in_the_nav_that_shows_its_help() -> None:
    names = commands()
    assert {"register", "release", "rollback", "site", "build", "changed", "watch"} <= set(names)
    in_nav = nav_pages(mkdocs_config()["nav"])  # type: ignore[arg-type]
    for name in names:
        page = DOCS / "commands" / f"{name}.md"
        assert page.is_file(), f"champion {name} has no page: write docs/commands/{name}.md"
        assert f"commands/{name}.md" in in_nav, f"docs/commands/{name}.md is not in the nav"
        assert f"<!-- champion:help {name} -->" in page.read_text(encoding="utf-8")


def test_the_build_fails_for_a_command_without_its_page(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("mkdocs.yml", "action.yml", "pyproject.toml"):
        shutil.copy2(ROOT / name, copy / name)
    for name in ("docs", "scripts", "actions", "workflows-examples", "bench"):
        shutil.copytree(ROOT / name, copy / name)
    (copy / "docs" / "commands" / "changed.md").unlink()
    config = (copy / "mkdocs.yml").read_text(encoding="utf-8")
    (copy / "mkdocs.yml").write_text(
        config.replace("          - changed: commands/changed.md\n", ""), encoding="utf-8"
    )
    proc = build(tmp_path, copy)
    assert proc.returncode != 0
    assert "commands without a page in the nav: changed (docs/commands/changed.md)" in proc.stderr


# --- the build --------------------------------------------------------------------------------


def test_the_site_builds_strict_offline_with_the_real_help_and_action_tables(
    tmp_path: Path,
) -> None:
    proc = build(tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    status = (out / "commands" / "status.html").read_text(encoding="utf-8")
    assert "$ champion status --help" in status
    assert "usage: champion status" in status
    actions = (out / "actions.html").read_text(encoding="utf-8")
    action_files = [ROOT / "action.yml", *sorted((ROOT / "actions").glob("*/action.yml"))]
    for path in action_files:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name in [*spec["inputs"], *spec["outputs"]]:
            assert f"<code>{name}</code>" in actions, f"{path.name}: {name} not on actions.html"
    # bench/README.md's sections are the benchmarks page's, one level down.
    benchmarks = (out / "benchmarks.html").read_text(encoding="utf-8")
    bench = (ROOT / "bench" / "README.md").read_text(encoding="utf-8")
    for script in re.findall(r"^# `(bench/[a-z_]+\.py)`", bench, re.M):
        assert re.search(rf"<h2 id=[^>]*>.*?{re.escape(script)}", benchmarks), script
    # The pages work from a file, offline: nothing they load comes from another host.
    for page in out.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        loads = re.findall(r"<(?:script|link|img)\b[^>]*?(?:src|href)=\"([^\"]+)\"", html)
        remote = [u for u in loads if re.match(r"(https?:)?//", u)]
        assert remote == [], f"{page.relative_to(out)} loads {remote}"


# --- the champion.yaml reference matches the schema --------------------------------------------


def known_keys(tmp_path: Path, text: str, file: str = "champion.yaml") -> list[str]:
    """The keys the schema knows where `zzz` stands, as its "unknown key" error lists them."""
    (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / file).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)
    (tmp_path / file).unlink()
    match = re.search(r"known keys: (.*)$", str(raised.value))
    assert match, str(raised.value)
    return match.group(1).split(", ")


def schema_keys(tmp_path: Path) -> set[str]:
    model = "models:\n  m:\n    path: m.joblib\n"
    where = {
        "": "zzz: 1\n",
        "models.NAME.": model + "    zzz: 1\n",
        "models.NAME.data.": model + "    data: {path: d.csv, target: y, zzz: 1}\n",
        "models.NAME.metrics[].": model + "    metrics: [{name: n, direction: higher, zzz: 1}]\n",
        "models.NAME.stats.": model + "    stats: {zzz: 1}\n",
        "models.NAME.release.": model + "    release: {zzz: 1}\n",
        "models.NAME.gate.METRIC.": model + "    gate: {roc_auc: {zzz: 1}}\n",
        "models.NAME.gate.slices.": model + "    gate: {slices: {zzz: 1}}\n",
        "models.NAME.gate.policy.": model + "    gate: {policy: {zzz: 1}}\n",
        "policy.STAGE.": model + "policy: {prod: {zzz: 1}}\n",
    }
    keys = {prefix + key for prefix, text in where.items() for key in known_keys(tmp_path, text)}
    dvc = "artifacts:\n  m:\n    path: m.joblib\n    zzz: 1\n"
    keys |= {f"artifacts.NAME.{key}" for key in known_keys(tmp_path, dvc, "dvc.yaml")}
    return keys


def documented_keys() -> set[str]:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `([a-zA-Z_.\[\]A-Z]+)` \|", text, re.M))


def test_the_champion_yaml_reference_documents_every_key_and_invents_none(tmp_path: Path) -> None:
    schema = schema_keys(tmp_path)
    assert {"stages", "models.NAME.pointer", "models.NAME.gate.policy.missing"} <= schema
    documented = documented_keys()
    assert schema - documented == set(), "keys the schema knows and docs/configuration.md lacks"
    assert documented - schema == set(), "keys docs/configuration.md has and the schema lacks"


def champion_yaml_examples() -> list[tuple[str, str]]:
    """Every YAML block of the docs and the README that is a whole champion.yaml (it declares
    `models:` at its top level), with the page it is on."""
    found = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("**/*.md"))]:
        for block in re.findall(r"```yaml\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            if re.search(r"^models:", block, re.M) and "--8<--" not in block:
                found.append((page.relative_to(ROOT).as_posix(), block))
    return found


def test_every_champion_yaml_example_in_the_docs_loads(tmp_path: Path) -> None:
    examples = champion_yaml_examples()
    pages = {page for page, _ in examples}
    assert {"README.md", "docs/configuration.md", "docs/evaluation.md"} <= pages
    for page, block in examples:
        (tmp_path / "champion.yaml").write_text(block, encoding="utf-8")
        try:
            config = load_config(tmp_path)
        except ConfigError as e:
            raise AssertionError(f"{page}: an example champion.yaml does not load: {e}") from e
        assert config.models, page


def test_the_reference_example_sets_every_section(tmp_path: Path) -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert example is not None
    (tmp_path / "champion.yaml").write_text(example.group(1), encoding="utf-8")
    config = load_config(tmp_path)
    assert config.stages == ("staging", "prod")
    churn = config.model("churn")
    assert churn.pointer == "s3://bucket/champion/churn"
    assert set(churn.sections) >= {"train", "inputs", "data", "metrics", "stats", "gate", "release"}

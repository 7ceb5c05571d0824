"""Hostile champion.yaml and report.json (issue 14 item 5): bounded and validated before use, exit 2
naming the file and the key or line, never 1 (the gate's code) or 3 (a bug), never a hang."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from champion import untrusted
from champion.config import MAX_MODELS, load_config
from champion.errors import ChampionError, ConfigError
from testing.releases import Capsys
from testing.repos import make_repo, run_cli

REPORTS = Path(__file__).parent / "render" / "reports"
HIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069\u200c-\u200f\u2060\ufeff\u061c\ud800-\udfff]")


def laughs(levels: int = 9) -> str:
    """ "Billion laughs": 9 ** levels values from a few hundred bytes."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nmodels: {{churn: {{path: m.bin, labels: *l{levels - 1}}}}}\n"


GATE = "models:\n  churn:\n    path: m.bin\n    gate:\n      roc_auc: {{max_regression: {}}}\n"
HOSTILE_CONFIGS = {
    "recursive alias": ("a: &a [*a]\nmodels: {}\n", ["champion.yaml:1:", "refers to itself"]),
    "recursive mapping": ("models: &m {churn: *m}\n", ["champion.yaml:1:", "refers to itself"]),
    "billion laughs": (laughs(), ["champion.yaml:", "more than 200,000 values"]),
    "nan tolerance": (
        GATE.format(".nan"),
        ["champion.yaml:5:", "models.churn.gate.roc_auc.max_regression must be a finite number"],
    ),
    "inf tolerance": (GATE.format("-.inf"), ["champion.yaml:5:", "finite number", "inf"]),
    "huge exponent": (GATE.format("1e999"), ["champion.yaml:5:", "finite number"]),
    "5000-digit number": (GATE.format("1" * 5000), ["champion.yaml:5:", "5000 characters"]),
    "5000-digit seed": (
        f"models:\n  churn:\n    path: m.bin\n    stats: {{seed: {'9' * 5000}}}\n",
        ["champion.yaml:4:", "a number of 5000 characters"],
    ),
    "deep nesting": ("x: " + "[" * 200 + "]" * 200 + "\n", ["champion.yaml:1:", "nested"]),
    "too many models": (
        "models:\n" + "".join(f"  m{i}: {{path: m.bin}}\n" for i in range(MAX_MODELS + 1)),
        ["champion.yaml:1:", f"{MAX_MODELS + 1:,} models declared"],
    ),
    "a huge file": ("# " + "x" * (1 << 20) + "\nmodels: {}\n", ["champion.yaml is over 1 MiB"]),
    "unhashable key": ("models:\n  ? [a, b]\n  : {path: m.bin}\n", ["champion.yaml:", "YAML"]),
    "NUL in a path": (
        'models:\n  churn: {path: "m\\0.bin"}\n',
        ["champion.yaml:2:", "models.churn.path 'm\\x00.bin' holds a control character"],
    ),
    "line break in a pointer": (
        'models:\n  churn: {path: m.bin, pointer: "a\\nb"}\n',
        ["champion.yaml:2:", "models.churn.pointer 'a\\nb' holds a control character"],
    ),
    "python object": ("models: !!python/object:os.system {}\n", ["champion.yaml:1:", "YAML"]),
    "bidi model name": (
        "models:\n  ch\u202eurn: {path: m.bin}\n",
        ["champion.yaml:2:", "<U+202E>"],
    ),
}


@pytest.mark.parametrize(("config", "needles"), HOSTILE_CONFIGS.values(), ids=HOSTILE_CONFIGS)
def test_a_hostile_champion_yaml_exits_2_naming_the_file_and_line(
    tmp_path: Path, capsys: Capsys, config: str, needles: list[str]
) -> None:
    repo = make_repo(tmp_path, config=None)
    (repo.path / "champion.yaml").write_text(config, encoding="utf-8")
    for command in (["status"], ["register", "churn"], ["evaluate", "churn"]):
        result = run_cli(capsys, repo.path, *command)
        assert result.code == 2, (command, result.err)
        assert result.err.startswith("error: "), result.err
        for needle in needles:
            assert needle in result.err, (needle, result.err)
        assert not HIDDEN.search(result.err)
    assert repo.tags() == []


def test_the_same_bounds_hold_for_dvc_yaml(tmp_path: Path, capsys: Capsys) -> None:
    repo = make_repo(tmp_path, config=None)
    (repo.path / "dvc.yaml").write_text(laughs() + "artifacts: {}\n")
    result = run_cli(capsys, repo.path, "status")
    assert result.code == 2
    assert "dvc.yaml:" in result.err and "200,000 values" in result.err


# Fragments an attacker (or a typo) puts in a YAML file; assembled at random below.
FRAGMENTS = [
    "&a",
    "*a",
    "&b [*a, *a, *a]",
    "*b",
    ".nan",
    "-.inf",
    "1e999",
    "9" * 5000,
    "!!python/object:os.system",
    "!!binary aGk=",
    "? [x]",
    "{",
    "[",
    ": :",
    "- -",
    "~",
    "\u202e\ufeff",
    "\ud800",
    "'",
    '"\\x00"',
    "<<: *a",
    "models:",
    "churn:",
    "path: m.bin",
    "gate:",
    "roc_auc: {max_regression: *a}",
    "stats: {seed:",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6),
            st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=4),
        ),
        max_size=12,
    )
)
def test_any_yaml_loads_or_is_a_config_error(lines: list[tuple[int, list[str]]]) -> None:
    text = "\n".join(" " * indent + " ".join(words) for indent, words in lines)
    try:
        config = untrusted.load_yaml(text, "champion.yaml")
    except untrusted.UntrustedInput:
        return
    assert config is None or isinstance(config, (dict, list, str, int, float, bool, bytes))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 6),
            st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=4),
        ),
        max_size=12,
    )
)
def test_any_champion_yaml_is_a_config_or_a_config_error(
    tmp_path_factory: pytest.TempPathFactory, lines: list[tuple[int, list[str]]]
) -> None:
    root = tmp_path_factory.mktemp("yaml")
    text = "\n".join(" " * indent + " ".join(words) for indent, words in lines)
    (root / "champion.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(ConfigError):  # anything else fails the test
        load_config(root)


# --- report.json ---------------------------------------------------------------------------------


def base_report() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REPORTS / "failing.json").read_text())
    return data


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def number(key: str, text: str) -> str:
    """The report's JSON with the first number of `key` written as `text`."""
    found, count = re.subn(rf'"{key}": -?[0-9][0-9.e+-]*', f'"{key}": {text}', REPORT, count=1)
    assert count == 1, key
    return found


REPORT = json.dumps(base_report())
HOSTILE_REPORTS = {  # raw JSON text, and what the refusal names
    "NaN": (number("delta", "NaN"), "metrics/0/delta is nan"),
    "Infinity": (number("candidate", "-Infinity"), "is -inf"),
    "1e999": (number("rows", "1e999"), "data/rows is inf"),
    "5000 digits": (number("rows", "7" * 5000), "a number of 5000 digits"),
    "200k deep": (json.dumps(base_report())[:-1] + f', "x": {deep(200_000)}}}', "nested"),
    "100 deep": (json.dumps(base_report())[:-1] + f', "x": {deep(100)}}}', "nested"),
    "not JSON": ("{'model': 'churn'}", "not valid JSON"),
    "not UTF-8": ('{"model": "\udcff"}', "not valid JSON"),
}


@pytest.mark.parametrize(("text", "needle"), HOSTILE_REPORTS.values(), ids=HOSTILE_REPORTS)
def test_a_hostile_report_exits_2_naming_the_report(
    tmp_path: Path, capsys: Capsys, text: str, needle: str
) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))  # "\udcff" becomes the byte 0xff
    result = run_cli(capsys, tmp_path, "summary", "--report", str(path))
    assert result.code == 2, result.err
    assert result.err.startswith(f"error: report {path}"), result.err
    assert needle in result.err, result.err


STRINGS = st.sampled_from(
    [
        "gpj\u202e.exe",
        "\u2066isolate\u2069",
        "zero\u200dwidth\ufeff",
        "arabic\u061cmark",
        "lone \ud800 surrogate",
        "\x1b[2J\x1b]0;pwned\x07",
        "@octocat #1",
    ]
) | st.text(max_size=20)
NUMBERS = st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 10**30]) | st.floats()


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(node, list):
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, (*path, i))]
    return [(path, node)]


# run_cli reads capsys empty before each run: sharing it across examples is safe.
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_any_report_renders_sanely_or_exits_2(
    tmp_path_factory: pytest.TempPathFactory, capsys: Capsys, data: st.DataObject
) -> None:
    report = copy.deepcopy(base_report())
    leaves = _leaves(report)
    for _ in range(data.draw(st.integers(1, 8))):
        path, value = data.draw(st.sampled_from(leaves))
        new = data.draw(STRINGS if isinstance(value, str) else NUMBERS)
        node = report
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = new
    folder = tmp_path_factory.mktemp("report")
    target = folder / "report.json"
    target.write_text(json.dumps(report), encoding="utf-8", errors="surrogatepass")
    result = run_cli(capsys, folder, "summary", "--report", str(target))
    assert result.code in (0, 2), result.err
    shown = result.out + result.err
    shown.encode("utf-8")
    assert not HIDDEN.search(shown)
    assert "\x1b" not in shown
    if result.code == 0:
        assert not re.search(r"\b(nan|inf)\b", result.out.lower()), result.out


def test_untrusted_json_bounds() -> None:
    assert untrusted.load_json('{"a": [1, 2.5, "x"]}', "t") == {"a": [1, 2.5, "x"]}
    with pytest.raises(ChampionError, match="t: a/1 is inf"):
        untrusted.load_json('{"a": [1, 1e999]}', "t")
    assert math.isnan(untrusted.load_json("[NaN]", "t", finite=False)[0])
    with pytest.raises(ChampionError, match="nested more than 64"):
        untrusted.load_json(deep(65), "t")
    assert untrusted.load_json(deep(63), "t") is not None


def test_yaml_that_is_big_but_not_expanding_loads() -> None:
    """The bounds count values after expansion: a plain 1,000-model file is fine."""
    text = yaml.safe_dump({"models": {f"m{i}": {"path": "m.bin"} for i in range(1000)}})
    assert len(untrusted.load_yaml(text, "champion.yaml")["models"]) == 1000


def test_the_same_bounds_hold_for_a_dvc_file_at_the_commit(tmp_path: Path, capsys: Capsys) -> None:
    # The .dvc file champion reads to find a DVC-tracked artifact's md5 comes from the commit
    # being registered, so a pull request can write it: an alias bomb there is refused, bounded,
    # naming the file, and no tag is written.
    repo = make_repo(tmp_path)
    repo.git("rm", "-q", "models/churn.bin")
    aliases = laughs().rsplit("\nmodels:", 1)[0]
    bomb = aliases + "\nouts: [{md5: 0123456789abcdef0123456789abcdef, path: churn.bin, x: *l8}]\n"
    repo.commit_artifact(bomb, path="models/churn.bin.dvc", message="a hostile .dvc file")
    result = run_cli(capsys, repo.path, "register", "churn")
    assert result.code == 2, result.err
    assert "models/churn.bin.dvc at " in result.err and "200,000 values" in result.err
    assert not HIDDEN.search(result.err)
    assert repo.tags() == []

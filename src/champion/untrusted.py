"""Reading documents others may have written (champion.yaml and dvc.yaml from a pull request,
report.json from a fork's artifact, metrics files, pointers), bounded before anything uses them.

YAML aliases let a 1 KB file stand for billions of values ("billion laughs") or for itself (a
recursive alias); JSON nests as deep as it likes; both spell numbers with thousands of digits, and
JSON as NaN and Infinity. The readers here cap the values after alias expansion, the depth and the
digits of a number, and refuse NaN and infinities where asked, naming the file and the line (YAML)
or the key path (JSON), before the caller sees any data. Callers cap the file's size first.
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml

from champion.errors import ChampionError

MAX_VALUES = 200_000  # after alias expansion; a champion.yaml of 1,000 models has ~30,000
MAX_DEPTH = 64  # the deepest document champion reads nests about 8 levels
MAX_DIGITS = 64  # a float64 needs 17 significant digits; a counter, 19

# libyaml's loader when it is there: the same results, several times faster.
Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


class UntrustedInput(ChampionError):
    """A document too big, too deep or too strange to read."""


def yaml_loader(text: str, source: str) -> Any:
    """A Loader over `text` (dispose of it after use)."""
    try:
        return Loader(text)
    except UnicodeError as e:  # libyaml encodes the text first: a lone surrogate cannot be
        raise UntrustedInput(f"{source}: not valid Unicode text ({e})") from e


def yaml_node(loader: Any, source: str) -> yaml.Node | None:
    """The document's node graph from `loader` (a Loader over the text), checked: no recursive
    alias, at most MAX_VALUES values once aliases are expanded, nested at most MAX_DEPTH deep, no
    number longer than MAX_DIGITS characters. Raises UntrustedInput naming the line."""
    try:
        node: yaml.Node | None = loader.get_single_node()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise UntrustedInput(f"{source}{where}: invalid YAML: {problem}") from e
    except RecursionError as e:  # the pure-Python parser, on a deeply nested document
        raise UntrustedInput(f"{source}: nested too deep to be read") from e
    if node is not None:
        _check_graph(node, source)
    return node


def _check_graph(root: yaml.Node, source: str) -> None:
    # Iterative: a recursive walk is what a deep or self-referencing document breaks.
    values = 0
    ancestors: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, leaving = stack.pop()
        if leaving:
            ancestors.discard(id(node))
            continue
        line = node.start_mark.line + 1
        if id(node) in ancestors:
            raise UntrustedInput(f"{source}:{line}: a YAML alias refers to itself: remove it")
        values += 1
        if values > MAX_VALUES:
            raise UntrustedInput(
                f"{source}:{line}: more than {MAX_VALUES:,} values once its YAML aliases are "
                "expanded: is it really a configuration file? Write the values out"
            )
        if depth > MAX_DEPTH:
            raise UntrustedInput(f"{source}:{line}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.ScalarNode):
            if node.tag in _NUMBER_TAGS and len(node.value) > MAX_DIGITS:
                raise UntrustedInput(
                    f"{source}:{line}: a number of {len(node.value)} characters; at most "
                    f"{MAX_DIGITS} are read"
                )
            continue
        ancestors.add(id(node))
        stack.append((node, depth, True))
        children = (
            [child for pair in node.value for child in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        stack += [(child, depth + 1, False) for child in reversed(children)]


def load_yaml(text: str, source: str) -> Any:
    """Plain data from YAML text, bounded as `yaml_node` says."""
    loader = yaml_loader(text, source)
    try:
        node = yaml_node(loader, source)
        return loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UntrustedInput(f"{source}{where}: invalid YAML: {getattr(e, 'problem', e)}") from e
    finally:
        loader.dispose()


def load_json(text: str | bytes, source: str, *, finite: bool = True) -> Any:
    """Plain data from JSON text: numbers of at most MAX_DIGITS characters, nested at most
    MAX_DEPTH deep, and with `finite`, no NaN or infinity (JSON has none; Python's reader takes
    `NaN`, `Infinity` and 1e999 all the same)."""

    def integer(digits: str) -> int:
        if len(digits) > MAX_DIGITS:
            raise UntrustedInput(
                f"{source}: a number of {len(digits)} digits; at most {MAX_DIGITS} are read"
            )
        return int(digits)

    try:
        data = json.loads(text, parse_int=integer)
    except UntrustedInput:
        raise
    except RecursionError as e:
        raise UntrustedInput(f"{source}: nested more than {MAX_DEPTH} levels deep") from e
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError and float overflow alike
        raise UntrustedInput(f"{source} is not valid JSON: {e}") from e
    _check_tree(data, source, finite)
    return data


def _check_tree(root: Any, source: str, finite: bool) -> None:
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(root, ())]
    while stack:
        value, path = stack.pop()
        if len(path) >= MAX_DEPTH:
            raise UntrustedInput(f"{source}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            stack += [(v, (*path, k)) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, (*path, i)) for i, v in enumerate(value)]
        elif finite and isinstance(value, float) and not math.isfinite(value):
            where = "/".join(str(p) for p in path) or "(top level)"
            raise UntrustedInput(f"{source}: {where} is {value}, which JSON has no number for")

"""champion.yaml's schema and the checker that reads a YAML document against it: every error
names the file, the line and the key, and suggests the key that was probably meant."""

from __future__ import annotations

import math
import re
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from champion import untrusted
from champion.config.policy import KEYS as POLICY_KEYS
from champion.errors import ConfigError, RegistryError
from champion.loading import FORMATS
from champion.loading.custom import REFERENCE

CONFIG_FILE = "champion.yaml"
MAX_BYTES = 1 << 20  # champion.yaml and each dvc.yaml; a 1,000-model champion.yaml is ~100 KiB

KeyPath = tuple[str | int, ...]


class Spec:
    what = "a value"
    plural = "values"

    def check(self, value: Any) -> bool:
        return True


class Type(Spec):
    def __init__(self, types: tuple[type, ...], noun: str, nullable: bool = False) -> None:
        self.types, self.nullable = types, nullable
        self.what, self.plural = f"a {noun}", f"{noun}s"

    def check(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        # YAML's .nan and .inf are floats; no tolerance, floor or seed is one.
        if isinstance(value, float) and not math.isfinite(value):
            return False
        # bool is an int in Python; YAML `yes` must not pass for a number.
        return isinstance(value, self.types) and not (
            isinstance(value, bool) and bool not in self.types
        )


class OneOf(Spec):
    def __init__(self, *choices: str) -> None:
        self.choices = choices
        self.what = "one of " + ", ".join(choices)

    def check(self, value: Any) -> bool:
        return value in self.choices


class Reference(Spec):
    what = "a 'package.module:function' reference"

    def check(self, value: Any) -> bool:
        return isinstance(value, str) and REFERENCE.match(value) is not None


class Sign(Spec):
    """`release.sign`: true (a key), false, or how to sign."""

    what = "true, false, key or sigstore"

    def check(self, value: Any) -> bool:
        return isinstance(value, bool) or value in ("key", "sigstore")


class Between(Spec):
    """A number within bounds; `whole` asks for an integer (a count, a seed). A bootstrap of
    millions of resamples would run for hours and a confidence of 1 has no interval: both are
    refused on load rather than met halfway through an evaluation."""

    def __init__(self, low: float, high: float, what: str, *, whole: bool = False) -> None:
        self.low, self.high, self.whole, self.what = low, high, whole, what

    def check(self, value: Any) -> bool:
        if not NUMBER.check(value) or (self.whole and not isinstance(value, int)):
            return False
        return bool(self.low <= value <= self.high)


class ListOf(Spec):
    def __init__(self, item: Spec) -> None:
        self.item = item
        self.what = f"a list of {item.plural}"


class MapOf(Spec):
    """A mapping with free keys (model names, metric names)."""

    def __init__(self, value: Spec, what: str = "a mapping") -> None:
        self.value, self.what = value, what


class Fields(Spec):
    def __init__(
        self, fields: dict[str, Spec], required: tuple[str, ...] = (), what: str = "a mapping"
    ) -> None:
        self.fields, self.required, self.what = fields, required, what


STR = Type((str,), "string")
OPT_STR = Type((str,), "string", nullable=True)
NUMBER = Type((int, float), "finite number")
BOOL = Type((bool,), "boolean")
ANY = Spec()

GATE_RULE = Fields(
    {
        "min": NUMBER,
        "max": NUMBER,
        "max_regression": NUMBER,
        "max_regression_rel": NUMBER,
        "min_improvement": NUMBER,
        "min_improvement_rel": NUMBER,
        "significance": BOOL,
    }
)


class StrOr(Spec):
    """A plain string, or a mapping with the given fields (a custom metric)."""

    def __init__(self, mapping: Fields, what: str) -> None:
        self.mapping, self.what, self.plural = mapping, what, what


METRIC = StrOr(
    Fields(
        {
            "name": STR,
            "function": STR,
            "direction": OneOf("higher", "lower"),
            "input": OneOf("labels", "proba", "values"),
        },
        required=("name", "direction"),
    ),
    "metric names or {name, function, direction, input} mappings",
)
GATE_POLICY = Fields(
    {
        "first_model": OneOf("values", "pass", "fail"),
        "missing": OneOf("fail", "skip"),
        "zero_baseline": OneOf("absolute", "fail", "pass"),
    }
)
MODEL = Fields(
    {
        "path": STR,
        "description": STR,
        "labels": ListOf(STR),
        "train": STR,
        "inputs": ListOf(STR),
        "format": OneOf(*FORMATS),
        "loader": Reference(),
        "task": OneOf("classification", "regression"),
        "data": Fields(
            {
                "path": STR,
                "target": STR,
                "slices": ListOf(STR),
                "weight": OPT_STR,
                "dtypes": MapOf(STR, "a mapping of column names to dtypes"),
            },
            required=("path", "target"),
        ),
        "metrics": ListOf(METRIC),
        "gate": MapOf(ANY, "a mapping of metric names to rules"),
        "stats": Fields(
            {
                "confidence": Between(0.5, 0.999, "a number from 0.5 to 0.999, e.g. 0.95"),
                "resamples": Between(10, 100_000, "a whole number from 10 to 100000", whole=True),
                "seed": Between(0, 2**32 - 1, "a whole number from 0 to 4294967295", whole=True),
            },
        ),
        "trusted_types": ListOf(STR),
        "release": Fields(
            {"promote": STR, "bump": OneOf("auto", "major", "minor", "patch"), "sign": Sign()}
        ),
        "pointer": STR,
    }
)
TOP = Fields(
    {
        "stages": ListOf(STR),
        "gate_stage": STR,
        "first_version": STR,
        "models": MapOf(MODEL, "a mapping of model names to their settings"),
        # The values' meaning (stages, durations, logins) is config/policy.py's to check.
        "policy": MapOf(Fields(dict.fromkeys(POLICY_KEYS, ANY)), "a mapping of stages to rules"),
        "signing": Fields({"required": BOOL, "public_key": STR, "identity": STR, "issuer": STR}),
    }
)
SLICE_GATE = Fields({"min_size": NUMBER, "rules": MapOf(GATE_RULE)})


def did_you_mean(word: str, choices: Any) -> str:
    import difflib  # only on the error path; it is slow to import

    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def dotted(path: KeyPath) -> str:
    return ".".join(str(p) for p in path) or "the top level"


class Document:
    """YAML parsed once, keeping the line of every key so errors can point at it. The node graph
    is bounded (aliases, depth, digits: champion.untrusted) before any value is built from it."""

    def __init__(self, text: str, filename: str) -> None:
        self.filename = filename
        self.lines: dict[KeyPath, int] = {}
        try:
            loader = untrusted.yaml_loader(text, filename)
        except untrusted.UntrustedInput as e:
            raise ConfigError(str(e)) from e
        try:
            node = untrusted.yaml_node(loader, filename)
            self.data = loader.construct_document(node) if node is not None else None
        except untrusted.UntrustedInput as e:
            raise ConfigError(str(e)) from e
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f":{mark.line + 1}" if mark is not None else ""
            problem = getattr(e, "problem", None) or str(e)
            raise ConfigError(f"{filename}{where}: invalid YAML: {problem}") from e
        finally:
            loader.dispose()
        if node is not None:
            self._index(node, ())

    def _index(self, node: yaml.Node, path: KeyPath) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen:
                    raise ConfigError(
                        f"{self.filename}:{key_node.start_mark.line + 1}: key {dotted((*path, key))!r} "
                        "appears twice: keep one"
                    )
                seen.add(key)
                key_path: KeyPath = (*path, key)
                self._index(value_node, key_path)
                self.lines[key_path] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(item, (*path, i))

    def error(self, path: KeyPath, message: str) -> ConfigError:
        line = self.lines.get(path)
        while line is None and path:
            path = path[:-1]
            line = self.lines.get(path)
        where = f":{line}" if line else ""
        return ConfigError(f"{self.filename}{where}: {message}")

    def validate(self, value: Any, spec: Spec, path: KeyPath) -> None:
        if isinstance(spec, Fields):
            self._expect(isinstance(value, dict), value, spec, path)
            for key in value:
                if key not in spec.fields:
                    hint = did_you_mean(str(key), spec.fields)
                    raise self.error(
                        (*path, key),
                        f"unknown key {key!r} in {dotted(path)}{hint}; "
                        f"known keys: {', '.join(spec.fields)}",
                    )
                self.validate(value[key], spec.fields[key], (*path, key))
            for key in spec.required:
                if key not in value:
                    raise self.error(path, f"{dotted(path)} needs {key!r}")
        elif isinstance(spec, MapOf):
            self._expect(isinstance(value, dict), value, spec, path)
            for key, item in value.items():
                self.validate(item, spec.value, (*path, key))
        elif isinstance(spec, StrOr):
            if not isinstance(value, str):
                self._expect(isinstance(value, dict), value, spec, path)
                self.validate(value, spec.mapping, path)
        elif isinstance(spec, ListOf):
            self._expect(isinstance(value, list), value, spec, path)
            for i, item in enumerate(value):
                self.validate(item, spec.item, (*path, i))
        else:
            self._expect(spec.check(value), value, spec, path)

    def _expect(self, ok: bool, value: Any, spec: Spec, path: KeyPath) -> None:
        if not ok:
            got = "nothing" if value is None else f"{type(value).__name__} {value!r}"
            raise self.error(path, f"{dotted(path)} must be {spec.what}, got {got}")


def read(path: Path, filename: str) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError(
                f"{filename} is over {MAX_BYTES >> 20} MiB: is it really a configuration file?"
            )
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {filename}: {e}") from e


def checked(doc: Document, path: KeyPath, check: Any, value: Any) -> Any:
    try:
        return check(value)
    except RegistryError as e:
        raise doc.error(path, f"{dotted(path)}: {e}") from e


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_text(doc: Document, path: KeyPath, value: str) -> None:
    # A NUL makes every file call fail ("embedded null byte"); a line break splits the outputs
    # and annotations a path is written into. No file name champion reads holds either.
    if CONTROL.search(value):
        raise doc.error(path, f"{dotted(path)} {value!r} holds a control character: remove it")


def check_relative(doc: Document, path: KeyPath, value: str) -> None:
    check_text(doc, path, value)
    p = PurePosixPath(value)
    if p.is_absolute() or ".." in p.parts:
        raise doc.error(
            path,
            f"{dotted(path)} {value!r} must be a path inside the repository, relative to its root",
        )

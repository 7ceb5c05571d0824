"""The tag grammar, GTO-compatible, in one place: parsing and formatting are each other's inverse.

| event       | tag                    |
| register    | churn@v1.4.0           |
| deregister  | churn@v1.4.0!          |
| assign      | churn#prod#7           |
| unassign    | churn#prod!#8          |
| monorepo    | models/churn=churn@v1.4.0 (the model is named `models/churn:churn`) |

GTO also writes `NAME@vX.Y.Z!#N` (deregister with a counter) and `NAME@deprecated#N`; both parse.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import total_ordering

from champion.errors import RegistryError

SEPARATOR_IN_NAME = ":"
SEPARATOR_IN_TAG = "="

# GTO's grammar (gto/constants.py), with one difference that keeps champion honest: digits are
# ASCII only (`[0-9]`, never `\d`, which matches any Unicode digit). GTO's own counter is `[0-9]+`
# and its versions go through the semver package, which refuses other digits too.
_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-/_]*[a-zA-Z0-9])?"
_DIRNAME = r"[a-zA-Z0-9\-_./]+"
_NUM = r"(?:0|[1-9][0-9]*)"
_IDENT = rf"(?:{_NUM}|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
_SEMVER = (
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<prerelease>{_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
# A number longer than this is refused: Python will not even turn 5000 digits into an int, and no
# registry needs a counter or version number past 10^30.
MAX_DIGITS = 30

NAME_RE = re.compile(rf"^{_NAME}$")
MODEL_RE = re.compile(rf"^(?:{_DIRNAME}{SEPARATOR_IN_NAME})?{_NAME}$")
VERSION_RE = re.compile(rf"^v?{_SEMVER}$")
# GTO's counter is `[0-9]+`: leading zeros parse (`#007` is 7).
TAG_RE = re.compile(
    rf"^(?P<model>(?:{_DIRNAME}{SEPARATOR_IN_TAG})?{_NAME})"
    rf"(?:(?:#(?P<stage>{_NAME})|@v(?P<version>{_SEMVER}))(?P<cancel>!?)|@(?P<deprecated>deprecated))"
    r"(?:#(?P<counter>[0-9]+))?$"
)
_NUMBERS = re.compile(r"[0-9]+")


def _too_long(text: str) -> bool:
    return any(len(m) > MAX_DIGITS for m in _NUMBERS.findall(text))


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: str = ""
    build: str = ""

    @classmethod
    def parse(cls, text: str) -> Version:
        """Accepts `1.2.3` and `v1.2.3`."""
        m = VERSION_RE.match(text.strip())
        if m is None:
            raise RegistryError(
                f"invalid version {text!r}: use semantic versioning MAJOR.MINOR.PATCH, e.g. 1.4.0"
            )
        if _too_long(text):
            raise RegistryError(
                f"invalid version {text[:40]!r}...: a number longer than {MAX_DIGITS} digits"
            )
        return cls(
            int(m["major"]),
            int(m["minor"]),
            int(m["patch"]),
            m["prerelease"] or "",
            m["build"] or "",
        )

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += f"-{self.prerelease}"
        if self.build:
            text += f"+{self.build}"
        return text

    @property
    def tag_form(self) -> str:
        return f"v{self}"

    def bump(self, part: str) -> Version:
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        if part == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise RegistryError(f"invalid bump {part!r}: use major, minor or patch")

    def _key(self) -> tuple[int, int, int, tuple[tuple[int, int, str], ...]]:
        # Semver precedence: a pre-release sorts before its release; build metadata is ignored.
        if not self.prerelease:
            pre: tuple[tuple[int, int, str], ...] = ((2, 0, ""),)
        else:
            pre = tuple(
                (0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease.split(".")
            )
        return (self.major, self.minor, self.patch, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()


FIRST_VERSION = Version(0, 1, 0)


class Action(enum.Enum):
    REGISTER = "register"
    DEREGISTER = "deregister"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    DEPRECATE = "deprecate"


@dataclass(frozen=True)
class TagName:
    """A parsed tag name. `model` uses the `dir:name` form; the tag uses `dir=name`."""

    model: str
    action: Action
    version: Version | None = None
    stage: str | None = None
    counter: int | None = None

    def __str__(self) -> str:
        return format_tag(self)


def validate_model_name(model: str) -> str:
    """Returns the canonical model name (`dir:name`); accepts the tag form `dir=name` too."""
    name = model.replace(SEPARATOR_IN_TAG, SEPARATOR_IN_NAME)
    if not MODEL_RE.match(name) or name.count(SEPARATOR_IN_NAME) > 1:
        raise RegistryError(
            f"invalid model name {model!r}: use letters, digits, '_', '-' and '/', starting and "
            "ending with a letter or digit, as GTO does (a monorepo model is 'dir:name')"
        )
    return name


def validate_stage_name(stage: str) -> str:
    if not NAME_RE.match(stage):
        raise RegistryError(
            f"invalid stage name {stage!r}: use letters, digits, '_', '-' and '/', starting and "
            "ending with a letter or digit, as GTO does"
        )
    return stage


def model_in_tag(model: str) -> str:
    return model.replace(SEPARATOR_IN_NAME, SEPARATOR_IN_TAG)


def ref_patterns(model: str) -> list[str]:
    """The only refs that can hold this model's events, as `git for-each-ref` patterns."""
    prefix = f"refs/tags/{model_in_tag(model)}"
    return [f"{prefix}@*", f"{prefix}#*"]


def parse_tag(name: str) -> TagName | None:
    """Parses a tag name (without `refs/tags/`); None when it is not a registry tag."""
    m = TAG_RE.match(name)
    if m is None or _too_long(f"{m['version'] or ''}#{m['counter'] or ''}"):
        return None
    model = m["model"].replace(SEPARATOR_IN_TAG, SEPARATOR_IN_NAME)
    if model.count(SEPARATOR_IN_NAME) > 1:
        return None
    counter = int(m["counter"]) if m["counter"] is not None else None
    cancel = m["cancel"] == "!"
    if m["deprecated"]:
        return TagName(model, Action.DEPRECATE, counter=counter)
    if m["stage"] is not None:
        if counter is None:
            return None  # a stage event without its counter cannot be ordered
        action = Action.UNASSIGN if cancel else Action.ASSIGN
        return TagName(model, action, stage=m["stage"], counter=counter)
    version = Version.parse(m["version"])
    action = Action.DEREGISTER if cancel else Action.REGISTER
    return TagName(model, action, version=version, counter=counter)


def format_tag(tag: TagName) -> str:
    model = model_in_tag(tag.model)
    suffix = f"#{tag.counter}" if tag.counter is not None else ""
    if tag.action is Action.DEPRECATE:
        return f"{model}@deprecated{suffix}"
    if tag.action in (Action.ASSIGN, Action.UNASSIGN):
        if tag.stage is None or tag.counter is None:
            raise ValueError("a stage event needs a stage and a counter")
        cancel = "!" if tag.action is Action.UNASSIGN else ""
        return f"{model}#{tag.stage}{cancel}#{tag.counter}"
    if tag.version is None:
        raise ValueError("a version event needs a version")
    cancel = "!" if tag.action is Action.DEREGISTER else ""
    return f"{model}@{tag.version.tag_form}{cancel}{suffix}"


CANARY_SUFFIX = "-canary"


def canary_stage(stage: str) -> str:
    """The stage that holds `stage`'s canary: `prod-canary`. A stage like any other for GTO and DVC,
    so their readers show the canary too."""
    return f"{stage}{CANARY_SUFFIX}"

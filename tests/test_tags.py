from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from champion.errors import RegistryError
from champion.registry.tags import (
    Action,
    TagName,
    Version,
    format_tag,
    parse_tag,
    ref_patterns,
    validate_model_name,
)

_alnum = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789")
_inner = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-/", max_size=8)


@st.composite
def names(draw: st.DrawFn) -> str:
    first = draw(_alnum)
    middle = draw(_inner)
    last = draw(_alnum) if middle else ""
    return first + middle + last


@st.composite
def model_names(draw: st.DrawFn) -> str:
    name = draw(names())
    if draw(st.booleans()):
        dirname = draw(
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_./", min_size=1, max_size=10)
        )
        return f"{dirname}:{name}"
    return name


_num = st.integers(min_value=0, max_value=10_000)
_ident = st.one_of(
    _num.map(str),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC-", min_size=1, max_size=5).filter(
        lambda s: not s.isdigit()
    ),
)
versions = st.builds(
    Version,
    _num,
    _num,
    _num,
    st.one_of(st.just(""), st.lists(_ident, min_size=1, max_size=3).map(".".join)),
    st.one_of(
        st.just(""),
        st.lists(st.text(alphabet="abc019-", min_size=1, max_size=4), min_size=1, max_size=2).map(
            ".".join
        ),
    ),
)
counters = st.integers(min_value=1, max_value=10**6)


@st.composite
def tag_names(draw: st.DrawFn) -> TagName:
    model = draw(model_names())
    action = draw(st.sampled_from(list(Action)))
    if action in (Action.ASSIGN, Action.UNASSIGN):
        return TagName(model, action, stage=draw(names()), counter=draw(counters))
    counter = draw(st.one_of(st.none(), counters))
    if action is Action.DEPRECATE:
        return TagName(model, action, counter=counter)
    return TagName(model, action, version=draw(versions), counter=counter)


@given(tag_names())
def test_parse_is_the_inverse_of_format(tag: TagName) -> None:
    assert parse_tag(format_tag(tag)) == tag


@given(st.text(alphabet="abc019#@!=:/.v-", max_size=20))
def test_format_is_the_inverse_of_parse(text: str) -> None:
    parsed = parse_tag(text)
    if parsed is not None:
        assert format_tag(parsed) == text


@given(versions)
def test_version_text_round_trips(version: Version) -> None:
    assert Version.parse(str(version)) == version
    assert Version.parse(version.tag_form) == version


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("churn@v1.4.0", TagName("churn", Action.REGISTER, version=Version(1, 4, 0))),
        ("churn@v1.4.0!", TagName("churn", Action.DEREGISTER, version=Version(1, 4, 0))),
        (
            "churn@v1.4.0!#5",
            TagName("churn", Action.DEREGISTER, version=Version(1, 4, 0), counter=5),
        ),
        ("churn#prod#7", TagName("churn", Action.ASSIGN, stage="prod", counter=7)),
        ("churn#prod!#8", TagName("churn", Action.UNASSIGN, stage="prod", counter=8)),
        ("churn@deprecated#9", TagName("churn", Action.DEPRECATE, counter=9)),
        (
            "models/churn=churn@v1.4.0",
            TagName("models/churn:churn", Action.REGISTER, version=Version(1, 4, 0)),
        ),
    ],
)
def test_design_grammar(tag: str, expected: TagName) -> None:
    assert parse_tag(tag) == expected
    assert format_tag(expected) == tag


@pytest.mark.parametrize(
    "tag",
    [
        "v1.0.0",
        "churn@1.4.0",
        "Churn@v1.4.0",
        "churn#prod",
        "churn@v1.4",
        "churn#prod#x",
        "a=b=c@v1.0.0",
        "release-2024",
    ],
)
def test_foreign_tags_are_not_ours(tag: str) -> None:
    assert parse_tag(tag) is None


def test_versions_accept_a_leading_v_and_reject_the_rest() -> None:
    assert Version.parse("1.2.3") == Version.parse("v1.2.3") == Version(1, 2, 3)
    for bad in ("1.2", "01.2.3", "v", "latest", "1.2.3.4", ""):
        with pytest.raises(RegistryError, match="invalid version"):
            Version.parse(bad)


def test_version_order_follows_semver_precedence() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "2.0.0",
        "10.0.0",
    ]
    parsed = [Version.parse(v) for v in ordered]
    assert sorted(reversed(parsed)) == parsed


def test_bumps() -> None:
    v = Version(1, 4, 2)
    assert (str(v.bump("major")), str(v.bump("minor")), str(v.bump("patch"))) == (
        "2.0.0",
        "1.5.0",
        "1.4.3",
    )
    with pytest.raises(RegistryError, match="invalid bump"):
        v.bump("huge")


def test_model_names() -> None:
    assert validate_model_name("models/churn=churn") == "models/churn:churn"
    for bad in ("Churn", "-churn", "churn-", "a:b:c", ""):
        with pytest.raises(RegistryError, match="invalid model name"):
            validate_model_name(bad)


def test_ref_patterns_cover_only_that_model() -> None:
    assert ref_patterns("models/churn:churn") == [
        "refs/tags/models/churn=churn@*",
        "refs/tags/models/churn=churn#*",
    ]

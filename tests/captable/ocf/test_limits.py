"""What reading one package may cost: JSON depth counted exactly, member paths that leave the package refused."""

from __future__ import annotations

import json

import pytest

from captable.errors import OcfPackageError
from captable.ocf.limits import (
    JsonTooDeep,
    OcfLimitExceeded,
    PackageLimits,
    UnsafeMemberName,
    load_json,
    unsafe_path_reason,
)


def _nested(depth: int) -> str:
    """`depth` levels: arrays and objects alternate, so both count."""
    text = "1"
    for level in range(depth):
        text = f"[{text}]" if level % 2 else f'{{"k": {text}}}'
    return text


def test_the_defaults_are_the_documented_budget() -> None:
    assert PackageLimits() == PackageLimits(max_bytes=20 * 1024 * 1024, max_files=1_000, max_depth=64)


@pytest.mark.parametrize("depth", [1, 2, 7, 64])
def test_json_nested_exactly_to_the_limit_is_read(depth: int) -> None:
    assert load_json(_nested(depth), max_depth=depth) == json.loads(_nested(depth))


@pytest.mark.parametrize("depth", [1, 2, 7, 64])
def test_json_one_level_deeper_than_the_limit_is_refused(depth: int) -> None:
    with pytest.raises(JsonTooDeep) as caught:
        load_json(_nested(depth + 1).encode(), max_depth=depth)
    assert caught.value.max_depth == depth
    assert str(caught.value) == f"JSON nested deeper than {depth} levels"


def test_scalars_have_no_depth_and_empty_containers_count_one_level() -> None:
    assert load_json('"text"', max_depth=0) == "text"
    assert load_json("[]", max_depth=1) == []
    with pytest.raises(JsonTooDeep):
        load_json("[]", max_depth=0)


def test_the_deepest_branch_counts_not_the_first() -> None:
    wide = json.dumps({"shallow": 1, "items": [{"a": [1]}, {"b": [[[1]]]}]})  # 1 + 1 + 1 + 3 levels
    assert load_json(wide, max_depth=6)["items"][1] == {"b": [[[1]]]}
    with pytest.raises(JsonTooDeep):
        load_json(wide, max_depth=5)


def test_json_deeper_than_the_interpreter_can_parse_is_refused_as_too_deep() -> None:
    with pytest.raises(JsonTooDeep):
        load_json("[" * 200_000 + "]" * 200_000, max_depth=64)


def test_json_that_is_not_json_is_a_value_error_not_a_limit() -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        load_json(b"{not json", max_depth=64)
    assert not isinstance(caught.value, JsonTooDeep)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("/etc/passwd", "is absolute"),
        ("C:/Windows/win.ini", "is absolute"),
        ("../Manifest.ocf.json", "leaves the package folder (..)"),
        ("a/../../b.json", "leaves the package folder (..)"),
        ("a\\b.json", "contains a backslash or a NUL character"),
        ("a\x00.json", "contains a backslash or a NUL character"),
    ],
)
def test_unsafe_member_names_say_why(name: str, reason: str) -> None:
    assert unsafe_path_reason(name) == reason


@pytest.mark.parametrize("name", ["Manifest.ocf.json", "./Stakeholders.ocf.json", "sub/dir/x.json", "a..b.json"])
def test_plain_relative_names_are_safe(name: str) -> None:
    assert unsafe_path_reason(name) is None


def test_limit_errors_are_package_errors_naming_the_limit() -> None:
    error = OcfLimitExceeded("too many", "files")
    assert (error.limit, str(error)) == ("files", "too many")
    assert isinstance(error, OcfPackageError)
    assert issubclass(UnsafeMemberName, OcfPackageError)

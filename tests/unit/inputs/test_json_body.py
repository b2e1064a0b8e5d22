"""The one JSON parser refuses what would crash it or what no field can use - deep nesting, huge or
non-finite numbers - as a validation error, never RecursionError / ValueError (a 500)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.core.errors import ValidationFailed
from lib.core.json_body import MAX_DEPTH, loads_bounded, parse_json_object
from tests.hostile import deep_nesting, huge_numbers

LIMIT = 8 * 1024


def refused(body: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as raised:
        parse_json_object(body, LIMIT)
    assert raised.value.code == "validation_error" and raised.value.status == 400
    return raised.value


def test_a_body_nested_thousands_of_levels_under_the_size_limit_is_a_validation_error() -> None:
    body = b'{"start":' + b"[" * 3500 + b"]" * 3500 + b"}"
    assert len(body) < LIMIT
    assert "nested deeper" in refused(body).detail


def test_a_number_with_thousands_of_digits_is_a_validation_error() -> None:
    body = b'{"start":' + b"1" * 8000 + b"}"
    assert len(body) < LIMIT
    assert "number" in refused(body).detail


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
def test_non_finite_numbers_are_refused(literal: str) -> None:
    refused(f'{{"durationMinutes": {literal}}}'.encode())


def test_the_depth_limit_is_exact_and_brackets_inside_strings_do_not_count() -> None:
    deepest = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert parse_json_object(f'{{"a":{deepest}}}'.encode(), LIMIT) == {"a": json.loads(deepest)}
    refused(f'{{"a":[{deepest}]}}'.encode())
    text = '"' + "[{" * 500 + '\\"' + '"'
    assert parse_json_object(f'{{"t":{text}}}'.encode(), LIMIT)["t"].startswith("[{[{")


def test_ordinary_bodies_still_parse() -> None:
    body = b'\xef\xbb\xbf{"n": -12, "f": 1.25, "s": "x\\u00e9", "l": [true, null]}'
    assert parse_json_object(body, LIMIT) == {"n": -12, "f": 1.25, "s": "x\u00e9", "l": [True, None]}


@settings(max_examples=60, deadline=None, derandomize=True)
@given(value=deep_nesting() | huge_numbers(), field=st.sampled_from(["start", "attendee", "title"]))
def test_hostile_values_anywhere_are_validation_errors(value: str, field: str) -> None:
    refused(f'{{"{field}":{value}}}'.encode())


@settings(max_examples=200, deadline=None, derandomize=True)
@given(raw=st.binary(max_size=300) | st.text(alphabet='[]{}"\\:,0123456789.eE-+ntrufalsNI', max_size=300))
def test_any_input_is_an_object_or_a_validation_error(raw: bytes | str) -> None:
    body = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    try:
        assert isinstance(parse_json_object(body, LIMIT), dict)
    except ValidationFailed:
        pass


def test_loads_bounded_keeps_non_objects_for_callers_that_check_the_shape() -> None:
    assert loads_bounded(b"[1, 2]") == [1, 2]
    with pytest.raises(ValidationFailed):
        loads_bounded(b"[" * 100 + b"]" * 100, "user token")

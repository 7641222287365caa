"""core/json.py: JSON from outside, parsed within a depth and a size, never a RecursionError."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.json import JSONLimitError, JSONTooDeep, JSONTooLarge, loads_bounded, nesting_depth

# Strings full of what a depth count could trip on: brackets, quotes and backslashes.
tricky_text = st.text(alphabet='[]{}"\\ab\n\u00e9', max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=30,
)


def depth(value):
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@settings(max_examples=500)
@given(value=json_values, ascii_only=st.booleans())
def test_it_counts_the_nesting_of_any_document_and_parses_it(value, ascii_only):
    text = json.dumps(value, ensure_ascii=ascii_only)

    assert nesting_depth(text) == depth(value)
    assert loads_bounded(text, max_depth=depth(value)) == value


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 100_000, "[" * 65 + "]" * 65])
def test_it_refuses_deep_nesting_before_parsing(text):
    with pytest.raises(JSONTooDeep, match="nested deeper than 64 levels"):
        loads_bounded(text, max_depth=64)


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"note": "[[[[{{{{" * 1000, "escaped": '\\"[[[['})

    assert loads_bounded(text, max_depth=1)["note"].startswith("[[[[")


def test_it_refuses_a_document_over_the_size_before_parsing():
    with pytest.raises(JSONTooLarge, match="over 10 bytes"):
        loads_bounded(b"[1,2,3,4,5,6]", max_bytes=10)
    with pytest.raises(JSONTooLarge):
        loads_bounded('"\u00e9\u00e9\u00e9\u00e9\u00e9"', max_bytes=10)  # 12 bytes in UTF-8


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', "1e999", "[-1e400]"])
def test_it_refuses_numbers_json_has_not(text):
    with pytest.raises(ValueError, match="JSON number|too large"):
        loads_bounded(text)


def test_it_reads_bytes_as_json_loads_does():
    assert loads_bounded('{"a": ["\u00e9"]}'.encode("utf-16")) == {"a": ["\u00e9"]}


@pytest.mark.parametrize("text", ["", "{not json", '"unterminated \\"', "[1,]", b"\xff\xfe\xfe"])
def test_malformed_input_is_a_value_error_and_no_limit_error(text):
    with pytest.raises(ValueError) as raised:
        loads_bounded(text)

    assert not isinstance(raised.value, JSONLimitError)


def test_limit_errors_are_value_errors():
    assert issubclass(JSONTooDeep, JSONLimitError) and issubclass(JSONTooLarge, JSONLimitError)
    assert issubclass(JSONLimitError, ValueError)

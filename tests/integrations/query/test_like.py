from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from integrations.query.ceql import evaluate, parse
from integrations.query.ceql.like import like
from tests.integrations.query.child import run_in_a_child

EVALUATE = "print(json.dumps(evaluate(parse(args[0]), args[1])))"


def regex_like(pattern: str, text: str) -> bool:
    """LIKE as it was: one regular expression, ``%`` as ``.*`` (exponential, but exact)."""
    parts = []
    chars = iter(pattern)
    for char in chars:
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        elif char == "\\":
            parts.append(re.escape(next(chars, "\\")))
        else:
            parts.append(re.escape(char))
    regex = re.compile("".join(parts), re.IGNORECASE | re.DOTALL)
    return regex.fullmatch(text) is not None


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("subject LIKE '" + "%a" * 14 + "%b'", False),
        ("subject NOT LIKE '" + "%a" * 14 + "%b'", True),
        ("subject LIKE '" + "%a" * 14 + "%'", True),
        ("subject LIKE '" + "%a_" * 13 + "%b'", False),
    ],
)
def test_it_answers_a_pathological_like_at_once(where, expected):
    record = {"subject": "a" * 48}

    assert run_in_a_child(EVALUATE, where, record) is expected


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("Jo%", "john", True),
        ("_o%", "Bob", True),
        ("%to_Desk", "Welcome to Desk", True),
        ("%desk", "Welcome to Desk.com", False),
        ("a%%b", "ab", True),
        ("%", "", True),
        ("", "", True),
        ("a", "", False),
        ("a%a", "a", False),
        ("a%a", "aa", True),
        ("%ab%ab%", "xabyab", True),
        ("%ab%ab%", "xaby", False),
        ("a_c%", "a\nc", True),
        (r"100\%", "100%", True),
        (r"100\%", "1000", False),
        (r"a\_b", "axb", False),
        ("a\\", "a\\", True),
    ],
)
def test_it_matches_like_patterns(pattern, text, expected):
    assert like(pattern, text) is expected


def test_it_matches_a_like_over_a_long_value():
    value = "ab" * 50_000

    assert evaluate(parse("body LIKE '%" + "a%" * 200 + "b'"), {"body": value})
    assert not evaluate(parse("body LIKE '%" + "ab_" * 30 + "%'"), {"body": value})


LIKE_CHARS = st.sampled_from(list("aAbB%_\\\nſKkß") + ["İ", "i"])


@settings(max_examples=2000, deadline=None)
@given(
    pattern=st.lists(LIKE_CHARS, max_size=8).map("".join),
    text=st.lists(LIKE_CHARS, max_size=10).map("".join),
)
@example(pattern="%a%b", text="aab")
@example(pattern="a%_b%", text="Axb")
@example(pattern="\\", text="\\")
def test_it_agrees_with_the_regular_expression_it_replaces(pattern, text):
    assert like(pattern, text) == regex_like(pattern, text)

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from integrations.query.ceql import (
    And,
    CEQLSyntaxError,
    Comparison,
    InList,
    IsNull,
    Like,
    Or,
    conjuncts,
    evaluate,
    parse,
    parse_instant,
    unparse,
)
from integrations.query.ceql.parser import MAX_DEPTH, MAX_LENGTH, MAX_TERMS

A = Comparison("a", "=", 1)
B = Comparison("b", "=", 2)
C = Comparison("c", "=", 3)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("a=1", A),
        ("a = 1 AND b = 2", And((A, B))),
        ("a=1 and b=2 And c=3", And((A, B, C))),
        ("a=1 OR b=2 AND c=3", Or((A, And((B, C))))),
        ("a=1 AND b=2 or c=3", Or((And((A, B)), C))),
        ("(a=1 OR b=2) AND c=3", And((Or((A, B)), C))),
        ("a=1 AND (b=2 AND c=3)", And((A, B, C))),
        ("((a=1))", A),
    ],
)
def test_it_parses_and_or_with_and_binding_tighter(where, expected):
    assert parse(where) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("status!='open'", Comparison("status", "!=", "open")),
        ("status<>'open'", Comparison("status", "!=", "open")),
        ("id<5", Comparison("id", "<", 5)),
        ("id<=5", Comparison("id", "<=", 5)),
        ("id>=-5", Comparison("id", ">=", -5)),
        ("score>2.5", Comparison("score", ">", 2.5)),
        ("active = TRUE", Comparison("active", "=", True)),
        ("active = false", Comparison("active", "=", False)),
        ("user.id = 7", Comparison("user.id", "=", 7)),
        ("`created date` > '2017-01-01'", Comparison("created date", ">", "2017-01-01")),
        ("created > `2017-01-01 10:00:00`", Comparison("created", ">", "2017-01-01 10:00:00")),
        ("name = 'O''Brien'", Comparison("name", "=", "O'Brien")),
        ("name = 'O\\'Brien'", Comparison("name", "=", "O'Brien")),
        ("path = 'a\\\\b'", Comparison("path", "=", "a\\b")),
        ("name = 'A&B OR c=1'", Comparison("name", "=", "A&B OR c=1")),
        (
            "mdate>=2017-02-28T16:11:29-06:00",
            Comparison("mdate", ">=", "2017-02-28T16:11:29-06:00"),
        ),
        ("name LIKE 'Jo%'", Like("name", "Jo%")),
        ("name not like '_o%'", Like("name", "_o%", negated=True)),
        ("status IN ('open', 'new')", InList("status", ("open", "new"))),
        ("id NOT IN (1,2)", InList("id", (1, 2), negated=True)),
        ("email IS NULL", IsNull("email")),
        ("email is not null", IsNull("email", negated=True)),
        ("email = null", IsNull("email")),
        ("email != NULL", IsNull("email", negated=True)),
    ],
)
def test_it_parses_predicates(where, expected):
    assert parse(where) == expected


@pytest.mark.parametrize(
    ("where", "message", "position"),
    [
        ("updated_at>", "expected a value after '>' at position 11", 11),
        ("updated_at > ", "expected a value after '>' at position 13", 13),
        ("updated_at>'2016-08-11", "unterminated string starting at position 11", 11),
        ("a == 5", "expected a value after '=' at position 3", 3),
        ("a = AND b = 1", "expected a value after '=' at position 4", 4),
        ("", "expected a field name, found the end at position 0", 0),
        ("AND a=1", "expected a field name, found 'AND' at position 0", 0),
        ("a=1 AND", "expected a field name, found the end at position 7", 7),
        ("status 'open'", "expected an operator after 'status', found \"'\" at position 7", 7),
        (
            "(a=1 OR b=2",
            "expected ')' to close the '(' at position 0, found the end at position 11",
            11,
        ),
        ("a=1 b=2", "expected AND, OR or the end, found 'b' at position 4", 4),
        ("a=1)", "expected AND, OR or the end, found ')' at position 3", 3),
        ("a IS 1", "expected NULL after IS at position 5", 5),
        ("a IS NOT", "expected NULL after IS NOT at position 8", 8),
        ("a NOT = 1", "expected LIKE or IN after NOT, found '=' at position 6", 6),
        ("a IN 1", "expected '(' after IN, found '1' at position 5", 5),
        ("a IN ()", "expected a value after '(' at position 6", 6),
        ("a IN (1 2)", "expected ',' or ')' in the IN list, found '2' at position 8", 8),
        ("`a = 1", "unterminated backticked name starting at position 0", 0),
        ("a = `1", "unterminated backticked value starting at position 4", 4),
    ],
)
def test_it_reports_syntax_errors_with_their_position(where, message, position):
    with pytest.raises(CEQLSyntaxError) as info:
        parse(where)
    assert str(info.value) == message
    assert info.value.position == position


def nested(depth: int) -> str:
    return "(" * depth + "a=1" + ")" * depth


def test_it_reads_parentheses_nested_up_to_the_limit():
    assert parse(nested(MAX_DEPTH)) == A


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 100_000])
def test_it_refuses_parentheses_nested_past_the_limit(depth):
    with pytest.raises(CEQLSyntaxError) as info:
        parse(nested(depth)[:MAX_LENGTH])
    assert str(info.value) == (
        f"parentheses are nested more than {MAX_DEPTH} deep; write the where clause with "
        f"fewer levels at position {MAX_DEPTH}"
    )


def test_it_refuses_a_where_clause_over_the_length_limit():
    where = "a = '" + "x" * MAX_LENGTH + "'"

    with pytest.raises(CEQLSyntaxError) as info:
        parse(where)
    assert str(info.value) == (
        f"the where clause is {len(where)} characters long; at most {MAX_LENGTH} are allowed"
    )
    assert info.value.position is None


def test_it_refuses_more_conditions_than_the_limit():
    assert parse(" OR ".join(["a=1"] * MAX_TERMS)) == Or((A,) * MAX_TERMS)
    where = " OR ".join(["a=1"] * (MAX_TERMS + 1))

    with pytest.raises(CEQLSyntaxError) as info:
        parse(where)
    assert str(info.value) == (
        f"the where clause has more than {MAX_TERMS} conditions; filter on fewer fields or "
        f"values at position {len(where) - 3}"
    )


@pytest.mark.parametrize(
    "where",
    [
        "a = 1 OR b = 2 AND (c LIKE 'x%' OR d IN (1, 'it''s', true)) AND e IS NOT NULL",
        "`created date` > '2017-01-01' AND f NOT LIKE '%x' AND g NOT IN (null, false)",
    ],
)
def test_it_unparses_to_text_that_parses_back(where):
    assert unparse(parse(where)) == where


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("a=1", [A]),
        ("a=1 AND b=2", [A, B]),
        ("a=1 AND (b=2 OR c=3)", [A, Or((B, C))]),
        ("a=1 OR b=2", [Or((A, B))]),
    ],
)
def test_it_lists_top_level_and_terms(where, expected):
    assert conjuncts(parse(where)) == expected


CASE = {
    "id": 3625,
    "status": "open",
    "subject": "Welcome to Desk",
    "priority": "4",
    "active": True,
    "email": None,
    "updated_at": "2016-08-11T03:22:47Z",
    "created date": "2016-08-11T03:00:53Z",
    "user": {"id": 12, "name": "Ann"},
    "labels": [{"name": "vip"}],
    "a.b": "dotted key",
}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("id = 3625", True),
        ("id = '3625'", True),
        ("id > 999", True),
        ("id < 999", False),
        ("priority > 10", False),
        ("priority < 10", True),
        ("status = 'open'", True),
        ("status != 'open'", False),
        ("status > 'new'", True),
        ("active = true", True),
        ("active = false", False),
        ("updated_at > '2016-08-11T03:00:53+00:00'", True),
        ("updated_at > '2016-08-11T03:22:47Z'", False),
        ("updated_at >= '2016-08-11T03:22:47.000Z'", True),
        ("updated_at < '2016-08-10T23:00:00-06:00'", True),
        ("updated_at > 2016-08-11T03:00:53+00:00", True),
        ("updated_at = '2016-08-11T03:22:47+00:00'", True),
        ("`created date` < '2016-08-11T03:00:54Z'", True),
        ("user.id = 12", True),
        ("user.name = 'Ann'", True),
        ("labels.0.name = 'vip'", True),
        ("labels.1.name = 'vip'", False),
        ("`a.b` = 'dotted key'", True),
        ("missing = 1", False),
        ("missing != 1", False),
        ("email = 'x'", False),
        ("email != 'x'", False),
        ("user = 'x'", False),
        ("missing IS NULL", True),
        ("email IS NULL", True),
        ("status IS NULL", False),
        ("status IS NOT NULL", True),
        ("missing IS NOT NULL", False),
        ("subject LIKE 'welcome%'", True),
        ("subject LIKE '%to_Desk'", True),
        ("subject LIKE 'Welcome'", False),
        ("subject NOT LIKE '%desk'", False),
        ("missing NOT LIKE 'x'", False),
        ("status IN ('new', 'open')", True),
        ("id IN (1, 2)", False),
        ("id NOT IN (1, 2)", True),
        ("missing NOT IN (1, 2)", False),
        ("status = 'closed' OR id = 3625", True),
        ("status = 'closed' OR id = 1 AND user.id = 12", False),
        ("(status = 'closed' OR id = 3625) AND user.id = 12", True),
    ],
)
def test_it_evaluates_records(where, expected):
    assert evaluate(parse(where), CASE) is expected


def test_it_matches_like_wildcards_literally_when_escaped():
    assert evaluate(parse(r"name LIKE '100\%'"), {"name": "100%"})
    assert not evaluate(parse(r"name LIKE '100\%'"), {"name": "1000"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-08-11T03:00:53Z", datetime(2016, 8, 11, 3, 0, 53, tzinfo=UTC)),
        ("2016-08-11T03:00:53+00:00", datetime(2016, 8, 11, 3, 0, 53, tzinfo=UTC)),
        ("2016-08-11 03:00:53", datetime(2016, 8, 11, 3, 0, 53, tzinfo=UTC)),
        ("2016-08-11", datetime(2016, 8, 11, tzinfo=UTC)),
        (
            "2017-02-28T16:11:29-6:00",
            datetime(2017, 2, 28, 16, 11, 29, tzinfo=timezone(timedelta(hours=-6))),
        ),
        (
            "2017-02-28T16:11:29.5+0530",
            datetime(2017, 2, 28, 16, 11, 29, 500000, tzinfo=timezone(timedelta(hours=5.5))),
        ),
        ("2016-13-11T03:00:53Z", None),
        ("1470884453", None),
        ("open", None),
    ],
)
def test_it_parses_iso_8601_instants(text, expected):
    assert parse_instant(text) == expected

"""Bad input everywhere: whatever a user writes into a URL template, a date format, a where
clause, a hub URL or an instance JSON ends in a result or a validation error, never in another
exception (which the API would turn into a 500)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from integrations.elements import ELEMENTS_DIR, read_element_file
from integrations.instances import InstanceJSONError, instance_json_parse
from integrations.instances.config import EVENT_KEYS, ParsedInstance
from integrations.models import Element
from integrations.query import (
    HubError,
    PlaceholderError,
    VendorQuery,
    ceql,
    render_template,
    resolve,
    template_errors,
)
from integrations.query.dateformat import (
    DateFormatError,
    format_datetime,
    parse_datetime,
    pattern_errors,
)

# TRIBUTARY_PROPERTY_EXAMPLES=20000 for a deeper search.
EXAMPLES = int(os.environ.get("TRIBUTARY_PROPERTY_EXAMPLES", "300"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None)
# The database fixtures live for the whole test; every example only reads.
WITH_DB = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def pieces(*vocabulary: str, text_size: int = 6) -> st.SearchStrategy[str]:
    """Strings built from meaningful fragments and arbitrary text, so that examples reach past
    the first syntax check."""
    fragment = st.one_of(st.sampled_from(vocabulary), st.text(max_size=text_size))
    return st.lists(fragment, max_size=12).map("".join)


@st.composite
def mutated(draw, valid: st.SearchStrategy[str], *vocabulary: str) -> str:
    """A mostly well-formed string with, now and then, a fragment inserted or a slice cut."""
    text = draw(valid)
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(vocabulary) | st.text(max_size=3)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 4)) :]
    return text


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=10), children, max_size=4),
    ),
    max_leaves=20,
)
instants = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-8)), timezone(timedelta(hours=14))]),
)

# ------------------------------------------------------------------------- placeholders

PLACEHOLDER_WORDS = (
    "${", "}", ":", "date", "gmtDate", "dateTimeZone", "DateTimeZone", "epoch", "milliseconds",
    "s", "ms", "us", "yyyy", "YYYY", "MM", "dd", "HH", "hh", "mm", "ss", "SSS", "'T'", "'", "''",
    "XXX", "X", "Z", "z", "zzzz", "EEE", "MMMM", "a", "u", "w", "D", "k", "K", "G",
    "America/Denver", "PST", "-8:00", "+05:30", "GMT", "UTC", "Etc/GMT+3", "/hubs/helpdesk/x?",
)  # fmt: skip
PATTERN_WORDS = (
    "yyyy", "yy", "YYYY", "MM", "MMM", "MMMM", "dd", "D", "HH", "hh", "k", "K", "mm", "ss", "S",
    "SSS", "a", "E", "EEEE", "u", "w", "W", "F", "G", "z", "zzzz", "Z", "X", "XX", "XXX", "XXXX",
    "'T'", "'", "''", "'o''clock'", "-", ":", " ", ".", ",", "/", "b", "q",
)  # fmt: skip
patterns = st.one_of(
    st.lists(st.sampled_from(PATTERN_WORDS), min_size=1, max_size=8).map("".join),
    st.sampled_from(["milliseconds", "timestamp", "seconds", ""]),
    st.text(max_size=8),
)
ZONES = ("UTC", "GMT", "PST", "America/Denver", "-8:00", "+05:30", "Etc/GMT+3", "Mars/Base", "")
placeholder = st.one_of(
    st.builds(
        lambda name, pattern: "${" + name + (":" + pattern if pattern is not None else "") + "}",
        st.sampled_from(["date", "gmtDate", "epoch", "milliseconds", "Date", ""]),
        st.none() | patterns | st.sampled_from(["s", "ms", "us"]),
    ),
    st.builds(
        lambda name, zone, pattern: (
            "${" + f"{name}:{zone}" + (f":{pattern}" if pattern else "") + "}"
        ),
        st.sampled_from(["dateTimeZone", "DateTimeZone"]),
        st.sampled_from(ZONES),
        st.none() | patterns,
    ),
)
templates = st.one_of(
    mutated(
        st.lists(placeholder | st.text(max_size=5), max_size=4).map("".join),
        *PLACEHOLDER_WORDS,
    ),
    pieces(*PLACEHOLDER_WORDS),
)


@PROPERTY
@given(template=templates, at=instants)
@example(template="${date:yyyy-MM-dd'T'HH:mm:ssXXX}", at=datetime(2017, 8, 30, tzinfo=UTC))
def test_it_renders_any_template_or_names_its_problems(template, at):
    errors = template_errors(template)

    try:
        rendered = render_template(template, at=at)
    except PlaceholderError:
        assert errors
    else:
        assert not errors
        assert isinstance(rendered, str)


# --------------------------------------------------------------------------- dateformat


@PROPERTY
@given(pattern=patterns, at=instants)
def test_it_formats_with_any_pattern_or_names_its_problems(pattern, at):
    errors = pattern_errors(pattern)

    try:
        formatted = format_datetime(at, pattern)
    except DateFormatError:
        assert errors
    else:
        assert not errors
        assert isinstance(formatted, str)


provider_dates = st.one_of(
    pieces("2017", "-", "08", "30", "T", "19:19:29", "Z", "+05:30", ".123", " ", "Aug", "PST"),
    st.integers(),
    st.floats(),
    st.booleans(),
)


@PROPERTY
@given(value=provider_dates, pattern=patterns)
def test_it_parses_any_provider_date_or_says_why_not(value, pattern):
    try:
        parsed = parse_datetime(value, pattern)
    except DateFormatError:
        return
    assert parsed.tzinfo is not None


@PROPERTY
@given(at=instants, pattern=st.sampled_from(["yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "milliseconds"]))
def test_a_formatted_date_parses_back_to_the_same_instant(at, pattern):
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)

    assert parse_datetime(format_datetime(at, pattern), pattern) == at


# --------------------------------------------------------------------------------- CEQL

CEQL_WORDS = (
    "id", "status", "user.id", "`created date`", " ", "(", ")", "=", "!=", "<>", "<", ">", "<=",
    ">=", " AND ", " OR ", " and ", " NOT ", " LIKE ", " IN ", " IS ", " NULL", "null", "true",
    "false", "'", "''", "\\'", "'open'", "`", "%", "_", ",", "42", "-1.5e3", "2017-02-28T16:11:29Z",
)  # fmt: skip
fields = st.sampled_from(["id", "status", "user.id", "`created date`", "items.0.id", "x"])
values = st.one_of(
    st.text(max_size=8).map(lambda text: "'" + text.replace("'", "''") + "'"),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["true", "false", "null", "2017-02-28T16:11:29-06:00", "`a b`", "open"]),
)
predicates = st.one_of(
    st.builds(
        "{} {} {}".format, fields, st.sampled_from([*ceql.COMPARISON_OPERATORS, "<>"]), values
    ),
    st.builds("{} {}LIKE {}".format, fields, st.sampled_from(["", "NOT "]), values),
    st.builds(
        "{} {}IN ({})".format,
        fields,
        st.sampled_from(["", "not "]),
        st.lists(values, min_size=1, max_size=3).map(", ".join),
    ),
    st.builds("{} IS {}NULL".format, fields, st.sampled_from(["", "NOT "])),
)
well_formed = st.recursive(
    predicates,
    lambda inner: st.one_of(
        st.builds("{} {} {}".format, inner, st.sampled_from(["AND", "OR", "and"]), inner),
        inner.map("({})".format),
    ),
    max_leaves=6,
)
where_clauses = st.one_of(mutated(well_formed, *CEQL_WORDS), pieces(*CEQL_WORDS))
records = st.dictionaries(
    st.sampled_from(["id", "status", "user", "user.id", "created date", "x"]), json_values
)


@PROPERTY
@given(where=where_clauses)
@example(where="items.0.id = 1e999")  # was read as inf, which unparses to the word inf
def test_it_parses_any_where_clause_or_points_at_the_error(where):
    try:
        expr = ceql.parse(where)
    except ceql.CEQLSyntaxError as error:
        assert 0 <= error.position <= len(where) + 1
        return

    assert ceql.parse(ceql.unparse(expr)) == expr


@PROPERTY
@given(where=where_clauses, record=records)
def test_it_evaluates_any_clause_on_any_record(where, record):
    try:
        expr = ceql.parse(where)
    except ceql.CEQLSyntaxError:
        return

    assert ceql.evaluate(expr, record) in (True, False)


# --------------------------------------------------------------------------------- hubs

desk_definition = read_element_file(ELEMENTS_DIR / "desk.json")
DESK = Element(key="desk", name="Desk", hub="helpdesk", definition=desk_definition)
HUB_WORDS = (
    "/hubs/", "helpdesk", "/", "incidents", "contacts", "users", "?", "&", "=", "where",
    "pageSize", "orderBy", "%20", "%27", "%", "+", "updated_at", "created_at", "id", ">", "<",
    "'2017-08-30T19:19:29Z'", "'", "1503", " AND ", " OR ", "status", "'open'", "/cases",
)  # fmt: skip


hub_urls = st.builds(
    "/hubs/helpdesk/{}?{}".format,
    st.sampled_from(["incidents", "contacts", "organizations", "users", "cases", ""]),
    st.lists(
        st.one_of(
            where_clauses.map(lambda where: "where=" + quote(where)),
            where_clauses.map(lambda where: "where=" + where),
            st.builds("pageSize={}".format, st.integers(-2, 10**12) | st.text(max_size=3)),
            st.sampled_from(["orderBy=id", "foo=1", "where", "=", "&"]),
        ),
        max_size=3,
    ).map("&".join),
)


@PROPERTY
@given(
    url=st.one_of(mutated(hub_urls, *HUB_WORDS), pieces(*HUB_WORDS)),
    page_size=st.one_of(st.none(), st.integers()),
)
def test_it_resolves_any_url_or_says_why_not(url, page_size):
    try:
        query = resolve(DESK, url, page_size=page_size)
    except HubError:
        return

    assert isinstance(query, VendorQuery)
    assert query.page_size >= 1


# ------------------------------------------------------------------------ instance JSON


@pytest.fixture
def elements(desk):
    return desk


def poller_resources() -> st.SearchStrategy:
    spec = st.fixed_dictionaries(
        {
            "url": st.one_of(
                st.just("/hubs/helpdesk/incidents?where=updated_at>'${date:yyyy-MM-dd}'"),
                pieces(*HUB_WORDS, *PLACEHOLDER_WORDS[:12]),
                json_values,
            ),
        },
        optional={
            "idField": st.one_of(st.just("id"), json_values),
            "datesConfiguration": st.one_of(
                st.dictionaries(
                    st.sampled_from(["updatedDateField", "updatedDateFormat", "createdDateField",
                                     "updatedDateTimezone", "createdCheckTolerance"]),
                    st.one_of(patterns, json_values),
                ),
                json_values,
            ),
            "pageSize": json_values,
            "pollDelay": json_values,
            "lookback": json_values,
            "filterByUpdatedDate": json_values,
            "deletedMarker": json_values,
            "createdCheckTolerance": json_values,
        },
    )  # fmt: skip
    resources = st.dictionaries(st.sampled_from(["incidents", "contacts", "users", "x"]), spec)
    return st.one_of(resources, resources.map(json.dumps), json_values)


def event_values(key: str) -> st.SearchStrategy:
    if key == "event.poller.configuration":
        return poller_resources()
    if key == "event.poller.urls":
        return st.one_of(pieces(*HUB_WORDS, "|", "incidents"), json_values)
    return json_values


event_configuration = st.fixed_dictionaries(
    {"site.address": st.one_of(st.just("acme.desk.com"), json_values)},
    optional={
        **{key: event_values(key) for key in EVENT_KEYS},
        "event.notification.enabled": st.sampled_from(["true", "false", True, "yes"]),
        "event.notification.callback.url": st.one_of(
            st.just("https://app.example.com/hook"), json_values
        ),
        "oauth.api.secret": json_values,
        "event.unknown": json_values,
    },
)
desk_instance_jsons = st.fixed_dictionaries(
    {
        "element": st.one_of(st.just({"key": "desk"}), json_values),
        "name": st.one_of(st.just("Acme"), json_values),
        "configuration": st.one_of(event_configuration, json_values),
    },
    optional={"providerData": json_values, "tags": json_values},
)


@WITH_DB
@given(data=st.one_of(json_values, desk_instance_jsons))
def test_it_parses_any_instance_json_or_lists_its_problems(elements, data):
    try:
        parsed = instance_json_parse(data=data)
    except InstanceJSONError as error:
        assert error.errors
        return

    assert isinstance(parsed, ParsedInstance)

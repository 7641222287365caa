"""Hostile query parameters: every parameter of the event log and of the API's list endpoints,
and the ids in their paths, given huge or negative numbers, floats, dates out of range, deep
brackets, NUL characters or 10 KB of text, answer with a page (the value ignored or explained)
or a 400, never a 500."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api_helpers import BASE
from tests.api_helpers import client_for as api_client_for
from tests.events.eventlog_data import delivery
from tests.factories import InstanceFactory

HUGE = "9" * 40


def crafted_cursor(query: str) -> str:
    """A DRF cursor as the API hands them out, holding what an attacker chose."""
    return base64.b64encode(query.encode()).decode()


HOSTILE = [
    HUGE,
    "99999999999999999999.1",
    "1" + "0" * 4300,  # past Python's default limit on int() of a string
    "-1",
    "-9.8e291",
    "1.5",
    "1e309",
    "NaN",
    "0",
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59:59.999999+00:00",
    "0001-01-01T00:00:00-23:59",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2024-02-30",
    "[" * 1000,
    "\x00",
    "id\x00x",
    "x" * 10_000,
    "İ🙂\u202e",
    "%",
    " ",
]

EVENT_LOG = "/events/log/"
EVENT_LOG_PARAMS = [
    "instance",
    "element",
    "object_type",
    "event_type",
    "status",
    "since",
    "until",
    "q",
    "before",
    "after",
]
CURSORS = [
    crafted_cursor("p=" + HUGE),
    crafted_cursor("p=not a date"),
    crafted_cursor("p=99999-01-01 00:00:00+00:00"),
    crafted_cursor("p=\x00"),
    crafted_cursor("o=" + HUGE),
    crafted_cursor("r=" + HUGE + "&o=-1"),
]
# Path (with {instance}: one of the user's instances) -> its query parameters.
API_LISTS = {
    "/instances/events": ["objectType", "eventType", "objectId", "from", "to"],
    "/instances/{instance}/events": ["objectType", "eventType", "objectId", "from", "to"],
    "/deliveries": ["status", "objectType", "instanceId"],
    "/instances": [],
    "/elements": [],
    "/instances/{instance}/pollers": [],
}
PAGING = ["cursor", "pageSize"]
PAGED = ["/instances/events", "/instances/{instance}/events", "/deliveries", "/instances"]
# Ids in paths, for one object of each kind.
API_IDS = [
    "/instances/{id}",
    "/instances/{id}/events",
    "/instances/{id}/pollers",
    "/instances/events/{id}",
    "/deliveries/{id}",
]


@pytest.fixture
def instance(desk, user):
    instance = InstanceFactory(owner=user, element=desk)
    delivery(instance)
    return instance


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("name", EVENT_LOG_PARAMS)
def test_the_event_log_list_survives_any_value(logged_in, instance, name, value):
    response = logged_in.get(EVENT_LOG, {name: value})

    assert response.status_code == 200


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    ("path", "name"),
    [(path, name) for path, names in API_LISTS.items() for name in [*names, *PAGING]],
)
def test_the_api_lists_survive_any_value(user, instance, path, name, value):
    response = api_client_for(user).get(BASE + path.format(instance=instance.pk), {name: value})

    assert response.status_code in (200, 400, 404), response.content


@pytest.mark.parametrize("cursor", CURSORS[:4])
@pytest.mark.parametrize("path", PAGED)
def test_the_api_lists_survive_a_crafted_cursor_position(user, instance, path, cursor):
    response = api_client_for(user).get(
        BASE + path.format(instance=instance.pk), {"cursor": cursor}
    )

    assert response.status_code in (200, 400, 404), response.content


@pytest.mark.parametrize("cursor", CURSORS[4:])
@pytest.mark.parametrize("path", PAGED)
def test_the_api_lists_survive_a_crafted_cursor(user, instance, path, cursor):
    response = api_client_for(user).get(
        BASE + path.format(instance=instance.pk), {"cursor": cursor}
    )

    assert response.status_code in (200, 400, 404), response.content


@pytest.mark.parametrize("value", [HUGE, "1" + "0" * 4300, str(2**63), str(2**63 - 1)])
@pytest.mark.parametrize("path", API_IDS)
def test_the_api_answers_an_unknown_id_with_404(user, instance, path, value):
    response = api_client_for(user).get(BASE + path.format(id=value))

    assert response.status_code == 404


@pytest.mark.parametrize("value", [HUGE, str(2**63)])
def test_the_event_log_answers_an_unknown_id_with_404(logged_in, instance, value):
    assert logged_in.get(f"{EVENT_LOG}{value}/").status_code == 404
    assert logged_in.get(f"{EVENT_LOG}{value}/message.json").status_code == 404
    assert logged_in.post(f"{EVENT_LOG}{value}/redeliver").status_code == 404


QUERY_TEXT = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=30),
    st.integers().map(str),
    st.floats().map(str),
    st.dates().map(str),
    st.datetimes().map(str),
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=st.dictionaries(st.sampled_from(EVENT_LOG_PARAMS), QUERY_TEXT, max_size=4))
def test_no_event_log_query_string_is_a_server_error(logged_in, instance, query):
    response = logged_in.get(f"{EVENT_LOG}?{urlencode(query)}")

    assert response.status_code < 500

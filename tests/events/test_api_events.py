from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api_helpers import BASE, client_for
from tests.events.factories import EventFactory, EventLogFactory
from tests.factories import InstanceFactory


@pytest.fixture
def instance(desk, user):
    return InstanceFactory(owner=user)


@pytest.fixture
def api(user):
    return client_for(user)


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def test_it_lists_events_newest_first(api, instance):
    older = EventFactory(instance=instance)
    newer = EventFactory(instance=instance)

    response = api.get(f"{BASE}/instances/events")

    assert ids(response) == [newer.pk, older.pk]


def test_it_renders_an_event(api, instance):
    log = EventLogFactory(instance=instance)
    event = EventFactory(instance=instance, event_log=log, object_id="42", event_type="CREATED")

    body = api.get(f"{BASE}/instances/events/{event.pk}").json()

    assert body["objectId"] == "42"
    assert body["objectType"] == "incidents"
    assert body["eventType"] == "CREATED"
    assert body["elementKey"] == "desk"
    assert body["instanceId"] == instance.pk
    assert body["deliveryId"] == str(log.delivery_id)
    assert body["raw"] == {"id": 42, "subject": "Printer on fire"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"objectType": "contacts"}, ["5"]),
        ({"eventType": "DELETED"}, ["6"]),
        ({"objectId": "7"}, ["7"]),
    ],
)
def test_it_filters_events(api, instance, query, expected):
    EventFactory(instance=instance, object_type="contacts", object_id="5")
    EventFactory(instance=instance, event_type="DELETED", object_id="6")
    EventFactory(instance=instance, object_id="7")

    response = api.get(f"{BASE}/instances/events", query)

    assert [item["objectId"] for item in response.json()["results"]] == expected


def test_it_filters_events_by_date_range(api, instance):
    now = timezone.now()
    EventFactory(instance=instance, object_id="1", event_date=now - timedelta(days=3))
    EventFactory(instance=instance, object_id="2", event_date=now - timedelta(days=1))
    EventFactory(instance=instance, object_id="3", event_date=now)
    query = {
        "from": (now - timedelta(days=2)).isoformat(),
        "to": (now - timedelta(hours=1)).isoformat(),
    }

    response = api.get(f"{BASE}/instances/events", query)

    assert [item["objectId"] for item in response.json()["results"]] == ["2"]


def test_it_names_a_bad_filter_value(api, instance):
    response = api.get(f"{BASE}/instances/events", {"from": "yesterday", "eventType": "MOVED"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"from", "eventType"}


def test_it_pages_events_with_a_cursor(api, instance):
    events = [EventFactory(instance=instance) for _ in range(3)]

    first = api.get(f"{BASE}/instances/events", {"pageSize": 2})
    second = api.get(first.json()["next"])

    assert ids(first) + ids(second) == [event.pk for event in reversed(events)]
    assert second.json()["next"] is None


def test_it_lists_the_events_of_one_instance(api, instance, user):
    mine = EventFactory(instance=instance)
    EventFactory(instance=InstanceFactory(owner=user))

    response = api.get(f"{BASE}/instances/{instance.pk}/events")

    assert ids(response) == [mine.pk]


def test_it_lists_deliveries_newest_first(api, instance):
    older = EventLogFactory(instance=instance)
    newer = EventLogFactory(instance=instance)

    response = api.get(f"{BASE}/deliveries")

    assert ids(response) == [newer.pk, older.pk]
    assert response.json()["results"][0]["status"] == "pending"


def test_it_filters_deliveries_by_status(api, instance):
    EventLogFactory(instance=instance)
    failed = EventLogFactory(instance=instance, status="failed")

    response = api.get(f"{BASE}/deliveries", {"status": "failed"})

    assert ids(response) == [failed.pk]


def test_it_refuses_an_out_of_range_instance_filter(api, instance):
    response = api.get(f"{BASE}/deliveries", {"instanceId": "-9.8e291"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["instanceId"]

"""User B never sees or changes user A's instances or anything under them: a 404, as if the
object did not exist; staff see everyone's."""

import pytest

from events.models import EventLog
from integrations.models import Instance, PollerObject
from tests.api_helpers import BASE, client_for
from tests.events.factories import EventFactory, EventLogFactory
from tests.factories import InstanceFactory, PollerObjectFactory, UserFactory


@pytest.fixture
def objects(desk, user):
    """Alice's instance with a poller, an event and a delivery."""
    instance = InstanceFactory(owner=user)
    poller = PollerObjectFactory(instance=instance)
    log = EventLogFactory(instance=instance)
    event = EventFactory(instance=instance, event_log=log)
    return {"instance": instance.pk, "poller": poller.name, "event": event.pk, "delivery": log.pk}


@pytest.fixture
def bob(desk):
    bob = UserFactory(username="bob")
    InstanceFactory(owner=bob)
    return client_for(bob)


READS = [
    "/instances/{instance}",
    "/instances/{instance}/",
    "/instances/{instance}/events",
    "/instances/{instance}/pollers",
    "/instances/{instance}/pollers/{poller}",
    "/instances/events/{event}",
    "/deliveries/{delivery}",
]
WRITES = [
    ("patch", "/instances/{instance}", {"name": "Mine now"}),
    ("delete", "/instances/{instance}", None),
    ("post", "/instances/{instance}/notifications/reactivate", None),
    ("post", "/instances/{instance}/deliveries/redeliver", {"since": "2020-01-01T00:00:00Z"}),
    ("patch", "/instances/{instance}/pollers/{poller}", {"enabled": False}),
    ("post", "/instances/{instance}/pollers/{poller}/poll", None),
    ("post", "/deliveries/{delivery}/redeliver", None),
]
LISTS = [
    ("/instances", "instance"),
    ("/instances/events", "event"),
    ("/deliveries", "delivery"),
]


@pytest.mark.parametrize("path", READS)
def test_it_hides_another_users_objects(bob, objects, path):
    response = bob.get(BASE + path.format(**objects))

    assert response.status_code == 404
    assert_plain_not_found(response.json())


def assert_plain_not_found(body: dict) -> None:
    """One sentence in the API's words: no Python repr, no model class name."""
    assert body["errors"] == {}
    assert body["message"].startswith("No ") and body["message"].endswith("visible to you."), body
    for internal in ("ErrorDetail", "{", "EventLog", "PollerObject", "Instance ", "query"):
        assert internal not in body["message"], body


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_it_refuses_writes_to_another_users_objects(bob, objects, method, path, body):
    response = getattr(bob, method)(BASE + path.format(**objects), body, format="json")

    assert response.status_code == 404
    assert_plain_not_found(response.json())
    instance = Instance.objects.get(pk=objects["instance"])
    assert instance.name != "Mine now"
    assert PollerObject.objects.get(instance=instance).enabled is True
    assert EventLog.objects.get(pk=objects["delivery"]).attempts.count() == 0


@pytest.mark.parametrize(("path", "kind"), LISTS)
def test_it_leaves_another_users_objects_out_of_lists(bob, objects, path, kind):
    listed = [item["id"] for item in bob.get(BASE + path).json()["results"]]

    assert objects[kind] not in listed


@pytest.mark.parametrize(("path", "kind"), LISTS)
def test_it_lists_the_owners_objects(user, objects, path, kind):
    listed = [item["id"] for item in client_for(user).get(BASE + path).json()["results"]]

    assert listed == [objects[kind]]


def test_it_shows_staff_everyones_instances(staff, objects, bob):
    listed = client_for(staff).get(f"{BASE}/instances").json()["results"]

    assert {item["id"] for item in listed} == set(Instance.objects.values_list("pk", flat=True))
    assert len(listed) == 2


@pytest.mark.parametrize("path", READS)
def test_it_lets_staff_read_anyones_objects(staff, objects, path):
    assert client_for(staff).get(BASE + path.format(**objects)).status_code == 200

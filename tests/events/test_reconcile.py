"""Delete reconciliation over real HTTP against the bundled Desk simulator: deletes no listing
shows are found by a scan of the provider's ids and announced once, and only after a complete
scan."""

import json
from datetime import timedelta

import pytest
import requests

from events import reconcile
from events.models import Event, EventLog, KnownObject
from events.polling import poll_object
from events.tasks import dispatch_due_polls
from integrations.instances import InstanceJSONError, instance_create
from integrations.models import Instance, PollerObject
from integrations.provider import ProviderClient
from tests.events.conftest import at, desk_instance_json
from tests.processes import start_worker, stop, wait_for

HOUR = 3600
# What a search back end that lost its index answers: a well-formed page without entries.
EMPTY_PAGE = json.dumps(
    {
        "total_entries": 0,
        "page": 1,
        "_links": {"self": None, "first": None, "last": None, "previous": None, "next": None},
        "_embedded": {"entries": []},
    }
)


def reconciling(sim, user, interval=24, **configuration):
    data = desk_instance_json(
        sim.url, **{"event.poller.reconcile.interval": interval, **configuration}
    )
    instance = instance_create(owner=user, data=data)
    instance.events_enabled_at = sim.now()
    instance.save(update_fields=["events_enabled_at"])
    return instance


def poll(sim, instance, name, *, client=None, **kwargs):
    """Poll at the simulator's now: our clock and the provider's move together."""
    poller = instance.poller_objects.get(name=name)
    client = client or ProviderClient(Instance.objects.get(pk=instance.pk), sleep=sim.advance)
    return poll_object(poller_object_id=poller.pk, now=sim.now(), client=client, **kwargs)


def captured(instance, object_type):
    return list(
        Event.objects.filter(instance=instance, object_type=object_type)
        .order_by("id")
        .values_list("object_id", "event_type")
    )


def state(instance, name):
    return PollerObject.objects.get(instance=instance, name=name)


def customer_ids(sim):
    return [customer["id"] for customer in sim.store.all("customers")]


def scan_requests(sim):
    return [entry for entry in sim.requests_log() if "sort_field=id" in entry["query"]]


def set_page_size(instance, name, size):
    PollerObject.objects.filter(instance=instance, name=name).update(page_size=size)


def test_it_emits_one_deleted_per_customer_deleted_at_the_provider(sim, desk, user):
    instance = reconciling(sim, user)
    poll(sim, instance, "contacts")  # the first scan: every id listed is known
    first = state(instance, "contacts")
    gone = customer_ids(sim)[1:3]
    for customer_id in gone:
        deleted = requests.delete(
            f"{sim.url}/api/v2/customers/{customer_id}", auth=sim.oauth1(), timeout=5
        )
        assert deleted.status_code == 204

    at(sim, 25 * HOUR)
    result = poll(sim, instance, "contacts")

    assert captured(instance, "contacts") == [(str(i), "DELETED") for i in gone]
    assert result.events == {"DELETED": 2}
    log = EventLog.objects.get(instance=instance)
    assert result.event_log_ids == [log.pk]  # sent like a poll's deliveries
    message = json.loads(log.body)["message"]
    assert [e["objectId"] for e in message["events"]] == [str(i) for i in gone]
    assert [record["id"] for record in message["raw"]["contacts"]] == gone
    after = state(instance, "contacts")
    assert first.reconcile_result["outcome"] == "complete"
    assert (first.reconcile_result["known"], first.reconcile_result["scanned"]) == (0, 6)
    assert after.reconciled_at > first.reconciled_at
    assert {key: after.reconcile_result[key] for key in ("outcome", "known", "deleted")} == {
        "outcome": "complete",
        "known": 6,
        "deleted": 2,
    }
    assert (after.reconcile_result["scanned"], after.reconcile_result["pages"]) == (4, 1)

    at(sim, 25 * HOUR)
    later = poll(sim, instance, "contacts")

    assert later.events == {}
    assert len(captured(instance, "contacts")) == 2
    assert state(instance, "contacts").reconcile_result["deleted"] == 0


def test_it_emits_one_deleted_per_case_purged_by_an_operator(sim, desk, user):
    instance = reconciling(sim, user)
    poll(sim, instance, "incidents")
    marked, purged = 3012, 3015
    at(sim, 5)
    sim.update_case(marked, status="deleted")  # announced by the deleted marker...
    at(sim, 60)
    poll(sim, instance, "incidents")
    sim.delete_case(marked)  # ...then purged: no second DELETED
    requests.delete(f"{sim.url}/_simulator/cases/{purged}", timeout=5)

    for _ in range(2):
        at(sim, 25 * HOUR)
        poll(sim, instance, "incidents")

    assert captured(instance, "incidents") == [(str(marked), "DELETED"), (str(purged), "DELETED")]


def test_it_does_not_scan_before_the_interval(sim, desk, user):
    instance = reconciling(sim, user, interval={"contacts": 24})
    poll(sim, instance, "contacts")
    sim.delete_customer(customer_ids(sim)[0])
    sim.app.clear_log()

    at(sim, 23 * HOUR)
    poll(sim, instance, "contacts")
    poll(sim, instance, "incidents")  # not reconciled at all

    assert scan_requests(sim) == []
    assert captured(instance, "contacts") == []
    assert state(instance, "incidents").reconcile_result == {}

    at(sim, HOUR + 60)
    poll(sim, instance, "contacts")

    assert [event_type for _, event_type in captured(instance, "contacts")] == ["DELETED"]


def test_a_scan_failing_midway_deletes_nothing_and_the_next_poll_scans_again(sim, desk, user):
    instance = reconciling(sim, user)
    set_page_size(instance, "contacts", 2)
    poll(sim, instance, "contacts")
    ids = customer_ids(sim)
    sim.delete_customer(ids[4])
    sim.inject("status", status=500, path="/customers/search", query=f"since_id={ids[1]}", times=4)
    reconciled_at = state(instance, "contacts").reconciled_at

    at(sim, 25 * HOUR)
    result = poll(sim, instance, "contacts")

    poller = state(instance, "contacts")
    assert captured(instance, "contacts") == []
    assert KnownObject.objects.filter(poller_object=poller).count() == 6
    assert poller.reconcile_result["outcome"] == "failed"
    assert "500" in poller.reconcile_result["message"]
    assert poller.reconcile_result["pages"] == 1
    assert poller.reconciled_at == reconciled_at
    assert poller.last_error == "" and poller.consecutive_failures == 0  # the poll succeeded
    assert any("reconciliation failed" in warning for warning in result.warnings)

    at(sim, 15 * 60)
    poll(sim, instance, "contacts")
    at(sim, 25 * HOUR)
    poll(sim, instance, "contacts")

    assert captured(instance, "contacts") == [(str(ids[4]), "DELETED")]
    assert state(instance, "contacts").reconcile_result["outcome"] == "complete"


def test_an_empty_listing_while_ids_are_known_is_an_outage_not_a_mass_delete(sim, desk, user):
    instance = reconciling(sim, user)
    poll(sim, instance, "contacts")
    sim.inject("status", status=200, body=EMPTY_PAGE, path="/customers", query="sort_field=id")

    at(sim, 25 * HOUR)
    result = poll(sim, instance, "contacts")

    poller = state(instance, "contacts")
    assert captured(instance, "contacts") == []
    assert KnownObject.objects.filter(poller_object=poller).count() == 6
    assert poller.reconcile_result["outcome"] == "refused"
    assert poller.reconcile_result["known"] == 6 and poller.reconcile_result["scanned"] == 0
    assert "outage" in poller.reconcile_result["message"]
    assert any("outage" in warning for warning in result.warnings)


def test_a_record_created_and_deleted_between_scans_is_deleted_once_a_poll_saw_it(sim, desk, user):
    instance = reconciling(sim, user)
    poll(sim, instance, "contacts")
    at(sim, 5)
    seen = sim.create_customer(first_name="Seen", last_name="Once")
    at(sim, 60)
    poll(sim, instance, "contacts")
    sim.delete_customer(seen["id"])
    unseen = sim.create_customer(first_name="Never", last_name="Polled")
    sim.delete_customer(unseen["id"])

    at(sim, 25 * HOUR)
    poll(sim, instance, "contacts")

    assert captured(instance, "contacts") == [
        (str(seen["id"]), "CREATED"),
        (str(seen["id"]), "DELETED"),
    ]
    deleted = Event.objects.get(instance=instance, event_type="DELETED")
    assert deleted.raw["first_name"] == "Seen"


def test_a_customer_deleted_while_the_scan_pages_makes_no_other_id_look_deleted(sim, desk, user):
    instance = reconciling(sim, user)
    set_page_size(instance, "contacts", 2)
    poll(sim, instance, "contacts")
    first = customer_ids(sim)[0]

    class DeletingAfterTheFirstPage(ProviderClient):
        scans = 0

        def iter_pages(self, path, params, **kwargs):
            if params.get("sort_field") == "id":
                self.scans += 1
                if self.scans == 2:  # page 1 was read: page numbers would now skip an id
                    sim.delete_customer(first)
            return super().iter_pages(path, params, **kwargs)

    client = DeletingAfterTheFirstPage(Instance.objects.get(pk=instance.pk), sleep=sim.advance)
    at(sim, 25 * HOUR)
    poll(sim, instance, "contacts", client=client)

    assert captured(instance, "contacts") == []
    assert state(instance, "contacts").reconcile_result["scanned"] == 6

    at(sim, 25 * HOUR)
    poll(sim, instance, "contacts")

    assert captured(instance, "contacts") == [(str(first), "DELETED")]


def test_a_scan_past_the_page_limit_is_incomplete_and_waits_for_the_interval(
    sim, desk, user, monkeypatch
):
    monkeypatch.setattr(reconcile, "MAX_SCAN_PAGES", 2)
    instance = reconciling(sim, user)
    set_page_size(instance, "contacts", 2)
    poll(sim, instance, "contacts")
    poller = state(instance, "contacts")
    assert poller.reconcile_result["outcome"] == "failed"
    assert "stopped after 2 pages" in poller.reconcile_result["message"]
    assert poller.reconciled_at is None
    sim.delete_customer(customer_ids(sim)[0])
    sim.app.clear_log()

    at(sim, 15 * 60)
    poll(sim, instance, "contacts")

    assert scan_requests(sim) == []
    assert captured(instance, "contacts") == []


def test_a_dry_run_neither_scans_nor_remembers(sim, desk, user):
    instance = reconciling(sim, user)
    at(sim, 5)
    sim.create_customer(first_name="Dry", last_name="Run")

    poll(sim, instance, "contacts", dry_run=True)

    poller = state(instance, "contacts")
    assert KnownObject.objects.count() == 0
    assert (poller.reconciled_at, poller.reconcile_result) == (None, {})
    assert scan_requests(sim) == []


def test_it_refuses_an_object_type_the_instance_does_not_poll(sim, desk, user):
    data = desk_instance_json(sim.url, **{"event.poller.reconcile.interval": {"tickets": 24}})

    with pytest.raises(InstanceJSONError) as refused:
        instance_create(owner=user, data=data)

    assert refused.value.errors == [
        "event.poller.reconcile.interval: 'tickets' is not an object this instance polls "
        "(polled: contacts, incidents); name only polled objects"
    ]


def test_it_refuses_a_polled_object_whose_listing_cannot_be_scanned_by_id(sim, desk, user):
    data = desk_instance_json(sim.url, **{"event.poller.reconcile.interval": 24})
    pollers = data["configuration"]["event.poller.configuration"]
    pollers["organizations"] = {"url": "/hubs/helpdesk/organizations", "idField": "id"}

    with pytest.raises(InstanceJSONError) as refused:
        instance_create(owner=user, data=data)

    (error,) = refused.value.errors
    assert error.startswith(
        "event.poller.reconcile.interval: 'organizations' cannot be reconciled: the "
        "provider's companies listing cannot be scanned by id"
    )
    assert error.endswith(
        "give hours per object type without 'organizations', e.g. "
        '{"incidents": 24, "contacts": 24}'
    )


def test_it_refuses_an_interval_that_is_not_hours(sim, desk, user):
    data = desk_instance_json(sim.url, **{"event.poller.reconcile.interval": "daily"})

    with pytest.raises(InstanceJSONError) as refused:
        instance_create(owner=user, data=data)

    assert refused.value.errors[0].startswith(
        "event.poller.reconcile.interval: must be a whole number of hours from 1 to 720"
    )


@pytest.mark.slow
def test_a_worker_delivers_the_deletes_of_customers(transactional_db, desk, user, sim, receiver):
    instance = reconciling(sim, user, **{"event.notification.callback.url": receiver.url})
    poll(sim, instance, "contacts")  # the first scan: what exists now is known
    gone = customer_ids(sim)[:2]
    for customer_id in gone:
        sim.delete_customer(customer_id)
    # A day passes: the next poll of contacts scans again.
    PollerObject.objects.filter(instance=instance, name="contacts").update(
        reconciled_at=state(instance, "contacts").reconciled_at - timedelta(hours=25),
        next_poll_at=None,
    )

    worker = start_worker()
    try:
        assert dispatch_due_polls() == 2
        (delivered,) = receiver.wait_for(1, timeout=60)
        wait_for(
            lambda: EventLog.objects.filter(status="delivered").count() == 1,
            timeout=30,
            what="the DELETED delivery marked delivered",
        )
    finally:
        output = stop(worker)

    events = json.loads(delivered.body)["message"]["events"]
    assert [(e["objectType"], e["objectId"], e["eventType"]) for e in events] == [
        ("contacts", str(customer_id), "DELETED") for customer_id in gone
    ], output

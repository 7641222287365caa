"""SIGKILL a real worker cluster at a chosen point, restart it, and nothing is lost.

The kill points are made deterministic: the simulator holds page 2 of a search open, or the
receiver holds one delivery open, and the test kills the cluster once that request has
arrived. The restarted cluster runs with its clock moved past the leases the killed one held
(see tests/hardening/future_worker.py) and past the refresh interval, so the test need not
wait minutes; django-q's own retry of the tasks the killed cluster had taken is not relied on:
those tasks are dropped.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ
from django_q.tasks import async_task

from events.models import DeliveryAttempt, Event, EventLog
from events.tasks import dispatch_due_polls
from integrations.instances import instance_create
from integrations.models import PollerObject
from tests.api_helpers import SINCE
from tests.events.conftest import at, desk_instance_json
from tests.hardening.support import (
    PAST_DJANGO_Q_RETRY,
    PAST_THE_LEASES,
    POLL,
    change_key,
    delivered_changes,
    header,
    outcome,
    tasks_held_by_killed_clusters_drop,
    webhook_ids,
)
from tests.processes import wait_for
from tests.receiver import Answer

pytestmark = pytest.mark.slow

SIGNATURE_KEY = "hardening-signature-key"
DISPATCH = "events.tasks.dispatch_due_polls"


def crash_instance(user, sim, receiver, *, page_size: int, batch_size: int, changes_take: float):
    """A Desk instance polling incidents only, every minute, signing its deliveries.

    Events were enabled ``changes_take`` seconds ago, on the simulator's clock and the
    workers' alike: the changes the test makes next, that many simulated seconds in all,
    bring the simulator's clock up to the workers', not past it (a first poll reads the
    provider's clock from its Date header and takes its baseline on it).
    """
    sim.set_time(sim.now() - timedelta(seconds=changes_take))
    data = desk_instance_json(
        sim.url,
        **{
            "event.notification.callback.url": receiver.url,
            "event.notification.signature.key": SIGNATURE_KEY,
            "event.notification.batch.size": str(batch_size),
            "event.poller.refresh_interval": "1",
            "event.poller.configuration": {
                "incidents": {
                    "url": "/hubs/helpdesk/incidents?where=updated_at>" + SINCE,
                    "idField": "id",
                    "pageSize": page_size,
                }
            },
        },
    )
    instance = instance_create(owner=user, data=data)
    instance.events_enabled_at = sim.now()
    instance.save(update_fields=["events_enabled_at"])
    return instance


def make_change(sim, made: dict, *, case_id: int | None = None, step: float = 1) -> dict:
    """Create a case (or update one), ``step`` simulated seconds after the previous change.

    ``made`` keeps each case's latest version: a poll sees records as they are now, so a
    version superseded before any poll read it is not there to be captured, its successor is.
    """
    at(sim, step)
    if case_id is None:
        record = sim.create_case(subject="made at the simulator")
    else:
        record = sim.update_case(case_id, subject=f"changed at {sim.now().isoformat()}")
    object_type, object_id, updated = change_key("incidents", record)
    made[(object_type, object_id)] = updated
    return record


def versions(made: dict) -> set:
    return {(object_type, object_id, updated) for (object_type, object_id), updated in made.items()}


def uncaptured_behind_cursor(made: dict) -> set:
    """Changes at or before their poller's cursor that no Event captured: the cursor passed them."""
    cursor = PollerObject.objects.get(name="incidents").cursor
    if cursor is None:
        return set()
    captured = {
        ("incidents", event.object_id, event.raw["updated_at"]) for event in Event.objects.all()
    }
    return {
        change
        for change in versions(made)
        if change not in captured and change[2] <= cursor.strftime("%Y-%m-%dT%H:%M:%SZ")
    }


def all_delivered() -> bool:
    statuses = set(EventLog.objects.values_list("status", flat=True))
    return statuses == {EventLog.Status.DELIVERED}


def test_it_delivers_every_change_after_a_kill_in_the_middle_of_a_multi_page_poll(
    clusters, desk, user, sim, arrivals, receiver
):
    instance = crash_instance(user, sim, receiver, page_size=4, batch_size=10, changes_take=10)
    made: dict = {}
    # Ten changes, three pages: eight new cases and two cases from before events were on.
    seeded = [case["id"] for case in sim.store.all("cases")]
    cases = [make_change(sim, made) for _ in range(8)]
    for case_id in seeded[:2]:
        make_change(sim, made, case_id=case_id)
    # Page 2 of the search hangs: the worker is stuck mid-poll, page 1 read, nothing stored.
    sim.inject("delay", path="/cases/search", query="page=2", delay=120)

    first = clusters()
    assert dispatch_due_polls() == 1
    wait_for(
        lambda: arrivals.pages(2, "/cases/search"),
        timeout=60,
        what="the worker to ask for page 2",
    )
    # A record already read on page 1 changes while the worker hangs on page 2.
    make_change(sim, made, case_id=cases[0]["id"])
    first.kill()

    poller = PollerObject.objects.get(instance=instance, name="incidents")
    assert poller.cursor is None, "the killed poll must not have moved the cursor"
    assert Event.objects.count() == 0 and EventLog.objects.count() == 0
    assert poller.locked_until > timezone.now(), "the killed poll's lease still holds"
    assert not uncaptured_behind_cursor(made)

    # Work goes on at the provider while no worker runs.
    make_change(sim, made)
    make_change(sim, made, case_id=cases[1]["id"])
    sim.clear_faults()
    tasks_held_by_killed_clusters_drop()

    second = clusters(clock_offset=PAST_THE_LEASES)
    second.wait_running()
    async_task("events.tasks.dispatch_due_polls")
    wait_for(
        lambda: set(delivered_changes(receiver.requests)) >= versions(made) and all_delivered(),
        timeout=60,
        what="every change to be delivered",
    )

    delivered = delivered_changes(receiver.requests)
    duplicated = sum(count - 1 for count in delivered.values())
    outcome(
        "SIGKILL mid-poll (page 2 of 3 hanging), restart",
        expected=len(made),
        delivered=len(delivered),
        duplicated=duplicated,
    )
    assert set(delivered) == versions(made)
    assert duplicated == 0
    assert Event.objects.count() == len(made)
    assert not uncaptured_behind_cursor(made)
    poller.refresh_from_db()
    assert poller.cursor.strftime("%Y-%m-%dT%H:%M:%SZ") == max(made.values())


def test_a_poll_killed_after_page_1_of_3_resumes_from_the_progress_it_saved(
    clusters, desk, user, sim, arrivals, receiver
):
    instance = crash_instance(user, sim, receiver, page_size=4, batch_size=4, changes_take=10 * 100)
    made: dict = {}
    # Further apart than the lookback, so a window that starts later reads fewer pages.
    for _ in range(10):
        make_change(sim, made, step=100)
    page_one = sorted(made.values())[:4]
    sim.inject("delay", path="/cases/search", query="page=2", delay=120)

    first = clusters()
    assert dispatch_due_polls() == 1
    wait_for(
        lambda: arrivals.pages(2, "/cases/search"), timeout=60, what="the worker to ask for page 2"
    )
    first.kill()

    # Page 1 was stored, with the progress it made, before page 2 was asked for.
    poller = PollerObject.objects.get(instance=instance, name="incidents")
    assert poller.cursor.strftime("%Y-%m-%dT%H:%M:%SZ") == page_one[-1]
    assert sorted(event.raw["updated_at"] for event in Event.objects.all()) == page_one
    asked_before = len(arrivals.all())
    sim.clear_faults()
    tasks_held_by_killed_clusters_drop()

    second = clusters(clock_offset=PAST_THE_LEASES)
    second.wait_running()
    async_task("events.tasks.sweep_deliveries")
    async_task("events.tasks.dispatch_due_polls")
    wait_for(
        lambda: set(delivered_changes(receiver.requests)) >= versions(made) and all_delivered(),
        timeout=60,
        what="every change to be delivered",
    )

    delivered = delivered_changes(receiver.requests)
    duplicated = sum(count - 1 for count in delivered.values())
    resumed = [arrival for arrival in arrivals.all()[asked_before:] if "/search" in arrival.path]
    outcome(
        f"SIGKILL after page 1 of 3 stored, restart (resumed poll read {len(resumed)} pages)",
        expected=len(made),
        delivered=len(delivered),
        duplicated=duplicated,
    )
    assert set(delivered) == versions(made)
    assert duplicated == 0
    assert Event.objects.count() == len(made)
    # The resumed window starts at the saved cursor less the lookback: 7 cases, 2 pages.
    since = int(poller.cursor.timestamp()) - 60
    assert [arrival.params["since_updated_at"] for arrival in resumed] == [str(since)] * 2
    poller.refresh_from_db()
    assert poller.cursor.strftime("%Y-%m-%dT%H:%M:%SZ") == max(made.values())


def test_it_redelivers_with_the_same_webhook_id_after_a_kill_in_the_middle_of_deliveries(
    clusters, desk, user, sim, receiver
):
    crash_instance(user, sim, receiver, page_size=50, batch_size=1, changes_take=6)
    made: dict = {}
    for _ in range(6):
        make_change(sim, made)
    # The third delivery hangs at the receiver: the worker is stuck mid-batch.
    receiver.script(Answer(), Answer(), Answer(delay=120))

    first = clusters()
    assert dispatch_due_polls() == 1
    receiver.wait_for(3, timeout=60)
    first.kill()

    hanging = header(receiver.requests[2], "webhook-id")
    in_flight = EventLog.objects.get(delivery_id=hanging)
    assert in_flight.status == EventLog.Status.PENDING
    assert DeliveryAttempt.objects.filter(event_log=in_flight, status_code=None).count() == 1
    assert EventLog.objects.filter(status=EventLog.Status.DELIVERED).count() == 2
    assert Event.objects.count() == len(made)
    assert not uncaptured_behind_cursor(made)
    tasks_held_by_killed_clusters_drop()

    second = clusters(clock_offset=PAST_THE_LEASES)
    second.wait_running()
    async_task("events.tasks.sweep_deliveries")
    wait_for(all_delivered, timeout=60, what="every delivery to be marked delivered")

    requests = list(receiver.requests)
    ids = webhook_ids(requests)
    delivered = delivered_changes(requests)
    outcome(
        "SIGKILL mid-delivery (3rd of 6 hanging at the receiver), restart",
        expected=len(made),
        delivered=len(delivered),
        duplicated=sum(count - 1 for count in delivered.values()),
    )
    assert set(delivered) == versions(made)
    assert set(ids) == {str(log.delivery_id) for log in EventLog.objects.all()}
    assert {webhook_id for webhook_id, count in ids.items() if count > 1} == {hanging}
    assert ids[hanging] == 2
    repeats = [request for request in requests if header(request, "webhook-id") == hanging]
    assert repeats[0].body == repeats[1].body
    assert json.loads(repeats[1].body)["id"] == hanging


def test_it_captures_each_change_once_when_django_q_hands_the_killed_poll_out_again(
    clusters, desk, user, sim, arrivals, receiver
):
    crash_instance(user, sim, receiver, page_size=2, batch_size=10, changes_take=5)
    made: dict = {}
    for _ in range(5):
        make_change(sim, made)
    sim.inject("delay", path="/cases/search", query="page=2", delay=120)
    first = clusters()
    assert dispatch_due_polls() == 1
    wait_for(lambda: arrivals.pages(2, "/cases/search"), timeout=60, what="page 2 asked for")
    first.kill()
    assert OrmQ.objects.filter(lock__gt=timezone.now()).count() == 1, "the poll task it held"
    make_change(sim, made)
    sim.clear_faults()

    # Past django-q's retry: the killed poll task runs again, racing the dispatcher.
    second = clusters(workers=2, clock_offset=PAST_DJANGO_Q_RETRY)
    second.wait_running()
    async_task("events.tasks.dispatch_due_polls")
    wait_for(
        lambda: (
            second.processed(DISPATCH) == 1
            and not OrmQ.objects.exists()
            and set(delivered_changes(receiver.requests)) >= versions(made)
            and all_delivered()
        ),
        timeout=60,
        what="the queue to drain and every change to be delivered",
    )
    assert second.processed(POLL) >= 1

    delivered = delivered_changes(receiver.requests)
    ids = webhook_ids(receiver.requests)
    outcome(
        "SIGKILL mid-poll, restart after django-q's retry (the killed task runs again)",
        expected=len(made),
        delivered=len(delivered),
        duplicated=sum(count - 1 for count in delivered.values()),
    )
    assert set(delivered) == versions(made)
    assert set(delivered.values()) == {1}
    assert set(ids.values()) == {1}
    assert Event.objects.count() == len(made)

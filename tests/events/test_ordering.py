"""Per-object ordering (``event.notification.ordering`` = ``object``): a later delivery of an
object never reaches the app before an earlier one that is not delivered yet.

A real local receiver answers by the objects a delivery carries; time is driven by passing
``now``. What is asserted is what the app received, in which order, and what the API, the event
log and the admin say about each delivery.
"""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from events.delivery import deliveries_due, deliveries_send, delivery_send
from events.delivery import ordering as ordering_module
from events.delivery import sending as sending_module
from events.models import EventLog
from events.operations import deliveries_redeliver, deliveries_release_held
from events.tasks import deliveries_enqueue, sweep_deliveries
from tests.api_helpers import BASE, client_for
from tests.events.eventlog_data import delivery
from tests.events.queued import run_queued_tasks
from tests.factories import InstanceFactory, UserFactory
from tests.processes import start_worker, stop, wait_for
from tests.receiver import Answer

ORDERING = "event.notification.ordering"


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def instance(user, receiver):
    configured = InstanceFactory(owner=user, name="Acme Desk", callback_url=receiver.url)
    configured.configuration[ORDERING] = "object"
    configured.save()
    return configured


@pytest.fixture
def api(user):
    return client_for(user)


def make(instance, *object_ids: str, at, **fields) -> EventLog:
    """A delivery of ``instance`` carrying these incidents, due at ``at``."""
    objects = [("incidents", object_id, "UPDATED") for object_id in object_ids]
    return delivery(instance, *objects, next_attempt_at=at, **fields)


def objects_in(request) -> list[str]:
    return [event["objectId"] for event in json.loads(request.body)["message"]["events"]]


def failing(receiver, *object_ids: str, answer: Answer | None = None) -> None:
    """The app fails every delivery carrying one of these objects (and takes the others)."""
    refused = answer or Answer(500)
    receiver.answer_by(
        lambda request: refused if set(objects_in(request)) & set(object_ids) else None
    )


def refusing(receiver, *deliveries: EventLog, answer: Answer | None = None) -> None:
    """The app refuses these deliveries (and takes the others, of any object)."""
    refused = answer or Answer(500)
    ids = {str(event_log.delivery_id) for event_log in deliveries}
    receiver.answer_by(
        lambda request: refused if request.headers["Elements-Webhook-Id"] in ids else None
    )


def arrivals(receiver, **deliveries: EventLog) -> list[str]:
    """The names of the deliveries the app received, in the order they arrived."""
    names = {str(event_log.delivery_id): name for name, event_log in deliveries.items()}
    return [names[request.headers["Elements-Webhook-Id"]] for request in receiver.requests]


def shown(api, event_log) -> dict:
    response = api.get(f"{BASE}/deliveries/{event_log.pk}")
    assert response.status_code == 200
    return response.json()


def send(event_log, at):
    return delivery_send(event_log_id=event_log.pk, now=at)


def reload(event_log) -> EventLog:
    event_log.refresh_from_db()
    return event_log


@pytest.fixture
def held(instance, receiver, now):
    """The app refuses the first delivery of object A, which is retrying; a later one of A,
    sent after it, is held."""
    first_a = make(instance, "A", at=now)
    refusing(receiver, first_a)
    send(first_a, now)
    later_a = make(instance, "A", at=now)
    send(later_a, now)
    return reload(first_a), reload(later_a)


def test_a_failing_delivery_holds_back_a_later_one_of_its_object_but_not_another(
    instance, receiver, api, now
):
    failing(receiver, "A")
    first_a = make(instance, "A", at=now)
    send(first_a, now)
    later_a, b = make(instance, "A", at=now), make(instance, "B", at=now)

    attempts = deliveries_send(event_log_ids=[later_a.pk, b.pk], now=now)

    assert attempts[0] is None
    assert arrivals(receiver, first_a=first_a, b=b) == ["first_a", "b"]
    waiting = shown(api, later_a)
    assert (waiting["status"], waiting["heldBy"], waiting["attemptCount"]) == (
        "pending",
        first_a.pk,
        0,
    )
    holder = shown(api, first_a)
    assert (holder["status"], holder["holding"]) == ("retrying", 1)
    assert shown(api, b)["status"] == "delivered"
    assert shown(api, b)["heldBy"] is None


def test_the_held_delivery_is_sent_right_after_the_earlier_one_is_delivered(held, receiver, api):
    first_a, later_a = held
    receiver.answer_by(None)  # the app recovers
    retry_at = first_a.next_attempt_at

    deliveries_send(event_log_ids=deliveries_due(now=retry_at), now=retry_at)

    assert arrivals(receiver, first_a=first_a, later_a=later_a) == [
        "first_a",
        "first_a",
        "later_a",
    ]
    assert shown(api, later_a)["status"] == "delivered"
    assert shown(api, later_a)["heldBy"] is None
    assert shown(api, later_a)["attemptCount"] == 1
    assert shown(api, first_a)["holding"] == 0


def test_a_held_delivery_is_no_attempt_and_the_sweep_passes_it_by(held, receiver, now):
    first_a, later_a = held
    # Both would be due a minute on: the retry, and a pending delivery past its grace.
    assert deliveries_due(now=now + timedelta(minutes=1)) == [first_a.pk]
    assert later_a.attempt_count == 0
    assert not later_a.attempts.exists()
    assert later_a.locked_until is None
    assert send(later_a, now + timedelta(minutes=1)) is None
    assert arrivals(receiver, first_a=first_a) == ["first_a"]


def test_the_sweep_task_queues_the_blocker_and_not_the_held_delivery(
    held, receiver, django_capture_on_commit_callbacks
):
    first_a, later_a = held
    past = timezone.now() - timedelta(minutes=5)
    EventLog.objects.filter(pk__in=[first_a.pk, later_a.pk]).update(next_attempt_at=past)

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_deliveries() == 1
    (task,) = OrmQ.objects.all()
    assert task.task["args"] == ([first_a.pk],)
    run_queued_tasks()  # the app still fails A

    assert arrivals(receiver, first_a=first_a) == ["first_a", "first_a"]
    assert reload(later_a).attempt_count == 0


def test_with_ordering_none_nothing_is_held(instance, receiver, api, now):
    instance.configuration.pop(ORDERING)
    instance.save()
    failing(receiver, "A")
    first_a = make(instance, "A", at=now)
    send(first_a, now)
    later_a, b = make(instance, "A", at=now), make(instance, "B", at=now)

    deliveries_send(event_log_ids=[later_a.pk, b.pk], now=now)

    assert arrivals(receiver, first_a=first_a, later_a=later_a, b=b) == [
        "first_a",
        "later_a",
        "b",
    ]
    assert shown(api, later_a)["heldBy"] is None
    assert shown(api, first_a)["holding"] == 0


def test_release_lets_the_held_delivery_go_ahead_of_a_failed_one(
    instance, receiver, api, now, django_capture_on_commit_callbacks
):
    first_a, later_a, b = (make(instance, name, at=now) for name in ("A", "A", "B"))
    refusing(receiver, first_a, answer=Answer(410))
    send(first_a, now)  # 410: failed, and the instance's notifications are suspended
    assert reload(later_a).status == reload(b).status == "queued"

    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"{BASE}/instances/{instance.pk}/notifications/reactivate")
    run_queued_tasks()

    assert arrivals(receiver, first_a=first_a, b=b) == ["first_a", "b"]
    assert shown(api, later_a)["heldBy"] == first_a.pk
    holder = shown(api, first_a)
    assert (holder["status"], holder["holding"]) == ("failed", 1)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{BASE}/deliveries/{first_a.pk}/release")

    assert response.status_code == 202
    assert response.json() == {"id": first_a.pk, "deliveries": [later_a.pk], "queued": 1}
    assert len(receiver.requests) == 2  # queued for a worker, not sent by the request
    run_queued_tasks()
    assert arrivals(receiver, first_a=first_a, b=b, later_a=later_a) == [
        "first_a",
        "b",
        "later_a",
    ]
    assert shown(api, later_a)["status"] == "delivered"
    released = shown(api, first_a)
    assert released["status"] == "failed"
    assert released["holding"] == 0
    assert released["orderReleasedDate"] is not None
    # Released, the failed delivery holds no new delivery of its object back.
    newest_a = make(instance, "A", at=timezone.now())
    send(newest_a, timezone.now())
    assert reload(newest_a).status == "delivered"


def test_reactivation_sends_the_queue_in_order_and_says_what_stays_held(instance, receiver, now):
    first_a, later_a, b = (make(instance, name, at=now) for name in ("A", "A", "B"))
    refusing(receiver, first_a, answer=Answer(410))
    send(first_a, now)  # failed; the instance's notifications are suspended
    out = StringIO()

    call_command("reactivate_notifications", str(instance.pk), stdout=out)

    assert arrivals(receiver, first_a=first_a, b=b) == ["first_a", "b"]
    text = out.getvalue()
    assert f"[1/2] delivery {later_a.pk}: held behind delivery {first_a.pk}" in text
    assert f"[2/2] delivery {b.pk} " in text
    assert reload(later_a).held_by_id == first_a.pk


def test_a_held_delivery_waits_in_turn_for_another_earlier_delivery_of_its_objects(
    instance, receiver, api, now
):
    failing(receiver, "A", "B")
    a, b = make(instance, "A", at=now), make(instance, "B", at=now)
    deliveries_send(event_log_ids=[a.pk, b.pk], now=now)
    both = make(instance, "A", "B", at=now)
    send(both, now)
    assert shown(api, both)["heldBy"] == a.pk  # the earliest

    failing(receiver, "B")  # A goes through now
    retry_a = reload(a).next_attempt_at
    deliveries_send(event_log_ids=[a.pk], now=retry_a)

    assert shown(api, a)["status"] == "delivered"
    assert shown(api, both)["heldBy"] == b.pk
    assert arrivals(receiver, a=a, b=b) == ["a", "b", "a"]

    receiver.answer_by(None)
    retry_b = reload(b).next_attempt_at
    deliveries_send(event_log_ids=[b.pk], now=retry_b)

    assert arrivals(receiver, a=a, b=b, both=both) == ["a", "b", "a", "b", "both"]
    assert shown(api, both)["status"] == "delivered"


def test_a_manual_redelivery_is_not_held(held, receiver, api):
    first_a, later_a = held

    sent = deliveries_redeliver(event_log_ids=[later_a.pk], background=False)

    assert sent.delivered == 1
    assert arrivals(receiver, first_a=first_a, later_a=later_a) == ["first_a", "later_a"]
    assert shown(api, later_a)["heldBy"] is None
    assert shown(api, first_a)["status"] == "retrying"


def test_redelivering_the_blocker_by_hand_sends_what_it_held_next(held, receiver):
    first_a, later_a = held
    receiver.answer_by(None)
    out = StringIO()

    call_command("redeliver", str(first_a.pk), stdout=out)

    assert arrivals(receiver, first_a=first_a, later_a=later_a) == [
        "first_a",
        "first_a",
        "later_a",
    ]
    lines = out.getvalue().splitlines()
    # Delivered, the first releases the second: the run grows by one.
    assert lines[0].startswith("[1/2] ") and "-> delivered" in lines[0]
    assert lines[1].startswith(f"[2/2] delivery {later_a.pk} ") and "-> delivered" in lines[1]
    assert lines[2] == "Redelivered 1 of 1."


def test_a_hold_written_as_its_blocker_was_delivered_heals_at_the_sweep(held, receiver, api):
    first_a, later_a = held
    receiver.answer_by(None)
    # The race: the earlier delivery goes through and releases what it held just before
    # the later one's hold is written.
    EventLog.objects.filter(pk=later_a.pk).update(held_by=None)
    deliveries_send(event_log_ids=[first_a.pk], now=first_a.next_attempt_at)
    EventLog.objects.filter(pk=later_a.pk).update(held_by=first_a)

    assert shown(api, later_a)["heldBy"] is None  # the hold no longer stands
    sweep_at = timezone.now() + timedelta(minutes=1)
    assert deliveries_due(now=sweep_at) == [later_a.pk]
    deliveries_send(event_log_ids=deliveries_due(now=sweep_at), now=sweep_at)

    assert arrivals(receiver, first_a=first_a, later_a=later_a) == [
        "first_a",
        "first_a",
        "later_a",
    ]
    assert reload(later_a).held_by is None


def test_a_blocker_delivered_between_the_check_and_the_hold_holds_nothing(
    instance, receiver, now, monkeypatch
):
    failing(receiver, "A")
    first_a = make(instance, "A", at=now)
    send(first_a, now)
    later_a = make(instance, "A", at=now)
    check = ordering_module.delivery_blocker

    def racing_check(*, event_log):
        found = check(event_log=event_log)
        if found:  # another worker delivers it right after the check
            EventLog.objects.filter(pk=found).update(status="delivered")
        return found

    monkeypatch.setattr(sending_module, "delivery_blocker", racing_check)

    send(later_a, now)

    assert arrivals(receiver, first_a=first_a, later_a=later_a) == ["first_a", "later_a"]
    assert reload(later_a).held_by is None


def test_the_check_is_one_query(held, instance, now):
    first_a, _ = held
    newest = make(instance, "A", "C", "D", at=now)

    with CaptureQueriesContext(connection) as queries:
        assert ordering_module.delivery_blocker(event_log=newest) == first_a.pk

    assert len(queries) == 1


def test_the_release_command_sends_the_held_deliveries_here(held, receiver):
    first_a, later_a = held
    out = StringIO()

    call_command("release_held", str(first_a.pk), stdout=out)

    assert arrivals(receiver, first_a=first_a, later_a=later_a) == ["first_a", "later_a"]
    text = out.getvalue()
    assert f"[1/1] delivery {later_a.pk} " in text
    assert f"Later deliveries of the objects of delivery {first_a.pk} no longer wait" in text
    assert "Sent 1 of 1 held behind it." in text


def test_releasing_a_delivery_that_holds_nothing_says_so(instance, now):
    alone = make(instance, "A", at=now)

    release = deliveries_release_held(event_log_ids=[alone.pk], background=True)

    assert release.deliveries.event_log_ids == []
    assert release.message == (
        f"Later deliveries of the objects of delivery {alone.pk} no longer wait for it; "
        "none was held behind it."
    )


def test_the_api_release_is_a_404_for_another_users_delivery(held, receiver):
    first_a, later_a = held
    stranger = client_for(UserFactory(username="mallory"))

    assert stranger.post(f"{BASE}/deliveries/{first_a.pk}/release").status_code == 404
    assert reload(first_a).order_released_at is None
    assert not OrmQ.objects.exists()


def test_the_event_log_says_which_delivery_holds_which(client, user, held):
    first_a, later_a = held
    client.force_login(user)

    held_page = client.get(f"/events/log/{later_a.pk}/").content.decode()
    holder_page = client.get(f"/events/log/{first_a.pk}/").content.decode()
    listing = client.get("/events/log/").content.decode()

    assert f'Held behind delivery <a href="/events/log/{first_a.pk}/">#{first_a.pk}</a>' in (
        held_page
    )
    assert "Release held deliveries" not in held_page
    assert "Holds 1 later delivery of its objects back" in holder_page
    assert f'action="/events/log/{first_a.pk}/release"' in holder_page
    assert f"held behind delivery #{first_a.pk}" in listing
    assert "holds 1 later delivery" in listing


def test_the_event_log_release_button_queues_the_held_delivery(
    client, user, held, receiver, django_capture_on_commit_callbacks
):
    first_a, later_a = held
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/events/log/{first_a.pk}/release", follow=True)

    assert (
        f"Later deliveries of the objects of delivery {first_a.pk} no longer wait for it. "
        "Queued 1 delivery held behind it to send in order; a worker sends it within seconds."
    ) in response.content.decode()
    assert len(receiver.requests) == 1
    run_queued_tasks()
    assert arrivals(receiver, first_a=first_a, later_a=later_a) == ["first_a", "later_a"]
    assert client.get(f"/events/log/{first_a.pk}/release").status_code == 405


def test_the_admin_shows_holds_and_releases_them(
    admin_client, held, receiver, django_capture_on_commit_callbacks
):
    first_a, later_a = held
    changelist = reverse("admin:events_eventlog_changelist")

    listing = admin_client.get(changelist).content.decode()
    change = admin_client.get(reverse("admin:events_eventlog_change", args=[later_a.pk]))

    assert f"held behind delivery {first_a.pk}" in listing
    assert "holds 1 later delivery" in listing
    assert f"held behind delivery {first_a.pk}" in change.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            changelist,
            {"action": "release_held", "_selected_action": [first_a.pk]},
            follow=True,
        )
    assert "Queued 1 delivery held behind it" in response.content.decode()
    run_queued_tasks()
    assert arrivals(receiver, first_a=first_a, later_a=later_a) == ["first_a", "later_a"]


@pytest.mark.slow
def test_a_worker_holds_a_later_delivery_of_a_failing_object_and_sends_it_after(
    transactional_db, instance, receiver
):
    failing(receiver, "A")
    first_a = make(instance, "A", at=timezone.now())
    worker = start_worker()
    try:
        deliveries_enqueue(event_log_ids=[first_a.pk])
        wait_for(lambda: reload(first_a).status == "retrying", what="the first A to fail")
        later_a, b = make(instance, "A", at=timezone.now()), make(instance, "B", at=timezone.now())
        deliveries_enqueue(event_log_ids=[later_a.pk, b.pk])
        receiver.wait_for(2)
        wait_for(lambda: reload(later_a).held_by_id == first_a.pk, what="the later A held")
        assert arrivals(receiver, first_a=first_a, b=b) == ["first_a", "b"]

        receiver.answer_by(None)  # the app recovers; the retry is made due and swept
        EventLog.objects.filter(pk=first_a.pk).update(next_attempt_at=timezone.now())
        assert sweep_deliveries() == 1
        receiver.wait_for(4)
        wait_for(lambda: reload(later_a).status == "delivered", what="the later A delivered")
    finally:
        output = stop(worker)

    assert arrivals(receiver, first_a=first_a, b=b, later_a=later_a) == [
        "first_a",
        "b",
        "first_a",
        "later_a",
    ], output
    assert reload(later_a).attempt_count == 1

"""Operator actions from the web queue their work: no callback or provider is called while the
request runs, the answer says what was queued, and a worker then does it.

The queue is not in sync mode here: tasks wait in the broker until ``run_queued_tasks``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from tests.api_helpers import BASE, client_for
from tests.events.factories import EventLogFactory
from tests.events.queued import run_queued_tasks
from tests.factories import InstanceFactory


@pytest.fixture
def instance(user, receiver):
    return InstanceFactory(owner=user, name="Acme Desk", callback_url=receiver.url)


@pytest.fixture
def suspended(instance):
    instance.notifications_suspended_at = timezone.now()
    instance.notifications_suspended_reason = "the callback answered 410 Gone"
    instance.save()
    return instance


@pytest.fixture
def api(user):
    return client_for(user)


def sent_ids(receiver) -> list[str]:
    return [request.headers["Elements-Webhook-Id"] for request in receiver.requests]


def status(event_log) -> str:
    event_log.refresh_from_db()
    return event_log.status


def test_the_admin_redeliver_action_answers_before_anything_is_sent(
    client, staff, instance, receiver, django_capture_on_commit_callbacks
):
    event_log = EventLogFactory(instance=instance, status="failed")
    client.force_login(staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:events_eventlog_changelist"),
            {"action": "redeliver", "_selected_action": [event_log.pk]},
            follow=True,
        )

    assert "Queued 1 delivery for redelivery" in response.content.decode()
    assert receiver.requests == []
    run_queued_tasks()
    assert sent_ids(receiver) == [str(event_log.delivery_id)]
    assert status(event_log) == "delivered"


def test_the_event_log_redeliver_button_answers_before_anything_is_sent(
    client, user, instance, receiver, django_capture_on_commit_callbacks
):
    event_log = EventLogFactory(instance=instance, status="failed")
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/events/log/{event_log.pk}/redeliver", follow=True)

    assert "Queued 1 delivery for redelivery" in response.content.decode()
    assert receiver.requests == []
    run_queued_tasks()
    assert sent_ids(receiver) == [str(event_log.delivery_id)]
    assert event_log.attempts.get().trigger == "manual"


def test_the_api_redeliver_answers_before_anything_is_sent(
    api, instance, receiver, django_capture_on_commit_callbacks
):
    event_log = EventLogFactory(instance=instance, status="failed")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{BASE}/deliveries/{event_log.pk}/redeliver")

    assert response.status_code == 202
    assert response.json() == {"deliveries": [event_log.pk], "queued": 1}
    assert receiver.requests == []
    run_queued_tasks()
    assert sent_ids(receiver) == [str(event_log.delivery_id)]
    assert status(event_log) == "delivered"


def test_the_api_redeliver_since_answers_before_anything_is_sent(
    api, instance, receiver, django_capture_on_commit_callbacks
):
    logs = [EventLogFactory(instance=instance, status="delivered") for _ in range(3)]
    since = (timezone.now() - timedelta(hours=1)).isoformat()

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"{BASE}/instances/{instance.pk}/deliveries/redeliver", {"since": since}, format="json"
        )

    assert response.json() == {"deliveries": [log.pk for log in logs], "queued": 3}
    assert receiver.requests == []
    run_queued_tasks()
    assert sent_ids(receiver) == [str(log.delivery_id) for log in logs]


def test_the_admin_reactivation_lifts_the_suspension_and_queues_the_sends(
    client, staff, suspended, receiver, django_capture_on_commit_callbacks
):
    queued = [EventLogFactory(instance=suspended, status="queued") for _ in range(2)]
    client.force_login(staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:integrations_instance_changelist"),
            {"action": "reactivate_notifications", "_selected_action": [suspended.pk]},
            follow=True,
        )

    assert (
        f"Notifications of Acme Desk (#{suspended.pk}) reactivated. Queued 2 deliveries to send "
        "in order; a worker sends them within seconds." in response.content.decode()
    )
    suspended.refresh_from_db()
    assert suspended.notifications_suspended_at is None
    assert receiver.requests == []
    run_queued_tasks()
    assert sent_ids(receiver) == [str(log.delivery_id) for log in queued]
    assert [status(log) for log in queued] == ["delivered", "delivered"]


def test_the_admin_says_when_a_reactivation_had_nothing_queued(
    client, staff, suspended, django_capture_on_commit_callbacks
):
    client.force_login(staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:integrations_instance_changelist"),
            {"action": "reactivate_notifications", "_selected_action": [suspended.pk]},
            follow=True,
        )

    assert "reactivated; no deliveries were queued." in response.content.decode()
    assert not OrmQ.objects.exists()


def test_the_api_reactivation_answers_before_anything_is_sent(
    api, suspended, receiver, django_capture_on_commit_callbacks
):
    queued = EventLogFactory(instance=suspended, status="queued")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{BASE}/instances/{suspended.pk}/notifications/reactivate")

    assert response.json() == {"instanceId": suspended.pk, "queuedDeliveries": [queued.pk]}
    assert status(queued) == "pending"
    assert receiver.requests == []
    run_queued_tasks()
    assert sent_ids(receiver) == [str(queued.delivery_id)]
    assert status(queued) == "delivered"


def test_the_api_poll_now_answers_before_the_provider_is_asked(
    api, desk_instance, django_capture_on_commit_callbacks
):
    poller = desk_instance.poller_objects.get(name="incidents")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{BASE}/instances/{desk_instance.pk}/pollers/incidents/poll")

    assert response.json() == {"name": "incidents", "instanceId": desk_instance.pk, "queued": True}
    poller.refresh_from_db()
    assert poller.last_poll_at is None
    run_queued_tasks()
    poller.refresh_from_db()
    assert poller.last_poll_at is not None
    assert poller.last_error == ""

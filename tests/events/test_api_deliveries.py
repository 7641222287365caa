from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from events.models import EventLog
from tests.api_helpers import BASE, client_for
from tests.events.factories import DeliveryAttemptFactory, EventLogFactory
from tests.factories import InstanceFactory

CALLBACK = "https://app.example.com/hooks/desk"


@pytest.fixture
def instance(desk, user):
    return InstanceFactory(owner=user)


@pytest.fixture
def api(user):
    return client_for(user)


@pytest.fixture
def run_tasks(monkeypatch, django_capture_on_commit_callbacks):
    """Enqueued tasks run in this process when the request's transaction commits."""
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    return django_capture_on_commit_callbacks


def test_it_shows_a_delivery_with_its_message_and_attempts(api, instance):
    log = EventLogFactory(instance=instance, attempt_count=1, last_status_code=500)
    DeliveryAttemptFactory(event_log=log, status_code=500, response_body="boom")

    body = api.get(f"{BASE}/deliveries/{log.pk}").json()

    assert body["deliveryId"] == str(log.delivery_id)
    assert body["message"]["elementKey"] == "desk"
    assert body["attemptCount"] == 1
    assert [(a["statusCode"], a["responseBody"]) for a in body["attempts"]] == [(500, "boom")]


@responses.activate
def test_it_redelivers_a_delivery(api, instance, run_tasks):
    responses.post(CALLBACK, status=200)
    log = EventLogFactory(instance=instance, status="failed")

    with run_tasks(execute=True):
        response = api.post(f"{BASE}/deliveries/{log.pk}/redeliver")

    assert response.status_code == 202
    body = api.get(f"{BASE}/deliveries/{log.pk}").json()
    assert body["status"] == "delivered"
    assert body["attempts"][0]["trigger"] == "manual"


@responses.activate
def test_it_redelivers_every_delivery_since_a_time(api, instance, run_tasks):
    responses.post(CALLBACK, status=200)
    old = EventLogFactory(instance=instance, status="failed")
    EventLog.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    recent = [EventLogFactory(instance=instance, status="failed") for _ in range(2)]
    since = (timezone.now() - timedelta(days=1)).isoformat()

    with run_tasks(execute=True):
        response = api.post(
            f"{BASE}/instances/{instance.pk}/deliveries/redeliver", {"since": since}, format="json"
        )

    assert response.json() == {"deliveries": [log.pk for log in recent], "queued": 2}
    assert len(responses.calls) == 2


def test_it_names_a_missing_since(api, instance):
    response = api.post(f"{BASE}/instances/{instance.pk}/deliveries/redeliver", {}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["since"]


@responses.activate
def test_it_reactivates_notifications_and_sends_the_queue(api, instance, run_tasks):
    responses.post(CALLBACK, status=200)
    instance.notifications_suspended_at = timezone.now()
    instance.save()
    queued = EventLogFactory(instance=instance, status="queued")

    with run_tasks(execute=True):
        response = api.post(f"{BASE}/instances/{instance.pk}/notifications/reactivate")

    assert response.json() == {"instanceId": instance.pk, "queuedDeliveries": [queued.pk]}
    assert api.get(f"{BASE}/deliveries/{queued.pk}").json()["status"] == "delivered"

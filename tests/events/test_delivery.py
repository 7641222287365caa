"""Delivery to a real local HTTP receiver; time is driven by passing ``now``."""

import base64
import hashlib
import hmac
import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import OrmQ
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from events.delivery import (
    deliveries_due,
    delivery_claim,
    delivery_send,
    instance_notifications_reactivate,
)
from events.models import DeliveryAttempt, EventLog
from events.polling import poll_object
from events.tasks import sweep_deliveries
from integrations.models import Instance
from integrations.provider import ProviderClient
from tests.events.conftest import at
from tests.events.factories import EventLogFactory
from tests.factories import InstanceFactory
from tests.receiver import Answer

KEY = "tributary-signing-key"


@pytest.fixture
def instance(db, receiver):
    return InstanceFactory(
        callback_url=receiver.url,
        secrets={"oauth.api.secret": "x", "event.notification.signature.key": KEY},
    )


@pytest.fixture
def now():
    return timezone.now()


def delivery(instance, now, **fields):
    return EventLogFactory(instance=instance, next_attempt_at=now, **fields)


def send(event_log, now):
    return delivery_send(event_log_id=event_log.pk, now=now)


def reload(event_log):
    event_log.refresh_from_db()
    return event_log


@pytest.fixture
def polled_delivery(sim, desk_instance, receiver):
    desk_instance.callback_url = receiver.url
    desk_instance.secrets[KEY_NAME] = KEY
    desk_instance.save()
    at(sim, 5)
    case = sim.create_case(subject="Printer on fire")
    poller = desk_instance.poller_objects.get(name="incidents")
    client = ProviderClient(Instance.objects.get(pk=desk_instance.pk), sleep=sim.advance)
    result = poll_object(poller_object_id=poller.pk, client=client)
    (event_log_id,) = result.event_log_ids
    return EventLog.objects.get(pk=event_log_id), case


KEY_NAME = "event.notification.signature.key"


def test_it_posts_the_cloud_elements_notification_shape(polled_delivery, receiver):
    event_log, case = polled_delivery

    send(event_log, timezone.now())

    (request,) = receiver.requests
    body = json.loads(request.body)
    assert set(body) == {"severity", "createdDate", "topic", "action", "id", "user", "message"}
    assert body["severity"] == "medium"
    assert body["action"] == "create"
    assert re.fullmatch(r"\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}", body["createdDate"])
    instance = event_log.instance
    assert body["topic"] == f"instance-{instance.pk}-desk-events"
    message = body["message"]
    assert set(message) >= {
        "elementKey",
        "eventId",
        "instanceId",
        "instance_id",
        "instanceName",
        "instanceTags",
        "raw",
        "events",
    }
    assert message["elementKey"] == "desk"
    assert message["instanceId"] == message["instance_id"] == instance.pk
    assert message["instanceName"] == "Acme Desk"
    assert message["instanceTags"] == ["support"]
    assert message["eventId"] == body["id"] == request.headers["Elements-Webhook-Id"]
    (event,) = message["events"]
    assert event == {
        "date": case["updated_at"],
        "elementKey": "desk",
        "eventType": "CREATED",
        "hubKey": "helpdesk",
        "objectId": str(case["id"]),
        "objectType": "incidents",
        "pollDate": event["pollDate"],
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["pollDate"])
    raw = message["raw"]
    assert set(raw) == {"incidents", "pollDate", "objectType"}
    assert raw["objectType"] == "incidents"
    assert isinstance(raw["pollDate"], int)
    assert [record["id"] for record in raw["incidents"]] == [case["id"]]
    assert request.body == event_log.body.encode()


def test_it_sends_the_headers_and_signs_the_exact_body(instance, receiver, now):
    send(delivery(instance, now), now)

    (request,) = receiver.requests
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("Tributary/")
    expected = base64.b64encode(hmac.new(KEY.encode(), request.body, hashlib.sha256).digest())
    assert headers["Elements-Webhook-Signature"] == "sha256=" + expected.decode()
    assert headers["webhook-id"] == headers["Elements-Webhook-Id"]


def test_the_standard_webhooks_signature_verifies_and_rejects_a_tampered_body(
    instance, receiver, now
):
    send(delivery(instance, now), now)

    (request,) = receiver.requests
    webhook = Webhook(KEY.encode())
    assert webhook.verify(request.body, request.headers) is not None
    with pytest.raises(WebhookVerificationError):
        webhook.verify(request.body.replace(b"desk", b"DESK"), request.headers)


def test_a_whsec_key_is_the_base64_secret_after_the_prefix(instance, receiver, now):
    secret = "whsec_" + base64.b64encode(b"sixteen byte key").decode()
    instance.secrets[KEY_NAME] = secret
    instance.save()

    send(delivery(instance, now), now)

    (request,) = receiver.requests
    assert Webhook(secret).verify(request.body, request.headers) is not None


def test_it_sends_basic_auth_and_extra_headers_without_storing_the_password(
    instance, receiver, now
):
    instance.configuration["event.notification.basic.username"] = "app"
    instance.configuration["event.notification.callback.headers"] = {"X-Tenant": "acme"}
    instance.secrets["event.notification.basic.password"] = "hunter2"
    instance.save()

    attempt = send(delivery(instance, now), now)

    (request,) = receiver.requests
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"app:hunter2").decode()
    assert request.headers["X-Tenant"] == "acme"
    assert attempt.request_headers["Authorization"] == "<redacted>"


def test_a_failing_receiver_gets_the_same_id_on_every_retry_following_the_schedule(
    instance, receiver, now
):
    receiver.script(Answer(500), Answer(500))
    event_log = delivery(instance, now)

    send(event_log, now)
    first_retry = reload(event_log).next_attempt_at
    assert timedelta(seconds=3.6) <= first_retry - now <= timedelta(seconds=4.4)
    assert event_log.status == "retrying"
    assert send(event_log, first_retry - timedelta(seconds=1)) is None  # not due yet
    send(event_log, first_retry)
    second_retry = reload(event_log).next_attempt_at
    # Retry x is due 4^x seconds after the first failure.
    assert timedelta(seconds=14.4) <= second_retry - now <= timedelta(seconds=17.6)
    send(event_log, second_retry)

    assert reload(event_log).status == "delivered"
    ids = {request.headers["webhook-id"] for request in receiver.requests}
    assert ids == {str(event_log.delivery_id)}
    assert len(receiver.requests) == 3
    attempts = list(event_log.attempts.values_list("status_code", "trigger"))
    assert attempts == [(500, "scheduled"), (500, "scheduled"), (200, "scheduled")]


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [("1", 3.6, 4.4), ("3600", 7.2, 8.8), ("6", 6, 6)],
    ids=["below-schedule", "above-twice", "within"],
)
def test_it_honours_retry_after_within_the_schedule_and_twice_it(
    instance, receiver, now, retry_after, low, high
):
    receiver.script(Answer(503, headers={"Retry-After": retry_after}))
    event_log = delivery(instance, now)

    send(event_log, now)

    wait = (reload(event_log).next_attempt_at - now).total_seconds()
    assert low <= wait <= high


def test_it_waits_at_least_a_minute_after_a_429(instance, receiver, now):
    receiver.script(Answer(429))
    event_log = delivery(instance, now)

    send(event_log, now)

    assert reload(event_log).next_attempt_at - now == timedelta(seconds=60)


def test_it_waits_at_least_a_minute_after_a_timeout(instance, receiver, now, settings):
    settings.TRIBUTARY_DELIVERY_TIMEOUT = 0.2
    receiver.script(Answer(200, delay=1))
    event_log = delivery(instance, now)

    attempt = send(event_log, now)

    assert attempt.status_code is None
    assert "no answer within" in attempt.error
    assert reload(event_log).next_attempt_at - now == timedelta(seconds=60)


def test_a_redirect_is_a_failure_and_is_not_followed(instance, receiver, now):
    receiver.script(Answer(302, headers={"Location": "https://elsewhere.example.com/"}))
    event_log = delivery(instance, now)

    attempt = send(event_log, now)

    assert attempt.status_code == 302
    assert "not followed" in attempt.error
    assert reload(event_log).status == "retrying"
    assert len(receiver.requests) == 1


def test_a_410_stops_retrying_and_suspends_the_instance(instance, receiver, now):
    receiver.script(Answer(410))
    event_log = delivery(instance, now)
    waiting = delivery(instance, now)

    send(event_log, now)

    assert reload(event_log).status == "failed"
    assert event_log.next_attempt_at is None
    instance.refresh_from_db()
    assert "410" in instance.notifications_suspended_reason
    assert reload(waiting).status == "queued"


def test_exhausted_retries_suspend_queue_and_reactivation_drains_in_order(
    instance, receiver, now, settings
):
    settings.TRIBUTARY_RETRY_SCHEDULE = [4, 16]
    receiver.default = Answer(500)
    event_log = delivery(instance, now)
    for _ in range(3):
        send(event_log, reload(event_log).next_attempt_at)
    assert reload(event_log).status == "failed"
    instance.refresh_from_db()
    assert instance.notifications_suspended_at is not None

    later = [delivery(instance, now + timedelta(minutes=1)) for _ in range(3)]
    for queued in later:
        assert send(queued, now + timedelta(minutes=1)) is None
        assert reload(queued).status == "queued"
    assert len(receiver.requests) == 3

    receiver.default = Answer(200)
    out = StringIO()
    call_command("reactivate_notifications", str(instance.pk), stdout=out)

    assert "Sent 3 of 3 queued deliveries" in out.getvalue()
    sent_ids = [request.headers["Elements-Webhook-Id"] for request in receiver.requests[3:]]
    assert sent_ids == [str(queued.delivery_id) for queued in later]
    assert all(reload(queued).status == "delivered" for queued in later)


def test_new_deliveries_of_a_suspended_instance_start_queued(sim, desk_instance, now):
    Instance.objects.filter(pk=desk_instance.pk).update(
        notifications_suspended_at=now, notifications_suspended_reason="test"
    )
    at(sim, 5)
    sim.create_case(subject="while suspended")
    poller = desk_instance.poller_objects.get(name="incidents")
    client = ProviderClient(Instance.objects.get(pk=desk_instance.pk), sleep=sim.advance)

    poll_object(poller_object_id=poller.pk, client=client)

    assert list(EventLog.objects.values_list("status", flat=True)) == ["queued"]
    instance = Instance.objects.get(pk=desk_instance.pk)
    assert instance_notifications_reactivate(instance=instance) == [EventLog.objects.get().pk]


def test_the_sweep_finds_a_pending_delivery_whose_task_was_lost(instance, receiver, now):
    lost = delivery(instance, now - timedelta(minutes=5))
    fresh = delivery(instance, now)  # its on_commit task is still on its way
    retrying = delivery(instance, now - timedelta(seconds=1), status="retrying")

    due = deliveries_due(now=now)

    assert due == [lost.pk, retrying.pk]
    assert fresh.pk not in due
    for event_log_id in due:
        delivery_send(event_log_id=event_log_id, now=now)
    assert reload(lost).status == "delivered"


def test_two_workers_cannot_claim_the_same_delivery(instance, now):
    event_log = delivery(instance, now)

    assert delivery_claim(event_log_id=event_log.pk, now=now) is True
    assert delivery_claim(event_log_id=event_log.pk, now=now) is False
    assert send(event_log, now) is None


def test_redeliver_since_resends_exactly_the_matching_deliveries(instance, receiver, now):
    old, recent, newest = (delivery(instance, now) for _ in range(3))
    EventLog.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=2))
    EventLog.objects.filter(pk=recent.pk).update(created_at=now - timedelta(hours=1))
    other_instance = delivery(InstanceFactory(callback_url=receiver.url), now)
    out = StringIO()

    since = (now - timedelta(hours=2)).isoformat()
    call_command("redeliver", "--instance", str(instance.pk), "--since", since, stdout=out)

    sent = [request.headers["Elements-Webhook-Id"] for request in receiver.requests]
    assert sent == [str(recent.delivery_id), str(newest.delivery_id)]
    assert "Redelivered 2 of 2" in out.getvalue()
    assert [line[:5] for line in out.getvalue().splitlines()[:2]] == ["[1/2]", "[2/2]"]
    assert not other_instance.attempts.exists() and not old.attempts.exists()
    assert DeliveryAttempt.objects.filter(trigger="manual").count() == 2


def test_redeliver_one_delivery_by_id_gives_a_new_attempt_with_the_same_id(instance, receiver, now):
    event_log = delivery(instance, now)
    send(event_log, now)

    call_command("redeliver", str(event_log.pk), stdout=StringIO())

    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert ids == [str(event_log.delivery_id)] * 2
    assert list(event_log.attempts.values_list("trigger", flat=True)) == ["scheduled", "manual"]


def test_deliver_pending_prints_a_line_per_attempt(instance, receiver, now):
    for _ in range(2):
        delivery(instance, now - timedelta(minutes=5))
    out = StringIO()

    call_command("deliver", "--pending", stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert [line[:5] for line in lines] == ["[1/2]", "[2/2]"]
    assert all(": 200 in " in line and "-> delivered" in line for line in lines)


def test_the_sweep_task_enqueues_due_deliveries(instance, now, django_capture_on_commit_callbacks):
    delivery(instance, now - timedelta(minutes=5))

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_deliveries() == 1

    (task,) = OrmQ.objects.all()
    assert task.func() == "events.tasks.deliver_in_order_task"

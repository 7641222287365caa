"""No setting can wedge a delivery. Whatever fails while a request is built or sent is a
recorded failed attempt, with its error, retried on the schedule; the delivery is never left
pending and held, sent again and again with nothing on record. An instance saved before a
setting was checked (its bad value written straight to the row) shows it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from events.delivery import deliveries_due, delivery_send
from events.models import DeliveryAttempt, EventLog
from integrations.models import Instance
from tests.api_helpers import BASE, client_for
from tests.events.eventlog_data import delivery
from tests.events.queued import run_queued_tasks
from tests.factories import InstanceFactory

HEADERS = "event.notification.callback.headers"
SIGNATURE_KEY = "event.notification.signature.key"
OLD_ROWS = {
    "a header value outside Latin-1": (
        {HEADERS: {"X-Price": "€ 10"}},
        "not sent: event.notification.callback.headers: header X-Price: character 1 of its "
        "value is not Latin-1 (ISO-8859-1), the only text a header can carry; percent-encode "
        "or base64 the value. Correct the instance's settings; the delivery is retried as "
        "scheduled.",
    ),
    "a header value with a line break": (
        {HEADERS: {"X-Team": "a\r\nX-Admin: yes"}},
        "not sent: event.notification.callback.headers: header X-Team: its value holds a "
        "control character (a line break, say) at character 2; a header value is one line of "
        "text. Correct the instance's settings; the delivery is retried as scheduled.",
    ),
    "an empty whsec_ key": (
        {SIGNATURE_KEY: "whsec_"},
        "not sent: event.notification.signature.key: nothing follows whsec_; a key starting "
        "with whsec_ is a Standard Webhooks key, whsec_ followed by the key's bytes in base64 "
        "(such as whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw); without that prefix, a key is used "
        "as given. Correct the instance's settings; the delivery is retried as scheduled.",
    ),
    "a whsec_ key that is not base64": (
        {SIGNATURE_KEY: "whsec_a"},
        "not sent: event.notification.signature.key: what follows whsec_ is not valid base64; "
        "a key starting with whsec_ is a Standard Webhooks key, whsec_ followed by the key's "
        "bytes in base64 (such as whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw); without that "
        "prefix, a key is used as given. Correct the instance's settings; the delivery is "
        "retried as scheduled.",
    ),
}


@pytest.fixture
def now():
    return timezone.now()


def old_row(user, receiver, secrets: dict) -> Instance:
    """An instance whose settings were written straight to the row, unchecked."""
    return InstanceFactory(
        owner=user,
        callback_url=receiver.url,
        secrets={"oauth.api.secret": "consumer-secret", **secrets},
    )


def reload(event_log: EventLog) -> EventLog:
    return EventLog.objects.get(pk=event_log.pk)


@pytest.mark.parametrize(("secrets", "error"), OLD_ROWS.values(), ids=OLD_ROWS.keys())
def test_a_setting_that_can_never_work_is_a_recorded_failure_retried_on_schedule(
    user, receiver, now, secrets, error
):
    event_log = delivery(old_row(user, receiver, secrets), next_attempt_at=now)

    attempt = delivery_send(event_log_id=event_log.pk, now=now)

    assert (attempt.status_code, attempt.error) == (None, error)
    event_log = reload(event_log)
    assert event_log.status == EventLog.Status.RETRYING
    assert event_log.locked_until is None
    assert event_log.last_error == error
    assert (event_log.attempt_count, event_log.failures) == (1, 1)
    # The first retry is due 4 s (±10 %) after the first failure.
    assert now + timedelta(seconds=3.6) <= event_log.next_attempt_at <= now + timedelta(seconds=4.4)
    assert receiver.requests == []


def test_each_due_retry_is_one_more_recorded_attempt(user, receiver, now):
    instance = old_row(user, receiver, {HEADERS: {"X-Price": "€ 10"}})
    event_log = delivery(instance, next_attempt_at=now)
    delivery_send(event_log_id=event_log.pk, now=now)

    assert deliveries_due(now=now + timedelta(seconds=1)) == []
    later = reload(event_log).next_attempt_at
    assert deliveries_due(now=later) == [event_log.pk]
    delivery_send(event_log_id=event_log.pk, now=later)

    assert DeliveryAttempt.objects.filter(event_log=event_log).count() == 2
    assert reload(event_log).failures == 2
    assert deliveries_due(now=later) == []


def test_redeliver_in_the_event_log_answers_and_records_the_failure(
    client, user, receiver, now, django_capture_on_commit_callbacks
):
    event_log = delivery(old_row(user, receiver, {SIGNATURE_KEY: "whsec_"}), next_attempt_at=now)
    delivery_send(event_log_id=event_log.pk, now=now)
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("events:log-redeliver", args=[event_log.pk]), follow=True)
    run_queued_tasks()

    assert response.status_code == 200
    assert "Queued 1 delivery for redelivery" in response.content.decode()
    attempts = DeliveryAttempt.objects.filter(event_log=event_log).order_by("id")
    assert [attempt.trigger for attempt in attempts] == ["scheduled", "manual"]
    assert "nothing follows whsec_" in attempts.last().error
    page = client.get(reverse("events:log-detail", args=[event_log.pk]))
    assert page.status_code == 200
    assert "nothing follows whsec_" in page.content.decode()


def test_redeliver_through_the_api_answers_and_records_the_failure(
    user, receiver, now, django_capture_on_commit_callbacks
):
    instance = old_row(user, receiver, {HEADERS: {"X-Price": "€ 10"}})
    event_log = delivery(instance, next_attempt_at=now)
    api = client_for(user)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{BASE}/deliveries/{event_log.pk}/redeliver")
    run_queued_tasks()

    assert response.status_code == 202
    assert reload(event_log).attempt_count == 1
    assert "header X-Price" in api.get(f"{BASE}/deliveries/{event_log.pk}").json()["lastError"]


def test_once_the_setting_is_corrected_the_delivery_goes_through(user, receiver, now, settings):
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = True
    instance = old_row(user, receiver, {HEADERS: {"X-Price": "€ 10"}})
    event_log = delivery(instance, next_attempt_at=now)
    delivery_send(event_log_id=event_log.pk, now=now)

    response = client_for(user).patch(
        f"{BASE}/instances/{instance.pk}",
        {"configuration": {HEADERS: {"X-Price": "EUR 10"}}},
        format="json",
    )
    delivery_send(event_log_id=event_log.pk, now=reload(event_log).next_attempt_at)

    assert response.status_code == 200, response.content
    assert reload(event_log).status == EventLog.Status.DELIVERED
    assert receiver.requests[-1].headers["X-Price"] == "EUR 10"


class FailingSession:
    """An HTTP client that gives up on every request before an answer."""

    def request(self, *args, **kwargs):
        raise UnicodeEncodeError("latin-1", "secret-value", 0, 1, "ordinal not in range(256)")

    post = request


def test_an_http_client_failure_is_a_recorded_failure_without_its_message(user, receiver, now):
    instance = InstanceFactory(owner=user, callback_url=receiver.url)
    event_log = delivery(instance, next_attempt_at=now)

    attempt = delivery_send(event_log_id=event_log.pk, now=now, session=FailingSession())

    assert attempt.error == "not sent: the HTTP client failed (UnicodeEncodeError)"
    event_log = reload(event_log)
    assert (event_log.status, event_log.locked_until) == (EventLog.Status.RETRYING, None)


def test_a_fault_while_building_the_request_is_a_recorded_failure(user, receiver, now, monkeypatch):
    def broken(instance):
        raise RuntimeError("a bug")

    monkeypatch.setattr("events.delivery.signing.event_settings", broken)
    instance = InstanceFactory(owner=user, callback_url=receiver.url)
    event_log = delivery(instance, next_attempt_at=now)

    attempt = delivery_send(event_log_id=event_log.pk, now=now)

    assert attempt.error == "not sent: the request could not be built (RuntimeError)"
    assert attempt.request_headers == {}
    assert reload(event_log).status == EventLog.Status.RETRYING

"""One delivery's page: events, payloads, headers, attempts, redelivery, downloads."""

import re

import pytest

from events.eventlog import detail as eventlog
from events.models import DeliveryAttempt, EventLog
from tests.events.eventlog_data import delivery
from tests.events.factories import DeliveryAttemptFactory
from tests.events.queued import run_queued_tasks
from tests.factories import InstanceFactory, UserFactory
from tests.receiver import Answer


@pytest.fixture
def instance(user, receiver):
    return InstanceFactory(owner=user, name="Acme Desk", callback_url=receiver.url)


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def page(client, event_log, suffix=""):
    return client.get(f"/events/log/{event_log.pk}/{suffix}")


def test_it_shows_the_normalized_events(logged_in, instance):
    event_log = delivery(instance, ("incidents", "42", "UPDATED"), ("contacts", "7", "CREATED"))

    text = page(logged_in, event_log).content.decode()

    assert '<td data-label="Object ID" class="mono">42</td>' in text
    assert '<td data-label="Object ID" class="mono">7</td>' in text
    assert "CREATED" in text
    assert "q=42" in text


def test_it_shows_the_message_as_sent_with_a_copy_button(logged_in, instance):
    event_log = delivery(instance)

    text = page(logged_in, event_log).content.decode()

    assert "data-copy=" in text
    assert f"&quot;eventId&quot;:&quot;{event_log.delivery_id}&quot;" in text


def test_it_is_a_404_for_another_users_delivery(logged_in, db):
    theirs = delivery(InstanceFactory(owner=UserFactory()))

    assert page(logged_in, theirs).status_code == 404
    assert page(logged_in, theirs, "message.json").status_code == 404
    assert logged_in.post(f"/events/log/{theirs.pk}/redeliver").status_code == 404
    assert theirs.attempts.count() == 0


def test_it_shows_staff_any_delivery_with_admin_links(client, staff, instance):
    event_log = delivery(instance)
    client.force_login(staff)

    text = page(client, event_log).content.decode()

    assert f"/admin/integrations/instance/{instance.pk}/change/" in text
    assert f"/admin/events/eventlog/{event_log.pk}/change/" in text


def test_it_escapes_markup_in_raw_records(logged_in, instance):
    evil = {"id": "42", "subject": "<script>alert(1)</script>", "html": "<img src=x onerror=y>"}
    event_log = delivery(instance, records=[evil])

    text = page(logged_in, event_log).content.decode()

    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img src=x" not in text


def test_it_spells_out_invisible_and_direction_changing_characters(logged_in, instance):
    event_log = delivery(instance, records=[{"id": "1", "name": "evil\u202etxt.exe\x85"}])

    text = page(logged_in, event_log).content.decode()

    shown = "".join(re.findall(r'<pre class="json">(.*?)</pre>', text, re.S))
    assert "\u202e" not in shown
    assert "evil\\u202etxt.exe\\u0085" in shown


def test_it_truncates_large_payloads_and_links_the_whole_json(logged_in, instance, monkeypatch):
    monkeypatch.setattr(eventlog, "DISPLAY_LIMIT", 1000)
    event_log = delivery(instance, records=[{"id": "1", "note": "x" * 5000}])

    text = page(logged_in, event_log).content.decode()

    assert "x" * 5000 not in text
    assert "Show all (download JSON)" in text
    assert f"/events/log/{event_log.pk}/raw.json" in text


def test_it_serves_the_raw_payload_as_a_download(logged_in, instance):
    event_log = delivery(instance, records=[{"id": "1", "note": "x" * 5000}])

    response = page(logged_in, event_log, "raw.json")

    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "x" * 5000 in response.content.decode()


def test_it_serves_the_exact_message_as_a_download(logged_in, instance):
    event_log = delivery(instance)

    response = page(logged_in, event_log, "message.json")

    assert response.content.decode() == event_log.body


def test_it_shows_the_attempts_and_headers_sent(logged_in, instance):
    event_log = delivery(instance, status=EventLog.Status.RETRYING)
    DeliveryAttemptFactory(
        event_log=event_log,
        status_code=503,
        response_body="<h1>down</h1>",
        duration_ms=812,
        error="the callback answered 503",
        request_headers={"webhook-id": "msg_1", "Authorization": "Basic c2VjcmV0"},
    )

    text = page(logged_in, event_log).content.decode()

    assert "503" in text
    assert "812 ms" in text
    assert "&lt;h1&gt;down&lt;/h1&gt;" in text
    assert "the callback answered 503" in text
    assert "msg_1" in text
    assert "c2VjcmV0" not in text


def test_it_queues_a_redelivery_and_then_shows_the_new_attempt(
    logged_in, instance, receiver, django_capture_on_commit_callbacks
):
    receiver.script(Answer(202))
    event_log = delivery(instance, status=EventLog.Status.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(f"/events/log/{event_log.pk}/redeliver", follow=True)

    assert (
        "Queued 1 delivery for redelivery; a worker sends it within seconds."
        in response.content.decode()
    )
    run_queued_tasks()
    attempt = DeliveryAttempt.objects.get(event_log=event_log)
    assert attempt.trigger == DeliveryAttempt.Trigger.MANUAL
    assert attempt.status_code == 202
    assert len(receiver.requests) == 1
    text = page(logged_in, event_log).content.decode()
    assert '<span class="badge delivered">Delivered</span>' in text
    assert '<li class="ok">' in text


def test_it_shows_a_failed_redelivery_once_the_worker_tried(
    logged_in, instance, receiver, django_capture_on_commit_callbacks
):
    receiver.script(Answer(500))
    event_log = delivery(instance)

    with django_capture_on_commit_callbacks(execute=True):
        logged_in.post(f"/events/log/{event_log.pk}/redeliver")
    run_queued_tasks()

    text = page(logged_in, event_log).content.decode()
    assert "the callback answered 500" in text
    assert '<li class="bad">' in text
    event_log.refresh_from_db()
    assert event_log.status == EventLog.Status.RETRYING


def test_it_refuses_redelivery_by_get(logged_in, instance):
    event_log = delivery(instance)

    assert logged_in.get(f"/events/log/{event_log.pk}/redeliver").status_code == 405


def test_it_requires_the_csrf_token_to_redeliver(client, user, instance):
    event_log = delivery(instance)
    client.handler.enforce_csrf_checks = True
    client.force_login(user)

    response = client.post(f"/events/log/{event_log.pk}/redeliver")

    assert response.status_code == 403
    assert event_log.attempts.count() == 0


def test_it_links_the_neighbouring_deliveries_of_the_same_object(logged_in, instance):
    first = delivery(instance, ("incidents", "42", "CREATED"))
    delivery(instance, ("incidents", "99", "UPDATED"))
    middle = delivery(instance, ("incidents", "42", "UPDATED"))
    last = delivery(instance, ("incidents", "42", "DELETED"))

    text = page(logged_in, middle).content.decode()

    assert f'href="/events/log/{first.pk}/" rel="prev"' in text
    assert f'href="/events/log/{last.pk}/" rel="next"' in text

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.models import EventLog
from integrations.models import Instance
from tests.events.factories import DeliveryAttemptFactory, EventFactory, EventLogFactory
from tests.events.queued import run_queued_tasks
from tests.factories import InstanceFactory, UserFactory


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def delivery(desk, user):
    instance = InstanceFactory(element=desk, owner=user)
    log = EventLogFactory(instance=instance)
    EventFactory(instance=instance, event_log=log, object_id="4242")
    DeliveryAttemptFactory(event_log=log, status_code=503, error="Service Unavailable")
    return log


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.mark.parametrize("model", ["event", "eventlog", "deliveryattempt"])
def test_it_renders_the_changelist_with_data_present(admin_client, delivery, model):
    response = admin_client.get(reverse(f"admin:events_{model}_changelist"))

    assert response.status_code == 200


@pytest.mark.parametrize("model", ["event", "eventlog", "deliveryattempt"])
def test_it_renders_the_view_page_with_data_present(admin_client, delivery, model):
    obj = {
        "event": delivery.events.get(),
        "eventlog": delivery,
        "deliveryattempt": delivery.attempts.get(),
    }[model]

    response = admin_client.get(change_url(obj))

    assert response.status_code == 200


@pytest.mark.parametrize("model", ["event", "eventlog", "deliveryattempt"])
def test_it_offers_no_add_page(admin_client, model):
    response = admin_client.get(reverse(f"admin:events_{model}_add"))

    assert response.status_code == 403


def test_it_does_not_change_a_delivery_on_post(admin_client, delivery):
    admin_client.post(change_url(delivery), {"status": "delivered", "body": "{}"})

    delivery.refresh_from_db()
    assert delivery.status == EventLog.Status.PENDING
    assert delivery.body != "{}"


def test_it_lets_a_superuser_delete_a_delivery(admin_client, delivery):
    url = reverse("admin:events_eventlog_delete", args=[delivery.pk])

    admin_client.post(url, {"post": "yes"})

    assert not EventLog.objects.filter(pk=delivery.pk).exists()


def test_it_refuses_deletion_to_staff_who_are_not_superusers(client, delivery):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="events", codename__startswith="view")
    )
    client.force_login(viewer)

    response = client.post(reverse("admin:events_eventlog_delete", args=[delivery.pk]))

    assert response.status_code == 403
    assert EventLog.objects.filter(pk=delivery.pk).exists()


def test_it_escapes_markup_in_a_raw_record(admin_client, desk, user):
    event = EventFactory(
        instance=InstanceFactory(element=desk, owner=user),
        raw={"id": 1, "subject": "<script>alert(1)</script>"},
    )

    html = admin_client.get(change_url(event)).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" not in html


def test_it_shows_the_delivery_body_pretty_printed(admin_client, delivery):
    delivery.body = json.dumps({"elementKey": "desk", "instanceId": 7})
    delivery.save()

    html = admin_client.get(change_url(delivery)).content.decode()

    assert (
        "<pre>{\n  &quot;elementKey&quot;: &quot;desk&quot;,\n  &quot;instanceId&quot;: 7\n}</pre>"
        in html
    )


def test_it_shows_the_events_and_attempts_of_a_delivery(admin_client, delivery):
    html = admin_client.get(change_url(delivery)).content.decode()

    assert "4242" in html
    assert "Service Unavailable" in html


def test_it_redacts_authorization_headers_of_an_attempt(admin_client, delivery):
    attempt = DeliveryAttemptFactory(
        event_log=delivery, request_headers={"Authorization": "Basic c2VjcmV0LXB3ZA=="}
    )

    html = admin_client.get(change_url(attempt)).content.decode()

    assert "c2VjcmV0LXB3ZA==" not in html


def test_it_finds_a_delivery_by_the_object_id_of_its_events(admin_client, delivery):
    other = EventLogFactory(instance=delivery.instance)
    EventFactory(instance=delivery.instance, event_log=other, object_id="7")

    response = admin_client.get(reverse("admin:events_eventlog_changelist"), {"q": "4242"})

    assert list(response.context["cl"].result_list) == [delivery]


def changelist_queries(client, model: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(f"admin:events_{model}_changelist"))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("model", ["event", "eventlog", "deliveryattempt"])
def test_it_lists_with_a_constant_number_of_queries(admin_client, desk, user, model):
    def add_rows(count: int) -> None:
        for n in range(count):
            instance = InstanceFactory(element=desk, owner=user)
            log = EventLogFactory(instance=instance, object_type=f"type{n}")
            EventFactory(instance=instance, event_log=log, object_type=f"type{n}")
            DeliveryAttemptFactory(event_log=log, status_code=200 + n)

    add_rows(2)
    few = changelist_queries(admin_client, model)
    add_rows(10)

    assert changelist_queries(admin_client, model) == few


def test_the_redeliver_action_queues_a_manual_attempt(
    admin_client, user, receiver, django_capture_on_commit_callbacks
):
    instance = InstanceFactory(owner=user, callback_url=receiver.url)
    older, newer = (EventLogFactory(instance=instance, status="failed") for _ in range(2))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:events_eventlog_changelist"),
            {"action": "redeliver", "_selected_action": [newer.pk, older.pk]},
            follow=True,
        )

    assert (
        "Queued 2 deliveries for redelivery; a worker sends them within seconds."
        in response.content.decode()
    )
    run_queued_tasks()
    sent = [request.headers["Elements-Webhook-Id"] for request in receiver.requests]
    assert sent == [str(older.delivery_id), str(newer.delivery_id)]
    for log in (older, newer):
        assert list(log.attempts.values_list("trigger", "status_code")) == [("manual", 200)]
        log.refresh_from_db()
        assert log.status == EventLog.Status.DELIVERED


def test_the_redeliver_action_refuses_a_selection_too_large(admin_client, user, monkeypatch):
    monkeypatch.setattr("events.admin.MAX_ADMIN_REDELIVERIES", 1)
    logs = [EventLogFactory(instance=InstanceFactory(owner=user)) for _ in range(2)]

    response = admin_client.post(
        reverse("admin:events_eventlog_changelist"),
        {"action": "redeliver", "_selected_action": [log.pk for log in logs]},
        follow=True,
    )

    assert "Select at most 1 deliveries" in response.content.decode()
    assert not any(log.attempts.exists() for log in logs)


def test_the_instance_admin_reactivates_notifications_and_queues_the_sends(
    admin_client, user, receiver, django_capture_on_commit_callbacks
):
    instance = InstanceFactory(
        owner=user,
        name="Acme Desk",
        callback_url=receiver.url,
        notifications_suspended_at=timezone.now(),
    )
    queued = EventLogFactory(instance=instance, status="queued")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:integrations_instance_changelist"),
            {"action": "reactivate_notifications", "_selected_action": [instance.pk]},
            follow=True,
        )

    assert (
        f"Notifications of Acme Desk (#{instance.pk}) reactivated. Queued 1 delivery to send "
        "in order; a worker sends it within seconds." in response.content.decode()
    )
    assert not Instance.objects.get(pk=instance.pk).notifications_suspended_at
    run_queued_tasks()
    queued.refresh_from_db()
    assert queued.status == EventLog.Status.DELIVERED

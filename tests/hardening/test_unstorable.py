"""Data the database cannot store (a NUL character, half a surrogate pair, an objectId longer
than its column) never stops a poller or fails a webhook: the stored copy replaces what it
cannot hold, the delivered message carries what the provider sent, and a change whose
identity cannot be stored is skipped with the reason.

PostgreSQL is where this matters (jsonb refuses ``\\u0000``, text refuses NUL, varchar its
length); the tests run on SQLite too. Real HTTP: the Desk simulator, the webhook endpoint and a
callback receiver.
"""

from __future__ import annotations

import base64
import json

import pytest

from events.delivery import deliveries_send
from events.models import Event, EventLog
from events.polling import PollError, poll_object
from integrations.instances import instance_create
from integrations.models import Instance
from integrations.provider import ProviderClient
from tests.api_helpers import SINCE
from tests.events.conftest import at, desk_instance_json

pytestmark = pytest.mark.django_db

WEBHOOK_PASSWORD = "custom-action-password"


def polling_instance(user, sim, receiver, **poller):
    data = desk_instance_json(
        sim.url,
        **{
            "event.notification.callback.url": receiver.url,
            "event.poller.configuration": {
                "incidents": {
                    "url": "/hubs/helpdesk/incidents?where=updated_at>" + SINCE,
                    "idField": "id",
                    **poller,
                }
            },
        },
    )
    instance = instance_create(owner=user, data=data)
    instance.events_enabled_at = sim.now()
    instance.save(update_fields=["events_enabled_at"])
    return instance


def poll(sim, instance):
    poller = instance.poller_objects.get(name="incidents")
    client = ProviderClient(Instance.objects.get(pk=instance.pk), sleep=sim.advance)
    # Our clock is the simulator's, which the tests move: no clock skew.
    return poll_object(poller_object_id=poller.pk, client=client, now=sim.now())


def deliver_all(now=None) -> None:
    deliveries_send(
        event_log_ids=list(EventLog.objects.order_by("id").values_list("id", flat=True)),
        now=now,
    )
    assert set(EventLog.objects.values_list("status", flat=True)) == {EventLog.Status.DELIVERED}


def delivered_records(receiver) -> list[dict]:
    records = []
    for request in receiver.requests:
        raw = json.loads(request.body)["message"]["raw"]
        records += raw[raw["objectType"]] if "objectType" in raw else raw["events"]
    return records


def test_a_case_with_a_nul_in_its_subject_is_delivered_and_the_poller_moves_on(
    sim, desk, user, receiver
):
    instance = polling_instance(user, sim, receiver)
    at(sim, 5)
    case = sim.create_case(subject="before\u0000after")

    result = poll(sim, instance)
    deliver_all(now=sim.now())

    assert sum(result.events.values()) == 1
    assert [record["subject"] for record in delivered_records(receiver)] == ["before\u0000after"]
    assert Event.objects.get().raw["subject"] == "before\ufffdafter"
    poller = instance.poller_objects.get(name="incidents")
    assert poller.cursor.strftime("%Y-%m-%dT%H:%M:%SZ") == case["updated_at"]
    assert poller.consecutive_failures == 0

    at(sim, 5)
    sim.create_case(subject="the next change")
    poll(sim, instance)
    deliver_all(now=sim.now())

    assert [record["subject"] for record in delivered_records(receiver)] == [
        "before\u0000after",
        "the next change",
    ]


def test_a_record_whose_id_cannot_be_stored_is_skipped_with_a_warning(sim, desk, user, receiver):
    instance = polling_instance(user, sim, receiver, idField="external_id")
    for external_id in ("first", "x" * 600, "last"):
        at(sim, 5)
        sim.create_case(subject="keyed by its external id", external_id=external_id)

    result = poll(sim, instance)
    deliver_all(now=sim.now())

    (warning,) = result.warnings
    assert "its objectId is 600 characters long, over the 500 that can be stored" in warning
    poller = instance.poller_objects.get(name="incidents")
    assert poller.last_result["warnings"] == [warning]
    assert poller.consecutive_failures == 0
    assert sorted(Event.objects.values_list("object_id", flat=True)) == ["first", "last"]
    assert [record["external_id"] for record in delivered_records(receiver)] == ["first", "last"]


def test_a_provider_error_holding_a_nul_is_recorded_on_the_poller(sim, desk, user, receiver):
    instance = polling_instance(user, sim, receiver)
    sim.inject("status", status=404, path="/cases/search", body="no\u0000such thing", times=None)

    with pytest.raises(PollError):
        poll(sim, instance)

    poller = instance.poller_objects.get(name="incidents")
    assert poller.consecutive_failures == 1
    assert "no\ufffdsuch thing" in poller.last_error


# Webhooks: Desk's Custom Action -----------------------------------------------------------


@pytest.fixture
def webhook_instance(desk, user, receiver):
    return instance_create(
        owner=user,
        data={
            "element": {"key": "desk"},
            "name": "Desk custom action",
            "providerData": {"oauth_token": "t", "secret": "s"},
            "configuration": {
                "site.address": "acme.desk.com",
                "oauth.api.key": "k",
                "oauth.api.secret": "s",
                "webhook.username": "desk",
                "webhook.password": WEBHOOK_PASSWORD,
                "event.notification.enabled": "true",
                "event.vendor.type": "webhook",
                "event.notification.callback.url": receiver.url,
            },
        },
    )


def desk_post(client, instance, *events):
    credentials = base64.b64encode(f"desk:{WEBHOOK_PASSWORD}".encode()).decode()
    return client.post(
        f"/elements/api-v2/events/desk/{instance.webhook_token}",
        data=json.dumps({"events": list(events)}),
        content_type="application/json",
        headers={"Authorization": f"Basic {credentials}"},
    )


def desk_event(object_id, subject):
    return {
        "objectType": "incidents",
        "objectId": object_id,
        "eventType": "updated",
        "date": "2016-11-22T18:05:11Z",
        "record": {"id": object_id, "subject": subject},
    }


@pytest.mark.parametrize("subject", ["before\u0000after", "half an emoji \ud83d"])
def test_a_webhook_with_text_the_database_cannot_hold_is_accepted_and_delivered(
    client, webhook_instance, receiver, subject
):
    response = desk_post(client, webhook_instance, desk_event("3065", subject))
    deliver_all()

    assert response.status_code == 202, response.content
    (request,) = receiver.requests
    assert json.loads(request.body)["message"]["raw"]["events"][0]["record"]["subject"] == subject
    assert "\ufffd" in Event.objects.get().raw["subject"]


def test_a_webhook_change_whose_id_cannot_be_stored_is_skipped_and_the_others_delivered(
    client, webhook_instance, receiver
):
    response = desk_post(
        client,
        webhook_instance,
        desk_event("3065", "kept"),
        desk_event("x" * 600, "skipped"),
        desk_event("3066", "kept too"),
    )
    deliver_all()

    assert response.status_code == 202, response.content
    assert sorted(Event.objects.values_list("object_id", flat=True)) == ["3065", "3066"]
    (request,) = receiver.requests
    events = json.loads(request.body)["message"]["events"]
    assert [event["objectId"] for event in events] == ["3065", "3066"]

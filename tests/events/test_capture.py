"""The one capture path: normalized changes in, new Events and their deliveries out."""

import dataclasses
import json
import math
from datetime import UTC, datetime

import pytest

from core.changes import Change
from events.capture import changes_capture
from events.models import Event, EventLog, InboundWebhook, Source
from tests.events.factories import EventFactory
from tests.factories import InstanceFactory

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


@pytest.fixture
def instance(db):
    return InstanceFactory()


def change(object_id="7", version="v1", **fields):
    values = {
        "object_type": "incidents",
        "event_type": "UPDATED",
        "date": datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
        "record": {"id": int(object_id), "subject": "Printer on fire"},
        **fields,
    }
    return Change(object_id=object_id, version=version, **values)


def capture(instance, changes, **options):
    return changes_capture(
        instance=instance,
        changes=changes,
        source=options.pop("source", Source.WEBHOOK),
        now=NOW,
        batch_size=options.pop("batch_size", 10),
        raw=options.pop("raw", lambda batch: {"body": True}),
        **options,
    )


def test_it_stores_each_change_as_an_event_of_one_delivery(instance):
    result = capture(instance, [change("1"), change("2", event_type="CREATED")])

    assert result.events == {"UPDATED": 1, "CREATED": 1}
    assert result.stored == 2
    (log,) = EventLog.objects.all()
    assert result.event_log_ids == [log.pk]
    assert log.status == EventLog.Status.PENDING
    assert log.next_attempt_at == NOW
    assert sorted(log.events.values_list("object_id", flat=True)) == ["1", "2"]


def test_it_skips_a_version_already_stored(instance):
    EventFactory(instance=instance, object_type="incidents", object_id="7", version="v1")

    result = capture(instance, [change("7", "v1"), change("7", "v2")])

    assert result.duplicates == 1
    assert result.stored == 1
    assert list(Event.objects.filter(event_log__isnull=False).values_list("version")) == [("v2",)]


def test_it_stores_a_change_repeated_within_one_call_once(instance):
    result = capture(instance, [change("7", "v1"), change("7", "v1")])

    assert result.stored == 1
    assert result.duplicates == 1


def test_the_same_version_of_another_object_type_is_another_change(instance):
    EventFactory(instance=instance, object_type="incidents", object_id="7", version="v1")

    result = capture(instance, [change("7", "v1", object_type="contacts")])

    assert result.stored == 1


def test_it_batches_changes_into_messages_with_the_raw_the_caller_builds(instance):
    changes = [change(str(number)) for number in range(5)]

    capture(instance, changes, batch_size=2, raw=lambda batch: [c.object_id for c in batch])

    bodies = [json.loads(log.body) for log in EventLog.objects.order_by("pk")]
    assert [body["message"]["raw"] for body in bodies] == [["0", "1"], ["2", "3"], ["4"]]
    assert [len(body["message"]["events"]) for body in bodies] == [2, 2, 1]


def test_it_holds_back_a_partial_batch_when_asked(instance):
    changes = [change(str(number)) for number in range(5)]

    result = capture(instance, changes, batch_size=2, full_batches_only=True)

    assert result.stored == 4
    assert result.held == [changes[4]]
    assert EventLog.objects.count() == 2


def test_a_dry_run_stores_nothing_and_reports_what_it_would(instance):
    result = capture(instance, [change("1")], dry_run=True)

    assert result.new_events == [
        {
            "objectId": "1",
            "objectType": "incidents",
            "eventType": "UPDATED",
            "date": "2026-11-28T09:00:00Z",
        }
    ]
    assert result.event_log_ids == []
    assert not EventLog.objects.exists()
    assert not Event.objects.exists()


def test_a_polled_event_carries_its_poll_date(instance):
    capture(instance, [change("1")], source=Source.POLLING, poll_date=NOW)

    event = Event.objects.get()
    entry = json.loads(event.event_log.body)["message"]["events"][0]
    assert event.source == Source.POLLING
    assert event.poll_date == NOW
    assert entry["pollDate"] == "2026-11-28T10:00:00Z"


def test_a_webhook_event_keeps_its_request_and_wraps_a_record_that_is_not_an_object(instance):
    inbound = InboundWebhook.objects.create(element=instance.element, method="POST")

    capture(instance, [change("1", record=["not", "an", "object"], date=None)], inbound=inbound)

    event = Event.objects.get()
    assert event.inbound == inbound
    assert event.raw == {"value": ["not", "an", "object"]}
    assert event.poll_date is None
    assert event.event_date == NOW
    assert "pollDate" not in json.loads(event.event_log.body)["message"]["events"][0]


def test_a_delivery_of_an_instance_with_suspended_notifications_is_queued(instance):
    instance.notifications_suspended_at = NOW
    instance.save(update_fields=["notifications_suspended_at"])

    capture(instance, [change("1")])

    assert EventLog.objects.get().status == EventLog.Status.QUEUED


# Data the database cannot store ------------------------------------------------------------


def test_the_stored_copy_replaces_what_the_database_cannot_hold_and_the_message_keeps_it(
    instance,
):
    record = {"id": 1, "subject": "before\u0000after", "k\u0000ey": "half an emoji \ud83d"}

    capture(instance, [change("1", record=record)], raw=lambda batch: batch[0].record)

    event = Event.objects.get()
    assert event.raw == {
        "id": 1,
        "subject": "before\ufffdafter",
        "k\ufffdey": "half an emoji \ufffd",
    }
    assert json.loads(event.event_log.body)["message"]["raw"] == record


def test_a_number_json_cannot_hold_is_stored_as_its_name(instance):
    record = {"id": 1, "values": [math.nan, math.inf, -math.inf, 1.5]}

    capture(instance, [change("1", record=record)])

    assert Event.objects.get().raw["values"] == ["NaN", "Infinity", "-Infinity", 1.5]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"object_id": "x" * 600}, "its objectId is 600 characters long, over the 500"),
        ({"object_id": "a\u0000b"}, "its objectId holds a NUL character"),
        ({"object_type": "t" * 201}, "its objectType is 201 characters long, over the 200"),
    ],
)
def test_a_change_whose_identity_cannot_be_stored_is_skipped_with_the_reason(
    instance, fields, reason
):
    unstorable = dataclasses.replace(change("2"), **fields)

    result = capture(instance, [change("1"), unstorable, change("3")])

    assert result.stored == 2
    assert sorted(Event.objects.values_list("object_id", flat=True)) == ["1", "3"]
    (skipped,) = result.skipped
    assert reason in skipped


def test_an_over_long_version_is_stored_as_its_hash_and_still_deduplicates(instance):
    version = "delivery-" + "9" * 300

    first = capture(instance, [change("1", version=version)])
    again = capture(instance, [change("1", version=version)])

    assert (first.stored, again.stored, again.duplicates) == (1, 0, 1)
    assert Event.objects.get().version.startswith("sha256:")

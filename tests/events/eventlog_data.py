"""Deliveries as polling stores them: an EventLog whose body is the message sent, and its
Events. Shared by the event log tests and the browser test."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from events.messages import build_message, dumps, event_entry, polling_raw
from events.models import EventLog
from tests.events.factories import EventFactory, EventLogFactory


def delivery(
    instance,
    *objects: tuple[str, str, str],
    created: datetime | None = None,
    records: list[dict] | None = None,
    **fields,
) -> EventLog:
    """A delivery of ``instance`` carrying one event per (objectType, objectId, eventType)."""
    objects = objects or (("incidents", "42", "UPDATED"),)
    now = timezone.now()
    records = records or [
        {"id": object_id, "subject": "Printer on fire"} for _, object_id, _ in objects
    ]
    event_log = EventLogFactory(instance=instance, object_type=objects[0][0], **fields)
    entries = [
        event_entry(
            instance=instance,
            object_type=object_type,
            object_id=object_id,
            event_type=event_type,
            date=now,
            poll_date=now,
        )
        for object_type, object_id, event_type in objects
    ]
    message = build_message(
        instance=instance,
        delivery_id=str(event_log.delivery_id),
        events=entries,
        raw=polling_raw(objects[0][0], records, now),
        created=now,
    )
    event_log.body = dumps(message)
    event_log.save(update_fields=["body"])
    for index, (object_type, object_id, event_type) in enumerate(objects):
        EventFactory(
            instance=instance,
            event_log=event_log,
            object_type=object_type,
            object_id=object_id,
            event_type=event_type,
            raw=records[index] if index < len(records) else {},
        )
    if created is not None:
        # created_at is auto_now_add: set it afterwards.
        EventLog.objects.filter(pk=event_log.pk).update(created_at=created)
        event_log.created_at = created
    return event_log

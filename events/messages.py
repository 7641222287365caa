"""The notification JSON POSTed to an app's callback URL, in Cloud Elements' shape."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from integrations.models import Instance

NOTIFICATION_USER = "notifications@tributary"


def iso_z(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def event_entry(
    *,
    instance: Instance,
    object_type: str,
    object_id: str,
    event_type: str,
    date: datetime,
    poll_date: datetime | None,
) -> dict[str, Any]:
    entry = {
        "date": iso_z(date),
        "elementKey": instance.element.key,
        "eventType": event_type,
        "hubKey": instance.element.hub,
        "objectId": object_id,
        "objectType": object_type,
    }
    if poll_date is not None:
        entry["pollDate"] = iso_z(poll_date)
    return entry


def polling_raw(object_type: str, records: Sequence[dict], poll_date: datetime) -> dict[str, Any]:
    return {object_type: list(records), "pollDate": epoch_ms(poll_date), "objectType": object_type}


def build_message(
    *,
    instance: Instance,
    delivery_id: str,
    events: Sequence[dict[str, Any]],
    raw: Any,
    created: datetime,
) -> dict[str, Any]:
    return {
        "severity": "medium",
        "createdDate": created.astimezone(UTC).strftime("%a %b %d %H:%M:%S UTC %Y"),
        "topic": f"instance-{instance.pk}-{instance.element.key}-events",
        "action": "create",
        "id": delivery_id,
        "user": NOTIFICATION_USER,
        "message": {
            "elementKey": instance.element.key,
            "eventId": delivery_id,
            "instanceId": instance.pk,
            "instance_id": instance.pk,
            "instanceName": instance.name,
            "instanceTags": list(instance.tags or []),
            "userId": instance.owner_id,
            "raw": raw,
            "events": list(events),
        },
    }


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))

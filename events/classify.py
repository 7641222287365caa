"""Turning one polled record into a normalized change: its id, dates, event type and version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.changes import Change, EventType
from integrations.models import PollerObject
from integrations.query import DateFormatError, ZoneError, get_path, parse_datetime, resolve_zone


class RecordError(ValueError):
    """A record that cannot be classified (no id, an unparseable date)."""


@dataclass(frozen=True)
class Classified:
    """A polled record's change, with the dates the poll's window and cursor compare."""

    change: Change
    updated: datetime | None
    created: datetime | None


def _record_date(record: dict, dates: dict, prefix: str) -> datetime | None:
    field = dates.get(f"{prefix}DateField")
    if not field:
        return None
    value = get_path(record, field)
    if value in (None, ""):
        return None
    fmt = dates.get(f"{prefix}DateFormat") or "yyyy-MM-dd'T'HH:mm:ssXXX"
    zone = dates.get(f"{prefix}DateTimezone")
    try:
        return parse_datetime(value, fmt, tz=resolve_zone(zone) if zone else None)
    except (DateFormatError, ZoneError) as exc:
        raise RecordError(f"{field}: {exc}") from None


def content_hash(record: dict) -> str:
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def is_deleted(record: dict, marker: dict | None) -> bool:
    if not marker or not marker.get("field"):
        return False
    value = get_path(record, marker["field"])
    expected = marker.get("value")
    if isinstance(expected, list):
        return value in expected
    return value == expected


def classify(record: dict, poller: PollerObject) -> Classified:
    """Classify a record as Cloud Elements did, with Tributary's version key for dedupe.

    CREATED when created ≈ updated (within createdCheckTolerance seconds), UPDATED when the
    record was updated after it was created, DELETED when the deleted marker matches, and
    UNKNOWN when the configuration has no dates to compare.
    """
    raw_id = get_path(record, poller.id_field)
    if raw_id in (None, ""):
        raise RecordError(f"the record has no value at idField {poller.id_field!r}")
    dates = poller.dates_configuration or {}
    updated = _record_date(record, dates, "updated")
    created = _record_date(record, dates, "created")
    tolerance = poller.created_check_tolerance
    if tolerance is None:
        tolerance = int(dates.get("createdCheckTolerance") or 0)

    if is_deleted(record, poller.deleted_marker):
        event_type = EventType.DELETED
    elif updated is not None and created is not None:
        gap = abs((updated - created).total_seconds())
        event_type = EventType.CREATED if gap <= tolerance else EventType.UPDATED
    elif created is not None and not poller.filter_by_updated_date:
        event_type = EventType.CREATED
    else:
        event_type = EventType.UNKNOWN

    stamp = updated.isoformat() if updated else "-"
    change = Change(
        object_type=poller.name,
        object_id=str(raw_id),
        event_type=str(event_type),
        date=updated or created,
        record=record,
        version=f"{stamp}:{content_hash(record)}",
    )
    return Classified(change=change, updated=updated, created=created)


def filter_date(classified: Classified, poller: PollerObject) -> datetime | None:
    """The date compared with the window: updated, or created with filterByUpdatedDate off."""
    return classified.updated if poller.filter_by_updated_date else classified.created


def describe(record: Any, limit: int = 200) -> str:
    text = json.dumps(record, default=str)
    return text if len(text) <= limit else text[:limit] + "…"

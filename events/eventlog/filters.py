"""The event log's filters: parsed from the query string, each bad value explained, and
applied to deliveries without joins; and the options the filter form offers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from core.changes import EventType
from events.eventlog.access import User, instances_visible
from events.models import Event, EventLog
from integrations.models import Element

# Ids are ASCII digits up to the largest value a database id column holds.
_ID = re.compile(r"[0-9]{1,19}")
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Filters:
    instance: int | None = None
    element: str = ""
    object_type: str = ""
    event_type: str = ""
    status: str = ""
    since: date | None = None
    until: date | None = None
    object_id: str = ""
    errors: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        """Parse request.GET; a bad value is dropped and explained in ``errors``."""
        errors: list[str] = []

        def text(name: str, label: str) -> str:
            return _text(query.get(name, ""), label, errors)

        instance = _id(text("instance", "instance"), "instance", errors)
        event_type = text("event_type", "event type").upper()
        if event_type and event_type not in EventType.values:
            errors.append(
                f"Unknown event type {_shown(event_type)}: use {', '.join(EventType.values)}."
            )
            event_type = ""
        status = text("status", "status").lower()
        if status and status not in EventLog.Status.values:
            errors.append(
                f"Unknown status {_shown(status)}: use {', '.join(EventLog.Status.values)}."
            )
            status = ""
        return cls(
            instance=instance,
            element=text("element", "element"),
            object_type=text("object_type", "object type"),
            event_type=event_type,
            status=status,
            since=_date(text("since", "'from' date"), "from", errors),
            until=_date(text("until", "'to' date"), "to", errors),
            object_id=text("q", "object id"),
            errors=tuple(errors),
        )

    @property
    def active(self) -> bool:
        values = (self.instance, self.element, self.object_type, self.event_type, self.status)
        return any((*values, self.since, self.until, self.object_id))

    def apply(self, rows: QuerySet[EventLog], *, dates: bool = True) -> QuerySet[EventLog]:
        if self.instance:
            rows = rows.filter(instance_id=self.instance)
        if self.element:
            rows = rows.filter(instance__element__key=self.element)
        if self.status:
            rows = rows.filter(status=self.status)
        # Event filters are subqueries, never joins: a delivery of ten matching events is one
        # row. An objectId is selective: read its events by index, then their deliveries.
        # Types are not: walk the deliveries newest first and check each (EXISTS).
        events = Q()
        if self.object_type:
            events &= Q(object_type=self.object_type)
        if self.event_type:
            events &= Q(event_type=self.event_type)
        if self.object_id:
            events &= Q(object_id=self.object_id)
            rows = rows.filter(pk__in=Event.objects.filter(events).values("event_log_id"))
        elif events:
            rows = rows.filter(Exists(Event.objects.filter(events, event_log_id=OuterRef("pk"))))
        if dates and self.since:
            rows = rows.filter(created_at__gte=_start_of(self.since))
        # The last day there is has no next day: it bounds nothing.
        if dates and self.until and self.until < date.max:
            rows = rows.filter(created_at__lt=_start_of(self.until + timedelta(days=1)))
        return rows


def _shown(value: str) -> str:
    """A value as an error message quotes it, cut short."""
    return repr(value if len(value) <= 60 else value[:57] + "...")


def _text(value: str, label: str, errors: list[str]) -> str:
    value = value.strip()
    # PostgreSQL cannot compare a string holding NUL: refused here rather than by the database.
    if "\x00" in value:
        errors.append(f"The {label} must not contain a NUL character.")
        return ""
    return value


def _id(value: str, name: str, errors: list[str]) -> int | None:
    if not value:
        return None
    if _ID.fullmatch(value) and int(value) <= MAX_ID:
        return int(value)
    errors.append(f"The {name} must be an id (a whole number), not {_shown(value)}.")
    return None


def _date(value: str, name: str, errors: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"The '{name}' date must look like 2024-05-31, not {_shown(value)}.")
        return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def filter_choices(*, user: User) -> dict[str, list]:
    """Options for the filter form, from the (few) instances and elements, not from the
    (many) events."""
    instances = list(instances_visible(user=user))
    elements = {instance.element for instance in instances}
    if getattr(user, "is_staff", False):
        elements = set(Element.objects.all())
    object_types = sorted({key for element in elements for key in element.resources})
    return {
        "instances": instances,
        "elements": sorted(elements, key=lambda element: element.key),
        "object_types": object_types,
        "event_types": EventType.values,
        "statuses": EventLog.Status.choices,
    }

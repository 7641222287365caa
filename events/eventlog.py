"""Reads behind the event log pages: which deliveries a user may see, filtered, a page at a
time (keyset on created_at, id: no COUNT, no OFFSET), the hourly chart and one delivery's
details. Provider data is made inert and bounded here; templates escape the rest."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from events.models import DeliveryAttempt, Event, EventLog, EventType
from integrations.models import Element, Instance

PAGE_SIZE = 50
# Characters of pretty-printed JSON shown on the page; the rest is a download away.
DISPLAY_LIMIT = 64 * 1024
EXCERPT_LIMIT = 300
NOT_DELIVERED = (EventLog.Status.FAILED, EventLog.Status.RETRYING, EventLog.Status.QUEUED)
REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization"})
# Characters a browser would act on or hide rather than show: C1 controls, bidirectional
# overrides, zero-width marks, lone surrogates (undecodable bytes surfacing as text).
INVISIBLE = re.compile("[\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")

User = AbstractBaseUser | AnonymousUser


# Access ---------------------------------------------------------------------------------


def deliveries_visible(*, user: User) -> QuerySet[EventLog]:
    """Staff see every delivery; other users those of the instances they own."""
    rows = EventLog.objects.all()
    if not getattr(user, "is_staff", False):
        # EXISTS rather than a join, so the newest-first index drives the scan (SQLite would
        # otherwise read all of the owner's deliveries by instance and sort them).
        owned = Instance.objects.filter(pk=OuterRef("instance_id"), owner_id=user.pk)
        rows = rows.filter(Exists(owned))
    return rows


def instances_visible(*, user: User) -> QuerySet[Instance]:
    rows = Instance.objects.select_related("element").order_by("name", "id")
    if not getattr(user, "is_staff", False):
        rows = rows.filter(owner_id=user.pk)
    return rows


# Filters --------------------------------------------------------------------------------


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
        instance = _int(query.get("instance", ""), "instance", errors)
        event_type = query.get("event_type", "").strip().upper()
        if event_type and event_type not in EventType.values:
            errors.append(f"Unknown event type {event_type!r}: use {', '.join(EventType.values)}.")
            event_type = ""
        status = query.get("status", "").strip().lower()
        if status and status not in EventLog.Status.values:
            errors.append(f"Unknown status {status!r}: use {', '.join(EventLog.Status.values)}.")
            status = ""
        return cls(
            instance=instance,
            element=query.get("element", "").strip(),
            object_type=query.get("object_type", "").strip(),
            event_type=event_type,
            status=status,
            since=_date(query.get("since", ""), "from", errors),
            until=_date(query.get("until", ""), "to", errors),
            object_id=query.get("q", "").strip(),
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
        if dates and self.until:
            rows = rows.filter(created_at__lt=_start_of(self.until + timedelta(days=1)))
        return rows


def _int(value: str, name: str, errors: list[str]) -> int | None:
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    errors.append(f"The {name} must be a number, not {value!r}.")
    return None


def _date(value: str, name: str, errors: list[str]) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"The '{name}' date must look like 2024-05-31, not {value!r}.")
        return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# The list: keyset pages -----------------------------------------------------------------


def cursor_of(event_log: EventLog) -> str:
    micros = int(event_log.created_at.timestamp() * 1_000_000)
    return f"{micros}.{event_log.pk}"


def parse_cursor(value: str) -> tuple[datetime, int] | None:
    micros, _, pk = value.partition(".")
    if not (micros.isdigit() and pk.isdigit()):
        return None
    return datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC), int(pk)


@dataclass
class Row:
    event_log: EventLog
    object_types: list[str] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)
    event_count: int = 0


@dataclass
class Page:
    rows: list[Row]
    newer: str | None
    older: str | None


def deliveries_for(
    *,
    user: User,
    filters: Filters,
    before: str = "",
    after: str = "",
    limit: int | None = None,
) -> Page:
    """One page of deliveries, newest first: the first page, the page older than the
    ``before`` cursor or the page newer than ``after``. Two queries, whatever the page."""
    limit = limit or PAGE_SIZE
    rows = filters.apply(deliveries_visible(user=user)).select_related("instance__element")
    newer_than = parse_cursor(after) if after else None
    older_than = parse_cursor(before) if before else None
    if newer_than:
        created, pk = newer_than
        # Written so that the (created_at, id) index bounds the scan on every database.
        rows = rows.filter(Q(created_at__gte=created), Q(created_at__gt=created) | Q(id__gt=pk))
        found = list(rows.order_by("created_at", "id")[: limit + 1])
        more_newer = len(found) > limit
        logs = found[:limit][::-1]
        newer, older = (cursor_of(logs[0]) if more_newer else None), cursor_of(logs[-1])
        if not logs:
            older = None
    else:
        if older_than:
            created, pk = older_than
            rows = rows.filter(Q(created_at__lte=created), Q(created_at__lt=created) | Q(id__lt=pk))
        found = list(rows.order_by("-created_at", "-id")[: limit + 1])
        logs = found[:limit]
        older = cursor_of(logs[-1]) if len(found) > limit else None
        newer = cursor_of(logs[0]) if older_than and logs else None
    return Page(rows=_with_event_summary(logs), newer=newer, older=older)


def _with_event_summary(logs: list[EventLog]) -> list[Row]:
    rows = {log.pk: Row(log) for log in logs}
    if not rows:
        return []
    groups = (
        Event.objects.filter(event_log_id__in=rows)
        .order_by()
        .values_list("event_log_id", "object_type", "event_type")
        .annotate(n=Count("id"))
    )
    for event_log_id, object_type, event_type, n in groups:
        row = rows[event_log_id]
        row.event_count += n
        if object_type not in row.object_types:
            row.object_types.append(object_type)
        if event_type not in row.event_types:
            row.event_types.append(event_type)
    for row in rows.values():
        row.object_types.sort()
        row.event_types.sort()
    return list(rows.values())


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


# The chart ------------------------------------------------------------------------------


@dataclass
class Bar:
    hour: datetime
    delivered: int
    failed: int


def delivery_chart(
    *, user: User, now: datetime | None = None, filters: Filters | None = None
) -> list[Bar]:
    """Deliveries per hour over the last 24 hours (the current hour last): delivered, and
    failed (failed, retrying or queued). One query."""
    now = now or timezone.now()
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=24)
    rows = deliveries_visible(user=user)
    if filters:
        rows = filters.apply(rows, dates=False)
    counts = (
        rows.filter(created_at__gte=start, created_at__lt=end)
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .order_by()
        .values("hour")
        .annotate(
            delivered=Count("id", filter=Q(status=EventLog.Status.DELIVERED)),
            failed=Count("id", filter=Q(status__in=NOT_DELIVERED)),
        )
    )
    by_hour = {row["hour"]: row for row in counts}
    bars = []
    for offset in range(24):
        hour = start + timedelta(hours=offset)
        row = by_hour.get(hour, {})
        bars.append(Bar(hour, row.get("delivered", 0), row.get("failed", 0)))
    return bars


# One delivery ---------------------------------------------------------------------------


def inert(text: str) -> str:
    """Text with invisible or direction-changing characters spelled out as \\uXXXX."""
    return INVISIBLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def exact(text: str) -> str:
    """The text as sent; only lone surrogates, which no response can encode, are escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass
class Shown:
    """Text for the page: at most ``DISPLAY_LIMIT`` characters, and whether it was cut."""

    text: str
    size: int
    truncated: bool


def shown(text: str) -> Shown:
    cut = len(text) > DISPLAY_LIMIT
    return Shown(inert(text[:DISPLAY_LIMIT]), len(text), cut)


def pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def message_of(event_log: EventLog) -> Any:
    try:
        return json.loads(event_log.body)
    except ValueError:
        return None


def raw_of(message: Any) -> Any:
    if isinstance(message, dict) and isinstance(message.get("message"), dict):
        return message["message"].get("raw")
    return None


@dataclass
class Detail:
    event_log: EventLog
    events: list[Event]
    attempts: list[DeliveryAttempt]
    message: Shown
    raw: Shown
    body: str
    headers: list[tuple[str, str]]
    previous: int | None
    next: int | None


def delivery_detail(*, event_log: EventLog) -> Detail:
    events = list(
        event_log.events.order_by("id").only(
            "object_id", "object_type", "event_type", "event_date", "event_log_id", "instance_id"
        )
    )
    attempts = list(event_log.attempts.order_by("started_at", "id"))
    message = message_of(event_log)
    message_text = pretty(message) if message is not None else event_log.body
    headers = attempts[-1].request_headers if attempts else {}
    previous, following = delivery_neighbours(event_log=event_log, events=events)
    return Detail(
        event_log=event_log,
        events=events,
        attempts=attempts,
        message=shown(message_text),
        raw=shown(pretty(raw_of(message))),
        body=exact(event_log.body) if len(event_log.body) <= DISPLAY_LIMIT else "",
        headers=[
            (inert(str(name)), "<redacted>" if name.lower() in REDACTED_HEADERS else inert(str(v)))
            for name, v in (headers or {}).items()
        ],
        previous=previous,
        next=following,
    )


def delivery_neighbours(*, event_log: EventLog, events: list[Event]) -> tuple[int | None, ...]:
    """Ids of the deliveries just before and after this one that carry any of its objects.
    Read from the objects' events (an index lookup), not by scanning deliveries."""
    objects = {(event.object_type, event.object_id) for event in events}
    if not objects:
        return None, None
    same = Q()
    for object_type, object_id in objects:
        same |= Q(object_type=object_type, object_id=object_id)
    rows = Event.objects.filter(same, instance_id=event_log.instance_id, event_log__isnull=False)
    created, pk = event_log.created_at, event_log.pk
    before = Q(event_log__created_at__lt=created) | Q(event_log_id__lt=pk)
    after = Q(event_log__created_at__gt=created) | Q(event_log_id__gt=pk)
    previous = (
        rows.filter(before, event_log__created_at__lte=created)
        .order_by("-event_log__created_at", "-event_log_id")
        .values_list("event_log_id", flat=True)
        .first()
    )
    following = (
        rows.filter(after, event_log__created_at__gte=created)
        .order_by("event_log__created_at", "event_log_id")
        .values_list("event_log_id", flat=True)
        .first()
    )
    return previous, following


def excerpt(text: str) -> str:
    return inert(text[:EXCERPT_LIMIT]) + ("…" if len(text) > EXCERPT_LIMIT else "")

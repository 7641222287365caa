"""The list of deliveries, newest first, a page at a time: keyset pages on (created_at, id),
so there is no COUNT and no OFFSET, whatever the page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q

from events.delivery import with_holds
from events.eventlog.access import User, deliveries_visible
from events.eventlog.filters import MAX_ID, Filters
from events.models import Event, EventLog

PAGE_SIZE = 50


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# <microseconds since the epoch>.<id>; no instant a datetime holds has more than 18 digits.
_CURSOR = re.compile(r"([0-9]{1,18})\.([0-9]{1,19})")


def cursor_of(event_log: EventLog) -> str:
    micros = (event_log.created_at - _EPOCH) // _MICROSECOND
    return f"{micros}.{event_log.pk}"


def parse_cursor(value: str) -> tuple[datetime, int] | None:
    """The (created_at, id) of a cursor, or None for one no page handed out (the first page
    is shown)."""
    match = _CURSOR.fullmatch(value)
    if not match or int(match[2]) > MAX_ID:
        return None
    try:
        return _EPOCH + int(match[1]) * _MICROSECOND, int(match[2])
    except OverflowError:  # past the year 9999
        return None


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
    ``before`` cursor or the page newer than ``after``. Two queries, whatever the page;
    each delivery says whether it is held behind an earlier one or holds later ones."""
    limit = limit or PAGE_SIZE
    rows = filters.apply(deliveries_visible(user=user)).select_related("instance__element")
    rows = with_holds(rows)
    newer_than = parse_cursor(after) if after else None
    older_than = parse_cursor(before) if before else None
    if newer_than:
        created, pk = newer_than
        # Written so that the (created_at, id) index bounds the scan on every database.
        rows = rows.filter(Q(created_at__gte=created), Q(created_at__gt=created) | Q(id__gt=pk))
        found = list(rows.order_by("created_at", "id")[: limit + 1])
        more_newer = len(found) > limit
        logs = found[:limit][::-1]
        newer = cursor_of(logs[0]) if more_newer else None
        older = cursor_of(logs[-1]) if logs else None
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

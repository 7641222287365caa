"""The event log's chart: deliveries per hour over the last day, delivered and not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from events.eventlog.access import User, deliveries_visible
from events.eventlog.filters import Filters
from events.models import EventLog

NOT_DELIVERED = (EventLog.Status.FAILED, EventLog.Status.RETRYING, EventLog.Status.QUEUED)


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

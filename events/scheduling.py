"""Poller scheduling: which PollerObjects are due, claiming one for a poll, and when the
next poll is due after a success or a failure (the poll backoff).

A poll itself is ``events/polling.py``; the dispatcher task that hands due pollers to workers
is in ``events/tasks.py``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from integrations.models import PollerObject

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
# The dispatcher runs about once a minute, not on the second: a poller due within this margin
# of a run is taken by it, so a 1-minute interval does not become two minutes.
DISPATCH_AHEAD = timedelta(seconds=20)


def lease_duration() -> timedelta:
    return timedelta(seconds=settings.Q_CLUSTER["timeout"] + 60)


def poller_claim(*, poller_object_id: int, now: datetime) -> bool:
    """Take the PollerObject for one poll: 1 row updated means it is ours."""
    updated = (
        PollerObject.objects.filter(pk=poller_object_id)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + lease_duration())
    )
    return updated == 1


def poller_release(*, poller_object_id: int) -> None:
    PollerObject.objects.filter(pk=poller_object_id).update(locked_until=None)


def pollers_due(*, now: datetime) -> QuerySet[PollerObject]:
    """The PollerObjects a dispatcher would hand out now."""
    return (
        PollerObject.objects.active()
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now + DISPATCH_AHEAD))
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
    )


def due_pollers_claim(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Pick the PollerObjects due now and push their next poll one interval ahead.

    ``SKIP LOCKED`` lets several dispatchers (one per cluster) run at once on PostgreSQL
    without handing out the same object twice.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            pollers_due(now=now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("instance__element")
            .order_by("next_poll_at", "pk")[:limit]
        )
        for poller in due:
            poller.next_poll_at = now + timedelta(
                minutes=poller.instance.effective_refresh_interval
            )
        PollerObject.objects.bulk_update(due, ["next_poll_at"])
    return [poller.pk for poller in due]


def poll_succeeded(
    *, poller: PollerObject, summary: dict, cursor: datetime | None, now: datetime
) -> None:
    """Record a successful poll: the new cursor, the summary, the next poll one interval on."""
    poller.cursor = cursor
    poller.last_poll_at = now
    poller.last_success_at = now
    poller.last_result = summary
    poller.last_error = ""
    poller.consecutive_failures = 0
    interval = timedelta(minutes=poller.instance.effective_refresh_interval)
    if poller.next_poll_at is None or poller.next_poll_at < now + interval:
        poller.next_poll_at = now + interval
    poller.save(
        update_fields=[
            "cursor",
            "last_poll_at",
            "last_success_at",
            "last_result",
            "last_error",
            "consecutive_failures",
            "next_poll_at",
        ]
    )


def poll_failed(*, poller: PollerObject, message: str, now: datetime) -> None:
    """Record a failed poll; the next one backs off: interval × 2^failures, at most an hour
    (or one interval, when that is longer)."""
    failures = poller.consecutive_failures + 1
    interval = timedelta(minutes=poller.instance.effective_refresh_interval)
    backoff = min(interval * (2 ** min(failures, 10)), max(MAX_BACKOFF, interval))
    PollerObject.objects.filter(pk=poller.pk).update(
        last_poll_at=now,
        last_error=message[:4000],
        last_error_at=now,
        consecutive_failures=failures,
        next_poll_at=now + backoff,
    )
    log.warning(
        "poll of %s failed (%s in a row): %s",
        poller,
        failures,
        message,
        extra={"instance_id": poller.instance_id, "poller_id": poller.pk},
    )

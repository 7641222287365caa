"""Poller scheduling: which PollerObjects are due, claiming one for a poll, and when the
next poll is due after a success or a failure (the poll backoff).

A poll itself is ``events/polling.py``; the dispatcher task that hands due pollers to workers
is in ``events/tasks.py``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from events.capture import storable_json, storable_text
from integrations.models import PollerObject

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
# The dispatcher runs about once a minute, not on the second: a poller due within this margin
# of a run is taken by it, so a 1-minute interval does not become two minutes.
DISPATCH_AHEAD = timedelta(seconds=20)


def lease_duration() -> timedelta:
    return timedelta(seconds=settings.Q_CLUSTER["timeout"] + 60)


@dataclass
class PollerClaim:
    """One poll's hold on a PollerObject. ``lease`` is the ``locked_until`` value only this
    claim wrote: every later write of the poll is conditional on it, so a poll that lost its
    claim (it outlived the lease and another worker took the object, or an operator
    restarted capture) stores nothing more."""

    poller_object_id: int
    lease: datetime


def poller_claim(*, poller_object_id: int, now: datetime) -> PollerClaim | None:
    """Take the PollerObject for one poll: 1 row updated means it is ours."""
    lease = now + lease_duration()
    updated = (
        PollerObject.objects.filter(pk=poller_object_id)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=lease)
    )
    return PollerClaim(poller_object_id, lease) if updated == 1 else None


def poller_claim_renew(*, claim: PollerClaim) -> bool:
    """Extend the claim to one lease from now; False when it was lost. A poll renews it
    with every page it stores, so a long poll keeps its claim."""
    lease = max(claim.lease, timezone.now() + lease_duration())
    updated = PollerObject.objects.filter(
        pk=claim.poller_object_id, locked_until=claim.lease
    ).update(locked_until=lease)
    if updated != 1:
        return False
    claim.lease = lease
    return True


def poller_release(*, claim: PollerClaim) -> None:
    PollerObject.objects.filter(pk=claim.poller_object_id, locked_until=claim.lease).update(
        locked_until=None
    )


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


def poll_progressed(
    *, poller: PollerObject, cursor: datetime, baseline: datetime | None = None
) -> None:
    """Save a running poll's progress: the next poll starts from ``cursor`` should this one
    not finish. A first poll saves its ``baseline`` with it: the next poll is no first poll,
    and must still take nothing at or before it as an event."""
    fields = {"cursor": cursor, **({"baseline": baseline} if baseline else {})}
    PollerObject.objects.filter(pk=poller.pk).update(**fields)


def poll_succeeded(
    *,
    poller: PollerObject,
    summary: dict,
    cursor: datetime | None,
    now: datetime,
    baseline: datetime | None = None,
    clock_skew: float | None = None,
) -> None:
    """Record a successful poll: the new cursor, the summary, the next poll one interval on,
    the provider's clock as the poll measured it (``clock_skew``, seconds, provider minus
    ours; None: its answers had no Date header) and, from a first poll, the baseline."""
    poller.cursor = cursor
    poller.clock_skew = clock_skew
    if baseline is not None:
        poller.baseline = baseline
    poller.last_poll_at = now
    poller.last_success_at = now
    poller.last_result = storable_json(summary)
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
            "clock_skew",
            *(["baseline"] if baseline is not None else []),
        ]
    )


def poll_failed(
    *, poller: PollerObject, message: str, now: datetime, clock_skew: float | None = None
) -> None:
    """Record a failed poll; the next one backs off: interval × 2^failures, at most an hour
    (or one interval, when that is longer). A ``clock_skew`` the poll measured before it
    failed is kept."""
    failures = poller.consecutive_failures + 1
    interval = timedelta(minutes=poller.instance.effective_refresh_interval)
    backoff = min(interval * (2 ** min(failures, 10)), max(MAX_BACKOFF, interval))
    PollerObject.objects.filter(pk=poller.pk).update(
        last_poll_at=now,
        last_error=storable_text(message[:4000]),
        last_error_at=now,
        consecutive_failures=failures,
        next_poll_at=now + backoff,
        **({"clock_skew": clock_skew} if clock_skew is not None else {}),
    )
    log.warning(
        "poll of %s failed (%s in a row): %s",
        poller,
        failures,
        message,
        extra={"instance_id": poller.instance_id, "poller_id": poller.pk},
    )

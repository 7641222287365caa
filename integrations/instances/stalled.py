"""When is a poller stalled? One definition, used by the admin, the API and
``manage.py tributary_status``.

A PollerObject that should be polling (``PollerObject.is_active``) is stalled when its last
successful poll is older than ``STALLED_AFTER_INTERVALS`` refresh intervals (counted from
when events were enabled if it never succeeded since), or when its last
``STALLED_AFTER_FAILURES`` polls or more all failed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils.text import Truncator

from integrations.models import PollerObject, PollerObjectQuerySet

STALLED_AFTER_INTERVALS = 3
STALLED_AFTER_FAILURES = 3


def poller_stalled_reason(poller: PollerObject, *, now: datetime) -> str:
    """Why ``poller`` is stalled, or an empty string when it is not."""
    if not poller.is_active:
        return ""
    instance = poller.instance
    if poller.consecutive_failures >= STALLED_AFTER_FAILURES:
        error = Truncator(poller.last_error).chars(200) or "no error recorded"
        return f"the last {poller.consecutive_failures} polls failed: {error}"
    interval = instance.effective_refresh_interval
    # Re-enabling events restarts the clock: nothing was due while they were off.
    moments = [poller.last_success_at, instance.events_enabled_at]
    since = max((moment for moment in moments if moment), default=instance.created_at)
    if now - since > timedelta(minutes=STALLED_AFTER_INTERVALS * interval):
        what = "no successful poll" if poller.last_success_at else "never polled successfully"
        return (
            f"{what} since {since:%Y-%m-%d %H:%M:%S %Z} "
            f"({STALLED_AFTER_INTERVALS} × the {interval}-minute refresh interval have passed)"
        )
    return ""


def pollers_stalled(
    *, now: datetime, queryset: PollerObjectQuerySet | None = None
) -> list[tuple[PollerObject, str]]:
    """Every stalled poller of ``queryset`` (all by default) with the reason."""
    queryset = PollerObject.objects.all() if queryset is None else queryset
    # A refresh interval is at least a minute: nothing younger than this can be stalled.
    horizon = now - timedelta(minutes=STALLED_AFTER_INTERVALS)
    candidates = queryset.active().filter(
        Q(consecutive_failures__gte=STALLED_AFTER_FAILURES)
        | Q(last_success_at__isnull=True)
        | Q(last_success_at__lt=horizon)
    )
    found = []
    for poller in candidates.select_related("instance__element"):
        reason = poller_stalled_reason(poller, now=now)
        if reason:
            found.append((poller, reason))
    return found

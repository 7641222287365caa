"""A delivery's state: who holds it, what its last attempt did to it, which deliveries are due,
and an instance's suspension (its deliveries queued until reactivation).

A delivery is claimed with a conditional UPDATE (1 row: ours) so that two workers never send
it at once; the claim is a lease that a crashed worker's delivery outlives.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from events.delivery.ordering import not_held
from events.delivery.retries import retry_decision
from events.delivery.transport import Response
from events.models import EventLog
from integrations.models import Instance

log = logging.getLogger(__name__)

ACTIVE = (EventLog.Status.PENDING, EventLog.Status.RETRYING)
# A pending delivery older than this with no attempt was lost by a crashed worker (or its
# task was): the sweep sends it. Younger ones are still on their way from on_commit.
PENDING_GRACE = timedelta(seconds=30)


def initial_status(instance: Instance) -> str:
    """The status a new delivery of ``instance`` starts in."""
    if instance.notifications_suspended_at:
        return EventLog.Status.QUEUED
    return EventLog.Status.PENDING


def lease() -> timedelta:
    return timedelta(seconds=settings.TRIBUTARY_DELIVERY_TIMEOUT + 60)


def delivery_claim(*, event_log_id: int, now: datetime, manual: bool = False) -> bool:
    """Hold the delivery for one attempt. A scheduled attempt only claims a delivery that is
    due and not waiting for an earlier one of its objects (ordering.py); a manual one claims
    it whatever its state."""
    rows = EventLog.objects.filter(pk=event_log_id).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )
    if not manual:
        rows = rows.filter(not_held(), status__in=ACTIVE, next_attempt_at__lte=now)
    return rows.update(locked_until=now + lease()) == 1


def delivery_queue(*, event_log_id: int) -> None:
    """Release a claimed delivery of a suspended instance into the queue."""
    EventLog.objects.filter(pk=event_log_id).update(
        status=EventLog.Status.QUEUED, locked_until=None
    )


def delivery_outcome_record(*, event_log: EventLog, response: Response, now: datetime) -> None:
    """Count the attempt and release the claim: delivered, retrying, or failed (which
    suspends the instance's notifications)."""
    event_log.attempt_count += 1
    event_log.last_status_code = response.status_code
    event_log.last_error = response.error
    event_log.locked_until = None
    # Sent: whatever it waited for is behind it.
    event_log.held_by = None
    suspend_reason = ""
    if response.ok:
        event_log.status = EventLog.Status.DELIVERED
        event_log.delivered_at = now
        event_log.next_attempt_at = None
    else:
        event_log.failures += 1
        event_log.first_failed_at = event_log.first_failed_at or now
        decision = retry_decision(event_log, response, now=now)
        suspend_reason = decision.suspend_reason
        event_log.status = EventLog.Status.RETRYING if decision.retry_at else EventLog.Status.FAILED
        event_log.next_attempt_at = decision.retry_at
    with transaction.atomic():
        event_log.save(
            update_fields=[
                "attempt_count",
                "last_status_code",
                "last_error",
                "locked_until",
                "status",
                "delivered_at",
                "next_attempt_at",
                "failures",
                "first_failed_at",
                "held_by",
                "updated_at",
            ]
        )
        if suspend_reason:
            instance_notifications_suspend(
                instance=event_log.instance, reason=suspend_reason, now=now
            )


def instance_notifications_suspend(*, instance: Instance, reason: str, now: datetime) -> None:
    """Stop sending: the instance's undelivered deliveries wait, queued, for reactivation."""
    Instance.objects.filter(pk=instance.pk).update(
        notifications_suspended_at=now, notifications_suspended_reason=reason
    )
    instance.notifications_suspended_at = now
    instance.notifications_suspended_reason = reason
    EventLog.objects.filter(instance=instance, status__in=ACTIVE).update(
        status=EventLog.Status.QUEUED, next_attempt_at=None
    )
    log.warning("notifications of instance %s suspended: %s", instance.pk, reason)


def instance_notifications_reactivate(
    *, instance: Instance, now: datetime | None = None
) -> list[int]:
    """Resume sending; the queued deliveries become due again, oldest first. Returns their
    ids in the order they should be sent. Holds are dropped: each is checked again when it is
    sent, against the deliveries as they are now."""
    now = now or timezone.now()
    with transaction.atomic():
        Instance.objects.filter(pk=instance.pk).update(
            notifications_suspended_at=None, notifications_suspended_reason=""
        )
        instance.notifications_suspended_at = None
        instance.notifications_suspended_reason = ""
        queued = list(
            EventLog.objects.filter(instance=instance, status=EventLog.Status.QUEUED)
            .order_by("created_at", "id")
            .values_list("id", flat=True)
        )
        EventLog.objects.filter(pk__in=queued).update(
            status=EventLog.Status.PENDING,
            next_attempt_at=now,
            failures=0,
            first_failed_at=None,
            held_by=None,
        )
    return queued


def deliveries_due(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Deliveries a worker should send now: retries that are due, and pending ones that no
    task picked up (a crash between commit and enqueue, or a lost task). A held delivery is
    due once its hold no longer stands (ordering.py): its blocker was delivered or released,
    even if no run sent it then."""
    now = now or timezone.now()
    due = (
        EventLog.objects.filter(
            Q(status=EventLog.Status.RETRYING, next_attempt_at__lte=now)
            | Q(status=EventLog.Status.PENDING, next_attempt_at__lte=now - PENDING_GRACE)
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .filter(instance__notifications_suspended_at__isnull=True)
        .filter(not_held())
        .order_by("next_attempt_at", "id")
    )
    return list(due.values_list("id", flat=True)[:limit])


def deliveries_since(*, instance: Instance, since: datetime) -> QuerySet[EventLog]:
    """The instance's deliveries created at or after ``since``, oldest first."""
    return EventLog.objects.filter(instance=instance, created_at__gte=since).order_by(
        "created_at", "id"
    )


def delivery_restart(*, event_log_id: int, now: datetime) -> None:
    """Put a delivery back at the start of the schedule, with the same id (redelivery). An
    operator's redelivery waits for no earlier delivery."""
    EventLog.objects.filter(pk=event_log_id).update(
        status=EventLog.Status.PENDING,
        next_attempt_at=now,
        failures=0,
        first_failed_at=None,
        held_by=None,
    )

"""django-q2 entry points and schedules. The only module that imports django-q2.

Tasks take ids, never model instances, and are enqueued on commit so a worker never
looks for a row that is not there yet.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django_q.models import Schedule
from django_q.tasks import async_task

from events.delivery import deliveries_due, delivery_redeliver, delivery_send
from events.polling import PollError, PollSkipped, due_pollers_claim, poll_object

log = logging.getLogger(__name__)

# Periodic schedules, declared in one place and created idempotently by setup_schedules.
SCHEDULES = {
    "dispatch due polls": {
        "func": "events.tasks.dispatch_due_polls",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    "sweep deliveries": {
        "func": "events.tasks.sweep_deliveries",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
}


def schedules_setup() -> list[tuple[str, bool]]:
    """Create or update every schedule; returns (name, created) pairs."""
    results = []
    for name, fields in SCHEDULES.items():
        _, created = Schedule.objects.update_or_create(
            name=name, defaults={**fields, "repeats": -1}
        )
        results.append((name, created))
    return results


def dispatch_due_polls() -> int:
    """Claim the PollerObjects due now and enqueue one poll task each."""
    ids = due_pollers_claim()
    for poller_object_id in ids:
        transaction.on_commit(
            lambda pk=poller_object_id: async_task(
                "events.tasks.poll_object_task", pk, task_name=f"poll-{pk}"
            )
        )
    return len(ids)


def poll_object_task(poller_object_id: int) -> dict | None:
    try:
        result = poll_object(poller_object_id=poller_object_id)
    except PollSkipped as exc:
        log.info("%s", exc)
        return None
    except PollError as exc:
        # Recorded on the PollerObject with backoff; not a task failure to retry blindly.
        log.warning("poll of poller object %s failed: %s", poller_object_id, exc)
        return {"error": str(exc)}
    deliveries_enqueue(event_log_ids=result.event_log_ids)
    return result.summary()


def deliveries_enqueue(*, event_log_ids: list[int]) -> None:
    """Send these deliveries from the worker once the transaction that wrote them commits."""
    for event_log_id in event_log_ids:
        transaction.on_commit(
            lambda pk=event_log_id: async_task(
                "events.tasks.deliver_task", pk, task_name=f"deliver-{pk}"
            )
        )


def deliveries_enqueue_in_order(*, event_log_ids: list[int]) -> None:
    """One task sends these one after the other (reactivation drains the queue in order)."""
    if event_log_ids:
        transaction.on_commit(
            lambda: async_task("events.tasks.deliver_in_order_task", list(event_log_ids))
        )


def deliver_task(event_log_id: int) -> int | None:
    attempt = delivery_send(event_log_id=event_log_id)
    return attempt.status_code if attempt else None


def deliver_in_order_task(event_log_ids: list[int]) -> int:
    sent = 0
    for event_log_id in event_log_ids:
        if delivery_send(event_log_id=event_log_id):
            sent += 1
    return sent


def sweep_deliveries() -> int:
    """Enqueue every due retry and every delivery left pending by a crash."""
    ids = deliveries_due()
    deliveries_enqueue(event_log_ids=ids)
    return len(ids)


def poll_enqueue(*, poller_object_id: int) -> None:
    """Poll this PollerObject now, from a worker, once the current transaction commits."""
    transaction.on_commit(
        lambda: async_task(
            "events.tasks.poll_object_task", poller_object_id, task_name=f"poll-{poller_object_id}"
        )
    )


def redeliveries_enqueue(*, event_log_ids: list[int]) -> None:
    """Redeliver these by hand (same ids, new attempts), one after the other, from a worker."""
    if event_log_ids:
        transaction.on_commit(
            lambda: async_task("events.tasks.redeliver_in_order_task", list(event_log_ids))
        )


def redeliver_in_order_task(event_log_ids: list[int]) -> int:
    sent = 0
    for event_log_id in event_log_ids:
        if delivery_redeliver(event_log_id=event_log_id):
            sent += 1
    return sent

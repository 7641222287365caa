"""django-q2 entry points and schedules. The only module that imports django-q2.

Tasks take ids, never model instances, and are enqueued on commit so a worker never
looks for a row that is not there yet. The ``*_enqueue`` functions are how the rest of the
code hands work to a worker (operator actions from the web go through events/operations.py);
the tasks call the same delivery and polling services that the commands run in-process.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.tasks import async_task

from events.delivery import deliveries_due, deliveries_send
from events.heartbeat import heartbeat_expect, heartbeat_record
from events.polling import PollError, PollSkipped, poll_object
from events.retention import events_prune
from events.scheduling import due_pollers_claim

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
    "heartbeat": {
        "func": "events.tasks.heartbeat",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    "prune old events": {
        "func": "events.tasks.prune_events",
        "schedule_type": Schedule.DAILY,
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
    heartbeat_expect(now=timezone.now())
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


# Deliveries per task: a poll's messages go out together, sparing the queue's per-task cost.
DELIVERIES_PER_TASK = 10


def deliveries_enqueue(*, event_log_ids: list[int]) -> None:
    """Send these deliveries from the worker once the transaction that wrote them commits."""
    for start in range(0, len(event_log_ids), DELIVERIES_PER_TASK):
        chunk = list(event_log_ids[start : start + DELIVERIES_PER_TASK])
        transaction.on_commit(
            lambda ids=chunk: async_task(
                "events.tasks.deliver_in_order_task", ids, task_name=f"deliver-{ids[0]}"
            )
        )


def deliveries_enqueue_in_order(*, event_log_ids: list[int]) -> None:
    """One task sends these one after the other (reactivation drains the queue in order)."""
    if event_log_ids:
        transaction.on_commit(
            lambda: async_task("events.tasks.deliver_in_order_task", list(event_log_ids))
        )


def deliver_in_order_task(event_log_ids: list[int]) -> int:
    attempts = deliveries_send(event_log_ids=event_log_ids)
    return sum(1 for attempt in attempts if attempt)


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
    attempts = deliveries_send(event_log_ids=event_log_ids, redeliver=True)
    return sum(1 for attempt in attempts if attempt)


def heartbeat() -> str:
    """Every minute: proves the scheduler hands out tasks and a worker runs them."""
    now = timezone.now()
    heartbeat_record(now=now)
    return now.isoformat()


def prune_events() -> dict:
    """Daily: delete delivered history older than TRIBUTARY_RETENTION_DAYS."""
    return events_prune(now=timezone.now(), days=settings.TRIBUTARY_RETENTION_DAYS).summary()


def broker_queue_size() -> int:
    """Tasks waiting in the broker; raises when the broker cannot be reached."""
    broker = get_broker()
    if not broker.ping():
        raise ConnectionError(f"the task broker ({broker.info()}) does not answer")
    return broker.queue_size()

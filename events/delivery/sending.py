"""Sending one delivery: claim it, write the attempt, POST, record the outcome.

Every attempt is written before it is sent and updated with the outcome, so each one is on
record even when the worker dies in between.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import requests
from django.utils import timezone

from events.delivery.signing import redacted, request_headers
from events.delivery.state import (
    delivery_claim,
    delivery_outcome_record,
    delivery_queue,
    delivery_restart,
)
from events.delivery.transport import no_callback_url, post
from events.models import DeliveryAttempt, EventLog


@dataclass(frozen=True)
class Attempted:
    """One delivery of a run, in the order sent; ``attempt`` is None when it was not sent
    (not due, queued, or held by another worker)."""

    number: int
    total: int
    event_log_id: int
    attempt: DeliveryAttempt | None


Progress = Callable[[Attempted], None]


def delivery_send(
    *,
    event_log_id: int,
    trigger: str = DeliveryAttempt.Trigger.SCHEDULED,
    now: datetime | None = None,
    session: requests.Session | None = None,
) -> DeliveryAttempt | None:
    """Send one delivery now if it is due (or, for a manual trigger, whatever its state).
    Returns the attempt, or None when there was nothing to send."""
    now = now or timezone.now()
    manual = trigger == DeliveryAttempt.Trigger.MANUAL
    if not delivery_claim(event_log_id=event_log_id, now=now, manual=manual):
        return None
    event_log = EventLog.objects.select_related("instance__element").get(pk=event_log_id)
    instance = event_log.instance
    if instance.notifications_suspended_at and not manual:
        delivery_queue(event_log_id=event_log_id)
        return None
    body = event_log.body.encode()
    headers = request_headers(event_log, body, now=now)
    attempt = DeliveryAttempt.objects.create(
        event_log=event_log, started_at=now, request_headers=redacted(headers), trigger=trigger
    )
    if instance.callback_url:
        response = post(instance.callback_url, body, headers, session=session)
    else:
        response = no_callback_url()
    attempt.status_code = response.status_code
    attempt.response_body = response.body
    attempt.duration_ms = response.duration_ms
    attempt.error = response.error
    attempt.save(update_fields=["status_code", "response_body", "duration_ms", "error"])
    delivery_outcome_record(event_log=event_log, response=response, now=now)
    return attempt


def delivery_redeliver(*, event_log_id: int, now: datetime | None = None) -> DeliveryAttempt | None:
    """Resend a delivery by hand, whatever its state: same id, a new attempt; if it fails,
    the retry schedule starts over. None when another worker holds it."""
    now = now or timezone.now()
    delivery_restart(event_log_id=event_log_id, now=now)
    return delivery_send(event_log_id=event_log_id, trigger=DeliveryAttempt.Trigger.MANUAL, now=now)


def deliveries_send(
    *,
    event_log_ids: Sequence[int],
    redeliver: bool = False,
    progress: Progress | None = None,
) -> list[DeliveryAttempt | None]:
    """Send these one after the other, in this order: as scheduled (only what is due), or,
    with ``redeliver``, by hand. ``progress`` hears of each one as it is done."""
    attempts = []
    for number, event_log_id in enumerate(event_log_ids, start=1):
        if redeliver:
            attempt = delivery_redeliver(event_log_id=event_log_id)
        else:
            attempt = delivery_send(event_log_id=event_log_id)
        attempts.append(attempt)
        if progress:
            progress(Attempted(number, len(event_log_ids), event_log_id, attempt))
    return attempts

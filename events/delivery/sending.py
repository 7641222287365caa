"""Sending one delivery: claim it, write the attempt, POST, record the outcome.

With per-object ordering, a scheduled send first checks for an earlier undelivered delivery
of its objects and, finding one, is held instead (ordering.py); a delivery that goes through
releases the deliveries it held, and a run of sends carries on with them.

Every attempt is written before it is sent and updated with the outcome, so each one is on
record even when the worker dies in between. Whatever fails while the request is built or
sent (a setting saved before it was checked, an error in the HTTP client) is that attempt's
recorded failure, retried on the schedule: it never leaves the delivery held and unanswered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import requests
from django.utils import timezone

from core.http import url_without_credentials
from events.delivery.ordering import delivery_blocker, delivery_hold, holds_release
from events.delivery.signing import RequestProblem, redacted, request_headers
from events.delivery.state import (
    delivery_claim,
    delivery_outcome_record,
    delivery_queue,
    delivery_restart,
)
from events.delivery.transport import Response, no_callback_url, post
from events.models import DeliveryAttempt, EventLog
from integrations.instances import event_settings

log = logging.getLogger(__name__)
# Looks for an earlier delivery before holding behind the last one found regardless: each
# miss means a blocker was delivered between the check and the hold.
MAX_ORDER_CHECKS = 10


@dataclass(frozen=True)
class Attempted:
    """One delivery of a run, in the order sent; ``attempt`` is None when it was not sent
    (not due, queued, claimed by another worker, or ``held_by`` an earlier delivery of one of
    its objects)."""

    number: int
    total: int
    event_log_id: int
    attempt: DeliveryAttempt | None
    held_by: int | None = None


Progress = Callable[[Attempted], None]


@dataclass(frozen=True)
class Sent:
    """What became of one send: the attempt, or None and the delivery it is held behind;
    and the deliveries it held that are to be sent now that it is delivered."""

    attempt: DeliveryAttempt | None = None
    held_by: int | None = None
    released: list[int] = field(default_factory=list)


def delivery_send(
    *,
    event_log_id: int,
    trigger: str = DeliveryAttempt.Trigger.SCHEDULED,
    now: datetime | None = None,
    session: requests.Session | None = None,
) -> DeliveryAttempt | None:
    """Send one delivery now if it is due (or, for a manual trigger, whatever its state).
    Returns the attempt, or None when there was nothing to send (or it is held behind an
    earlier delivery). What it releases once delivered is due: ``deliveries_send`` sends it
    next, and otherwise the sweep does."""
    return _send(event_log_id=event_log_id, trigger=trigger, now=now, session=session).attempt


def _send(
    *,
    event_log_id: int,
    trigger: str = DeliveryAttempt.Trigger.SCHEDULED,
    now: datetime | None = None,
    session: requests.Session | None = None,
) -> Sent:
    now = now or timezone.now()
    manual = trigger == DeliveryAttempt.Trigger.MANUAL
    if not delivery_claim(event_log_id=event_log_id, now=now, manual=manual):
        return Sent()
    event_log = EventLog.objects.select_related("instance__element").get(pk=event_log_id)
    instance = event_log.instance
    if instance.notifications_suspended_at and not manual:
        delivery_queue(event_log_id=event_log_id)
        return Sent()
    ordered = event_settings(instance).ordered_by_object
    if ordered and not manual and (blocker := _held_behind(event_log)):
        return Sent(held_by=blocker)
    body, headers, problem = _request(event_log, now=now)
    attempt = DeliveryAttempt.objects.create(
        event_log=event_log, started_at=now, request_headers=redacted(headers), trigger=trigger
    )
    if problem:
        response = _not_sent(problem)
    elif instance.callback_url:
        response = _post(instance.callback_url, body, headers, session=session)
    else:
        response = no_callback_url()
    # An error may quote a URL (a redirect's Location): never with its credentials.
    response = replace(response, error=url_without_credentials(response.error))
    attempt.status_code = response.status_code
    attempt.response_body = response.body
    attempt.duration_ms = response.duration_ms
    attempt.error = response.error
    attempt.save(update_fields=["status_code", "response_body", "duration_ms", "error"])
    delivery_outcome_record(event_log=event_log, response=response, now=now)
    released = []
    if ordered and event_log.status == EventLog.Status.DELIVERED:
        released = holds_release(blocker_id=event_log.pk)
    return Sent(attempt=attempt, released=released)


def _held_behind(event_log: EventLog) -> int | None:
    """Hold the claimed delivery behind the earliest earlier undelivered delivery of its
    objects, if there is one, and return that one's id."""
    for _ in range(MAX_ORDER_CHECKS):
        blocker = delivery_blocker(event_log=event_log)
        if blocker is None or delivery_hold(event_log_id=event_log.pk, blocker_id=blocker):
            return blocker
    # Blockers keep being delivered as they are found: hold all the same. A hold that no
    # longer stands is passed by, and the sweep sends the delivery.
    delivery_hold(event_log_id=event_log.pk, blocker_id=blocker, if_blocking=False)
    return blocker


def _request(event_log: EventLog, *, now: datetime) -> tuple[bytes, dict[str, str], str]:
    """The body and headers to send, or why the request cannot be built."""
    try:
        body = event_log.body.encode()
        return body, request_headers(event_log, body, now=now), ""
    except RequestProblem as exc:
        return b"", {}, str(exc)
    except Exception as exc:
        log.exception("delivery %s: its request could not be built", event_log.pk)
        return b"", {}, f"not sent: the request could not be built ({type(exc).__name__})"


def _post(
    url: str, body: bytes, headers: dict[str, str], *, session: requests.Session | None
) -> Response:
    try:
        return post(url, body, headers, session=session)
    except Exception as exc:
        # The HTTP client gave up on the request (a header value it cannot encode, say). Its
        # message may quote a header value, a secret: only the error's type is kept.
        log.warning(
            "POST to %s failed before an answer: %s",
            url_without_credentials(url),
            type(exc).__name__,
        )
        return _not_sent(f"not sent: the HTTP client failed ({type(exc).__name__})")


def _not_sent(error: str) -> Response:
    return Response(status_code=None, body="", duration_ms=0, error=error)


def delivery_redeliver(*, event_log_id: int, now: datetime | None = None) -> DeliveryAttempt | None:
    """Resend a delivery by hand, whatever its state: same id, a new attempt; if it fails,
    the retry schedule starts over. None when another worker holds it."""
    return _redeliver(event_log_id=event_log_id, now=now).attempt


def _redeliver(*, event_log_id: int, now: datetime | None = None) -> Sent:
    now = now or timezone.now()
    delivery_restart(event_log_id=event_log_id, now=now)
    return _send(event_log_id=event_log_id, trigger=DeliveryAttempt.Trigger.MANUAL, now=now)


def deliveries_send(
    *,
    event_log_ids: Sequence[int],
    redeliver: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> list[DeliveryAttempt | None]:
    """Send these one after the other, in this order: as scheduled (only what is due), or,
    with ``redeliver``, by hand; returns their attempts, in this order. A delivery that goes
    through releases the deliveries it held (per-object ordering): they are sent next, as
    scheduled, and the run's total grows. ``progress`` hears of each one as it is done;
    ``now`` stands for the clock (tests)."""
    # (id, asked for) in the order to send; released deliveries were not asked for.
    work = [(event_log_id, True) for event_log_id in event_log_ids]
    attempts = []
    position = 0
    while position < len(work):
        event_log_id, asked = work[position]
        if asked and redeliver:
            sent = _redeliver(event_log_id=event_log_id, now=now)
        else:
            sent = _send(event_log_id=event_log_id, now=now)
        if asked:
            attempts.append(sent.attempt)
        position += 1
        coming = {pk for pk, _ in work[position:]}
        work[position:position] = [(pk, False) for pk in sent.released if pk not in coming]
        if progress:
            progress(Attempted(position, len(work), event_log_id, sent.attempt, sent.held_by))
    return attempts

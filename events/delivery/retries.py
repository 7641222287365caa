"""When a failed delivery is tried again, and when it is not.

Cloud Elements' schedule by default: retry x is due ``TRIBUTARY_RETRY_SCHEDULE[x-1]`` seconds
(4^x) after the first failure, spread by a jitter fixed per delivery. A 410, or the schedule
exhausted, fails the delivery and suspends the instance's notifications (state.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from events.delivery.transport import Response
from events.models import EventLog

THROTTLED_MIN_WAIT = timedelta(seconds=60)


@dataclass(frozen=True)
class RetryDecision:
    """Retry at ``retry_at``; or, when it is None, give up and suspend for ``suspend_reason``."""

    retry_at: datetime | None
    suspend_reason: str = ""


def retry_decision(event_log: EventLog, response: Response, *, now: datetime) -> RetryDecision:
    """What follows a failure, ``event_log.failures`` counting it."""
    if response.status_code == 410:
        return RetryDecision(None, "the callback answered 410 Gone")
    retry_at = next_retry_at(
        event_log,
        now=now,
        retry_after=response.retry_after,
        throttled=response.status_code == 429 or response.timed_out,
    )
    if retry_at is None:
        return RetryDecision(
            None,
            f"delivery {event_log.delivery_id} failed {event_log.failures} times; "
            f"last: {response.error}",
        )
    return RetryDecision(retry_at)


def next_retry_at(
    event_log: EventLog, *, now: datetime, retry_after: float | None, throttled: bool
) -> datetime | None:
    """When the next retry is due after ``event_log.failures`` failures, or None when the
    schedule is exhausted."""
    schedule = settings.TRIBUTARY_RETRY_SCHEDULE
    if event_log.failures > len(schedule):
        return None
    offset = schedule[event_log.failures - 1] * _jitter(event_log, event_log.failures)
    due = event_log.first_failed_at + timedelta(seconds=offset)
    delay = max(timedelta(0), due - now)
    if retry_after is not None:
        # The app asked for a pause: honour it, within the schedule's delay and twice it.
        delay = min(max(timedelta(seconds=retry_after), delay), 2 * delay)
    if throttled:
        delay = max(delay, THROTTLED_MIN_WAIT)
    return now + delay


def _jitter(event_log: EventLog, failures: int) -> float:
    """A factor in [1 − jitter, 1 + jitter], fixed per delivery and retry so that it is
    reproducible, yet spread across deliveries that failed together."""
    spread = settings.TRIBUTARY_RETRY_JITTER
    seed = hashlib.sha256(f"{event_log.delivery_id}:{failures}".encode()).digest()
    unit = int.from_bytes(seed[:4], "big") / 0xFFFFFFFF
    return 1 + spread * (2 * unit - 1)

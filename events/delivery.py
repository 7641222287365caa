"""Delivering EventLogs to the app's callback URL: signed, attempt by attempt, retried.

Every attempt is written before it is sent and updated with the outcome. A delivery is
claimed with a conditional UPDATE (1 row: ours) so two workers never send it at once.
Retries follow Cloud Elements' schedule by default: retry x is due 4^x seconds after the
first failure (settings.TRIBUTARY_RETRY_SCHEDULE), then the instance's notifications are
suspended and its new deliveries queued until someone reactivates them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from events.models import DeliveryAttempt, EventLog
from integrations.models import Instance
from integrations.provider.client import USER_AGENT, connection_problem
from integrations.provider.retries import parse_wait
from integrations.provider.urlguard import UnsafeURL, guarded_session, url_problems

log = logging.getLogger(__name__)

RESPONSE_LIMIT = 20 * 1024
THROTTLED_MIN_WAIT = timedelta(seconds=60)
# A pending delivery older than this with no attempt was lost by a crashed worker (or its
# task was): the sweep sends it. Younger ones are still on their way from on_commit.
PENDING_GRACE = timedelta(seconds=30)
SIGNATURE_KEY = "event.notification.signature.key"
STANDARD_WEBHOOKS_PREFIX = "whsec_"
REDACTED = "<redacted>"
ACTIVE = (EventLog.Status.PENDING, EventLog.Status.RETRYING)

_sessions: dict[int, requests.Session] = {}


def _session() -> requests.Session:
    # One keep-alive session per worker process.
    return _sessions.setdefault(0, guarded_session())


@dataclass(frozen=True)
class Response:
    status_code: int | None
    body: str
    duration_ms: int
    error: str = ""
    retry_after: float | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# Building the request ------------------------------------------------------------------


def elements_signature(key: str, body: bytes) -> str:
    """Cloud Elements' ``Elements-Webhook-Signature``: sha256= + base64 HMAC-SHA256."""
    digest = hmac.new(key.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def standard_webhook(key: str) -> Webhook:
    """The Standard Webhooks signer: a ``whsec_`` key is base64 after the prefix; any
    other key is used as its UTF-8 bytes, the same key as the Elements signature."""
    if key.startswith(STANDARD_WEBHOOKS_PREFIX):
        return Webhook(key)
    return Webhook(key.encode())


def request_headers(event_log: EventLog, body: bytes, *, now: datetime) -> dict[str, str]:
    instance = event_log.instance
    delivery_id = str(event_log.delivery_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Elements-Webhook-Id": delivery_id,
    }
    extra = instance.configuration.get("event.notification.callback.headers") or {}
    if isinstance(extra, str):
        extra = json.loads(extra)
    headers.update({str(name): str(value) for name, value in extra.items()})
    key = instance.secrets.get(SIGNATURE_KEY)
    if key:
        timestamp = now.astimezone(UTC)
        headers["Elements-Webhook-Signature"] = elements_signature(key, body)
        headers["webhook-id"] = delivery_id
        headers["webhook-timestamp"] = str(int(timestamp.timestamp()))
        headers["webhook-signature"] = standard_webhook(key).sign(
            msg_id=delivery_id, timestamp=timestamp, data=body.decode()
        )
    username = instance.configuration.get("event.notification.basic.username")
    if username:
        password = instance.secrets.get("event.notification.basic.password", "")
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return headers


def redacted(headers: dict[str, str]) -> dict[str, str]:
    return {
        name: REDACTED if name.lower() in {"authorization", "proxy-authorization"} else value
        for name, value in headers.items()
    }


def post(url: str, body: bytes, headers: dict[str, str], *, session=None) -> Response:
    started = time.monotonic()
    # Checked at every send, not only when saved: the name may resolve elsewhere by now.
    problems = url_problems(url)
    if problems:
        return Response(None, "", 0, f"refused: {problems[0]}")
    try:
        answer = (session or _session()).post(
            url,
            data=body,
            headers=headers,
            timeout=settings.TRIBUTARY_DELIVERY_TIMEOUT,
            allow_redirects=False,  # a redirect is a failure: the app must fix its URL
        )
    except requests.Timeout:
        return Response(
            None,
            "",
            _elapsed(started),
            f"no answer within {settings.TRIBUTARY_DELIVERY_TIMEOUT} s",
            timed_out=True,
        )
    except requests.RequestException as exc:
        return Response(None, "", _elapsed(started), f"could not connect: {_reason(exc)}")
    except UnsafeURL as exc:
        return Response(None, "", _elapsed(started), str(exc))
    text = answer.content[:RESPONSE_LIMIT].decode("utf-8", errors="replace")
    error = ""
    if 300 <= answer.status_code < 400:
        error = f"redirect to {answer.headers.get('Location', '?')} not followed"
    elif not 200 <= answer.status_code < 300:
        error = f"the callback answered {answer.status_code}"
    return Response(
        answer.status_code,
        text,
        _elapsed(started),
        error,
        retry_after=parse_wait(answer.headers.get("Retry-After"), unix_time=False),
    )


def _elapsed(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _reason(exc: requests.RequestException) -> str:
    return connection_problem(exc)


# Scheduling ----------------------------------------------------------------------------


def _jitter(event_log: EventLog, failures: int) -> float:
    """A factor in [1 − jitter, 1 + jitter], fixed per delivery and retry so that it is
    reproducible, yet spread across deliveries that failed together."""
    spread = settings.TRIBUTARY_RETRY_JITTER
    seed = hashlib.sha256(f"{event_log.delivery_id}:{failures}".encode()).digest()
    unit = int.from_bytes(seed[:4], "big") / 0xFFFFFFFF
    return 1 + spread * (2 * unit - 1)


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


# Claims and sending --------------------------------------------------------------------


def lease() -> timedelta:
    return timedelta(seconds=settings.TRIBUTARY_DELIVERY_TIMEOUT + 60)


def delivery_claim(*, event_log_id: int, now: datetime, manual: bool = False) -> bool:
    rows = EventLog.objects.filter(pk=event_log_id).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )
    if not manual:
        rows = rows.filter(status__in=ACTIVE, next_attempt_at__lte=now)
    return rows.update(locked_until=now + lease()) == 1


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
        EventLog.objects.filter(pk=event_log_id).update(
            status=EventLog.Status.QUEUED, locked_until=None
        )
        return None
    body = event_log.body.encode()
    headers = request_headers(event_log, body, now=now)
    attempt = DeliveryAttempt.objects.create(
        event_log=event_log, started_at=now, request_headers=redacted(headers), trigger=trigger
    )
    if instance.callback_url:
        response = post(instance.callback_url, body, headers, session=session)
    else:
        response = Response(None, "", 0, "the instance has no callback URL")
    attempt.status_code = response.status_code
    attempt.response_body = response.body
    attempt.duration_ms = response.duration_ms
    attempt.error = response.error
    attempt.save(update_fields=["status_code", "response_body", "duration_ms", "error"])
    _record_outcome(event_log, response, now=now)
    return attempt


def _record_outcome(event_log: EventLog, response: Response, *, now: datetime) -> None:
    event_log.attempt_count += 1
    event_log.last_status_code = response.status_code
    event_log.last_error = response.error
    event_log.locked_until = None
    suspend_reason = ""
    if response.ok:
        event_log.status = EventLog.Status.DELIVERED
        event_log.delivered_at = now
        event_log.next_attempt_at = None
    else:
        event_log.failures += 1
        event_log.first_failed_at = event_log.first_failed_at or now
        retry_at = None
        if response.status_code == 410:
            suspend_reason = "the callback answered 410 Gone"
        else:
            retry_at = next_retry_at(
                event_log,
                now=now,
                retry_after=response.retry_after,
                throttled=response.status_code == 429 or response.timed_out,
            )
            if retry_at is None:
                suspend_reason = (
                    f"delivery {event_log.delivery_id} failed {event_log.failures} times; "
                    f"last: {response.error}"
                )
        event_log.status = EventLog.Status.RETRYING if retry_at else EventLog.Status.FAILED
        event_log.next_attempt_at = retry_at
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
                "updated_at",
            ]
        )
        if suspend_reason:
            instance_notifications_suspend(
                instance=event_log.instance, reason=suspend_reason, now=now
            )


# Suspension, sweeps, redelivery ---------------------------------------------------------


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
    ids in the order they should be sent."""
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
        )
    return queued


def deliveries_due(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Deliveries a worker should send now: retries that are due, and pending ones that no
    task picked up (a crash between commit and enqueue, or a lost task)."""
    now = now or timezone.now()
    due = (
        EventLog.objects.filter(
            Q(status=EventLog.Status.RETRYING, next_attempt_at__lte=now)
            | Q(status=EventLog.Status.PENDING, next_attempt_at__lte=now - PENDING_GRACE)
        )
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .filter(instance__notifications_suspended_at__isnull=True)
        .order_by("next_attempt_at", "id")
    )
    return list(due.values_list("id", flat=True)[:limit])


def delivery_restart(*, event_log: EventLog, now: datetime) -> None:
    """Put a delivery back at the start of the schedule, with the same id (redelivery)."""
    EventLog.objects.filter(pk=event_log.pk).update(
        status=EventLog.Status.PENDING, next_attempt_at=now, failures=0, first_failed_at=None
    )


def delivery_redeliver(*, event_log_id: int, now: datetime | None = None) -> DeliveryAttempt | None:
    """Resend a delivery by hand, whatever its state: same id, a new attempt; if it fails,
    the retry schedule starts over."""
    now = now or timezone.now()
    event_log = EventLog.objects.get(pk=event_log_id)
    delivery_restart(event_log=event_log, now=now)
    return delivery_send(event_log_id=event_log_id, trigger=DeliveryAttempt.Trigger.MANUAL, now=now)


def deliveries_since(*, instance: Instance, since: datetime):
    return EventLog.objects.filter(instance=instance, created_at__gte=since).order_by(
        "created_at", "id"
    )


def initial_status(instance: Instance) -> str:
    """The status a new delivery of ``instance`` starts in."""
    if instance.notifications_suspended_at:
        return EventLog.Status.QUEUED
    return EventLog.Status.PENDING

"""One delivery's page: its events and attempts, the message and its raw part shown up to
``DISPLAY_LIMIT`` characters, the headers last sent (credentials and the app's callback
headers redacted) and the deliveries just before and after it of the same objects. Errors
are shown with the credentials of any URL they quote masked."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from core.http import delivery_headers_shown, url_without_credentials
from events.eventlog.inert import inert
from events.models import DeliveryAttempt, Event, EventLog

# Characters of pretty-printed JSON shown on the page; the rest is a download away.
DISPLAY_LIMIT = 64 * 1024


def exact(text: str) -> str:
    """The text as sent; only lone surrogates, which no response can encode, are escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass
class Shown:
    """Text for the page: at most ``DISPLAY_LIMIT`` characters, and whether it was cut."""

    text: str
    size: int
    truncated: bool


def shown(text: str) -> Shown:
    cut = len(text) > DISPLAY_LIMIT
    return Shown(inert(text[:DISPLAY_LIMIT]), len(text), cut)


def pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def message_of(event_log: EventLog) -> Any:
    try:
        return json.loads(event_log.body)
    except ValueError:
        return None


def raw_of(message: Any) -> Any:
    if isinstance(message, dict) and isinstance(message.get("message"), dict):
        return message["message"].get("raw")
    return None


@dataclass
class Detail:
    event_log: EventLog
    events: list[Event]
    attempts: list[DeliveryAttempt]
    message: Shown
    raw: Shown
    body: str
    headers: list[tuple[str, str]]
    previous: int | None
    next: int | None


def delivery_detail(*, event_log: EventLog) -> Detail:
    events = list(
        event_log.events.order_by("id").only(
            "object_id", "object_type", "event_type", "event_date", "event_log_id", "instance_id"
        )
    )
    attempts = list(event_log.attempts.order_by("started_at", "id"))
    # Recorded before errors were stored masked, an error may quote a URL's credentials:
    # the page shows these copies, which are never saved.
    event_log.last_error = url_without_credentials(event_log.last_error)
    for attempt in attempts:
        attempt.error = url_without_credentials(attempt.error)
    message = message_of(event_log)
    message_text = pretty(message) if message is not None else event_log.body
    headers = attempts[-1].request_headers if attempts else {}
    previous, following = delivery_neighbours(event_log=event_log, events=events)
    return Detail(
        event_log=event_log,
        events=events,
        attempts=attempts,
        message=shown(message_text),
        raw=shown(pretty(raw_of(message))),
        body=exact(event_log.body) if len(event_log.body) <= DISPLAY_LIMIT else "",
        headers=[
            (inert(name), inert(str(value)))
            for name, value in delivery_headers_shown(headers or {}).items()
        ],
        previous=previous,
        next=following,
    )


def delivery_neighbours(*, event_log: EventLog, events: list[Event]) -> tuple[int | None, ...]:
    """Ids of the deliveries just before and after this one that carry any of its objects.
    Read from the objects' events (an index lookup), not by scanning deliveries."""
    objects = {(event.object_type, event.object_id) for event in events}
    if not objects:
        return None, None
    same = Q()
    for object_type, object_id in objects:
        same |= Q(object_type=object_type, object_id=object_id)
    rows = Event.objects.filter(same, instance_id=event_log.instance_id, event_log__isnull=False)
    created, pk = event_log.created_at, event_log.pk
    before = Q(event_log__created_at__lt=created) | Q(event_log_id__lt=pk)
    after = Q(event_log__created_at__gt=created) | Q(event_log_id__gt=pk)
    previous = (
        rows.filter(before, event_log__created_at__lte=created)
        .order_by("-event_log__created_at", "-event_log_id")
        .values_list("event_log_id", flat=True)
        .first()
    )
    following = (
        rows.filter(after, event_log__created_at__gte=created)
        .order_by("event_log__created_at", "event_log_id")
        .values_list("event_log_id", flat=True)
        .first()
    )
    return previous, following

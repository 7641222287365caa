"""Callback faults at a real local receiver: the retry schedule is kept while it fails, and once
it recovers every delivery arrives; 410 and an exhausted schedule suspend the instance until
reactivation.

Time is driven by passing ``now``: each step sends what is due then, as the sweep would.
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from events.delivery import (
    ACTIVE,
    deliveries_due,
    delivery_redeliver,
    delivery_send,
    instance_notifications_reactivate,
)
from events.models import DeliveryAttempt, EventLog
from integrations.models import Instance
from tests.events.factories import EventLogFactory
from tests.factories import InstanceFactory
from tests.hardening.support import header, outcome
from tests.receiver import Answer, Received, Receiver

HOUR = timedelta(hours=1)


class AnsweringReceiver(Receiver):
    """A receiver that also remembers what it answered to each request."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.answered: list[tuple[Received, Answer]] = []

    def _record(self, request: Received) -> Answer:
        answer = super()._record(request)
        self.answered.append((request, answer))
        return answer

    def accepted(self) -> Counter:
        """Delivery ids the receiver answered 2xx, with how often."""
        return Counter(
            header(request, "Elements-Webhook-Id")
            for request, answer in self.answered
            if 200 <= answer.status < 300
        )


@pytest.fixture
def receiver():
    with AnsweringReceiver() as running:
        yield running


@pytest.fixture
def t0() -> datetime:
    return timezone.now()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def deliveries(instance: Instance, now: datetime, count: int) -> list[EventLog]:
    return [
        EventLogFactory(
            instance=instance,
            next_attempt_at=now,
            status=EventLog.Status.QUEUED
            if instance.notifications_suspended_at
            else EventLog.Status.PENDING,
            body=json.dumps(
                {
                    "message": {"events": [{"objectId": str(n), "eventType": "UPDATED"}]},
                    "elementKey": "desk",
                }
            ),
        )
        for n in range(count)
    ]


def send_all(event_logs: list[EventLog], now: datetime) -> None:
    """What the tasks enqueued on commit do: send each new delivery at once."""
    for event_log in event_logs:
        delivery_send(event_log_id=event_log.pk, now=now)


def next_due(instance: Instance) -> datetime | None:
    active = EventLog.objects.filter(instance=instance, status__in=ACTIVE)
    return active.aggregate(due=Min("next_attempt_at"))["due"]


def run_until(instance: Instance, deadline: datetime) -> datetime:
    """Send each retry the moment it is due, up to ``deadline``, as a sweep running at
    exactly those moments would; returns the time reached."""
    now = None
    while (due := next_due(instance)) is not None and due <= deadline:
        now = due
        for event_log_id in deliveries_due(now=now):
            delivery_send(event_log_id=event_log_id, now=now)
    return now or deadline


def offsets(event_log: EventLog) -> list[float]:
    """Seconds from the first attempt to each attempt."""
    times = list(
        DeliveryAttempt.objects.filter(event_log=event_log)
        .order_by("started_at", "id")
        .values_list("started_at", flat=True)
    )
    return [(moment - times[0]).total_seconds() for moment in times]


def on_schedule(actual: list[float], schedule: list[int]) -> bool:
    """``actual`` = 0 then each retry within the jitter of the schedule."""
    jitter = settings.TRIBUTARY_RETRY_JITTER
    return len(actual) == len(schedule) + 1 and all(
        (1 - jitter) * due - 1 <= at <= (1 + jitter) * due + 1
        for at, due in zip(actual[1:], schedule, strict=True)
    )


def report(name: str, receiver: AnsweringReceiver, event_logs: list[EventLog]) -> Counter:
    accepted = receiver.accepted()
    ids = {str(event_log.delivery_id) for event_log in event_logs}
    outcome(
        f"callback {name}",
        expected=len(ids),
        delivered=len(ids & set(accepted)),
        duplicated=sum(count - 1 for count in accepted.values()),
    )
    return accepted


def statuses(event_logs: list[EventLog]) -> list[str]:
    return [EventLog.objects.get(pk=event_log.pk).status for event_log in event_logs]


def test_it_keeps_the_schedule_through_an_hour_down_and_delivers_everything_after(db, t0):
    port = free_port()
    instance = InstanceFactory(callback_url=f"http://127.0.0.1:{port}/hook")
    event_logs = deliveries(instance, t0, 3)

    send_all(event_logs, t0)
    run_until(instance, t0 + HOUR)  # nothing listens: every attempt is refused

    for event_log in event_logs:
        assert on_schedule(offsets(event_log), [4, 16, 64, 256, 1024])
        event_log.refresh_from_db()
        assert event_log.status == EventLog.Status.RETRYING
        assert "could not connect" in event_log.last_error
        assert "Connection refused" in event_log.last_error
    with AnsweringReceiver(port=port) as receiver:
        run_until(instance, t0 + 2 * HOUR)

        accepted = report("receiver down for an hour", receiver, event_logs)
    assert statuses(event_logs) == [EventLog.Status.DELIVERED] * 3
    for event_log in event_logs:
        assert on_schedule(offsets(event_log), [4, 16, 64, 256, 1024, 4096])
    assert sorted(accepted.values()) == [1, 1, 1]
    assert instance.notifications_suspended_at is None


def test_it_retries_a_receiver_slower_than_the_timeout_at_least_a_minute_apart(
    db, t0, receiver, settings
):
    settings.TRIBUTARY_DELIVERY_TIMEOUT = 0.5
    instance = InstanceFactory(callback_url=receiver.url)
    event_logs = deliveries(instance, t0, 3)
    receiver.script(*[Answer(delay=2)] * 6)  # two rounds too slow, then quick

    send_all(event_logs, t0)
    run_until(instance, t0 + HOUR)

    assert statuses(event_logs) == [EventLog.Status.DELIVERED] * 3
    for event_log in event_logs:
        attempts = list(event_log.attempts.order_by("started_at"))
        assert [attempt.error for attempt in attempts] == [
            "no answer within 0.5 s",
            "no answer within 0.5 s",
            "",
        ]
        gaps = offsets(event_log)
        assert gaps[1] >= 60 and gaps[2] - gaps[1] >= 60
    accepted = report("slower than the timeout", receiver, event_logs)
    # The slow receiver did take each one that timed out: the same delivery id three times,
    # which is what receivers deduplicate on.
    assert sorted(accepted.values()) == [3, 3, 3]


def test_it_retries_server_errors_on_schedule_until_they_stop(db, t0, receiver):
    instance = InstanceFactory(callback_url=receiver.url)
    event_logs = deliveries(instance, t0, 3)
    receiver.script(*[Answer(500)] * 3, *[Answer(502)] * 3, *[Answer(503)] * 3)

    send_all(event_logs, t0)
    run_until(instance, t0 + HOUR)

    assert statuses(event_logs) == [EventLog.Status.DELIVERED] * 3
    for event_log in event_logs:
        assert on_schedule(offsets(event_log), [4, 16, 64])
        errors = list(event_log.attempts.order_by("started_at").values_list("error", flat=True))
        assert errors == [
            "the callback answered 500",
            "the callback answered 502",
            "the callback answered 503",
            "",
        ]
    accepted = report("5xx", receiver, event_logs)
    assert sorted(accepted.values()) == [1, 1, 1]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_it_never_follows_a_redirect_and_delivers_once_the_url_answers(db, t0, receiver, status):
    instance = InstanceFactory(callback_url=receiver.url)
    event_logs = deliveries(instance, t0, 2)
    moved = receiver.url.replace("/hook", "/moved")
    receiver.script(*[Answer(status, headers={"Location": moved})] * 2)

    send_all(event_logs, t0)
    run_until(instance, t0 + HOUR)

    assert {request.path for request in receiver.requests} == {"/hook"}
    for event_log in event_logs:
        first = event_log.attempts.order_by("started_at").first()
        assert first.status_code == status
        assert first.error == f"redirect to {moved} not followed"
    assert statuses(event_logs) == [EventLog.Status.DELIVERED] * 2
    accepted = report(f"{status} redirect", receiver, event_logs)
    assert sorted(accepted.values()) == [1, 1]


def test_it_suspends_on_410_queues_the_rest_and_delivers_them_in_order_on_reactivation(
    db, t0, receiver
):
    instance = InstanceFactory(callback_url=receiver.url)
    gone, *waiting = deliveries(instance, t0, 3)
    receiver.script(Answer(410, body=b"this endpoint is gone"))

    send_all([gone], t0)
    instance.refresh_from_db()

    assert instance.notifications_suspended_reason == "the callback answered 410 Gone"
    assert statuses([gone, *waiting]) == [EventLog.Status.FAILED] + [EventLog.Status.QUEUED] * 2
    later = deliveries(instance, t0 + HOUR, 1)  # a new change while suspended
    assert statuses(later) == [EventLog.Status.QUEUED]
    send_all([*waiting, *later], t0 + HOUR)
    assert deliveries_due(now=t0 + 2 * HOUR) == []
    assert len(receiver.requests) == 1

    queued = instance_notifications_reactivate(instance=instance, now=t0 + 2 * HOUR)
    for event_log_id in queued:
        delivery_send(event_log_id=event_log_id, now=t0 + 2 * HOUR)

    assert queued == [event_log.pk for event_log in [*waiting, *later]]
    assert statuses([*waiting, *later]) == [EventLog.Status.DELIVERED] * 3
    # The one the app called gone stays failed until someone resends it by hand.
    assert statuses([gone]) == [EventLog.Status.FAILED]
    delivery_redeliver(event_log_id=gone.pk, now=t0 + 2 * HOUR)
    everything = [gone, *waiting, *later]
    assert statuses(everything) == [EventLog.Status.DELIVERED] * 4
    received = [header(request, "Elements-Webhook-Id") for request in receiver.requests]
    in_order = [gone, *waiting, *later, gone]  # the 410, the queue oldest first, the resend
    assert received == [str(event_log.delivery_id) for event_log in in_order]
    accepted = report("410 Gone, reactivated", receiver, everything)
    assert sorted(accepted.values()) == [1, 1, 1, 1]


def test_it_suspends_when_the_schedule_is_exhausted_and_resumes_on_reactivation(db, t0, receiver):
    instance = InstanceFactory(callback_url=receiver.url)
    receiver.default = Answer(500)
    (exhausted,) = deliveries(instance, t0, 1)

    send_all([exhausted], t0)
    run_until(instance, t0 + 24 * HOUR)
    (waiting,) = deliveries(instance, t0 + 24 * HOUR, 1)
    send_all([waiting], t0 + 24 * HOUR)
    run_until(instance, t0 + 100 * HOUR)
    instance.refresh_from_db()

    assert on_schedule(offsets(exhausted), settings.TRIBUTARY_RETRY_SCHEDULE)
    assert statuses([exhausted, waiting]) == [EventLog.Status.FAILED, EventLog.Status.QUEUED]
    assert instance.notifications_suspended_reason == (
        f"delivery {exhausted.delivery_id} failed 10 times; last: the callback answered 500"
    )

    receiver.default = Answer(200)
    for event_log_id in instance_notifications_reactivate(instance=instance, now=t0 + 101 * HOUR):
        delivery_send(event_log_id=event_log_id, now=t0 + 101 * HOUR)
    delivery_redeliver(event_log_id=exhausted.pk, now=t0 + 101 * HOUR)

    assert statuses([exhausted, waiting]) == [EventLog.Status.DELIVERED] * 2
    accepted = report("schedule exhausted, reactivated", receiver, [exhausted, waiting])
    assert sorted(accepted.values()) == [1, 1]

"""python manage.py tributary_status: instances, pollers, deliveries, the worker heartbeat,
and an exit status for monitoring."""

import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from events.heartbeat import heartbeat_expect, heartbeat_record
from events.models import EventLog
from tests.events.factories import EventLogFactory
from tests.factories import InstanceFactory, PollerObjectFactory


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def healthy(db, now):
    """A working installation: one instance polling on time, a delivery done, a fresh beat."""
    heartbeat_expect(now=now - timedelta(days=1))
    heartbeat_record(now=now - timedelta(seconds=30))
    instance = InstanceFactory(
        name="Acme Desk", events_enabled=True, events_enabled_at=now - timedelta(days=1)
    )
    PollerObjectFactory(
        instance=instance,
        last_success_at=now - timedelta(minutes=2),
        next_poll_at=now + timedelta(minutes=13),
    )
    EventLogFactory(instance=instance, status=EventLog.Status.DELIVERED)
    return instance


def status(*args) -> str:
    out = StringIO()
    call_command("tributary_status", *args, stdout=out)
    return out.getvalue()


def test_it_summarizes_a_healthy_installation(healthy):
    output = status("--fail-on-problems")

    assert "Instances: 1 (1 with events on, 0 with notifications suspended)" in output
    assert "Pollers: 1 (1 enabled, 0 due now, 0 stalled)" in output
    assert "Deliveries: 0 pending, 0 retrying (0 due now), 0 failed, 0 queued, 1 delivered" in (
        output
    )
    assert re.search(r"Worker heartbeat: ok \(last 3\d s ago\)", output)
    assert "No problems." in output


def test_it_names_a_stalled_poller_with_its_last_error(healthy, now):
    healthy.poller_objects.update(consecutive_failures=3, last_error="HTTP 401: bad token")

    output = status()

    assert "1 stalled" in output
    assert (
        f"  stalled: #{healthy.pk} Acme Desk incidents: the last 3 polls failed: "
        "HTTP 401: bad token"
    ) in output


def test_it_counts_deliveries_by_state_and_those_due_now(healthy, now):
    for state, due in [("pending", now - timedelta(minutes=5)), ("retrying", now), ("queued", now)]:
        EventLogFactory(instance=healthy, status=state, next_attempt_at=due)
    EventLogFactory(instance=healthy, status="retrying", next_attempt_at=now + timedelta(hours=1))
    EventLogFactory(instance=healthy, status="failed")

    output = status()

    assert "Deliveries: 1 pending, 2 retrying (2 due now), 1 failed, 1 queued" in output


def test_it_fails_on_problems_naming_each(healthy, now):
    healthy.poller_objects.update(last_success_at=now - timedelta(hours=2))
    healthy.notifications_suspended_at = now
    healthy.notifications_suspended_reason = "the callback answered 410 Gone"
    healthy.save()

    with pytest.raises(CommandError) as failure:
        status("--fail-on-problems")

    message = str(failure.value)
    assert message.startswith("2 problem(s)")
    assert "poller incidents of instance" in message and "is stalled" in message
    assert "suspended: the callback answered 410 Gone" in message


def test_a_missing_heartbeat_is_a_problem(healthy, now):
    heartbeat_record(now=now - timedelta(minutes=30))

    with pytest.raises(CommandError, match="worker heartbeat: last heartbeat 30 min ago"):
        status("--fail-on-problems")


def test_it_prints_the_summary_as_json(healthy, now):
    healthy.poller_objects.update(consecutive_failures=5, last_error="timeout")

    summary = json.loads(status("--json"))

    assert summary["pollers"]["stalled"][0]["name"] == "incidents"
    assert summary["pollers"]["stalled"][0]["lastError"] == "timeout"
    assert summary["deliveries"]["delivered"] == 1
    assert summary["scheduler"]["status"] == "ok"
    assert len(summary["problems"]) == 1

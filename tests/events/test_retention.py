"""Pruning history older than the retention period, keeping what is undelivered or still
inside a poller's overlap window."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from events.models import DeliveryAttempt, Event, EventLog, InboundWebhook
from events.polling import poll_object
from events.retention import events_prune
from integrations.models import Instance
from integrations.provider import ProviderClient
from tests.events.conftest import at
from tests.events.factories import DeliveryAttemptFactory, EventFactory, EventLogFactory
from tests.factories import InstanceFactory, PollerObjectFactory


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def instance(db):
    return InstanceFactory()


def aged(obj, now, days):
    type(obj).objects.filter(pk=obj.pk).update(created_at=now - timedelta(days=days))
    return obj


def delivery(instance, now, *, days, status="delivered"):
    """A delivery of ``status`` with one attempt and one event, all ``days`` old."""
    event_log = aged(EventLogFactory(instance=instance, status=status), now, days)
    DeliveryAttemptFactory(event_log=event_log)
    event = aged(EventFactory(instance=instance, event_log=event_log), now, days)
    return event_log, event


def test_it_deletes_delivered_history_older_than_the_retention_period(instance, now):
    old_log, old_event = delivery(instance, now, days=31)
    recent_log, recent_event = delivery(instance, now, days=29)

    result = events_prune(now=now, days=30)

    assert list(EventLog.objects.values_list("pk", flat=True)) == [recent_log.pk]
    assert list(Event.objects.values_list("pk", flat=True)) == [recent_event.pk]
    assert list(DeliveryAttempt.objects.values_list("event_log", flat=True)) == [recent_log.pk]
    assert result.summary()["events"] == 1
    assert result.summary()["eventLogs"] == 1
    assert result.summary()["attempts"] == 1


def test_it_deletes_old_failed_deliveries(instance, now):
    delivery(instance, now, days=31, status="failed")

    events_prune(now=now, days=30)

    assert not EventLog.objects.exists() and not Event.objects.exists()


@pytest.mark.parametrize("status", ["pending", "retrying", "queued"])
def test_it_keeps_undelivered_deliveries_and_their_events_whatever_their_age(instance, now, status):
    event_log, event = delivery(instance, now, days=90, status=status)

    result = events_prune(now=now, days=30)

    assert EventLog.objects.get().pk == event_log.pk
    assert Event.objects.get().pk == event.pk
    assert result.kept_events == 1


def test_it_deletes_old_inbound_webhook_requests(desk, now):
    old = InboundWebhook.objects.create(
        element=desk, method="POST", received_at=now - timedelta(days=31)
    )
    recent = InboundWebhook.objects.create(element=desk, method="POST", received_at=now)

    events_prune(now=now, days=30)

    assert list(InboundWebhook.objects.values_list("pk", flat=True)) == [recent.pk]
    assert old.pk != recent.pk


def test_it_keeps_old_events_a_poller_reads_again(instance, now):
    cursor = now - timedelta(days=5)
    PollerObjectFactory(instance=instance, name="incidents", cursor=cursor, lookback=60)

    def old_event(object_type, event_date):
        return aged(
            EventFactory(instance=instance, object_type=object_type, event_date=event_date),
            now,
            days=2,
        )

    in_overlap = old_event("incidents", cursor - timedelta(seconds=30))
    before_overlap = old_event("incidents", cursor - timedelta(seconds=90))
    not_polled = old_event("contacts", cursor - timedelta(seconds=30))

    result = events_prune(now=now, days=1)

    assert list(Event.objects.values_list("pk", flat=True)) == [in_overlap.pk]
    assert {before_overlap.pk, not_polled.pk}.isdisjoint(Event.objects.values_list("pk"))
    assert result.kept_events == 1


def test_a_poll_after_pruning_emits_no_duplicate(sim, desk_instance):
    def poll():
        poller = desk_instance.poller_objects.get(name="incidents")
        client = ProviderClient(Instance.objects.get(pk=desk_instance.pk), sleep=sim.advance)
        return poll_object(poller_object_id=poller.pk, client=client, now=sim.now())

    at(sim, 5)
    sim.create_case(subject="long ago")
    poll()
    at(sim, 600)
    last = sim.create_case(subject="the newest change the poller has seen")
    poll()
    EventLog.objects.update(status="delivered")
    Event.objects.update(created_at=sim.now() - timedelta(days=2))

    at(sim, 120)
    events_prune(now=sim.now(), days=1)
    result = poll()

    # The newest change is inside the next poll's overlap: kept, so not emitted again.
    assert list(Event.objects.values_list("object_id", flat=True)) == [str(last["id"])]
    assert result.records >= 1 and dict(result.events) == {}


def test_a_dry_run_counts_and_deletes_nothing(instance, now):
    delivery(instance, now, days=31)

    result = events_prune(now=now, days=30, dry_run=True)

    assert result.summary()["events"] == 1
    assert result.summary()["eventLogs"] == 1
    assert result.summary()["attempts"] == 1
    assert Event.objects.count() == 1 and EventLog.objects.count() == 1


def test_it_deletes_in_batches(instance, now):
    for _ in range(5):
        aged(EventFactory(instance=instance), now, days=31)

    result = events_prune(now=now, days=30, batch_size=2)

    assert result.summary()["events"] == 5
    assert not Event.objects.exists()


def test_the_command_prints_what_it_deleted(instance, now):
    delivery(instance, now, days=8)
    out = StringIO()

    call_command("prune_events", "--days", "7", "--dry-run", stdout=out)
    assert out.getvalue().startswith("Would delete 1 event(s), 1 deliveries (1 attempt(s))")
    assert Event.objects.exists()

    call_command("prune_events", "--days", "7", stdout=out)
    assert "Deleted 1 event(s), 1 deliveries (1 attempt(s))" in out.getvalue()
    assert not Event.objects.exists()


def test_the_command_refuses_a_retention_under_a_day(db):
    with pytest.raises(CommandError, match="keep at least 1 day"):
        call_command("prune_events", "--days", "0")

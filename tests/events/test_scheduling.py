from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from events.polling import PollError, PollSkipped, poll_object
from events.scheduling import due_pollers_claim, poller_claim
from events.tasks import dispatch_due_polls, schedules_setup
from integrations.provider import ProviderClient
from tests.factories import InstanceFactory, PollerObjectFactory


@pytest.fixture
def now():
    return timezone.now()


def due_poller(**instance_fields):
    instance = InstanceFactory(**{"events_enabled": True, **instance_fields})
    return PollerObjectFactory(instance=instance)


def test_it_claims_only_due_pollers_of_instances_with_polling_enabled(db, now):
    due = due_poller()
    due_poller(events_enabled=False)
    due_poller(vendor_type="webhook")
    later = due_poller()
    later.next_poll_at = now + timedelta(minutes=5)
    later.save()
    locked = due_poller()
    locked.locked_until = now + timedelta(minutes=5)
    locked.save()

    assert due_pollers_claim(now=now) == [due.pk]


def test_it_pushes_the_next_poll_one_refresh_interval_ahead(db, now):
    poller = due_poller(refresh_interval=7)

    due_pollers_claim(now=now)
    poller.refresh_from_db()

    assert poller.next_poll_at == now + timedelta(minutes=7)
    assert due_pollers_claim(now=now + timedelta(minutes=6)) == []
    assert due_pollers_claim(now=now + timedelta(minutes=7)) == [poller.pk]


def test_it_lets_one_worker_hold_a_poller_at_a_time(db, now):
    poller = due_poller()

    assert poller_claim(poller_object_id=poller.pk, now=now) is not None
    assert poller_claim(poller_object_id=poller.pk, now=now) is None
    with pytest.raises(PollSkipped):
        poll_object(poller_object_id=poller.pk, now=now)


def test_it_records_a_failure_and_backs_off(db, now):
    poller = due_poller()
    poller.url = "/hubs/helpdesk/incidents?where=updated_at>'${epoch:s}'"
    poller.save()
    # acme.desk.com is not reachable from the test machine: the poll fails.
    instance = poller.instance
    instance.configuration["site.address"] = "http://127.0.0.1:9"
    instance.save()

    for expected_failures in (1, 2):
        with pytest.raises(PollError):
            poll_object(
                poller_object_id=poller.pk,
                now=now,
                client=ProviderClient(instance, sleep=lambda seconds: None),
            )
        poller.refresh_from_db()
        assert poller.consecutive_failures == expected_failures
        assert poller.last_error
        assert poller.locked_until is None
    interval = timedelta(minutes=instance.effective_refresh_interval)
    assert poller.next_poll_at - now == interval * 4
    assert poller.cursor is None


SCHEDULE_NAMES = ["dispatch due polls", "sweep deliveries", "heartbeat", "prune old events"]


def test_it_sets_up_schedules_idempotently(db):
    assert schedules_setup() == [(name, True) for name in SCHEDULE_NAMES]
    assert schedules_setup() == [(name, False) for name in SCHEDULE_NAMES]
    schedule = Schedule.objects.get(name="dispatch due polls")
    assert schedule.func == "events.tasks.dispatch_due_polls"
    assert schedule.minutes == 1
    assert Schedule.objects.get(name="prune old events").schedule_type == Schedule.DAILY


def test_the_dispatcher_enqueues_one_poll_task_per_due_poller_after_commit(
    db, django_capture_on_commit_callbacks
):
    due_poller()
    due_poller()

    with django_capture_on_commit_callbacks(execute=True):
        assert dispatch_due_polls() == 2

    assert OrmQ.objects.count() == 2

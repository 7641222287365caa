"""Polling over real HTTP against the bundled Desk simulator, signed with OAuth 1.0a."""

import json
from datetime import timedelta
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.utils.dateparse import parse_datetime

from events.models import Event, EventLog
from events.polling import PollError, poll_object
from integrations.instances import instance_create
from integrations.models import Instance, PollerObject
from integrations.provider import ProviderClient
from tests.events.conftest import at, desk_instance_json


def client_for(sim, instance, cls=ProviderClient):
    # Waits (backoff, rate limits) advance the simulator's clock instead of sleeping.
    return cls(Instance.objects.get(pk=instance.pk), sleep=sim.advance)


def poll(sim, instance, name="incidents", client=None, **kwargs):
    poller = instance.poller_objects.get(name=name)
    # Our clock is the simulator's, which the tests move: no clock skew unless a test sets one.
    kwargs.setdefault("now", sim.now())
    return poll_object(
        poller_object_id=poller.pk, client=client or client_for(sim, instance), **kwargs
    )


def captured(instance, object_type="incidents"):
    return list(
        Event.objects.filter(instance=instance, object_type=object_type)
        .order_by("id")
        .values_list("object_id", "event_type")
    )


def set_page_size(instance, name, size):
    PollerObject.objects.filter(instance=instance, name=name).update(page_size=size)


def test_it_emits_nothing_for_old_records_on_the_baseline_poll(sim, desk_instance):
    result = poll(sim, desk_instance)

    assert result.records == 0
    assert captured(desk_instance) == []
    poller = desk_instance.poller_objects.get(name="incidents")
    # The baseline: when events were enabled, on the provider's clock (here ours) and a
    # whole second before it, so that a change made at that very moment is after it.
    assert poller.cursor == poller.baseline
    assert timedelta(0) < desk_instance.events_enabled_at - poller.baseline <= timedelta(seconds=3)
    assert poller.last_success_at is not None


def test_it_classifies_created_updated_and_deleted_cases(sim, desk_instance):
    at(sim, 5)
    case = sim.create_case(subject="Printer on fire")
    poll(sim, desk_instance)
    at(sim, 5)
    sim.update_case(case["id"], subject="Printer still on fire")
    poll(sim, desk_instance)
    at(sim, 5)
    sim.update_case(case["id"], status="deleted")
    poll(sim, desk_instance)

    case_id = str(case["id"])
    assert captured(desk_instance) == [
        (case_id, "CREATED"),
        (case_id, "UPDATED"),
        (case_id, "DELETED"),
    ]


def test_it_classifies_created_and_updated_customers(sim, desk_instance):
    at(sim, 5)
    customer = sim.create_customer(first_name="Ada", last_name="Lovelace")
    poll(sim, desk_instance, "contacts")
    at(sim, 5)
    sim.update_customer(customer["id"], title="Countess")
    poll(sim, desk_instance, "contacts")

    assert captured(desk_instance, "contacts") == [
        (str(customer["id"]), "CREATED"),
        (str(customer["id"]), "UPDATED"),
    ]


def test_it_captures_two_updates_within_the_same_second(sim, desk_instance):
    at(sim, 5)
    case = sim.create_case(subject="first")
    at(sim, 5)
    sim.update_case(case["id"], subject="second")
    poll(sim, desk_instance)
    sim.update_case(case["id"], subject="third")  # same second as "second"
    poll(sim, desk_instance)

    subjects = [
        event.raw["subject"]
        for event in Event.objects.filter(instance=desk_instance).order_by("id")
    ]
    assert subjects == ["second", "third"]


def test_it_emits_nothing_on_three_polls_without_changes(sim, desk_instance):
    at(sim, 5)
    sim.create_case(subject="one change")
    poll(sim, desk_instance)
    before = Event.objects.count()

    results = [poll(sim, desk_instance) for _ in range(3)]

    assert [sum(result.events.values()) for result in results] == [0, 0, 0]
    assert Event.objects.count() == before


def test_it_captures_a_record_changed_while_the_poll_is_running(sim, desk_instance):
    set_page_size(desk_instance, "incidents", 2)
    cases = []
    for _ in range(5):
        at(sim, 100)  # further apart than the lookback, which would otherwise hide a miss
        cases.append(sim.create_case(subject="new"))

    class ChangingMidPoll(ProviderClient):
        def iter_pages(self, *args, **kwargs):
            for number, page in enumerate(super().iter_pages(*args, **kwargs)):
                yield page
                if number == 0:
                    # The first case moves to the end of the updated_at order, shifting
                    # the pages still to come.
                    at(sim, 1)
                    sim.update_case(cases[0]["id"], subject="changed mid-poll")

    poll(sim, desk_instance, client=client_for(sim, desk_instance, ChangingMidPoll))
    poll(sim, desk_instance)

    events = captured(desk_instance)
    assert sorted(events) == sorted(
        [(str(case["id"]), "CREATED") for case in cases] + [(str(cases[0]["id"]), "UPDATED")]
    )


def test_it_keeps_the_cursor_when_page_two_fails_and_emits_each_event_once_on_retry(
    sim, desk_instance
):
    set_page_size(desk_instance, "incidents", 2)
    cases = []
    for _ in range(5):
        at(sim, 1)
        cases.append(sim.create_case(subject="new"))
    poller = desk_instance.poller_objects.get(name="incidents")
    sim.inject("status", status=500, path="/cases/search", query="page=2", times=None)

    with pytest.raises(PollError, match="500"):
        poll(sim, desk_instance)

    poller.refresh_from_db()
    assert poller.cursor is None
    assert poller.consecutive_failures == 1
    assert "500" in poller.last_error
    assert Event.objects.count() == 0 and EventLog.objects.count() == 0

    sim.clear_faults()
    poll(sim, desk_instance)
    poll(sim, desk_instance)

    assert sorted(captured(desk_instance)) == sorted((str(case["id"]), "CREATED") for case in cases)
    poller.refresh_from_db()
    assert poller.consecutive_failures == 0 and poller.last_error == ""


def test_it_waits_out_a_429(sim, desk_instance):
    at(sim, 5)
    case = sim.create_case(subject="behind a rate limit")
    sim.app.rate_limiter.limit = 2
    for _ in range(2):  # another client spends the minute's budget
        requests.get(f"{sim.url}/api/v2/cases", auth=sim.oauth1(), timeout=5)
    before = sim.now()

    poll(sim, desk_instance)

    assert captured(desk_instance) == [(str(case["id"]), "CREATED")]
    statuses = [entry["status"] for entry in sim.requests_log()]
    assert 429 in statuses
    assert (sim.now() - before).total_seconds() >= 1


def test_it_batches_events_into_messages_of_ten_in_the_cloud_elements_shape(sim, desk_instance):
    for _ in range(12):
        at(sim, 1)
        sim.create_case(subject="bulk")

    poll(sim, desk_instance)

    logs = list(EventLog.objects.filter(instance=desk_instance).order_by("id"))
    bodies = [json.loads(log.body) for log in logs]
    assert [len(body["message"]["events"]) for body in bodies] == [10, 2]
    message = bodies[0]["message"]
    assert bodies[0]["topic"] == f"instance-{desk_instance.pk}-desk-events"
    assert message["raw"]["objectType"] == "incidents"
    assert len(message["raw"]["incidents"]) == 10
    assert message["events"][0]["hubKey"] == "helpdesk"
    assert message["events"][0]["eventType"] == "CREATED"
    assert message["eventId"] == str(logs[0].delivery_id)


def test_the_dry_run_command_stores_and_advances_nothing(sim, desk_instance):
    at(sim, 5)
    sim.create_case(subject="seen but not stored")
    out = StringIO()

    call_command("poll", "--instance", desk_instance.pk, "--dry-run", stdout=out)

    assert "[dry run] incidents" in out.getvalue()
    assert "1 CREATED" in out.getvalue()
    assert Event.objects.count() == 0 and EventLog.objects.count() == 0
    assert desk_instance.poller_objects.get(name="incidents").cursor is None


def test_the_json_command_prints_one_line_per_new_event_and_a_summary(sim, desk_instance):
    at(sim, 5)
    case = sim.create_case(subject="json")
    out = StringIO()

    call_command(
        "poll", "--instance", desk_instance.pk, "--object", "incidents", "--json", stdout=out
    )

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {
        "objectId": str(case["id"]),
        "objectType": "incidents",
        "eventType": "CREATED",
        "date": case["updated_at"],
    }
    assert lines[-1]["summary"]["events"] == {"CREATED": 1}


def test_the_command_fails_with_the_provider_error(sim, desk_instance):
    sim.inject("status", status=401, path="/cases", times=None)
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("poll", "--instance", desk_instance.pk, "--object", "incidents", stderr=err)

    assert "401" in err.getvalue()


def test_it_narrows_the_window_when_the_provider_page_limit_is_reached(sim, desk_instance):
    desk = desk_instance.element
    desk.definition["pagination"]["maxPages"] = 2
    desk.save()
    set_page_size(desk_instance, "incidents", 2)
    cases = []
    for _ in range(5):
        at(sim, 1)
        cases.append(sim.create_case(subject="many"))

    result = poll(sim, desk_instance)

    assert result.windows == 2
    assert sorted(captured(desk_instance)) == sorted((str(case["id"]), "CREATED") for case in cases)


def test_it_backfills_history_from_the_configured_date(sim, desk, user):
    since = sim.now() - timedelta(days=30)
    data = desk_instance_json(sim.url, **{"event.poller.backfill.since": since.isoformat()})
    instance = instance_create(owner=user, data=data)
    listing = requests.get(
        f"{sim.url}/api/v2/cases?per_page=100", auth=sim.oauth1(), timeout=5
    ).json()
    expected = {
        str(case["id"])
        for case in listing["_embedded"]["entries"]
        if parse_datetime(case["updated_at"]) > since
    }
    assert expected, "the seed should hold cases changed in the last 30 days"

    poll(sim, instance)

    assert {object_id for object_id, _ in captured(instance)} == expected


def test_the_command_shows_progress_page_by_page_on_stderr(sim, desk_instance):
    set_page_size(desk_instance, "incidents", 2)
    desk_instance.configuration["event.notification.batch.size"] = 2
    desk_instance.save(update_fields=["configuration"])
    at(sim, 5)
    for number in range(5):
        sim.create_case(subject=f"case {number}")
    out, err = StringIO(), StringIO()

    call_command(
        "poll", "--instance", desk_instance.pk, "--object", "incidents", stdout=out, stderr=err
    )

    assert err.getvalue().splitlines() == [
        "incidents: page 1, 2 record(s), 2 event(s)",
        "incidents: page 2, 4 record(s), 4 event(s)",
        "incidents: page 3, 5 record(s), 4 event(s)",
    ]
    assert "5 CREATED" in out.getvalue()

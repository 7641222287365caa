"""The event log list: who sees what, filters, search, keyset pages, the chart."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from events.eventlog import pages
from events.models import EventLog
from tests.events.eventlog_data import delivery
from tests.factories import InstanceFactory, UserFactory

URL = "/events/log/"


@pytest.fixture
def instance(user):
    return InstanceFactory(owner=user, name="Acme Desk")


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def shown_ids(response) -> list[int]:
    return [row.event_log.pk for row in response.context["page"].rows]


def test_it_sends_anonymous_users_to_the_login_page(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("events:login"))


def test_it_lists_deliveries_newest_first(client_for, user, instance):
    now = timezone.now()
    old = delivery(instance, created=now - timedelta(hours=2))
    new = delivery(instance, created=now - timedelta(hours=1))

    response = client_for(user).get(URL)

    assert shown_ids(response) == [new.pk, old.pk]


def test_it_shows_what_each_delivery_carried(client_for, user, instance):
    delivery(
        instance,
        ("incidents", "42", "UPDATED"),
        ("contacts", "7", "CREATED"),
        status=EventLog.Status.DELIVERED,
        attempt_count=2,
        last_status_code=204,
    )

    text = client_for(user).get(URL).content.decode()

    assert "contacts, incidents" in text
    assert "CREATED, UPDATED" in text
    assert "Delivered" in text
    assert "Acme Desk" in text
    assert ">204<" in text


def test_it_hides_other_users_deliveries(client_for, user, instance):
    mine = delivery(instance)
    delivery(InstanceFactory(owner=UserFactory()))

    response = client_for(user).get(URL)

    assert shown_ids(response) == [mine.pk]


def test_it_shows_staff_every_delivery(client_for, staff, instance):
    delivery(instance)
    delivery(InstanceFactory())

    response = client_for(staff).get(URL)

    assert len(shown_ids(response)) == 2


def test_it_filters_by_object_type(client_for, user, instance):
    delivery(instance, ("incidents", "1", "UPDATED"))
    contact = delivery(instance, ("contacts", "2", "UPDATED"))

    response = client_for(user).get(URL, {"object_type": "contacts"})

    assert shown_ids(response) == [contact.pk]


def test_it_filters_by_event_type_without_repeating_rows(client_for, user, instance):
    both = delivery(instance, ("incidents", "1", "CREATED"), ("incidents", "2", "CREATED"))
    delivery(instance, ("incidents", "3", "UPDATED"))

    response = client_for(user).get(URL, {"event_type": "created"})

    assert shown_ids(response) == [both.pk]


def test_it_filters_by_status(client_for, user, instance):
    failed = delivery(instance, status=EventLog.Status.FAILED)
    delivery(instance, status=EventLog.Status.DELIVERED)

    response = client_for(user).get(URL, {"status": "failed"})

    assert shown_ids(response) == [failed.pk]


def test_it_filters_by_instance(client_for, user, instance):
    other = InstanceFactory(owner=user)
    delivery(instance)
    wanted = delivery(other)

    response = client_for(user).get(URL, {"instance": other.pk})

    assert shown_ids(response) == [wanted.pk]


def test_it_filters_by_element(client_for, staff, instance):
    desk = delivery(instance)

    assert shown_ids(client_for(staff).get(URL, {"element": "desk"})) == [desk.pk]
    assert shown_ids(client_for(staff).get(URL, {"element": "zendesk"})) == []


def test_it_filters_by_date_range(client_for, user, instance):
    now = timezone.now()
    delivery(instance, created=now - timedelta(days=3))
    yesterday = delivery(instance, created=now - timedelta(days=1))
    delivery(instance, created=now)
    day = (now - timedelta(days=1)).date().isoformat()

    response = client_for(user).get(URL, {"since": day, "until": day})

    assert shown_ids(response) == [yesterday.pk]


def test_it_searches_by_object_id(client_for, user, instance):
    case = delivery(instance, ("incidents", "41", "UPDATED"), ("incidents", "42", "UPDATED"))
    delivery(instance, ("incidents", "420", "UPDATED"))

    response = client_for(user).get(URL, {"q": "42"})

    assert shown_ids(response) == [case.pk]


def test_it_explains_a_bad_filter_value(client_for, user, instance):
    delivery(instance)

    response = client_for(user).get(URL, {"status": "lost", "since": "yesterday"})

    text = response.content.decode()
    assert "Unknown status &#x27;lost&#x27;" in text
    assert "must look like 2024-05-31" in text
    assert len(shown_ids(response)) == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"instance": "9" * 40}, "The instance must be an id (a whole number), not '999"),
        ({"instance": "-1"}, "The instance must be an id (a whole number), not '-1'."),
        ({"q": "42\x00"}, "The object id must not contain a NUL character."),
        ({"since": "2024-02-30"}, "must look like 2024-05-31, not '2024-02-30'."),
    ],
)
def test_it_explains_a_value_no_delivery_could_match(client_for, user, instance, query, message):
    delivery(instance)

    response = client_for(user).get(URL, query)

    assert response.status_code == 200
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert len(shown_ids(response)) == 1


def test_it_reads_dates_up_to_the_last_day_there_is(client_for, user, instance):
    shown = delivery(instance)

    response = client_for(user).get(URL, {"since": "0001-01-01", "until": "9999-12-31"})

    assert shown_ids(response) == [shown.pk]


@pytest.mark.parametrize("cursor", ["99999999999999999999.1", "1.99999999999999999999", "x.1"])
def test_it_shows_the_first_page_for_a_cursor_it_never_handed_out(
    client_for, user, instance, cursor
):
    shown = delivery(instance)

    response = client_for(user).get(URL, {"before": cursor})

    assert shown_ids(response) == [shown.pk]


def test_it_shows_an_empty_page_after_the_newest_delivery(client_for, user, instance):
    delivery(instance)
    client = client_for(user)
    newest = client.get(URL).context["page"].rows[0].event_log

    response = client.get(URL, {"after": pages.cursor_of(newest)})

    assert response.status_code == 200
    assert shown_ids(response) == []
    assert response.context["page"].older is None


def test_it_pages_through_older_and_newer_deliveries(client_for, user, instance, monkeypatch):
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    now = timezone.now()
    logs = [delivery(instance, created=now - timedelta(minutes=n)) for n in range(5)]
    client = client_for(user)

    first = client.get(URL)
    second = client.get(URL, {"before": first.context["page"].older})
    third = client.get(URL, {"before": second.context["page"].older})
    back = client.get(URL, {"after": second.context["page"].newer})

    ids = [log.pk for log in logs]
    assert shown_ids(first) == ids[0:2]
    assert shown_ids(second) == ids[2:4]
    assert shown_ids(third) == ids[4:5]
    assert third.context["page"].older is None
    assert shown_ids(back) == ids[0:2]
    assert back.context["page"].newer is None


def test_it_pages_through_deliveries_created_at_the_same_instant(
    client_for, user, instance, monkeypatch
):
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    now = timezone.now()
    logs = [delivery(instance, created=now) for _ in range(5)]
    client = client_for(user)

    seen, cursor = [], ""
    for _ in range(3):
        response = client.get(URL, {"before": cursor} if cursor else {})
        seen += shown_ids(response)
        cursor = response.context["page"].older

    assert seen == sorted((log.pk for log in logs), reverse=True)
    assert cursor is None


def test_it_keeps_filters_in_page_links(client_for, user, instance):
    for _ in range(51):
        delivery(instance, ("contacts", "7", "UPDATED"))

    text = client_for(user).get(URL, {"object_type": "contacts"}).content.decode()

    assert "?object_type=contacts&amp;before=" in text


def test_it_runs_the_same_number_of_queries_for_few_and_many_rows(client_for, staff):
    client = client_for(staff)
    instance = InstanceFactory(owner=staff)
    delivery(instance)
    client.get(URL)  # warm caches (content types, sessions)

    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for number in range(60):
        other = instance if number % 2 else InstanceFactory()
        delivery(other, ("incidents", str(number), "UPDATED"), ("contacts", "c", "CREATED"))
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL)

    assert len(response.context["page"].rows) == 50
    assert len(many) == len(few)


def test_it_charts_delivered_and_failed_per_hour(client_for, user, instance):
    now = timezone.now()
    delivery(instance, status=EventLog.Status.DELIVERED, created=now - timedelta(hours=3))
    delivery(instance, status=EventLog.Status.DELIVERED, created=now - timedelta(hours=3))
    delivery(instance, status=EventLog.Status.FAILED, created=now - timedelta(hours=3))
    delivery(instance, status=EventLog.Status.DELIVERED, created=now - timedelta(days=2))

    text = client_for(user).get(URL).content.decode()

    assert "<svg" in text
    assert "2 delivered and 1 failed in the last 24 hours" in text
    assert ": 2 delivered, 1 failed</title>" in text

"""A stalled poller: no successful poll for three refresh intervals, or three failures in a
row; shown in the admin's poller list, filter and the instance's inline."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.instances.stalled import poller_stalled_reason, pollers_stalled
from integrations.models import PollerObject
from tests.factories import InstanceFactory, PollerObjectFactory


@pytest.fixture
def now():
    return timezone.now()


def poller(now, *, succeeded_ago=None, failures=0, enabled_ago=timedelta(days=1), **instance):
    fields = {"events_enabled": True, "events_enabled_at": now - enabled_ago, **instance}
    target = InstanceFactory(refresh_interval=15, **fields)
    return PollerObjectFactory(
        instance=target,
        last_success_at=now - succeeded_ago if succeeded_ago is not None else None,
        consecutive_failures=failures,
        last_error="HTTP 503 from the provider" if failures else "",
    )


def reason(poller_object, now):
    fresh = PollerObject.objects.select_related("instance__element").get(pk=poller_object.pk)
    return poller_stalled_reason(fresh, now=now)


def test_it_is_not_stalled_within_three_refresh_intervals(db, now):
    assert reason(poller(now, succeeded_ago=timedelta(minutes=44)), now) == ""


def test_it_is_stalled_when_the_last_success_is_older_than_three_intervals(db, now):
    stalled = reason(poller(now, succeeded_ago=timedelta(minutes=46)), now)

    assert stalled.startswith("no successful poll since")
    assert "15-minute refresh interval" in stalled


def test_it_counts_from_when_events_were_enabled_when_it_never_succeeded(db, now):
    assert reason(poller(now, enabled_ago=timedelta(minutes=10)), now) == ""
    assert reason(poller(now, enabled_ago=timedelta(hours=2)), now).startswith(
        "never polled successfully since"
    )


def test_it_is_stalled_after_three_failures_in_a_row_with_the_last_error(db, now):
    assert reason(poller(now, succeeded_ago=timedelta(minutes=1), failures=2), now) == ""
    stalled = reason(poller(now, succeeded_ago=timedelta(minutes=1), failures=3), now)

    assert stalled == "the last 3 polls failed: HTTP 503 from the provider"


def test_a_paused_poller_or_one_with_events_off_is_never_stalled(db, now):
    paused = poller(now, failures=5)
    PollerObject.objects.filter(pk=paused.pk).update(enabled=False)
    off = poller(now, failures=5, events_enabled=False)
    webhooks = poller(now, failures=5, vendor_type="webhook")

    assert [reason(item, now) for item in (paused, off, webhooks)] == ["", "", ""]


def test_it_lists_exactly_the_stalled_pollers(db, now):
    failing = poller(now, failures=3)
    silent = poller(now, succeeded_ago=timedelta(hours=1))
    poller(now, succeeded_ago=timedelta(minutes=5))

    assert {item.pk for item, _ in pollers_stalled(now=now)} == {failing.pk, silent.pk}


# The admin ----------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def test_the_poller_list_shows_why_a_poller_is_stalled(admin_client, now):
    poller(now, failures=4)

    html = admin_client.get(reverse("admin:integrations_pollerobject_changelist")).content.decode()

    assert "stalled</strong>: the last 4 polls failed: HTTP 503 from the provider" in html


def test_the_poller_list_filters_stalled_pollers(admin_client, now):
    stalled = poller(now, failures=3)
    healthy = poller(now, succeeded_ago=timedelta(minutes=1))
    url = reverse("admin:integrations_pollerobject_changelist")

    shown = admin_client.get(url, {"stalled": "yes"}).context["cl"].result_list
    hidden = admin_client.get(url, {"stalled": "no"}).context["cl"].result_list

    assert [item.pk for item in shown] == [stalled.pk]
    assert [item.pk for item in hidden] == [healthy.pk]


def test_the_instance_page_shows_a_stalled_poller_inline(admin_client, now):
    stalled = poller(now, succeeded_ago=timedelta(hours=3))
    url = reverse("admin:integrations_instance_change", args=[stalled.instance_id])

    html = admin_client.get(url).content.decode()

    assert "stalled</strong>: no successful poll since" in html

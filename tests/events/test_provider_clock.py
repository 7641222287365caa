"""The provider's clock: the first poll's baseline is the moment events were enabled on the
provider's clock (read from its Date header), so a provider whose clock runs behind or ahead
of ours loses no change made after enabling and emits none made before.

Real HTTP against the bundled Desk simulator, whose clock is set apart from ours; our clock
is the ``now`` each poll is given.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from types import SimpleNamespace
from urllib.parse import parse_qsl

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from devtools.simulator import DeskSimulator
from devtools.simulator.clock import iso
from events.models import Event, EventLog
from events.polling import PollError, poll_object
from events.tasks import dispatch_due_polls
from integrations.instances import instance_capture_restart, instance_create
from integrations.models import Instance, PollerObject
from integrations.provider import ProviderClient
from integrations.provider.client import header_date
from tests.api_helpers import BASE, client_for
from tests.events.conftest import desk_instance_json
from tests.processes import start_worker, stop, wait_for

HOUR = 3600
# Provider clock minus ours, in seconds: behind and ahead, by 10 minutes and by 2 hours.
SKEWS = [-2 * HOUR, -600, 600, 2 * HOUR]


class World:
    """Our clock and the simulator's, ``skew`` seconds apart, moved together."""

    def __init__(self, sim: DeskSimulator, instance: Instance, ours: datetime, skew: float):
        self.sim, self.instance, self.ours, self.skew = sim, instance, ours, skew

    def theirs(self, ours: datetime) -> datetime:
        """A moment of ours on the provider's clock."""
        return ours + timedelta(seconds=self.skew)

    def advance(self, seconds: float) -> None:
        self.ours += timedelta(seconds=seconds)
        self.sim.advance(seconds)

    def enable(self) -> datetime:
        Instance.objects.filter(pk=self.instance.pk).update(events_enabled_at=self.ours)
        return self.ours

    def poll(self, name: str = "incidents", **kwargs):
        poller = PollerObject.objects.get(instance=self.instance, name=name)
        client = ProviderClient(
            Instance.objects.get(pk=self.instance.pk), sleep=lambda seconds: None
        )
        return poll_object(poller_object_id=poller.pk, client=client, now=self.ours, **kwargs)

    def poll_all(self) -> None:
        self.poll("incidents")
        self.poll("contacts")

    def poller(self, name: str = "incidents") -> PollerObject:
        return PollerObject.objects.get(instance=self.instance, name=name)


def world_for(user, skew: float, **configuration):
    ours = timezone.now().replace(microsecond=0)
    sim = DeskSimulator(seed_cases=12, seed_customers=6, now=ours + timedelta(seconds=skew))
    sim.start()
    instance = instance_create(owner=user, data=desk_instance_json(sim.url, **configuration))
    return World(sim, instance, ours, skew)


@pytest.fixture
def world(request, desk, user):
    made = world_for(user, getattr(request, "param", 0))
    yield made
    made.sim.stop()


def events(instance) -> list[tuple[str, str, str]]:
    return sorted(
        Event.objects.filter(instance=instance).values_list(
            "object_type", "object_id", "event_type"
        )
    )


def first_searches(sim) -> int:
    """How many case searches asked for a first page."""
    return sum(
        1
        for entry in sim.requests_log()
        if entry["path"].endswith("/cases/search")
        and dict(parse_qsl(entry["query"])).get("page", "1") == "1"
    )


def seeded(sim, kind: str) -> int:
    """The id of the first record of ``kind`` the simulator was seeded with."""
    return min(record["id"] for record in sim.store.all(kind))


@pytest.mark.parametrize("world", SKEWS, indirect=True, ids=lambda skew: f"{skew:+}s")
def test_it_emits_exactly_the_changes_made_after_events_were_enabled(world):
    sim = world.sim
    enabled = world.enable()
    moment = world.theirs(enabled)  # the moment of enabling, on the provider's clock
    hour_before = sim.create_case(
        subject="an hour before", created_at=iso(moment - timedelta(hours=1))
    )
    sim.update_case(
        seeded(sim, "cases"), subject="5 s before", updated_at=iso(moment - timedelta(seconds=5))
    )
    sim.update_customer(
        seeded(sim, "customers"),
        title="a minute before",
        updated_at=iso(moment - timedelta(seconds=60)),
    )
    at_enabling = sim.create_case(subject="at the very moment", created_at=iso(moment))
    world.advance(30)
    after = sim.create_case(subject="after")
    sim.update_case(hour_before["id"], subject="changed after")
    customer = sim.create_customer(first_name="Ada", last_name="Lovelace")
    world.advance(30)
    sim.app.clear_log()

    world.poll_all()

    assert events(world.instance) == sorted(
        [
            ("incidents", str(at_enabling["id"]), "CREATED"),
            ("incidents", str(after["id"]), "CREATED"),
            ("incidents", str(hour_before["id"]), "UPDATED"),
            ("contacts", str(customer["id"]), "CREATED"),
        ]
    )
    # Behind ours, the first window as first asked started too late: one search more.
    assert first_searches(sim) == (2 if world.skew < 0 else 1)
    poller = world.poller()
    assert poller.baseline is not None
    assert timedelta(0) < moment - poller.baseline <= timedelta(seconds=3)
    assert poller.clock_skew == pytest.approx(world.skew, abs=2)

    world.advance(60)
    world.poll_all()
    world.advance(60)
    world.poll_all()
    assert Event.objects.filter(instance=world.instance).count() == 4

    world.advance(5)
    sim.update_case(after["id"], subject="changed again")
    sim.update_customer(customer["id"], title="Countess")
    world.poll_all()
    world.advance(60)
    world.poll_all()

    assert Event.objects.filter(instance=world.instance).count() == 6
    assert Event.objects.filter(object_id=str(after["id"]), event_type="UPDATED").count() == 1
    assert Event.objects.filter(object_id=str(customer["id"]), event_type="UPDATED").count() == 1
    assert not Event.objects.filter(event_log__isnull=True).exists()


def test_a_change_just_before_enabling_stays_history_on_the_second_poll_too(world):
    sim = world.sim
    sim.update_case(seeded(sim, "cases"), subject="inside the lookback, before enabling")
    world.advance(30)
    world.enable()
    world.advance(10)

    world.poll()
    world.advance(10)
    world.poll()  # its window reaches back 60 s, past the moment of enabling

    assert events(world.instance) == []


def test_without_a_date_header_the_newest_change_of_the_first_poll_is_the_baseline(world):
    sim = world.sim
    sim.app.date_header = False
    sim.update_case(seeded(sim, "cases"), subject="before enabling")
    world.advance(30)
    world.enable()
    world.advance(10)
    between = sim.update_case(seeded(sim, "cases") + 1, subject="after enabling, before a poll")
    world.advance(10)

    result = world.poll()

    # The limit: without the provider's clock, a change made between enabling and the first
    # poll is taken as history.
    assert result.clock_skew is None
    assert events(world.instance) == []
    poller = world.poller()
    assert poller.baseline.strftime("%Y-%m-%dT%H:%M:%SZ") == between["updated_at"]
    assert poller.clock_skew is None

    world.advance(30)
    case = sim.create_case(subject="after the first poll")
    world.poll()
    world.advance(60)
    world.poll()

    assert events(world.instance) == [("incidents", str(case["id"]), "CREATED")]


@pytest.mark.parametrize("world", [2 * HOUR], indirect=True)
def test_a_poller_without_an_updated_date_field_moves_its_cursor_on_the_providers_clock(world):
    world.enable()
    PollerObject.objects.filter(instance=world.instance, name="incidents").update(
        dates_configuration={}
    )

    world.poll()

    cursor = world.poller().cursor
    assert abs(cursor - world.theirs(world.ours)) <= timedelta(seconds=2)


@pytest.mark.parametrize("world", [-2 * HOUR], indirect=True)
def test_a_backfill_date_is_moved_onto_the_providers_clock(world):
    sim = world.sim
    since = world.ours - timedelta(minutes=30)  # seeded changes are older than an hour
    world.instance.configuration["event.poller.backfill.since"] = since.isoformat()
    world.instance.save(update_fields=["configuration"])
    sim.update_case(
        seeded(sim, "cases"), updated_at=iso(world.theirs(since) - timedelta(seconds=60))
    )
    case = sim.update_case(seeded(sim, "cases") + 1, updated_at=iso(world.theirs(since)))

    world.poll()

    assert events(world.instance) == [("incidents", str(case["id"]), "UPDATED")]


def test_a_capture_restart_takes_a_new_baseline(world):
    world.enable()
    world.poll()
    assert world.poller().baseline is not None

    instance_capture_restart(instance=world.instance, since=world.ours)

    poller = world.poller()
    assert (poller.cursor, poller.baseline) == (None, None)


@pytest.mark.parametrize("world", [2 * HOUR], indirect=True)
def test_a_poll_that_fails_after_its_first_page_keeps_the_skew_it_measured(world):
    world.enable()
    PollerObject.objects.filter(instance=world.instance).update(page_size=2)
    for _ in range(5):
        world.advance(1)
        world.sim.create_case(subject="after enabling")
    world.sim.inject("status", status=500, path="/cases/search", query="page=2", times=None)

    with pytest.raises(PollError):
        world.poll()

    poller = world.poller()
    assert poller.consecutive_failures == 1
    assert poller.clock_skew == pytest.approx(2 * HOUR, abs=2)


# Shown to operators ------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def poller_url(instance, name="incidents") -> str:
    return f"{BASE}/instances/{instance.pk}/pollers/{name}"


@pytest.mark.parametrize("world", [2 * HOUR], indirect=True)
def test_the_api_and_the_admin_show_the_skew_with_a_warning(world, user, admin_client):
    world.enable()
    world.poll()

    state = client_for(user).get(poller_url(world.instance)).json()["state"]

    assert state["clockSkewSeconds"] == pytest.approx(2 * HOUR, abs=2)
    assert state["clock"].startswith("the provider's clock is 2 h 0 min ahead of ours")
    assert "lookback" in state["clockWarning"]
    assert state["baseline"] is not None
    poller = world.poller()
    for url in (
        reverse("admin:integrations_pollerobject_change", args=[poller.pk]),
        reverse("admin:integrations_instance_change", args=[world.instance.pk]),
    ):
        page = admin_client.get(url).content.decode()
        assert "clock is 2 h 0 min ahead of ours" in page
        assert "Warning" in page and "60 s lookback" in page
    changelist = admin_client.get(reverse("admin:integrations_pollerobject_changelist"))
    assert "2 h 0 min ahead" in changelist.content.decode()


@pytest.mark.parametrize("world", [-600], indirect=True)
def test_a_skew_within_the_lookback_gets_no_warning(world, user):
    PollerObject.objects.filter(instance=world.instance).update(lookback=900)
    world.enable()
    world.poll()

    state = client_for(user).get(poller_url(world.instance)).json()["state"]

    assert state["clock"].startswith("the provider's clock is 10 min behind ours")
    assert state["clockWarning"] is None


def test_a_provider_without_a_date_header_shows_an_unknown_clock(world, user):
    world.sim.app.date_header = False
    world.enable()
    world.poll()

    state = client_for(user).get(poller_url(world.instance)).json()["state"]

    assert state["clockSkewSeconds"] is None
    assert state["clock"].startswith("unknown: the provider's answers carry no usable Date")


def reconcile_every_day(instance) -> None:
    instance.configuration["event.poller.reconcile.interval"] = 24
    instance.save(update_fields=["configuration"])


def test_the_api_and_the_admin_show_the_last_complete_reconciliation(world, user, admin_client):
    reconcile_every_day(world.instance)
    finished = timezone.now() - timedelta(hours=3)
    result = {
        "at": finished.isoformat(),
        "outcome": "complete",
        "scanned": 120,
        "known": 122,
        "deleted": 2,
        "pages": 2,
        "message": "",
    }
    PollerObject.objects.filter(instance=world.instance, name="incidents").update(
        reconciled_at=finished, reconcile_result=result
    )

    body = client_for(user).get(poller_url(world.instance)).json()
    page = admin_client.get(
        reverse("admin:integrations_pollerobject_change", args=[world.poller().pk])
    ).content.decode()

    reconciliation = body["state"]["reconciliation"]
    assert reconciliation["intervalHours"] == 24
    assert reconciliation["last"] == result
    assert reconciliation["lastCompleteAt"] is not None
    assert reconciliation["summary"] == (
        "every 24 h; last complete scan 3 h ago: 120 ids, 2 deleted"
    )
    assert reconciliation["warning"] is None
    assert "every 24 h; last complete scan 3 h ago: 120 ids, 2 deleted" in page


def test_a_refused_reconciliation_is_a_warning(world, user, admin_client):
    reconcile_every_day(world.instance)
    result = {
        "at": timezone.now().isoformat(),
        "outcome": "refused",
        "scanned": 0,
        "known": 500,
        "deleted": 0,
        "pages": 1,
        "message": "the listing came back empty while 500 ids are known",
    }
    PollerObject.objects.filter(instance=world.instance, name="incidents").update(
        reconcile_result=result
    )

    reconciliation = (
        client_for(user).get(poller_url(world.instance)).json()["state"]["reconciliation"]
    )
    page = admin_client.get(
        reverse("admin:integrations_pollerobject_change", args=[world.poller().pk])
    ).content.decode()

    assert reconciliation["summary"].startswith("every 24 h; last scan refused")
    assert "listing came back empty" in reconciliation["warning"]
    assert "Warning" in page and "The last delete reconciliation scan was refused" in page


def test_reconciliation_is_off_without_an_interval(world, user):
    reconciliation = (
        client_for(user).get(poller_url(world.instance)).json()["state"]["reconciliation"]
    )

    assert reconciliation == {
        "intervalHours": None,
        "lastCompleteAt": None,
        "last": None,
        "summary": "off",
        "warning": None,
    }


# The simulator's Date header and reading it ------------------------------------------------


def test_the_simulator_dates_its_answers_on_its_own_clock():
    moment = datetime(2016, 11, 22, 23, 36, 49, tzinfo=UTC)
    with DeskSimulator(seed_cases=1, seed_customers=1, now=moment) as sim:
        first = requests.get(f"{sim.url}/api/v2/cases", auth=sim.oauth1(), timeout=5)
        sim.advance(3600)
        second = requests.get(f"{sim.url}/api/v2/cases", auth=sim.oauth1(), timeout=5)
        sim.app.date_header = False
        third = requests.get(f"{sim.url}/api/v2/cases", auth=sim.oauth1(), timeout=5)

    assert first.headers["Date"] == "Tue, 22 Nov 2016 23:36:49 GMT"
    assert second.headers["Date"] == "Wed, 23 Nov 2016 00:36:49 GMT"
    assert "Date" not in third.headers


@pytest.mark.parametrize(
    "value",
    [None, "", "yesterday", "Tue, 32 Nov 2016 23:36:49 GMT", "Tue, 22 Nov 2016 " + "9" * 80],
)
def test_it_ignores_a_missing_or_unreadable_date_header(value):
    headers = {} if value is None else {"Date": value}

    assert header_date(SimpleNamespace(headers=headers)) is None


def test_it_reads_an_http_date():
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    headers = {"Date": formatdate(stamp.timestamp(), usegmt=True)}

    assert header_date(SimpleNamespace(headers=headers)) == stamp


@pytest.mark.parametrize("world", [3 * 24 * HOUR], indirect=True)
def test_a_date_header_days_off_is_not_taken_for_the_providers_clock(world):
    world.enable()

    result = world.poll()

    assert result.clock_skew is None
    assert any("ignored the provider's Date header" in warning for warning in result.warnings)


# With the worker -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_worker_delivers_exactly_the_changes_after_enabling_from_a_provider_2_h_behind(
    transactional_db, desk, user, receiver
):
    behind = timedelta(hours=2)
    with DeskSimulator(seed_cases=12, seed_customers=6, now=timezone.now() - behind) as sim:
        sim.set_time(timezone.now() - behind, frozen=False)  # it ticks, 2 h behind ours
        data = desk_instance_json(sim.url, **{"event.notification.callback.url": receiver.url})
        instance = instance_create(owner=user, data=data)
        before = sim.now() - timedelta(seconds=5)
        sim.update_case(seeded(sim, "cases"), subject="before enabling", updated_at=iso(before))
        sim.create_customer(first_name="Before", created_at=iso(before))
        Instance.objects.filter(pk=instance.pk).update(events_enabled_at=timezone.now())
        case = sim.create_case(subject="after enabling")
        customer = sim.create_customer(first_name="Grace", last_name="Hopper")

        worker = start_worker()
        try:
            assert dispatch_due_polls() == 2
            delivered = receiver.wait_for(2, timeout=60)
            wait_for(
                lambda: set(EventLog.objects.values_list("status", flat=True)) == {"delivered"},
                timeout=30,
                what="both deliveries marked delivered",
            )
            wait_for(
                lambda: PollerObject.objects.filter(last_success_at__isnull=False).count() == 2,
                timeout=30,
                what="both polls recorded",
            )
        finally:
            output = stop(worker)

    assert events(instance) == sorted(
        [
            ("incidents", str(case["id"]), "CREATED"),
            ("contacts", str(customer["id"]), "CREATED"),
        ]
    ), output
    assert len(receiver.requests) == len(delivered) == 2
    for poller in PollerObject.objects.filter(instance=instance):
        assert poller.clock_skew == pytest.approx(-behind.total_seconds(), abs=5)

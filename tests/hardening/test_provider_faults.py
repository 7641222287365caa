"""Provider faults at the Desk simulator: each poll fails cleanly (a readable error on the
PollerObject, the cursor where it was, a growing backoff) and once the provider recovers every
change is captured and delivered exactly once.

Waits inside the provider client advance the simulator's clock (``sleep=sim.advance``); polls
run at the simulator's ``now``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from events.delivery import delivery_send
from events.models import Event, EventLog
from events.polling import PollError, poll_object
from integrations.instances import instance_create
from integrations.models import Instance, PollerObject
from integrations.provider import ProviderClient
from tests.events.conftest import desk_instance_json
from tests.hardening.support import change_key, delivered_changes, outcome

SECRETS = ("demo-token-secret", "demo-secret", "oauth_signature")
PAGE_SIZE = 2


@pytest.fixture
def instance(desk, user, sim, receiver):
    data = desk_instance_json(
        sim.url,
        **{
            "event.notification.callback.url": receiver.url,
            "event.poller.refresh_interval": "5",
        },
    )
    instance = instance_create(owner=user, data=data)
    instance.events_enabled_at = sim.now()
    instance.save(update_fields=["events_enabled_at"])
    PollerObject.objects.filter(instance=instance).update(page_size=PAGE_SIZE)
    return instance


@dataclass
class Failure:
    error: str
    cursor: object
    failures: int
    backoff: timedelta


@dataclass
class Scenario:
    sim: object
    instance: Instance
    receiver: object
    expected: Counter = field(default_factory=Counter)

    @property
    def poller(self) -> PollerObject:
        return PollerObject.objects.get(instance=self.instance, name="incidents")

    def poll(self, *, after: float = 60):
        self.sim.advance(after)
        client = ProviderClient(Instance.objects.get(pk=self.instance.pk), sleep=self.sim.advance)
        return poll_object(poller_object_id=self.poller.pk, client=client, now=self.sim.now())

    def failing_poll(self) -> Failure:
        with pytest.raises(PollError):
            self.poll()
        poller = self.poller
        return Failure(
            poller.last_error,
            poller.cursor,
            poller.consecutive_failures,
            poller.next_poll_at - poller.last_poll_at,
        )

    def changes(self, count: int) -> None:
        """``count`` new cases, one second apart: more than one page."""
        for _ in range(count):
            self.sim.advance(1)
            self.note(self.sim.create_case(subject="changed while the provider misbehaves"))

    def note(self, record: dict) -> None:
        self.expected[change_key("incidents", record)] += 1

    def deliver(self) -> Counter:
        for event_log in EventLog.objects.filter(instance=self.instance).order_by("id"):
            delivery_send(event_log_id=event_log.pk, now=self.sim.now() + timedelta(hours=1))
        return delivered_changes(self.receiver.requests)

    def stored(self) -> Counter:
        return Counter(
            Event.objects.filter(instance=self.instance, object_type="incidents").values_list(
                "object_id", "version"
            )
        )


@pytest.fixture
def scenario(sim, instance, receiver):
    scenario = Scenario(sim, instance, receiver)
    scenario.poll()  # the baseline: the cursor starts at "events enabled"
    return scenario


def fails_then_recovers(scenario: Scenario, name: str, problem: str, recover) -> None:
    """Two failing polls with changes around them, then recovery; asserts the whole story."""
    scenario.changes(3)
    cursor = scenario.poller.cursor

    first = scenario.failing_poll()
    scenario.changes(2)  # the provider changes on while we cannot read it
    second = scenario.failing_poll()

    for failure in (first, second):
        assert problem in failure.error
        assert failure.cursor == cursor
        assert "Traceback" not in failure.error
        assert not any(secret in failure.error for secret in SECRETS)
    assert (first.failures, second.failures) == (1, 2)
    assert second.backoff > first.backoff
    assert Event.objects.filter(instance=scenario.instance).count() == 0

    recover()
    scenario.poll()
    scenario.poll()  # re-reads the overlap: nothing new

    poller = scenario.poller
    assert poller.consecutive_failures == 0 and poller.last_error == ""
    assert poller.cursor > cursor
    assert all(count == 1 for count in scenario.stored().values())
    delivered = scenario.deliver()
    duplicated = sum(count - 1 for count in delivered.values())
    outcome(
        f"provider {name}",
        expected=len(scenario.expected),
        delivered=len(delivered),
        duplicated=duplicated,
    )
    assert delivered == scenario.expected


def test_it_survives_a_provider_that_times_out(scenario, sim, settings):
    settings.TRIBUTARY_PROVIDER_TIMEOUT = 0.3
    sim.inject("delay", path="/cases/search", query="page=2", delay=2, times=None)

    fails_then_recovers(scenario, "timeout", "no answer within 0.3 s", sim.clear_faults)


def test_it_survives_connection_resets(scenario, sim):
    sim.inject("reset", path="/cases/search", query="page=2", times=None)

    fails_then_recovers(
        scenario,
        "connection reset",
        "the connection was closed without an answer (Connection reset by peer)",
        sim.clear_faults,
    )


@pytest.mark.parametrize("status", [500, 502, 503])
def test_it_survives_server_errors(scenario, sim, status):
    sim.inject("status", path="/cases/search", query="page=2", status=status, times=None)

    fails_then_recovers(scenario, f"{status}", f"answered {status}", sim.clear_faults)


def test_it_survives_a_proxy_error_page(scenario, sim):
    sim.inject("status", path="/cases/search", status=502, html=True, times=None)

    fails_then_recovers(scenario, "502 HTML page", "Down for maintenance", sim.clear_faults)


def test_it_survives_a_200_with_an_html_page(scenario, sim):
    sim.inject("html", path="/cases/search", query="page=2", times=None)

    fails_then_recovers(scenario, "200 with HTML", "a body that is not JSON", sim.clear_faults)


def test_it_survives_truncated_json(scenario, sim):
    sim.inject("truncated", path="/cases/search", query="page=2", times=None)

    fails_then_recovers(scenario, "truncated JSON", "truncated JSON", sim.clear_faults)


def test_it_survives_a_400_from_an_overloaded_front_end(scenario, sim):
    sim.inject("status", path="/cases/search", query="page=2", status=400, times=None)

    fails_then_recovers(scenario, "400 overloaded", "answered 400", sim.clear_faults)


def test_it_survives_a_429_storm_and_then_a_trickle(scenario, sim):
    def trickle() -> None:
        # One request a minute: every page waits for the next window, and still succeeds.
        sim.app.rate_limiter.limit = 1

    sim.app.rate_limiter.limit = 0

    fails_then_recovers(scenario, "429 storm", "answered 429", trickle)

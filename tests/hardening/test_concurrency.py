"""Two worker clusters on one PostgreSQL database, 200 poller objects due at once: each is
polled once, and each change becomes one Event and one delivery."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection

from events.models import Event, EventLog
from events.tasks import dispatch_due_polls
from integrations.instances import instance_create
from integrations.models import PollerObject
from tests.events.conftest import at, desk_instance_json
from tests.hardening.support import POLL, delivered_changes, outcome, webhook_ids
from tests.processes import wait_for

pytestmark = pytest.mark.slow

INSTANCES = 100  # × incidents and contacts: 200 poller objects


@pytest.fixture
def sim_tokens():
    return {f"token-{n}": f"secret-{n}" for n in range(INSTANCES)}


@pytest.fixture
def sim(sim, sim_tokens):
    # Each instance signs with its own access token: the token names the caller.
    sim.credentials.access_tokens = dict(sim_tokens)
    sim.app.auth.reset()
    return sim


def test_it_polls_each_of_200_due_pollers_once_across_two_clusters(
    clusters, desk, user, sim, sim_tokens, arrivals, receiver
):
    instances = {}
    for token, secret in sim_tokens.items():
        data = desk_instance_json(
            sim.url,
            **{
                "event.notification.callback.url": receiver.url,
                "event.notification.signature.key": "concurrency-signature-key",
            },
        )
        data["providerData"] = {"oauth_token": token, "secret": secret}
        data["name"] = f"Desk {token}"
        instance = instance_create(owner=user, data=data)
        instances[token] = instance
    # Events were enabled 3 s ago on the simulator's clock and the workers' alike: the three
    # changes below bring the simulator's clock up to the workers', not past it.
    sim.set_time(sim.now() - timedelta(seconds=3))
    for instance in instances.values():
        instance.events_enabled_at = sim.now()
        instance.save(update_fields=["events_enabled_at"])
    at(sim, 1)
    sim.create_case(subject="seen by every instance")
    at(sim, 1)
    sim.create_case(subject="seen by every instance too")
    at(sim, 1)
    sim.create_customer(first_name="Ada", last_name="Lovelace")
    changes_per_instance = 3
    assert PollerObject.objects.count() == 2 * INSTANCES

    first, second = clusters(workers=2), clusters(workers=2)
    first.wait_running()
    second.wait_running()
    # Both clusters' dispatchers run at the same moment.
    start = threading.Barrier(2)
    dispatched: list[int] = []

    def dispatch() -> None:
        try:
            start.wait(timeout=30)
            dispatched.append(dispatch_due_polls())
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(dispatched) == 2 * INSTANCES, dispatched

    expected_events = changes_per_instance * INSTANCES
    wait_for(
        lambda: (
            EventLog.objects.filter(status=EventLog.Status.DELIVERED).count() == 2 * INSTANCES
            and len(receiver.requests) >= 2 * INSTANCES
            # The monitors log each finished task a little after it is done.
            and first.processed(POLL) + second.processed(POLL) >= 2 * INSTANCES
        ),
        timeout=120,
        what="every poll to be stored and delivered",
    )

    # One dispatch round: each (instance, resource) is read from page 1 exactly once, so
    # certainly never twice in the same window (the same since_updated_at).
    first_pages = Counter((arrival.token, arrival.path) for arrival in arrivals.pages(1))
    windows = Counter(
        (arrival.token, arrival.path, arrival.params.get("since_updated_at"))
        for arrival in arrivals.pages(1)
    )
    polled_twice = {key: count for key, count in first_pages.items() if count > 1}
    ids = webhook_ids(receiver.requests)
    per_change = Counter(Event.objects.values_list("instance_id", "object_type", "object_id"))
    delivered = delivered_changes(receiver.requests)
    outcome(
        f"two clusters, {2 * INSTANCES} pollers due at once, two dispatchers at once "
        f"(claimed {' + '.join(map(str, dispatched))}), "
        f"polls run {first.processed(POLL)} + {second.processed(POLL)}",
        expected=expected_events,
        delivered=sum(delivered.values()),
        duplicated=sum(count - 1 for count in per_change.values())
        + sum(count - 1 for count in ids.values()),
    )
    assert not polled_twice, polled_twice
    assert set(windows.values()) == {1}
    assert set(first_pages) == {
        (token, path)
        for token in sim_tokens
        for path in ("/api/v2/cases/search", "/api/v2/customers/search")
    }
    assert Event.objects.count() == expected_events
    assert set(per_change.values()) == {1}
    assert len(ids) == len(receiver.requests) == 2 * INSTANCES
    assert first.processed(POLL) + second.processed(POLL) == 2 * INSTANCES
    assert first.processed(POLL) > 0 and second.processed(POLL) > 0, "both clusters polled"

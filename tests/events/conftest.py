from datetime import UTC, datetime

import pytest
from django.utils import timezone

from devtools.examples import desk_instance_json as example_desk_instance_json
from devtools.simulator import DeskSimulator
from integrations.instances import instance_create


@pytest.fixture
def sim():
    now = timezone.now().replace(microsecond=0).astimezone(UTC)
    with DeskSimulator(seed_cases=12, seed_customers=6, now=now) as simulator:
        yield simulator


def desk_instance_json(site: str, **configuration) -> dict:
    """The Desk example instance JSON pointed at the simulator ``site``, with its access
    credentials (Desk's single-user "Your Access Token")."""
    return example_desk_instance_json(site=site, simulator=True, **configuration)


@pytest.fixture
def desk_instance(desk, user, sim):
    instance = instance_create(owner=user, data=desk_instance_json(sim.url))
    # Events were enabled at the simulator's "now": the baseline of the first poll.
    instance.events_enabled_at = sim.now()
    instance.save(update_fields=["events_enabled_at"])
    return instance


def at(sim, seconds: float) -> datetime:
    sim.advance(seconds)
    return sim.now()

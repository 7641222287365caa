from datetime import UTC, datetime

import pytest
from django.utils import timezone

from integrations.instance_json import instance_create
from integrations.simulator import DeskSimulator


@pytest.fixture
def sim():
    now = timezone.now().replace(microsecond=0).astimezone(UTC)
    with DeskSimulator(seed_cases=12, seed_customers=6, now=now) as simulator:
        yield simulator


SINCE = "'${date:yyyy-MM-dd'T'HH:mm:ssXXX}'"


def desk_instance_json(site: str, **configuration) -> dict:
    """The Desk example instance JSON from Cloud Elements' documentation, pointed at ``site``
    with access credentials (Desk's single-user "Your Access Token")."""
    return {
        "element": {"key": "desk"},
        "providerData": {"oauth_token": "demo-token", "secret": "demo-token-secret"},
        "configuration": {
            "oauth.api.key": "demo-key",
            "oauth.api.secret": "demo-secret",
            "oauth.callback.url": "https://app.example.com/oauth",
            "site.address": site,
            "event.notification.enabled": "true",
            "event.notification.callback.url": "https://app.example.com/hooks/desk",
            "event.poller.configuration": {
                "incidents": {
                    "url": "/hubs/helpdesk/incidents?where=updated_at>" + SINCE,
                    "idField": "id",
                },
                "contacts": {
                    "url": "/hubs/helpdesk/contacts?where=updated_at>" + SINCE,
                    "idField": "id",
                },
            },
            **configuration,
        },
        "tags": ["support"],
        "name": "Acme Desk",
    }


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

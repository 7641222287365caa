"""Bounded outbound I/O: a provider, a token endpoint or a callback that answers at length or
a byte at a time costs a worker or the web process a capped amount of memory and one
deadline per attempt; the attempt fails with a readable error (or, for a callback's long
2xx answer, succeeds with its beginning kept) and all is well once the server behaves.

Polls and API requests that must be measured run in a fresh process (``memory.py``), as a
worker or the web process would run them; a server (``misbehaving.py``) floods or trickles
in front of the Desk simulator.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from events.delivery import deliveries_due, delivery_send
from events.models import EventLog
from events.polling import poll_object
from integrations.instances import instance_create
from integrations.models import Instance, PollerObject
from integrations.provider import ProviderClient
from tests.api_helpers import BASE
from tests.events.conftest import desk_instance_json
from tests.events.factories import EventLogFactory
from tests.factories import InstanceFactory
from tests.hardening.memory import MB, run_measured
from tests.hardening.misbehaving import MisbehavingServer
from tests.hardening.support import change_key, delivered_changes
from tests.processes import wait_for

# Far more than the caps below: read whole, it would cost the process gigabytes.
HUGE = 400 * MB
PAGE_CAP = 8 * MB
# What the process may grow by beyond the bytes it is allowed to read.
HEADROOM = 100 * MB

POLL_IN_A_WORKER = """
from datetime import datetime

from events.polling import PollError, poll_object
from integrations.models import Instance, PollerObject
from integrations.provider import ProviderClient

def run():
    poller = PollerObject.objects.get(pk=ARGS["poller"])
    instance = Instance.objects.get(pk=poller.instance_id)
    client = ProviderClient(instance, sleep=lambda seconds: None, max_retries=1)
    now = datetime.fromisoformat(ARGS["now"])
    try:
        poll_object(poller_object_id=poller.pk, client=client, now=now)
    except PollError as exc:
        return str(exc)
    return ""
"""


@pytest.fixture
def front(sim):
    """The provider's address as the instance knows it: the simulator, until told otherwise."""
    with MisbehavingServer(upstream=sim.url) as server:
        yield server


@pytest.fixture
def instance(desk, user, sim, front, receiver):
    data = desk_instance_json(front.url, **{"event.notification.callback.url": receiver.url})
    instance = instance_create(owner=user, data=data)
    instance.events_enabled_at = sim.now()
    instance.save(update_fields=["events_enabled_at"])
    return instance


def poller_of(instance: Instance) -> PollerObject:
    return PollerObject.objects.get(instance=instance, name="incidents")


def poll(sim, instance: Instance):
    """A poll a minute later, waits inside the client taken on the simulator's clock."""
    sim.advance(60)
    client = ProviderClient(Instance.objects.get(pk=instance.pk), sleep=sim.advance)
    return poll_object(poller_object_id=poller_of(instance).pk, client=client, now=sim.now())


def poll_in_a_worker(sim, instance: Instance, **env: str):
    sim.advance(60)
    return run_measured(
        POLL_IN_A_WORKER,
        env=env,
        timeout=60,
        poller=poller_of(instance).pk,
        now=sim.now().isoformat(),
    )


def a_change(sim) -> tuple[str, str, str]:
    sim.advance(1)
    return change_key("incidents", sim.create_case(subject="changed while the provider misbehaves"))


def delivered(sim, instance: Instance, receiver) -> set:
    for event_log in EventLog.objects.filter(instance=instance).order_by("id"):
        delivery_send(event_log_id=event_log.pk, now=sim.now() + timedelta(hours=1))
    return set(delivered_changes(receiver.requests))


def test_a_poll_reads_a_huge_page_only_up_to_the_cap_and_recovers(
    transactional_db, sim, front, instance, receiver
):
    poll(sim, instance)  # the baseline
    change = a_change(sim)
    front.flood("/cases/search", size=HUGE)

    worker = poll_in_a_worker(
        sim, instance, TRIBUTARY_PROVIDER_MAX_BYTES=str(PAGE_CAP), TRIBUTARY_PROVIDER_TIMEOUT="30"
    )

    assert worker.growth < PAGE_CAP + HEADROOM, f"the worker grew by {worker.growth // MB} MB"
    poller = poller_of(instance)
    assert "with more than 8 MB (2 attempts)" in poller.last_error
    assert "(TRIBUTARY_PROVIDER_MAX_BYTES)" in poller.last_error
    assert poller.consecutive_failures == 1
    # The worker hung up rather than read on.
    wait_for(lambda: front.unfinished == 2, what="the server to see both attempts cut short")

    front.behave()
    poll(sim, instance)

    assert poller_of(instance).last_error == ""
    assert delivered(sim, instance, receiver) == {change}


@pytest.mark.parametrize(
    ("phase", "error"),
    [("headers", "no answer within 2 s"), ("body", "no complete answer within 2 s")],
)
def test_a_poll_of_a_provider_that_trickles_fails_at_the_deadline_and_recovers(
    transactional_db, sim, front, instance, receiver, phase, error
):
    poll(sim, instance)
    change = a_change(sim)
    front.trickle("/cases/search", phase=phase)

    # Finishes, or run_measured fails the test after a minute.
    worker = poll_in_a_worker(sim, instance, TRIBUTARY_PROVIDER_TIMEOUT="2")

    poller = poller_of(instance)
    assert worker.result == poller.last_error
    assert poller.last_error.endswith(f"(2 attempts): {error}")
    assert front.misbehaved == 2

    front.behave()
    poll(sim, instance)

    assert poller_of(instance).last_error == ""
    assert delivered(sim, instance, receiver) == {change}


OAUTH_IN_THE_WEB_PROCESS = """
import json

from django.test import Client
from django.test.utils import setup_test_environment

setup_test_environment()  # the test client's host is allowed
client = Client(HTTP_AUTHORIZATION="Token " + ARGS["token"])
client.get(ARGS["base"] + "/elements/desk")  # loads the API before measuring

def run():
    token = client.get(ARGS["base"] + "/elements/desk/oauth/token", ARGS["query"])
    created = client.post(
        ARGS["base"] + "/instances", json.dumps(ARGS["instance"]), content_type="application/json"
    )
    return [[token.status_code, token.json()], [created.status_code, created.json()]]
"""


def test_the_oauth_helper_and_provisioning_read_a_huge_token_answer_only_up_to_the_cap(
    transactional_db, desk, user
):
    token = Token.objects.create(user=user)
    with MisbehavingServer() as provider:
        provider.flood("/oauth/", size=HUGE)
        data = desk_instance_json(provider.url, **{"oauth.api.key": "demo-key"})
        data["configuration"]["oauth.api.secret"] = "demo-secret"
        data["providerData"] = {"oauth_token": "rt", "secret": "rs", "oauth_verifier": "v"}
        query = {
            "siteAddress": provider.url,
            "apiKey": "demo-key",
            "apiSecret": "demo-secret",
            "callbackUrl": "https://app.example.com/oauth/callback",
        }

        web = run_measured(
            OAUTH_IN_THE_WEB_PROCESS,
            timeout=60,
            token=token.key,
            base=BASE,
            query=query,
            instance=data,
        )

    assert web.growth < 1 * MB + HEADROOM, f"the web process grew by {web.growth // MB} MB"
    (token_status, token_body), (created_status, created_body) = web.result
    too_large = "answered with more than 1 MB, far more than a token (TRIBUTARY_OAUTH_MAX_BYTES)"
    assert token_status == 400
    assert token_body["message"] == (
        f"{provider.url}/oauth/request_token {too_large}: check the site address and the "
        f"element's auth URLs"
    )
    assert created_status == 400
    assert f"providerData: {provider.url}/oauth/access_token {too_large}" in json.dumps(
        created_body
    )
    assert not Instance.objects.exists()


@pytest.fixture
def callback():
    with MisbehavingServer() as server:
        yield server


def test_a_callback_answering_200_with_an_endless_body_is_delivered_with_its_start_kept(
    db, callback
):
    callback.flood("/hook")
    event_log = EventLogFactory(
        instance=InstanceFactory(callback_url=callback.url + "/hook"),
        next_attempt_at=timezone.now(),
    )

    attempt = delivery_send(event_log_id=event_log.pk)

    event_log.refresh_from_db()
    assert event_log.status == EventLog.Status.DELIVERED
    assert (attempt.status_code, attempt.error) == (200, "")
    assert len(attempt.response_body) == 20 * 1024
    assert attempt.response_body.startswith('{"total_entries": 1, "_embedded"')
    # Tributary hung up rather than read on.
    wait_for(lambda: callback.unfinished == 1, what="the callback to see the delivery hang up")


@pytest.mark.parametrize(
    ("phase", "error"),
    [
        ("headers", "no answer within 2 s"),
        ("body", "no complete answer within 2 s (the body of its 200 answer was still arriving)"),
    ],
)
def test_a_callback_that_trickles_its_answer_fails_at_the_deadline_and_is_retried_on_schedule(
    db, callback, settings, phase, error
):
    settings.TRIBUTARY_DELIVERY_TIMEOUT = 2
    callback.trickle("/hook", phase=phase)
    sent = timezone.now()
    event_log = EventLogFactory(
        instance=InstanceFactory(callback_url=callback.url + "/hook"), next_attempt_at=sent
    )

    first = delivery_send(event_log_id=event_log.pk, now=sent)

    event_log.refresh_from_db()
    assert (first.status_code, first.error) == (None, error)
    assert event_log.status == EventLog.Status.RETRYING
    # Like any timeout: the schedule's first retry (4 s), but at least a minute later.
    assert event_log.next_attempt_at - sent == timedelta(seconds=60)

    callback.behave()
    assert deliveries_due(now=event_log.next_attempt_at - timedelta(seconds=1)) == []
    for due in deliveries_due(now=event_log.next_attempt_at):
        delivery_send(event_log_id=due, now=event_log.next_attempt_at)

    event_log.refresh_from_db()
    assert event_log.status == EventLog.Status.DELIVERED
    assert list(event_log.attempts.order_by("started_at").values_list("error", flat=True)) == [
        error,
        "",
    ]

"""A poll stores page by page: no transaction is open while the provider is asked, each page's
changes commit with the progress they make, and a poll that stops early resumes from there.

Real HTTP against the bundled Desk simulator; the clock is the simulator's.
"""

import hashlib
import hmac
import json
import threading
import uuid
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from events.models import Event, EventLog
from events.polling import PollError, PollSkipped
from events.scheduling import poller_claim
from integrations.elements import ELEMENTS_DIR, element_upsert, read_element_file
from integrations.instances import instance_capture_restart, instance_create
from integrations.provider import ProviderClient
from tests.events.conftest import at
from tests.events.test_polling import captured, client_for, poll, set_page_size

GITHUB_SECRET = "github-webhook-secret"


def set_batch_size(instance, size):
    instance.configuration["event.notification.batch.size"] = str(size)
    instance.save(update_fields=["configuration"])


def make_cases(sim, count, *, step=100):
    """``count`` new cases, ``step`` simulated seconds apart: further apart than the lookback,
    so a window that starts later reads fewer of them."""
    cases = []
    for _ in range(count):
        at(sim, step)
        cases.append(sim.create_case(subject="new"))
    return cases


def created(cases):
    return [(str(case["id"]), "CREATED") for case in cases]


def updated_at(case):
    return parse_datetime(case["updated_at"])


def searches(sim):
    """The ``since_updated_at`` and page of each case search the simulator answered."""
    return [
        (int(params["since_updated_at"]), int(params.get("page", "1")))
        for entry in sim.requests_log()
        if entry["path"].endswith("/cases/search")
        for params in [dict(parse_qsl(entry["query"]))]
    ]


@pytest.fixture
def polled_once(sim, desk_instance):
    """The instance after its baseline poll: the next poll starts from the cursor."""
    poll(sim, desk_instance)
    sim.app.clear_log()
    return desk_instance


def test_a_poll_that_fails_mid_way_keeps_what_it_stored_and_resumes_from_there(sim, polled_once):
    set_page_size(polled_once, "incidents", 2)
    set_batch_size(polled_once, 2)
    cases = make_cases(sim, 6)
    sim.inject("status", status=500, path="/cases/search", query="page=3", times=None)

    with pytest.raises(PollError, match="500"):
        poll(sim, polled_once)

    poller = polled_once.poller_objects.get(name="incidents")
    assert captured(polled_once) == created(cases[:4])
    assert poller.cursor == updated_at(cases[3])
    assert poller.consecutive_failures == 1
    sim.clear_faults()
    sim.app.clear_log()

    poll(sim, polled_once)

    assert captured(polled_once) == created(cases)
    resumed_since = int((updated_at(cases[3]) - timedelta(seconds=60)).timestamp())
    assert searches(sim)[0] == (resumed_since, 1)
    assert len(searches(sim)) == 2, "the resumed poll reads 3 cases, not 6"


def test_the_saved_cursor_stops_at_a_change_held_back_for_a_full_batch(sim, polled_once):
    set_page_size(polled_once, "incidents", 5)
    set_batch_size(polled_once, 3)
    cases = make_cases(sim, 8)
    sim.inject("status", status=500, path="/cases/search", query="page=2", times=None)

    with pytest.raises(PollError):
        poll(sim, polled_once)

    # Page 1 stored one message of three; its last two cases wait for a third to fill the
    # next one, so the next poll must read them again.
    poller = polled_once.poller_objects.get(name="incidents")
    assert captured(polled_once) == created(cases[:3])
    assert poller.cursor == updated_at(cases[3])
    sim.clear_faults()

    poll(sim, polled_once)

    assert captured(polled_once) == created(cases)
    logs = EventLog.objects.order_by("id")
    assert [len(json.loads(log.body)["message"]["events"]) for log in logs] == [3, 3, 2]


def test_a_poll_that_stored_nothing_before_it_failed_leaves_the_cursor(sim, polled_once):
    set_page_size(polled_once, "incidents", 2)
    make_cases(sim, 3)
    cursor = polled_once.poller_objects.get(name="incidents").cursor
    sim.inject("status", status=500, path="/cases/search", query="page=2", times=None)

    with pytest.raises(PollError):
        poll(sim, polled_once)

    assert polled_once.poller_objects.get(name="incidents").cursor == cursor
    assert Event.objects.count() == 0


def test_an_interrupted_baseline_poll_emits_nothing_from_before_events_were_enabled(
    sim, desk_instance
):
    sim.create_case(subject="changed before events were enabled")
    at(sim, 30)
    desk_instance.events_enabled_at = sim.now()
    desk_instance.save(update_fields=["events_enabled_at"])
    set_page_size(desk_instance, "incidents", 1)
    set_batch_size(desk_instance, 1)
    first = make_cases(sim, 1, step=10)
    second = make_cases(sim, 1, step=190)
    sim.inject("status", status=500, path="/cases/search", query="page=3", times=None)

    with pytest.raises(PollError):
        poll(sim, desk_instance)

    # A cursor at the first case would start the next window 50 s before events were
    # enabled, and that poll would take the older case as an event.
    poller = desk_instance.poller_objects.get(name="incidents")
    assert captured(desk_instance) == created(first)
    assert poller.cursor is None
    sim.clear_faults()

    poll(sim, desk_instance)

    assert captured(desk_instance) == created(first + second)


def test_a_baseline_poll_keeps_its_progress_once_past_the_overlap(sim, desk_instance):
    sim.create_case(subject="changed before events were enabled")
    at(sim, 30)
    desk_instance.events_enabled_at = sim.now()
    desk_instance.save(update_fields=["events_enabled_at"])
    set_page_size(desk_instance, "incidents", 1)
    set_batch_size(desk_instance, 1)
    cases = make_cases(sim, 2)
    sim.inject("status", status=500, path="/cases/search", query="page=3", times=None)

    with pytest.raises(PollError):
        poll(sim, desk_instance)

    poller = desk_instance.poller_objects.get(name="incidents")
    assert poller.cursor == updated_at(cases[0])
    sim.clear_faults()

    poll(sim, desk_instance)

    assert captured(desk_instance) == created(cases)


class NewestFirst(ProviderClient):
    """A provider that answers newest first, whatever sort it was asked for."""

    def iter_pages(self, path, params, **kwargs):
        return super().iter_pages(path, {**params, "sort_direction": "desc"}, **kwargs)


def test_a_provider_that_ignores_the_sort_gets_no_progress_saved_mid_poll(sim, polled_once):
    set_page_size(polled_once, "incidents", 2)
    set_batch_size(polled_once, 2)
    cases = make_cases(sim, 6)
    cursor = polled_once.poller_objects.get(name="incidents").cursor
    sim.inject("status", status=500, path="/cases/search", query="page=3", times=None)

    with pytest.raises(PollError):
        poll(sim, polled_once, client=client_for(sim, polled_once, NewestFirst))

    # The four newest are stored; a cursor at the newest would skip the two oldest.
    assert polled_once.poller_objects.get(name="incidents").cursor == cursor
    sim.clear_faults()

    poll(sim, polled_once)

    assert sorted(captured(polled_once)) == sorted(created(cases))


def test_a_dry_run_stores_no_progress(sim, polled_once):
    set_page_size(polled_once, "incidents", 2)
    set_batch_size(polled_once, 2)
    make_cases(sim, 5)
    cursor = polled_once.poller_objects.get(name="incidents").cursor

    result = poll(sim, polled_once, dry_run=True)

    assert result.pages == 3 and sum(result.events.values()) == 5
    assert polled_once.poller_objects.get(name="incidents").cursor == cursor
    assert Event.objects.count() == 0 and EventLog.objects.count() == 0


def test_a_long_poll_keeps_its_claim_page_by_page(sim, polled_once):
    set_page_size(polled_once, "incidents", 2)
    make_cases(sim, 5)
    poller = polled_once.poller_objects.get(name="incidents")
    taken_over = []

    def another_worker_tries(result):
        taken_over.append(poller_claim(poller_object_id=poller.pk, now=timezone.now()))

    # Started two hours ago: the lease it took then has long run out.
    poll(sim, polled_once, now=timezone.now() - timedelta(hours=2), progress=another_worker_tries)

    assert taken_over == [None, None, None]
    assert captured(polled_once) != []


def test_a_poll_that_lost_its_claim_stores_nothing_more(sim, polled_once):
    set_page_size(polled_once, "incidents", 2)
    set_batch_size(polled_once, 2)
    cases = make_cases(sim, 4)

    def restart_capture(result):
        if result.pages == 1:
            instance_capture_restart(instance=polled_once, since=sim.now())

    with pytest.raises(PollSkipped, match="taken over"):
        poll(sim, polled_once, progress=restart_capture)

    poller = polled_once.poller_objects.get(name="incidents")
    assert captured(polled_once) == created(cases[:2])
    assert poller.cursor is None, "the restart's fresh baseline stays"
    assert (poller.consecutive_failures, poller.last_error) == (0, "")


# While the provider hangs ------------------------------------------------------------------


class HangingPage:
    """The simulator holds page ``page`` of a search open until ``release``: the provider
    hangs mid-poll."""

    def __init__(self, sim, page: int) -> None:
        self.arrived = threading.Event()
        self.released = threading.Event()
        handle = sim.app.handle

        def hanging(request):
            if request.path.endswith("/search") and ("page", str(page)) in request.params:
                self.arrived.set()
                self.released.wait(timeout=60)
            return handle(request)

        sim.app.handle = hanging

    def release(self) -> None:
        self.released.set()


class RecordingClient(ProviderClient):
    """Notes, for each request, whether the poll had a transaction open."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.in_transaction: list[bool] = []

    def get_json(self, *args, **kwargs):
        self.in_transaction.append(connection.in_atomic_block)
        return super().get_json(*args, **kwargs)


def in_thread(function):
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = function()
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.fixture
def github_instance(transactional_db, user):
    element_upsert(definition=read_element_file(ELEMENTS_DIR / "github.json"))
    return instance_create(
        owner=user,
        data={
            "element": {"key": "github"},
            "name": "Another tenant's repo",
            "configuration": {
                "github.owner": "acme",
                "github.repo": "widgets",
                "github.token": "ghp_example",
                "github.webhook.secret": GITHUB_SECRET,
                "event.notification.enabled": "true",
                "event.vendor.type": "webhook",
                "event.notification.callback.url": "https://app.example.com/hook",
            },
        },
    )


def github_post(client, instance):
    body = json.dumps(
        {
            "action": "opened",
            "issue": {"id": 1007, "number": 7, "updated_at": "2026-11-28T10:00:00Z"},
            "repository": {"name": "widgets", "owner": {"login": "acme"}},
        }
    ).encode()
    signature = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        f"/elements/api-v2/events/github/{instance.webhook_token}",
        data=body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={signature}",
        },
    )


def test_another_tenants_webhook_is_stored_while_a_poll_waits_for_the_provider(
    transactional_db, client, sim, desk_instance, github_instance
):
    poll(sim, desk_instance)
    set_page_size(desk_instance, "incidents", 2)
    set_batch_size(desk_instance, 2)
    cases = make_cases(sim, 4)
    hanging = HangingPage(sim, 2)
    recording = client_for(sim, desk_instance, RecordingClient)
    thread, outcome = in_thread(lambda: poll(sim, desk_instance, client=recording))
    try:
        assert hanging.arrived.wait(timeout=30), "the poll should ask for page 2"

        response = github_post(client, github_instance)

        assert response.status_code == 202, response.content
        assert Event.objects.filter(instance=github_instance).count() == 1
        assert captured(desk_instance) == created(cases[:2]), "page 1 is stored already"
    finally:
        hanging.release()
        thread.join(timeout=60)
    assert "error" not in outcome, outcome
    assert captured(desk_instance) == created(cases)
    assert recording.in_transaction and not any(recording.in_transaction)

"""GET /healthz: the database, the task broker and the worker's heartbeat; 503 names the part
that fails."""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from events.heartbeat import heartbeat_expect, heartbeat_record
from events.models import Heartbeat
from events.tasks import schedules_setup
from tests.processes import start_worker, stop, wait_for


def healthz(client):
    response = client.get("/healthz")
    return response.status_code, response.json()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def beating(db):
    now = timezone.now()
    heartbeat_expect(now=now - timedelta(hours=1))
    heartbeat_record(now=now - timedelta(seconds=20))


def test_it_answers_ok_without_login_when_every_part_is_fine(client, beating):
    status, body = healthz(client)

    assert status == 200
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "broker": "ok",
        "scheduler": "ok",
    }
    assert body["checks"]["scheduler"]["ageSeconds"] >= 20


def test_it_answers_503_naming_a_stale_heartbeat(client, beating):
    heartbeat_record(now=timezone.now() - timedelta(minutes=10))

    status, body = healthz(client)

    assert status == 503
    assert body["failing"] == ["scheduler"]
    assert "last heartbeat 10 min ago" in body["checks"]["scheduler"]["error"]
    assert "qcluster" in body["checks"]["scheduler"]["error"]


def test_it_answers_503_naming_an_unreachable_broker(client, beating, monkeypatch):
    # The Redis broker at a port nobody listens on.
    monkeypatch.setattr("django_q.conf.Conf.ORM", None)
    monkeypatch.setattr("django_q.conf.Conf.REDIS", f"redis://127.0.0.1:{closed_port()}/0")

    status, body = healthz(client)

    assert status == 503
    assert body["failing"] == ["broker"]
    assert "ConnectionError" in body["checks"]["broker"]["error"]
    assert body["checks"]["database"]["status"] == "ok"


def test_it_is_starting_until_the_first_heartbeat_is_due(client, db):
    heartbeat_expect(now=timezone.now() - timedelta(seconds=30))

    status, body = healthz(client)

    assert status == 200
    assert body["status"] == "starting"
    assert "no heartbeat yet" in body["checks"]["scheduler"]["note"]


def test_it_fails_when_no_heartbeat_came_after_the_schedule_was_set_up(client, db):
    heartbeat_expect(now=timezone.now() - timedelta(minutes=5))

    status, body = healthz(client)

    assert status == 503
    assert body["failing"] == ["scheduler"]
    assert (
        "no heartbeat since the schedule was set up 5 min ago"
        in (body["checks"]["scheduler"]["error"])
    )


def test_it_fails_with_what_to_run_when_schedules_were_never_set_up(client, db):
    status, body = healthz(client)

    assert status == 503
    assert "setup_schedules" in body["checks"]["scheduler"]["error"]


@pytest.mark.slow
def test_a_running_worker_keeps_the_heartbeat_fresh(client, transactional_db):
    schedules_setup()
    assert healthz(client)[1]["status"] == "starting"

    worker = start_worker()
    try:
        # The cluster's scheduler first runs about 30 s after start.
        wait_for(
            lambda: Heartbeat.objects.filter(beat_at__isnull=False).exists(),
            timeout=90,
            what="the first heartbeat",
        )
    finally:
        output = stop(worker)

    status, body = healthz(client)
    assert (status, body["status"]) == (200, "ok"), output

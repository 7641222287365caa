"""The whole stack as separate processes, as `make run` starts it: the web server, the worker
and the Desk simulator on the test database. An app creates an instance through the API, a
record changes at the provider, and a signed notification reaches the app's callback."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys

import pytest
import requests
from rest_framework.authtoken.models import Token
from standardwebhooks.webhooks import Webhook

from events.delivery import elements_signature
from tests import processes as real_processes
from tests.events.conftest import desk_instance_json
from tests.processes import ROOT, start_worker, stop, wait_for

pytestmark = pytest.mark.slow

PRIVATE_URLS = ("TRIBUTARY_ALLOW_PRIVATE_URLS", "true")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(*command: str, env: list[tuple[str, str]] = ()) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DATABASE_URL": real_processes.test_database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    environment.update([PRIVATE_URLS, *env])
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def answering(process: subprocess.Popen, url: str) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"{process.args} exited:\n{process.stdout.read()}")
    try:
        requests.get(url, timeout=2)
    except requests.ConnectionError:
        return False
    return True


def stop_all(processes: list[subprocess.Popen]) -> str:
    output = []
    for process in processes:
        output.append(stop(process))
        # Whatever the process left behind in its group (qcluster's workers).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    return "\n".join(output)


def test_it_delivers_a_signed_notification_for_a_change_at_the_provider(
    transactional_db, desk, user, receiver, settings
):
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = True
    key = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    token = Token.objects.create(user=user).key
    web_url = f"http://127.0.0.1:{free_port()}"
    sim_url = f"http://127.0.0.1:{free_port()}"
    processes: list[subprocess.Popen] = []
    try:
        processes.append(start("runserver", "--noreload", web_url.removeprefix("http://")))
        processes.append(start("desk_simulator", "--port", sim_url.rsplit(":", 1)[1]))
        processes.append(start_worker(PRIVATE_URLS))
        wait_for(lambda: answering(processes[0], web_url), timeout=60, what="the web server")
        wait_for(lambda: answering(processes[1], sim_url), timeout=60, what="the simulator")
        api = requests.Session()
        api.headers["Authorization"] = f"Token {token}"

        data = desk_instance_json(
            sim_url,
            **{
                "event.notification.callback.url": receiver.url,
                "event.notification.signature.key": key,
                "event.poller.refresh_interval": "1",
            },
        )
        created = api.post(f"{web_url}/elements/api-v2/instances", json=data, timeout=30)
        assert created.status_code == 201, created.text
        instance_id = created.json()["id"]
        # A change after events were enabled (the simulator's clock counts in whole seconds).
        requests.post(f"{sim_url}/_simulator/clock", json={"advance": 5}, timeout=5)
        case = requests.post(
            f"{sim_url}/_simulator/cases", json={"subject": "Printer on fire"}, timeout=5
        ).json()
        polled = api.post(
            f"{web_url}/elements/api-v2/instances/{instance_id}/pollers/incidents/poll", timeout=30
        )
        assert polled.status_code == 202, polled.text

        (delivery,) = receiver.wait_for(1, timeout=90)
    finally:
        output = stop_all(processes)

    message = Webhook(key).verify(delivery.body, delivery.headers)
    assert delivery.headers["Elements-Webhook-Signature"] == elements_signature(key, delivery.body)
    assert message["message"]["instanceId"] == instance_id
    assert [
        (event["objectType"], event["objectId"], event["eventType"])
        for event in message["message"]["events"]
    ] == [("incidents", str(case["id"]), "CREATED")], output
    assert json.loads(delivery.body)["message"]["raw"]["incidents"][0]["subject"] == (
        "Printer on fire"
    )

"""Secrets stay secret: after a full scenario (instances created through the API, polls that
work and one that is refused, deliveries that succeed and fail, inbound webhooks, invalid
input) no secret appears in plain text in any table, log line, API response, admin page or
event log page."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import pickle
import zlib
from datetime import UTC

import pytest
from django.contrib import admin
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task

from devtools.simulator import DeskSimulator
from events.delivery import delivery_send
from events.models import EventLog
from events.polling import PollError, poll_object
from integrations.elements import ELEMENTS_DIR, element_upsert, read_element_file
from integrations.models import Instance
from integrations.provider import ProviderClient
from tests.api_helpers import BASE, client_for
from tests.events.conftest import desk_instance_json
from tests.receiver import Answer

SECRETS = {
    "consumer secret": "ConsumerSecret-7Qx9Lr",
    "access token": "AccessToken-3Vb8Kd",
    "access token secret": "TokenSecret-5Hn2Wp",
    "signature key": "SigningKey-9Tz4Mc",
    "basic password": "BasicPassword-2Jf6Ys",
    "wrong consumer secret": "WrongConsumerSecret-1Pd5Iv",
    "github token": "GithubToken-4Ne7Ub",
    "github webhook secret": "GithubWebhookSecret-8Rk1Qa",
    "desk webhook password": "DeskWebhookPassword-6Gm3Ox",
    "rejected signature key": "RejectedSigningKey-0Lw8Ez",
    "callback header": "CallbackHeader-5Kq2Zt",
}
# Forms a secret takes on the wire: Basic credentials are base64.
DERIVED = {
    "basic credentials": base64.b64encode(
        f"deliveries:{SECRETS['basic password']}".encode()
    ).decode(),
    "desk webhook credentials": base64.b64encode(
        f"desk:{SECRETS['desk webhook password']}".encode()
    ).decode(),
}
ALL_FORMS = {**SECRETS, **DERIVED}


def leaks(text: str) -> list[str]:
    """The names of the secrets ``text`` shows."""
    return [name for name, value in ALL_FORMS.items() if value in text]


@pytest.fixture
def sim():
    now = timezone.now().replace(microsecond=0).astimezone(UTC)
    with DeskSimulator(
        seed_cases=3,
        seed_customers=2,
        now=now,
        consumer_key="desk-consumer-key",
        consumer_secret=SECRETS["consumer secret"],
        access_tokens={SECRETS["access token"]: SECRETS["access token secret"]},
    ) as simulator:
        yield simulator


def desk_json(sim, receiver, *, consumer_secret: str, name: str) -> dict:
    data = desk_instance_json(
        sim.url,
        **{
            "oauth.api.key": "desk-consumer-key",
            "oauth.api.secret": consumer_secret,
            "event.notification.callback.url": receiver.url + "/hook",
            "event.notification.signature.key": SECRETS["signature key"],
            "event.notification.basic.username": "deliveries",
            "event.notification.basic.password": SECRETS["basic password"],
            "event.notification.callback.headers": {"X-Api-Key": SECRETS["callback header"]},
            "webhook.username": "desk",
            "webhook.password": SECRETS["desk webhook password"],
        },
    )
    data["providerData"] = {
        "oauth_token": SECRETS["access token"],
        "secret": SECRETS["access token secret"],
    }
    data["name"] = name
    return data


def github_json(receiver) -> dict:
    return {
        "element": {"key": "github"},
        "name": "Widgets repo",
        "configuration": {
            "github.owner": "acme",
            "github.repo": "widgets",
            "github.token": SECRETS["github token"],
            "github.webhook.secret": SECRETS["github webhook secret"],
            "event.notification.enabled": "true",
            "event.vendor.type": "webhook",
            "event.notification.callback.url": receiver.url + "/github",
        },
    }


def poll(sim, instance_id: int, name: str = "incidents") -> None:
    instance = Instance.objects.get(pk=instance_id)
    poller = instance.poller_objects.get(name=name)
    client = ProviderClient(instance, sleep=sim.advance)
    with contextlib.suppress(PollError):  # a failure is recorded on the PollerObject
        poll_object(poller_object_id=poller.pk, client=client, now=sim.now())


def deliver_pending(sim) -> None:
    pending = EventLog.objects.filter(status=EventLog.Status.PENDING).order_by("pk")
    for event_log_id in pending.values_list("pk", flat=True):
        delivery_send(event_log_id=event_log_id, now=sim.now())


@pytest.fixture
def scenario(db, settings, caplog, staff, desk, sim, receiver, django_capture_on_commit_callbacks):
    """Runs everything once; yields the API client, the ids created and the captured logs."""
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = True
    caplog.set_level(logging.DEBUG)
    element_upsert(definition=read_element_file(ELEMENTS_DIR / "github.json"))
    api = client_for(staff)

    with django_capture_on_commit_callbacks(execute=True):
        good = api.post(
            f"{BASE}/instances",
            desk_json(sim, receiver, consumer_secret=SECRETS["consumer secret"], name="Good"),
            format="json",
        ).json()["id"]
        bad = api.post(
            f"{BASE}/instances",
            desk_json(sim, receiver, consumer_secret=SECRETS["wrong consumer secret"], name="Bad"),
            format="json",
        ).json()["id"]
        github = api.post(f"{BASE}/instances", github_json(receiver), format="json").json()
        # Refused instance JSONs: secrets of the wrong type.
        refused = []
        rejected = SECRETS["rejected signature key"]
        for change in (
            {"configuration": {"event.notification.signature.key": [rejected]}},
            {"configuration": {"event.notification.basic.password": {"v": rejected}}},
            {"configuration": {"event.notification.callback.headers": {"X-Key": [rejected]}}},
            {"configuration": {"event.notification.callback.headers": {"X-Key": f"€{rejected}"}}},
            {"configuration": {"event.notification.callback.headers": f'["{rejected}"]'}},
            {"providerData": rejected},
            {"providerData": [rejected]},
        ):
            data = desk_json(sim, receiver, consumer_secret="x", name="Refused")
            data["configuration"].update(change.get("configuration", {}))
            data["providerData"] = change.get("providerData", data["providerData"])
            refused.append(api.post(f"{BASE}/instances", data, format="json"))
        api.post(f"{BASE}/instances/{good}/pollers/incidents/poll")

    sim.create_case(subject="Printer on fire")
    sim.advance(5)
    poll(sim, good)
    poll(sim, bad)
    deliver_pending(sim)
    receiver.script(Answer(500, b"callback broken"))
    sim.create_case(subject="Printer still on fire")
    sim.advance(5)
    poll(sim, good)
    deliver_pending(sim)

    token = Instance.objects.get(pk=github["id"]).webhook_token
    body = json.dumps({"action": "opened", "issue": {"id": 9, "number": 9}}).encode()
    signature = hmac.new(SECRETS["github webhook secret"].encode(), body, hashlib.sha256)
    for signature_header in ("sha256=" + signature.hexdigest(), "sha256=wrong"):
        with django_capture_on_commit_callbacks(execute=True):
            api.post(
                f"{BASE}/events/github/{token}",
                data=body,
                content_type="application/json",
                headers={
                    "X-GitHub-Event": "issues",
                    "X-GitHub-Delivery": signature_header[-8:],
                    "X-Hub-Signature-256": signature_header,
                },
            )
    good_token = Instance.objects.get(pk=good).webhook_token
    api.post(
        f"{BASE}/events/desk/{good_token}",
        data="events=[]",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": "Basic " + DERIVED["desk webhook credentials"]},
    )
    deliver_pending(sim)
    return {"api": api, "ids": [good, bad, github["id"]], "refused": refused, "caplog": caplog}


def test_the_scenario_covers_successes_and_failures(scenario):
    assert Instance.objects.count() == 3
    assert "401" in Instance.objects.get(name="Bad").poller_objects.get(name="incidents").last_error
    statuses = set(EventLog.objects.values_list("status", flat=True))
    assert {"delivered", "retrying"} <= statuses
    assert OrmQ.objects.exists() or Task.objects.exists()
    assert all(response.status_code == 400 for response in scenario["refused"])


def test_no_table_holds_a_secret_in_plain_text(scenario):
    found = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                text = " ".join(_readable(value) for value in row)
                if names := leaks(text):
                    found.setdefault(table, set()).update(names)

    assert found == {}


def test_no_queued_task_or_result_holds_a_secret(scenario):
    texts = [repr(task.task) for task in OrmQ.objects.all()]
    texts += [repr((t.func, t.args, t.kwargs, t.result)) for t in Task.objects.all()]
    texts += [repr((s.func, s.args, s.kwargs)) for s in Schedule.objects.all()]

    assert [leaks(text) for text in texts if leaks(text)] == []


def test_no_log_line_shows_a_secret(scenario):
    records = scenario["caplog"].get_records("setup")  # the scenario runs in a fixture
    lines = [record.getMessage() for record in records]
    lines += [repr(record.args) for record in records]

    assert [line for line in lines if leaks(line)] == []


def test_no_error_message_shows_a_secret(scenario):
    bodies = [response.content.decode() for response in scenario["refused"]]

    assert [body for body in bodies if leaks(body)] == []


def test_no_api_response_shows_a_secret(scenario):
    api = scenario["api"]
    paths = [f"{BASE}/instances", f"{BASE}/instances/events", f"{BASE}/deliveries"]
    for pk in scenario["ids"]:
        instance = Instance.objects.get(pk=pk)
        paths += [
            f"{BASE}/instances/{pk}",
            f"{BASE}/instances/{pk}/events",
            f"{BASE}/instances/{pk}/pollers",
            *[f"{BASE}/instances/{pk}/pollers/{p.name}" for p in instance.poller_objects.all()],
            *[f"{BASE}/instances/events/{e.pk}" for e in instance.events.all()],
            *[f"{BASE}/deliveries/{log.pk}" for log in instance.event_logs.all()],
        ]
    bodies = {}
    for path in paths:
        response = api.get(path)
        assert response.status_code == 200, path
        bodies[path] = response.content.decode()

    assert {path: leaks(body) for path, body in bodies.items() if leaks(body)} == {}


def test_no_admin_page_shows_a_secret(scenario, client, staff):
    client.force_login(staff)
    pages = {}
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        urls = [reverse("admin:{}_{}_changelist".format(*info))]
        for pk in model.objects.values_list("pk", flat=True)[:50]:
            urls += [
                reverse("admin:{}_{}_change".format(*info), args=[pk]),
                reverse("admin:{}_{}_history".format(*info), args=[pk]),
            ]
        for url in urls:
            response = client.get(url)
            if model._meta.app_label in ("integrations", "events"):
                assert response.status_code == 200, url
            pages[url] = response.content.decode()

    assert {url: leaks(page) for url, page in pages.items() if leaks(page)} == {}


def test_no_event_log_page_shows_a_secret(scenario, client, staff):
    client.force_login(staff)
    urls = [reverse("events:log")]
    for pk in EventLog.objects.values_list("pk", flat=True):
        urls += [
            reverse("events:log-detail", args=[pk]),
            reverse("events:log-download", args=[pk, "message"]),
            reverse("events:log-download", args=[pk, "raw"]),
        ]
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.content.decode()

    assert {url: leaks(page) for url, page in pages.items() if leaks(page)} == {}


def _readable(value) -> str:
    """A column value as text, plus what it holds when it is a pickle (django-q task
    arguments and results), maybe compressed, maybe base64: the raw form is always kept."""
    if isinstance(value, memoryview):
        value = value.tobytes()
    raw = value if isinstance(value, bytes) else str(value).encode()
    forms = [raw.decode("latin-1")]
    candidates = [raw]
    with contextlib.suppress(ValueError):
        candidates.append(base64.b64decode(raw, validate=True))
    for candidate in list(candidates):
        with contextlib.suppress(zlib.error):
            candidates.append(zlib.decompress(candidate))
    for candidate in candidates:
        with contextlib.suppress(Exception):
            forms.append(repr(pickle.loads(candidate)))  # noqa: S301 - our own test database
    return " ".join(forms)

"""The callback inbox: a development endpoint that records notifications and checks their
signatures, and the demo that delivers to it (`manage.py setup_demo`)."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from devtools.demo import DEMO_INSTANCE
from devtools.inbox import messages as inbox_messages
from devtools.inbox.models import Inbox, InboxMessage
from events.delivery import delivery_send, elements_signature, standard_webhook
from events.models import EventLog
from integrations.instances.settings import SIGNATURE_KEY
from integrations.models import Instance
from tests.events.factories import EventLogFactory
from tests.factories import InstanceFactory, UserFactory

NOTIFICATION = {
    "message": {
        "events": [
            {"objectType": "incidents", "eventType": "UPDATED", "objectId": "42"},
            {"objectType": "incidents", "eventType": "CREATED", "objectId": "43"},
        ],
        "raw": {},
    }
}


@pytest.fixture(autouse=True)
def inbox_on(settings):
    settings.TRIBUTARY_INBOX_ENABLED = True
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def inbox(db):
    return Inbox.objects.create(name="demo")


def signed(key: str, body: bytes, *, delivery_id: str = "d-1", at=None) -> dict[str, str]:
    at = at or timezone.now()
    return {
        "HTTP_ELEMENTS_WEBHOOK_ID": delivery_id,
        "HTTP_ELEMENTS_WEBHOOK_SIGNATURE": elements_signature(key, body),
        "HTTP_WEBHOOK_ID": delivery_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(at.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": standard_webhook(key).sign(
            msg_id=delivery_id, timestamp=at, data=body.decode()
        ),
    }


def post(client, body: bytes, name: str = "demo", **headers):
    return client.post(f"/inbox/{name}/", body, content_type="application/json", **headers)


# Receiving ------------------------------------------------------------------------------


def test_it_verifies_a_delivery_from_tributary(transactional_db, live_server):
    inbox = Inbox.objects.create(name="demo")
    instance = InstanceFactory(
        callback_url=f"{live_server.url}/inbox/demo/",
        secrets={SIGNATURE_KEY: inbox.signature_key},
    )
    now = timezone.now()
    event_log = EventLogFactory(
        instance=instance, body=json.dumps(NOTIFICATION), next_attempt_at=now
    )

    # Its own session, closed after: a kept-alive connection would keep the server's thread
    # (and its database connection) open past the test.
    with requests.Session() as session:
        attempt = delivery_send(event_log_id=event_log.pk, now=now, session=session)

    assert attempt.status_code == 200
    message = InboxMessage.objects.get()
    assert (message.verified, message.verification_error) == (True, "")
    assert message.delivery_id == str(event_log.delivery_id)
    assert EventLog.objects.get().status == EventLog.Status.DELIVERED


def test_it_answers_200_with_the_outcome(client, inbox):
    body = json.dumps(NOTIFICATION).encode()

    response = post(client, body, **signed(inbox.signature_key, body))

    assert response.status_code == 200
    assert response.json() == {"id": InboxMessage.objects.get().pk, "verified": True, "error": ""}


def test_it_marks_a_changed_body_unverified(client, inbox):
    body = json.dumps(NOTIFICATION).encode()
    headers = signed(inbox.signature_key, body)

    response = post(client, body.replace(b"42", b"41"), **headers)

    assert response.status_code == 200
    message = InboxMessage.objects.get()
    assert not message.verified
    assert "Elements-Webhook-Signature does not match" in message.verification_error
    assert "Standard Webhooks: No matching signature found" in message.verification_error


def test_it_marks_a_signature_with_another_key_unverified(client, inbox):
    body = json.dumps(NOTIFICATION).encode()

    post(client, body, **signed("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", body))

    assert not InboxMessage.objects.get().verified


def test_it_marks_an_old_standard_webhooks_timestamp_unverified(client, inbox):
    body = json.dumps(NOTIFICATION).encode()
    an_hour_ago = timezone.now() - timedelta(hours=1)

    post(client, body, **signed(inbox.signature_key, body, at=an_hour_ago))

    message = InboxMessage.objects.get()
    assert not message.verified
    assert message.verification_error == "Standard Webhooks: Message timestamp too old"


def test_it_says_how_to_sign_an_unsigned_notification(client, inbox):
    post(client, json.dumps(NOTIFICATION).encode())

    message = InboxMessage.objects.get()
    assert not message.verified
    assert "event.notification.signature.key" in message.verification_error


def test_it_does_not_keep_credentials_sent_with_a_notification(client, inbox):
    post(client, b"{}", HTTP_AUTHORIZATION="Basic dXNlcjpzZWNyZXQ=")

    assert InboxMessage.objects.get().header("Authorization") == "<redacted>"


def test_it_answers_404_for_an_unknown_inbox(client, inbox):
    response = post(client, b"{}", name="nope")

    assert response.status_code == 404
    assert "setup_demo" in response.json()["error"]
    assert not InboxMessage.objects.exists()


def test_it_keeps_only_the_latest_messages(client, inbox, monkeypatch):
    monkeypatch.setattr(inbox_messages, "MAX_MESSAGES", 2)
    for number in range(3):
        post(client, json.dumps({"n": number}).encode())

    assert [json.loads(m.body)["n"] for m in InboxMessage.objects.all()] == [2, 1]


def test_it_stores_the_signature_key_encrypted(inbox):
    with connection.cursor() as cursor:
        cursor.execute("SELECT signature_key FROM inbox_inbox")
        (stored,) = cursor.fetchone()

    assert inbox.signature_key.startswith("whsec_")
    assert inbox.signature_key not in stored
    assert Inbox.objects.get().signature_key == inbox.signature_key


# The page -------------------------------------------------------------------------------


def test_it_lists_messages_newest_first_with_their_verification(client, inbox, staff):
    body = json.dumps(NOTIFICATION).encode()
    post(client, body, **signed(inbox.signature_key, body, delivery_id="first-delivery"))
    post(client, b"not json")
    client.force_login(staff)

    page = client.get("/inbox/").content.decode()

    assert page.index("✗ not verified") < page.index("✓ verified")
    assert "first-delivery" in page
    assert "incidents UPDATED 42" in page and "incidents CREATED 43" in page
    assert "http://testserver/inbox/demo/" in page


def test_it_shows_the_inbox_link_to_staff_only_while_enabled(client, staff, settings):
    client.force_login(staff)
    assert 'href="/inbox/"' in client.get("/events/log/").content.decode()

    settings.TRIBUTARY_INBOX_ENABLED = False

    assert 'href="/inbox/"' not in client.get("/events/log/").content.decode()


def test_it_asks_anonymous_visitors_to_log_in(client, db):
    response = client.get("/inbox/")

    assert response.status_code == 302
    assert response["Location"].startswith("/events/login/")


def test_it_refuses_the_page_to_users_who_are_not_staff(client, user):
    client.force_login(user)

    assert client.get("/inbox/").status_code == 403


def test_it_is_not_there_when_turned_off(client, inbox, staff, settings):
    settings.TRIBUTARY_INBOX_ENABLED = False
    client.force_login(staff)

    assert post(client, b"{}").status_code == 404
    assert client.get("/inbox/").status_code == 404
    assert not InboxMessage.objects.exists()


# setup_demo -----------------------------------------------------------------------------


def setup_demo() -> str:
    out = StringIO()
    call_command(
        "setup_demo",
        "--simulator-url=http://127.0.0.1:8765",
        "--base-url=http://127.0.0.1:8000",
        stdout=out,
    )
    return out.getvalue()


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


def test_it_sets_up_a_demo_instance_delivering_to_the_demo_inbox(desk, admin_user):
    output = setup_demo()

    inbox = Inbox.objects.get(name="demo")
    instance = Instance.objects.get(name=DEMO_INSTANCE)
    assert instance.owner == admin_user
    assert instance.events_enabled
    assert instance.refresh_interval == 1
    assert instance.callback_url == "http://127.0.0.1:8000/inbox/demo/"
    assert instance.configuration["site.address"] == "http://127.0.0.1:8765"
    assert instance.secrets[SIGNATURE_KEY] == inbox.signature_key
    assert sorted(instance.poller_objects.values_list("name", "next_poll_at")) == [
        ("contacts", None),
        ("incidents", None),
    ]
    assert "Created instance Demo Desk (simulator)" in output


def test_it_sets_up_the_demo_again_without_duplicates(desk, admin_user):
    setup_demo()
    key = Inbox.objects.get().signature_key
    instance = Instance.objects.get()
    instance.poller_objects.update(cursor=timezone.now(), next_poll_at=timezone.now())

    output = setup_demo()

    assert Inbox.objects.get().signature_key == key
    assert Instance.objects.get().pk == instance.pk
    assert set(instance.poller_objects.values_list("cursor", "next_poll_at")) == {(None, None)}
    assert "Updated instance" in output


def test_it_says_to_create_the_admin_before_the_demo(desk, db):
    with pytest.raises(CommandError, match="create_local_admin"):
        setup_demo()


def test_it_refuses_a_demo_with_the_inbox_off(desk, admin_user, settings):
    settings.TRIBUTARY_INBOX_ENABLED = False

    with pytest.raises(CommandError, match="TRIBUTARY_INBOX_ENABLED=true"):
        setup_demo()
    assert not Instance.objects.exists()

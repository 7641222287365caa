"""What is shown never holds a secret: the app's callback header values (masked like every
secret in the API and the admin, redacted in the headers an attempt records and the event
log shows) and the credentials of a URL (``https://user:password@host``) wherever a URL is
shown: the API, the event log and the errors."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from events.delivery import delivery_send
from events.models import DeliveryAttempt, EventLog
from integrations.models import Instance
from tests.api_helpers import BASE, MASK, client_for, create_instance, desk_instance_json
from tests.events.eventlog_data import delivery
from tests.events.factories import DeliveryAttemptFactory
from tests.factories import InstanceFactory
from tests.receiver import Answer

HEADERS = "event.notification.callback.headers"
HEADER_VALUE = "HeaderValue-3Jd9Qs"
URL_PASSWORD = "UrlPassword-8Vn2Kw"


@pytest.fixture
def api(desk, user):
    return client_for(user)


@pytest.fixture
def with_headers(api, settings, receiver):
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = True
    data = desk_instance_json(
        **{
            HEADERS: {"X-Api-Key": HEADER_VALUE},
            "event.notification.callback.url": receiver.url + "/hook",
        }
    )
    return Instance.objects.get(pk=create_instance(api, data)["id"])


def test_the_api_masks_callback_header_values_as_a_secret(api, with_headers):
    body = api.get(f"{BASE}/instances/{with_headers.pk}")

    assert body.json()["configuration"][HEADERS] == MASK
    assert HEADER_VALUE not in body.content.decode()


def test_callback_headers_are_stored_encrypted_with_the_secrets(with_headers):
    assert with_headers.secrets[HEADERS] == {"X-Api-Key": HEADER_VALUE}
    assert HEADERS not in with_headers.configuration


def test_sending_the_mask_back_keeps_the_headers(api, with_headers, receiver):
    rendered = api.get(f"{BASE}/instances/{with_headers.pk}").json()

    response = api.patch(
        f"{BASE}/instances/{with_headers.pk}",
        {"configuration": rendered["configuration"]},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert Instance.objects.get(pk=with_headers.pk).secrets[HEADERS] == {"X-Api-Key": HEADER_VALUE}


def test_the_callback_gets_the_header_and_the_attempt_records_its_name_only(with_headers, receiver):
    event_log = delivery(with_headers, next_attempt_at=timezone.now())

    attempt = delivery_send(event_log_id=event_log.pk)

    (request,) = receiver.requests
    assert request.headers["X-Api-Key"] == HEADER_VALUE
    assert attempt.request_headers["X-Api-Key"] == "<redacted>"
    assert attempt.request_headers["Elements-Webhook-Id"] == str(event_log.delivery_id)


def test_the_admin_shows_that_the_headers_are_set_not_their_values(client, staff, with_headers):
    client.force_login(staff)

    page = client.get(reverse("admin:integrations_instance_change", args=[with_headers.pk]))

    text = page.content.decode()
    assert f"<code>{HEADERS}</code>: set" in text
    assert HEADER_VALUE not in text


def test_the_event_log_redacts_header_values_an_older_attempt_recorded(client, user):
    instance = InstanceFactory(owner=user)
    event_log = delivery(instance)
    DeliveryAttemptFactory(
        event_log=event_log,
        request_headers={"webhook-id": "msg_1", "X-Api-Key": HEADER_VALUE},
    )
    client.force_login(user)

    text = client.get(reverse("events:log-detail", args=[event_log.pk])).content.decode()

    assert "X-Api-Key" in text
    assert "&lt;redacted&gt;" in text
    assert "msg_1" in text
    assert HEADER_VALUE not in text


def test_headers_saved_before_they_were_secret_move_to_the_secrets(db):
    migration = importlib.import_module("integrations.migrations.0003_callback_headers_secret")
    instance = InstanceFactory(configuration={"site.address": "a.desk.com", HEADERS: {"X": "v"}})

    migration.headers_to_secrets(apps, None)

    instance.refresh_from_db()
    assert instance.secrets[HEADERS] == {"X": "v"}
    assert HEADERS not in instance.configuration


# URL credentials --------------------------------------------------------------------------


def test_the_api_masks_the_credentials_of_urls(api, settings, receiver):
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = True
    host = receiver.url.removeprefix("http://")
    data = desk_instance_json(
        **{
            "event.notification.callback.url": f"http://app:{URL_PASSWORD}@{host}/hook",
            "oauth.callback.url": f"https://app:{URL_PASSWORD}@app.example.com/oauth",
        }
    )
    created = create_instance(api, data)

    body = api.get(f"{BASE}/instances/{created['id']}")

    configuration = body.json()["configuration"]
    assert configuration["event.notification.callback.url"] == f"http://{MASK}@{host}/hook"
    assert configuration["oauth.callback.url"] == f"https://{MASK}@app.example.com/oauth"
    assert URL_PASSWORD not in body.content.decode()


def test_the_masked_url_sent_back_is_refused_with_a_clear_message(api, settings, receiver):
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = True
    host = receiver.url.removeprefix("http://")
    url = f"http://app:{URL_PASSWORD}@{host}/hook"
    created = create_instance(api, desk_instance_json(**{"event.notification.callback.url": url}))

    response = api.patch(
        f"{BASE}/instances/{created['id']}",
        {"configuration": created["configuration"]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"]["configuration.event.notification.callback.url"] == [
        f"{MASK} is the mask shown in place of a URL's user and password; give them again, or "
        "leave the key out to keep the stored value"
    ]
    assert Instance.objects.get(pk=created["id"]).callback_url == url


def test_an_attempt_error_quoting_a_url_is_recorded_without_its_credentials(
    settings, receiver, user
):
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = True
    location = f"https://app:{URL_PASSWORD}@elsewhere.example.com/hook"
    receiver.script(Answer(302, headers={"Location": location}))
    instance = InstanceFactory(owner=user, callback_url=receiver.url)
    event_log = delivery(instance, next_attempt_at=timezone.now())

    attempt = delivery_send(event_log_id=event_log.pk)

    expected = f"redirect to https://{MASK}@elsewhere.example.com/hook not followed"
    assert attempt.error == expected
    assert EventLog.objects.get(pk=event_log.pk).last_error == expected


def test_the_event_log_masks_url_credentials_in_errors_recorded_before(client, user):
    error = f"redirect to https://app:{URL_PASSWORD}@elsewhere.example.com/ not followed"
    event_log = delivery(InstanceFactory(owner=user), last_error=error)
    DeliveryAttemptFactory(event_log=event_log, status_code=302, error=error)
    client.force_login(user)

    text = client.get(reverse("events:log-detail", args=[event_log.pk])).content.decode()

    assert f"https://{MASK}@elsewhere.example.com/" in text
    assert URL_PASSWORD not in text
    assert DeliveryAttempt.objects.get().error == error  # shown masked, kept as recorded

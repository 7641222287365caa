"""Inbound webhooks over HTTP: GitHub's signed webhooks and Desk's Custom Action."""

import base64
import hashlib
import hmac
import json
import uuid
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.delivery import delivery_send
from events.models import Event, EventLog, InboundWebhook
from integrations.elements import ELEMENTS_DIR, element_upsert, read_element_file
from integrations.instances import instance_create

SECRET = "github-webhook-secret"


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()  # the intake counts requests per address in the cache


@pytest.fixture
def github(db):
    element, _ = element_upsert(definition=read_element_file(ELEMENTS_DIR / "github.json"))
    return element


def github_instance(owner, callback_url, **configuration):
    return instance_create(
        owner=owner,
        data={
            "element": {"key": "github"},
            "name": "Widgets repo",
            "configuration": {
                "github.owner": "acme",
                "github.repo": "widgets",
                "github.token": "ghp_example",
                "github.webhook.secret": SECRET,
                "event.notification.enabled": "true",
                "event.vendor.type": "webhook",
                "event.notification.callback.url": callback_url,
                **configuration,
            },
        },
    )


def issue_payload(action="opened", number=7, updated="2026-11-28T10:00:00Z"):
    return {
        "action": action,
        "issue": {
            "id": 1000 + number,
            "number": number,
            "title": "Widgets wobble",
            "state": "open",
            "created_at": "2026-11-28T10:00:00Z",
            "updated_at": updated,
        },
        "repository": {"name": "widgets", "owner": {"login": "acme"}},
    }


def github_post(client, path, payload, *, event="issues", delivery=None, secret=SECRET, **headers):
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        path,
        data=body,
        content_type="application/json",
        headers={
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-Hub-Signature-256": signature,
            **headers,
        },
    )


def url(instance):
    return f"/elements/api-v2/events/github/{instance.webhook_token}"


def test_a_signed_github_issue_becomes_an_event_and_a_delivery(client, github, user, receiver):
    instance = github_instance(user, receiver.url)

    response = github_post(client, url(instance), issue_payload())

    assert response.status_code == 202
    assert response.json()["accepted"] == 1
    event = Event.objects.get()
    assert (event.object_type, event.object_id, event.event_type) == ("issues", "1007", "CREATED")
    assert event.raw["title"] == "Widgets wobble"
    assert event.inbound.headers["X-Hub-Signature-256"] == "<redacted>"
    event_log = EventLog.objects.get()
    delivery_send(event_log_id=event_log.pk)
    (request,) = receiver.requests
    message = json.loads(request.body)["message"]
    assert message["raw"] == issue_payload()
    assert message["events"][0]["objectType"] == "issues"
    assert message["events"][0]["date"] == "2026-11-28T10:00:00Z"
    assert "pollDate" not in message["events"][0]


@pytest.mark.parametrize(
    ("event", "payload", "expected"),
    [
        ("issues", issue_payload(action="closed"), ("issues", "1007", "UPDATED")),
        ("issues", issue_payload(action="deleted"), ("issues", "1007", "DELETED")),
        (
            "issue_comment",
            {"action": "created", "comment": {"id": 55, "updated_at": "2026-11-28T10:00:00Z"}},
            ("issue_comments", "55", "CREATED"),
        ),
        (
            "pull_request",
            {"action": "reopened", "pull_request": {"id": 9, "updated_at": "2026-11-28T10:00:00Z"}},
            ("pull_requests", "9", "UPDATED"),
        ),
    ],
)
def test_it_maps_github_actions_to_event_types(client, github, user, event, payload, expected):
    instance = github_instance(user, "https://app.example.com/hook")

    assert github_post(client, url(instance), payload, event=event).status_code == 202

    assert Event.objects.get().object_type == expected[0]
    assert (Event.objects.get().object_id, Event.objects.get().event_type) == expected[1:]


def test_a_wrong_signature_is_401_and_stores_nothing(client, github, user):
    instance = github_instance(user, "https://app.example.com/hook")

    response = github_post(client, url(instance), issue_payload(), secret="not-the-secret")

    assert response.status_code == 401
    assert "signature" in response.json()["message"]
    assert not Event.objects.exists() and not InboundWebhook.objects.exists()


def test_a_missing_signature_is_401(client, github, user):
    instance = github_instance(user, "https://app.example.com/hook")

    response = client.post(url(instance), data=b"{}", content_type="application/json")

    assert response.status_code == 401


def test_the_same_github_delivery_twice_gives_one_event(client, github, user):
    instance = github_instance(user, "https://app.example.com/hook")
    delivery = str(uuid.uuid4())

    first = github_post(client, url(instance), issue_payload(), delivery=delivery)
    second = github_post(client, url(instance), issue_payload(), delivery=delivery)

    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json() == {"accepted": 0, "duplicates": 1, "instances": 1}
    assert Event.objects.count() == 1 and EventLog.objects.count() == 1


def test_a_ping_carries_no_change(client, github, user):
    instance = github_instance(user, "https://app.example.com/hook")

    response = github_post(client, url(instance), {"zen": "Keep it simple."}, event="ping")

    assert response.status_code == 202
    assert response.json()["accepted"] == 0


def test_element_instances_fans_one_webhook_out_to_each_instance(client, github, user):
    first = github_instance(user, "https://app.example.com/a")
    second = github_instance(user, "https://app.example.com/b")
    tokens = f"{first.webhook_token}, {second.webhook_token}"

    response = github_post(
        client, "/elements/api-v2/events/github", issue_payload(), **{"Element-Instances": tokens}
    )

    assert response.status_code == 202
    assert sorted(Event.objects.values_list("instance_id", flat=True)) == sorted(
        [first.pk, second.pk]
    )


def test_the_instance_finder_routes_by_a_configuration_value(client, github, user):
    finder = {"event.notification.instance.finder": "github.owner|repository.owner.login"}
    acme = github_instance(user, "https://app.example.com/a", **finder)
    github_instance(user, "https://app.example.com/b", **{**finder, "github.owner": "globex"})

    response = github_post(client, "/elements/api-v2/events/github", issue_payload())

    assert response.status_code == 202
    assert list(Event.objects.values_list("instance_id", flat=True)) == [acme.pk]


def test_an_unknown_token_is_401_like_a_wrong_signature(client, github, user):
    instance = github_instance(user, "https://app.example.com/hook")

    unknown = github_post(client, "/elements/api-v2/events/github/no-such-token", issue_payload())
    unsigned = github_post(client, url(instance), issue_payload(), secret="not-the-secret")

    assert (unknown.status_code, unsigned.status_code) == (401, 401)
    assert unknown.json() == unsigned.json()


def test_an_unknown_element_is_404(client, github):
    assert github_post(client, "/elements/api-v2/events/nosuch/x", {}).status_code == 404


def test_a_malformed_body_is_400(client, github, user):
    instance = github_instance(user, "https://app.example.com/hook")
    body = b"{not json"
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()

    response = client.post(
        url(instance),
        data=body,
        content_type="application/json",
        headers={"X-GitHub-Event": "issues", "X-Hub-Signature-256": signature},
    )

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]


def test_a_body_over_one_mebibyte_is_413(client, github, user):
    instance = github_instance(user, "https://app.example.com/hook")

    response = client.post(
        url(instance), data=b"x" * (1024 * 1024 + 1), content_type="application/json"
    )

    assert response.status_code == 413


def test_a_polling_instance_does_not_take_webhooks(client, github, user):
    instance = github_instance(
        user, "https://app.example.com/hook", **{"event.vendor.type": "polling"}
    )

    response = github_post(client, url(instance), issue_payload())

    assert response.status_code == 409


DESK_CUSTOM_ACTION = {
    "events": [
        {
            "objectType": "incidents",
            "objectId": "3065",
            "eventType": "updated",
            "date": "2016-11-22T18:05:11Z",
            "record": {"id": 3065, "subject": "Printer%20on%20fire", "status": "open"},
        }
    ]
}


def desk_webhook_instance(owner):
    return instance_create(
        owner=owner,
        data={
            "element": {"key": "desk"},
            "name": "Desk custom action",
            "providerData": {"oauth_token": "t", "secret": "s"},
            "configuration": {
                "site.address": "acme.desk.com",
                "oauth.api.key": "k",
                "oauth.api.secret": "s",
                "webhook.username": "desk",
                "webhook.password": "custom-action-password",
                "event.notification.enabled": "true",
                "event.vendor.type": "webhook",
                "event.notification.callback.url": "https://app.example.com/hook",
            },
        },
    )


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_the_desk_custom_action_template_with_basic_auth_works(client, desk, user):
    instance = desk_webhook_instance(user)

    response = client.post(
        f"/elements/api-v2/events/desk/{instance.webhook_token}",
        data=json.dumps(DESK_CUSTOM_ACTION),
        content_type="application/json",
        headers={"Authorization": basic("desk", "custom-action-password")},
    )

    assert response.status_code == 202
    event = Event.objects.get()
    assert (event.object_type, event.object_id, event.event_type) == (
        "incidents",
        "3065",
        "UPDATED",
    )
    assert event.raw["status"] == "open"
    assert event.inbound.headers["Authorization"] == "<redacted>"


def test_the_desk_custom_action_with_a_wrong_password_is_401(client, desk, user):
    instance = desk_webhook_instance(user)

    response = client.post(
        f"/elements/api-v2/events/desk/{instance.webhook_token}",
        data=json.dumps(DESK_CUSTOM_ACTION),
        content_type="application/json",
        headers={"Authorization": basic("desk", "guess")},
    )

    assert response.status_code == 401
    assert not Event.objects.exists()


def test_a_form_encoded_body_is_read_as_fields(client, desk, user):
    instance = desk_webhook_instance(user)

    response = client.post(
        f"/elements/api-v2/events/desk/{instance.webhook_token}",
        data="events=" + json.dumps(DESK_CUSTOM_ACTION["events"]),
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": basic("desk", "custom-action-password")},
    )

    assert response.status_code == 202
    assert Event.objects.get().object_id == "3065"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.binary(max_size=2048),
    headers=st.dictionaries(
        st.sampled_from(
            ["X-GitHub-Event", "X-Hub-Signature-256", "X-GitHub-Delivery", "Element-Instances"]
        ),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
    ),
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "text/plain", ""]
    ),
    routed=st.booleans(),
)
def test_arbitrary_requests_never_get_a_500(
    client, github, user, body, headers, content_type, routed
):
    instance = github_instance(user, "https://app.example.com/hook") if routed else None
    path = url(instance) if instance else "/elements/api-v2/events/github"

    response = client.post(path, data=body, content_type=content_type, headers=headers)

    assert response.status_code < 500


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    method=st.sampled_from(["GET", "POST"]),
    query=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3),
    body=st.one_of(
        st.binary(max_size=512),
        st.text(max_size=200).map(lambda text: ("events=" + text).encode()),
    ),
    authorization=st.one_of(
        st.none(),
        st.just(basic("desk", "custom-action-password")),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    ),
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "multipart/form-data", ""]
    ),
    routed=st.booleans(),
)
def test_arbitrary_desk_requests_never_get_a_500(
    client, desk, user, method, query, body, authorization, content_type, routed
):
    instance = desk_webhook_instance(user) if routed else None
    path = "/elements/api-v2/events/desk" + (f"/{instance.webhook_token}" if routed else "")
    headers = {"Authorization": authorization} if authorization is not None else {}

    if method == "GET":
        response = client.get(path, data=query, headers=headers)
    else:
        response = client.post(
            path,
            data=body,
            content_type=content_type,
            QUERY_STRING=urlencode(query),
            headers=headers,
        )

    assert response.status_code < 500

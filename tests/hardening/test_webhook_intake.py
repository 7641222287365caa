"""The inbound webhook intake under attack: tenants that copy each other's finder values,
replays, bodies built to crash the parser, over-long ids, floods. Whatever arrives, one
tenant cannot stop another's webhooks, the answer tells nothing about other tenants, and
nothing is a server error."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.core.cache import cache
from django.db.models import Value
from django.test import Client

from events.models import Event, InboundWebhook
from integrations.elements import ELEMENTS_DIR, element_upsert, read_element_file
from integrations.models import Instance
from tests.events.test_webhooks import (
    DESK_CUSTOM_ACTION,
    SECRET,
    basic,
    desk_webhook_instance,
    github_instance,
    github_post,
    issue_payload,
    url,
)
from tests.factories import UserFactory

EVENTS = "/elements/api-v2/events/github"
FINDER = {"event.notification.instance.finder": "github.owner|repository.owner.login"}


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()  # the intake counts requests per address in the cache


@pytest.fixture
def github(db):
    return element_upsert(definition=read_element_file(ELEMENTS_DIR / "github.json"))[0]


@pytest.fixture
def tenants(db):
    return UserFactory(username="victim"), UserFactory(username="copycat")


# Routing: each instance verified on its own ---------------------------------------------------


def test_a_tenant_copying_the_finder_value_does_not_block_the_owners_webhooks(github, tenants):
    victim, copycat = tenants
    owner = github_instance(victim, "https://victim.example.com/hook", **FINDER)
    github_instance(
        copycat,
        "https://copycat.example.com/hook",
        **FINDER,
        **{"github.webhook.secret": "copycat-secret"},
    )
    client = _client()

    response = github_post(client, EVENTS, issue_payload())

    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 0, "instances": 1}
    assert list(Event.objects.values_list("instance_id", flat=True)) == [owner.pk]


def test_every_instance_whose_check_passes_takes_the_event(github, tenants):
    first = github_instance(tenants[0], "https://a.example.com/hook", **FINDER)
    second = github_instance(tenants[1], "https://b.example.com/hook", **FINDER)

    response = github_post(_client(), EVENTS, issue_payload())

    assert response.json()["instances"] == 2
    assert sorted(Event.objects.values_list("instance_id", flat=True)) == sorted(
        [first.pk, second.pk]
    )


def test_an_unknown_finder_value_and_a_wrong_signature_get_the_same_answer(github, user):
    github_instance(user, "https://app.example.com/hook", **FINDER)
    client = _client()
    payload = issue_payload()
    unknown_owner = {**payload, "repository": {"name": "x", "owner": {"login": "nobody"}}}

    unknown = github_post(client, EVENTS, unknown_owner)
    wrong = github_post(client, EVENTS, payload, secret="guess")
    unsigned = client.post(EVENTS, data=json.dumps(payload), content_type="application/json")

    assert {unknown.status_code, wrong.status_code, unsigned.status_code} == {401}
    assert unknown.content == wrong.content == unsigned.content
    assert not Event.objects.exists() and not InboundWebhook.objects.exists()


def test_an_instance_that_polls_is_no_finder_candidate_and_says_nothing(github, user):
    github_instance(
        user, "https://app.example.com/hook", **FINDER, **{"event.vendor.type": "polling"}
    )

    response = github_post(_client(), EVENTS, issue_payload())

    assert response.status_code == 401


def test_only_a_sender_that_passes_the_check_learns_an_instance_polls(github, user):
    instance = github_instance(
        user, "https://app.example.com/hook", **{"event.vendor.type": "polling"}
    )
    client = _client()

    assert github_post(client, url(instance), issue_payload(), secret="guess").status_code == 401
    assert github_post(client, url(instance), issue_payload()).status_code == 409


def test_element_instances_skips_the_tokens_whose_check_fails(github, tenants):
    good = github_instance(tenants[0], "https://a.example.com/hook")
    other = github_instance(
        tenants[1], "https://b.example.com/hook", **{"github.webhook.secret": "other-secret"}
    )
    tokens = f"{good.webhook_token},{other.webhook_token},no-such-token"

    response = github_post(_client(), EVENTS, issue_payload(), **{"Element-Instances": tokens})

    assert response.status_code == 202
    assert response.json()["instances"] == 1
    assert list(Event.objects.values_list("instance_id", flat=True)) == [good.pk]


def test_element_instances_naming_over_100_instances_is_400(github, user):
    tokens = ",".join(f"token-{n}" for n in range(101))

    response = github_post(_client(), EVENTS, issue_payload(), **{"Element-Instances": tokens})

    assert response.status_code == 400
    assert "Element-Instances" in response.json()["message"]


def test_a_finder_routed_webhook_reads_only_the_matching_instances(github, tenants):
    owner = github_instance(tenants[0], "https://a.example.com/hook", **FINDER)
    elsewhere = github_instance(
        tenants[1], "https://b.example.com/hook", **FINDER, **{"github.owner": "globex"}
    )
    # Its secrets can no longer be read (say, the key that encrypted them was dropped): a
    # request that had to decrypt every instance of the element would fail with it.
    Instance.objects.filter(pk=elsewhere.pk).update(secrets=Value("not-a-fernet-token"))

    response = github_post(_client(), EVENTS, issue_payload())

    assert response.status_code == 202
    assert list(Event.objects.values_list("instance_id", flat=True)) == [owner.pk]


def test_an_instance_holding_a_finder_it_can_no_longer_use_is_skipped(github, tenants):
    owner = github_instance(tenants[0], "https://a.example.com/hook", **FINDER)
    stale = github_instance(tenants[1], "https://b.example.com/hook", **FINDER)
    # Written before the finder was checked on save: no "configKey|jsonPath" in it.
    stale.configuration["event.notification.instance.finder"] = "github.owner"
    Instance.objects.filter(pk=stale.pk).update(configuration=stale.configuration)

    response = github_post(_client(), EVENTS, issue_payload())

    assert response.status_code == 202
    assert list(Event.objects.values_list("instance_id", flat=True)) == [owner.pk]


def test_a_numeric_finder_value_matches_a_number_in_the_body(github, user):
    instance = github_instance(
        user,
        "https://app.example.com/hook",
        **{"event.notification.instance.finder": "github.owner|repository.owner.id"},
        **{"github.owner": 4242},
    )
    payload = {**issue_payload(), "repository": {"owner": {"id": 4242}}}

    response = github_post(_client(), EVENTS, payload)

    assert response.status_code == 202
    assert list(Event.objects.values_list("instance_id", flat=True)) == [instance.pk]


# Replays --------------------------------------------------------------------------------------


def test_a_signed_body_sent_again_under_a_new_delivery_id_is_no_second_event(github, user):
    instance = github_instance(user, "https://app.example.com/hook")
    client = _client()

    first = github_post(client, url(instance), issue_payload(), delivery="delivery-1")
    replay = github_post(client, url(instance), issue_payload(), delivery="delivery-2")

    assert (first.status_code, replay.status_code) == (202, 202)
    assert replay.json() == {"accepted": 0, "duplicates": 1, "instances": 1}
    assert Event.objects.count() == 1


def test_a_new_change_of_the_same_issue_is_a_new_event(github, user):
    instance = github_instance(user, "https://app.example.com/hook")
    client = _client()

    github_post(client, url(instance), issue_payload())
    later = github_post(
        client, url(instance), issue_payload(action="closed", updated="2026-11-28T11:00:00Z")
    )

    assert later.json()["accepted"] == 1
    assert list(Event.objects.order_by("pk").values_list("event_type", flat=True)) == [
        "CREATED",
        "UPDATED",
    ]


def test_two_different_get_webhooks_of_one_object_are_two_events(desk, user):
    instance = desk_webhook_instance(user)
    client = _client()
    changes = []
    for status in ("open", "resolved"):
        event = DESK_CUSTOM_ACTION["events"][0]
        changes.append([{**event, "record": {**event["record"], "status": status}}])

    answers = [
        client.get(
            f"/elements/api-v2/events/desk/{instance.webhook_token}",
            data={"events": json.dumps(events)},
            headers={"Authorization": basic("desk", "custom-action-password")},
        )
        for events in changes
    ]

    assert [answer.json()["accepted"] for answer in answers] == [1, 1]
    assert sorted(Event.objects.values_list("raw__status", flat=True)) == ["open", "resolved"]


# Parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [EVENTS, "token"])
def test_a_hundred_thousand_brackets_are_400(github, user, path):
    instance = github_instance(user, "https://app.example.com/hook")

    response = _client().post(
        url(instance) if path == "token" else path,
        data=b"[" * 100_000,
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "nested deeper than" in response.json()["message"]


def test_a_deeply_nested_form_value_is_400(desk, user):
    instance = desk_webhook_instance(user)

    response = _client().post(
        f"/elements/api-v2/events/desk/{instance.webhook_token}",
        data="events=" + "[" * 100_000,
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": basic("desk", "custom-action-password")},
    )

    assert response.status_code == 400
    assert "'events'" in response.json()["message"]


def test_a_deeply_nested_query_value_is_400(desk):
    response = _client().get("/elements/api-v2/events/desk", data={"events": "[" * 100_000})

    assert response.status_code == 400
    assert "nested deeper than" in response.json()["message"]


def test_a_form_value_that_only_looks_like_json_stays_text(desk, user):
    instance = desk_webhook_instance(user)

    response = _client().post(
        f"/elements/api-v2/events/desk/{instance.webhook_token}",
        data="events=[not json",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": basic("desk", "custom-action-password")},
    )

    # Parsed as text, the value holds no list of changes: the mapping says so.
    assert response.status_code == 400
    assert "expected a list of changes" in response.json()["message"]


def test_a_form_body_of_over_1000_fields_is_400(desk, user):
    instance = desk_webhook_instance(user)

    response = _client().post(
        f"/elements/api-v2/events/desk/{instance.webhook_token}",
        data="&".join(f"f{n}=x" for n in range(1001)),
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": basic("desk", "custom-action-password")},
    )

    assert response.status_code == 400
    assert "fields" in response.json()["message"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e999"])
def test_numbers_json_has_not_are_400(github, user, number):
    instance = github_instance(user, "https://app.example.com/hook")
    body = json.dumps(issue_payload()).replace('"number": 7', f'"number": {number}')

    response = _signed_post(url(instance), body.encode())

    assert response.status_code == 400
    assert not Event.objects.exists()


def test_an_over_long_delivery_id_is_stored_as_its_hash(github, user):
    instance = github_instance(user, "https://app.example.com/hook")

    response = github_post(_client(), url(instance), issue_payload(), delivery="d" * 5000)

    assert response.status_code == 202
    stored = InboundWebhook.objects.get().delivery_id
    assert stored.startswith("sha256:") and len(stored) <= 200


# Throttling ------------------------------------------------------------------------------------


def test_a_flood_from_one_address_is_429_with_retry_after(github, desk, user, settings):
    settings.TRIBUTARY_WEBHOOK_RATE = "3/minute"
    instance = github_instance(user, "https://app.example.com/hook")
    flooder = _client("203.0.113.9")

    answers = [github_post(flooder, url(instance), issue_payload()).status_code for _ in range(4)]
    refused = github_post(flooder, url(instance), issue_payload())

    assert answers == [202, 202, 202, 429]
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "too many webhook requests" in refused.json()["message"]
    # Another address, and another element from the same address, still get through.
    assert github_post(_client("203.0.113.10"), url(instance), issue_payload()).status_code == 202
    assert (
        flooder.post(
            "/elements/api-v2/events/desk/x", data=b"{}", content_type="application/json"
        ).status_code
        != 429
    )


def test_a_forwarded_for_header_does_not_escape_the_throttle(github, user, settings):
    settings.TRIBUTARY_WEBHOOK_RATE = "2/minute"
    instance = github_instance(user, "https://app.example.com/hook")
    flooder = _client("203.0.113.9")

    answers = [
        github_post(
            flooder, url(instance), issue_payload(), **{"X-Forwarded-For": f"198.51.100.{n}"}
        ).status_code
        for n in range(3)
    ]

    assert answers == [202, 202, 429]


def test_an_empty_rate_turns_the_throttle_off(github, user, settings):
    settings.TRIBUTARY_WEBHOOK_RATE = ""
    instance = github_instance(user, "https://app.example.com/hook")
    client = _client()

    answers = {github_post(client, url(instance), issue_payload()).status_code for _ in range(5)}

    assert answers == {202}


def _client(address: str = "192.0.2.1") -> Client:
    return Client(REMOTE_ADDR=address)


def _signed_post(path: str, body: bytes):
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return _client().post(
        path,
        data=body,
        content_type="application/json",
        headers={"X-GitHub-Event": "issues", "X-Hub-Signature-256": signature},
    )

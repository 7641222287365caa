import json

import pytest
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from integrations.models import Instance
from tests.api_helpers import (
    BASE,
    DESK_INSTANCE,
    MASK,
    client_for,
    create_instance,
    desk_instance_json,
)

POLLERS = "event.poller.configuration"
SECRETS = {"oauth.api.secret"}


@pytest.fixture
def api(desk, user):
    return client_for(user)


def test_it_creates_the_desk_example_instance(api):
    response = api.post(f"{BASE}/instances", DESK_INSTANCE, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["id"] == Instance.objects.get().pk
    assert body["eventsEnabled"] is True
    assert body["element"]["key"] == "desk"
    assert body["createdDate"].endswith("Z")


def test_it_renders_back_what_was_sent_with_secrets_masked(api):
    created = create_instance(api)

    body = api.get(f"{BASE}/instances/{created['id']}").json()

    assert body == created
    assert body["name"] == "Acme Desk"
    assert body["tags"] == ["support"]
    assert body["providerData"] == {"oauth_token": MASK, "secret": MASK}
    sent = DESK_INSTANCE["configuration"]
    for key, value in sent.items():
        if key != POLLERS:
            assert body["configuration"][key] == (MASK if key in SECRETS else value), key
    for name, spec in sent[POLLERS].items():
        assert body["configuration"][POLLERS][name].items() >= spec.items()


def test_it_accepts_a_trailing_slash(api):
    response = api.post(f"{BASE}/instances/", DESK_INSTANCE, format="json")

    assert response.status_code == 201
    assert api.get(f"{BASE}/instances/{response.json()['id']}/").status_code == 200


def test_it_lists_instances_newest_first(api):
    first = create_instance(api)
    second = create_instance(api, desk_instance_json())

    body = api.get(f"{BASE}/instances").json()

    assert [item["id"] for item in body["results"]] == [second["id"], first["id"]]


def test_it_turns_events_off_with_a_configuration_patch(api):
    created = create_instance(api)

    response = api.patch(
        f"{BASE}/instances/{created['id']}",
        {"configuration": {"event.notification.enabled": "false"}},
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["eventsEnabled"] is False
    assert body["configuration"]["site.address"] == "acme.desk.com"
    assert body["configuration"]["oauth.api.secret"] == MASK


def test_it_deletes_an_instance(api):
    created = create_instance(api)

    assert api.delete(f"{BASE}/instances/{created['id']}").status_code == 204
    assert api.get(f"{BASE}/instances/{created['id']}").status_code == 404


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"element": {"key": "zendesk"}}, "element.key"),
        ({"name": 42}, "name"),
        ({"tags": "support"}, "tags"),
        ({"providerData": ["token"]}, "providerData"),
        ({"configuration": "site.address=acme"}, "configuration"),
    ],
)
def test_it_names_the_top_level_key_at_fault(api, change, key):
    response = api.post(f"{BASE}/instances", {**DESK_INSTANCE, **change}, format="json")

    assert response.status_code == 400
    assert key in response.json()["errors"]


@pytest.mark.parametrize(
    ("configuration", "key"),
    [
        (
            {POLLERS: {"organizations": {"url": "/hubs/helpdesk/organizations"}}},
            f"configuration.{POLLERS}.organizations.idField",
        ),
        (
            {POLLERS: {"incidents": {"url": "/hubs/helpdesk/incidents?where=x>'${nope}'"}}},
            f"configuration.{POLLERS}.incidents.url",
        ),
        (
            {"event.poller.refresh_interval": "often"},
            "configuration.event.poller.refresh_interval",
        ),
        ({"event.notification.enabled": "yes"}, "configuration.event.notification.enabled"),
        ({POLLERS: "{not json"}, f"configuration.{POLLERS}"),
        ({"site.address": None}, "configuration.site.address"),
    ],
)
def test_it_names_the_configuration_key_at_fault(api, configuration, key):
    response = api.post(f"{BASE}/instances", desk_instance_json(**configuration), format="json")

    assert response.status_code == 400
    body = response.json()
    assert key in body["errors"], body
    assert key in body["message"]


def test_it_answers_bad_json_with_400(api):
    response = api.post(
        f"{BASE}/instances", '{"element": {"key": "desk"', content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["message"]


def test_it_answers_a_json_array_with_400(api):
    response = api.post(f"{BASE}/instances", [1, 2], format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "non_field_errors": ["the instance JSON must be an object, got [1, 2]"]
    }


def test_it_refuses_a_form_body_with_415(api):
    response = api.post(f"{BASE}/instances", {"name": "x"})

    assert response.status_code == 415
    assert response.json()["errors"] == {}


def test_it_refuses_a_body_over_one_mebibyte_with_413(api):
    body = json.dumps({"name": "x" * (1024 * 1024)})

    response = api.post(f"{BASE}/instances", body, content_type="application/json")

    assert response.status_code == 413
    assert "larger than" in response.json()["message"]


def test_it_answers_401_without_a_token(desk):
    response = client_for().get(f"{BASE}/instances")

    assert response.status_code == 401
    assert response.json() == {
        "message": "Authentication credentials were not provided.",
        "errors": {},
    }


def test_it_answers_401_for_a_wrong_token(desk):
    client = client_for()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    assert client.get(f"{BASE}/instances").status_code == 401


def test_it_answers_an_unknown_path_with_json_404(api):
    response = api.get(f"{BASE}/nothing/here")

    assert response.status_code == 404
    assert "message" in response.json()


def test_it_answers_a_wrong_method_with_json_405(api):
    response = api.put(f"{BASE}/instances", {}, format="json")

    assert response.status_code == 405
    assert response.json()["message"] == 'Method "PUT" not allowed.'


def test_it_throttles_per_token_with_retry_after(api, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/minute"})
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/minute"})
    api.get(f"{BASE}/instances")
    api.get(f"{BASE}/instances")

    response = api.get(f"{BASE}/instances")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "throttled" in response.json()["message"]


def test_it_answers_a_path_with_a_newline_with_json_404(api):
    response = api.get(f"{BASE}/instances/x/pollers/%0A")

    assert response.status_code == 404
    assert "message" in response.json()

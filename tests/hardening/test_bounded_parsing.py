"""JSON nested without end, posted to the Apps API or typed into the admin, is refused with a
400 or a form error that names the limit, never a server error from the recursive parser."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from core.json import DEFAULT_MAX_DEPTH
from integrations.models import Element, Instance
from tests.api_helpers import BASE, DESK_INSTANCE, client_for
from tests.factories import InstanceFactory, PollerObjectFactory

DEEP = "[" * 100_000
TOO_DEEP = "deeper than 64 levels"


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.fixture
def instance(desk, user):
    instance = InstanceFactory(element=desk, owner=user)
    PollerObjectFactory(instance=instance, name="incidents")
    return instance


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_the_api_asks_an_anonymous_client_for_credentials(desk, accept):
    response = client_for().post(
        f"{BASE}/instances", DEEP, content_type="application/json", HTTP_ACCEPT=accept
    )

    assert response.status_code == 401


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/instances"),
        ("patch", "/instances/{instance}"),
        ("patch", "/instances/{instance}/pollers/incidents"),
        ("post", "/instances/{instance}/deliveries/redeliver"),
    ],
)
def test_the_api_refuses_a_body_nested_without_end(user, instance, method, path, accept):
    client = client_for(user)

    response = getattr(client, method)(
        BASE + path.format(instance=instance.pk),
        DEEP,
        content_type="application/json",
        HTTP_ACCEPT=accept,
    )

    assert response.status_code == 400
    if accept == "application/json":
        assert response.json() == {
            "message": f"The request body is refused: the JSON is nested deeper than "
            f"{DEFAULT_MAX_DEPTH} levels; send a flatter document.",
            "errors": {},
        }


def test_the_api_refuses_element_definitions_nested_without_end(staff):
    response = client_for(staff).post(f"{BASE}/elements", DEEP, content_type="application/json")

    assert response.status_code == 400
    assert TOO_DEEP in response.json()["message"]
    assert not Element.objects.exists()


def test_the_api_reads_a_body_nested_up_to_the_limit(desk, user):
    body = json.dumps({**DESK_INSTANCE, "tags": nested(DEFAULT_MAX_DEPTH - 1)})

    response = client_for(user).post(f"{BASE}/instances", body, content_type="application/json")

    # Parsed, then refused by the instance JSON's own rules, naming the key.
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["tags[0]"]


def test_the_api_refuses_one_level_more(desk, user):
    body = json.dumps({**DESK_INSTANCE, "tags": nested(DEFAULT_MAX_DEPTH)})

    response = client_for(user).post(f"{BASE}/instances", body, content_type="application/json")

    assert response.status_code == 400
    assert TOO_DEEP in response.json()["message"]
    assert not Instance.objects.exists()


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def test_the_admin_refuses_an_element_definition_nested_without_end(admin_client, desk):
    before = desk.definition
    url = reverse("admin:integrations_element_change", args=[desk.pk])

    response = admin_client.post(url, {"definition": DEEP})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["definition"] == [
        f"The JSON is nested deeper than {DEFAULT_MAX_DEPTH} levels."
    ]
    desk.refresh_from_db()
    assert desk.definition == before


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("configuration", f"The JSON is nested deeper than {DEFAULT_MAX_DEPTH} levels."),
        ("poller_configuration", f"The JSON is nested deeper than {DEFAULT_MAX_DEPTH} levels."),
        (
            "replace_secrets",
            f"The JSON is nested deeper than {DEFAULT_MAX_DEPTH} levels. Enter a JSON object "
            'such as {"key": "new value"}; it was not kept, type it again.',
        ),
        (
            "replace_provider_data",
            f"The JSON is nested deeper than {DEFAULT_MAX_DEPTH} levels. Enter a JSON object "
            'such as {"key": "new value"}; it was not kept, type it again.',
        ),
    ],
)
def test_the_admin_refuses_instance_json_nested_without_end(admin_client, instance, field, message):
    url = reverse("admin:integrations_instance_change", args=[instance.pk])
    data = {
        "name": instance.name,
        "element": instance.element_id,
        "owner": instance.owner_id,
        "tags": "[]",
        "configuration": json.dumps(instance.configuration),
        "poller_objects-TOTAL_FORMS": "0",
        "poller_objects-INITIAL_FORMS": "0",
        field: DEEP,
    }

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [message]

"""Fuzzing the interfaces the OpenAPI run (tests/test_schema.py) does not reach: the inbound
webhook intake and the admin's instance forms. Whatever arrives, the answer is never a
server error."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from integrations.elements import ELEMENTS_DIR, element_upsert, read_element_file
from integrations.instances import instance_create
from tests.factories import UserFactory

FUZZ = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)
# Bodies as a provider, a scanner or an attacker might send them.
bodies = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=300),
    st.integers(min_value=1, max_value=5000).map(lambda depth: b"[" * depth),
    st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")[:300]),
)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300)


@pytest.fixture
def webhook_elements(db, desk):
    github, _ = element_upsert(definition=read_element_file(ELEMENTS_DIR / "github.json"))
    owner = UserFactory()
    instance = instance_create(
        owner=owner,
        data={
            "element": {"key": "github"},
            "name": "Fuzzed repo",
            "configuration": {
                "github.owner": "acme",
                "github.repo": "widgets",
                "github.token": "ghp_example",
                "github.webhook.secret": "fuzz-secret",
                "event.notification.enabled": "true",
                "event.vendor.type": "webhook",
                "event.notification.callback.url": "https://app.example.com/hooks",
                "event.notification.instance.finder": "github.owner|repository.owner.login",
            },
        },
    )
    return instance


@FUZZ
@given(
    element=st.sampled_from(["github", "desk", "nope", "github/../desk"]),
    with_token=st.booleans(),
    body=bodies,
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "text/plain", ""]
    ),
    event=header_values,
    signature=header_values,
    delivery=header_values,
    query=st.dictionaries(st.text(max_size=10), st.text(max_size=60), max_size=3),
)
@example(
    element="github",
    with_token=False,
    body=b"[" * 100_000,
    content_type="application/json",
    event="issues",
    signature="sha256=00",
    delivery="d" * 300,
    query={"payload": "[" * 5000},
)
def test_the_webhook_intake_never_answers_a_server_error(
    client,
    webhook_elements,
    element,
    with_token,
    body,
    content_type,
    event,
    signature,
    delivery,
    query,
):
    cache.clear()  # the intake's throttle counts per address: every example starts afresh
    path = f"/elements/api-v2/events/{element}"
    if with_token:
        path += f"/{webhook_elements.webhook_token}"

    response = client.post(
        path,
        data=body,
        content_type=content_type,
        query_params=query,
        HTTP_X_GITHUB_EVENT=event,
        HTTP_X_HUB_SIGNATURE_256=signature,
        HTTP_X_GITHUB_DELIVERY=delivery,
    )

    assert response.status_code < 500, response.content[:500]


@pytest.fixture
def admin_client_logged_in(client, desk):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


form_text = st.one_of(
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.integers(min_value=1, max_value=5000).map(lambda depth: "[" * depth),
)


@FUZZ
@given(
    name=st.text(max_size=250),
    tags=form_text,
    configuration=form_text,
    poller_configuration=form_text,
    replace_secrets=form_text,
    replace_provider_data=form_text,
    callback_url=st.text(max_size=300),
    refresh_interval=st.text(max_size=30),
    events_enabled=st.booleans(),
    vendor_type=st.sampled_from(["polling", "webhook", "carrier-pigeon"]),
)
@example(
    name="Deep",
    tags="[" * 5000,
    configuration="{" + '"a":' * 5000,
    poller_configuration="[" * 5000,
    replace_secrets="[" * 5000,
    replace_provider_data="[" * 5000,
    callback_url="https://app.example.com/hooks",
    refresh_interval="0",
    events_enabled=True,
    vendor_type="polling",
)
def test_the_admin_instance_form_never_answers_a_server_error(
    admin_client_logged_in,
    desk,
    name,
    tags,
    configuration,
    poller_configuration,
    replace_secrets,
    replace_provider_data,
    callback_url,
    refresh_interval,
    events_enabled,
    vendor_type,
):
    owner = UserFactory()
    form = {
        "name": name,
        "element": desk.pk,
        "owner": owner.pk,
        "tags": tags,
        "configuration": configuration,
        "poller_configuration": poller_configuration,
        "replace_secrets": replace_secrets,
        "replace_provider_data": replace_provider_data,
        "callback_url": callback_url,
        "refresh_interval": refresh_interval,
        "vendor_type": vendor_type,
        "poller_objects-TOTAL_FORMS": "0",
        "poller_objects-INITIAL_FORMS": "0",
    }
    if events_enabled:
        form["events_enabled"] = "on"

    response = admin_client_logged_in.post("/admin/integrations/instance/add/", form)

    assert response.status_code < 500, response.content[:500]

"""The admin refuses what the Apps API refuses, in the same words: the add form (POST
/instances), the change form (PATCH /instances/{id}) and the "Turn events on" bulk action
(PATCH with event.notification.enabled) against the same bad settings."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from typing import Any

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.urls import reverse

from integrations.instances import render_instance
from integrations.models import Element, Instance
from tests.api_helpers import BASE, client_for, create_instance, desk_instance_json
from tests.factories import InstanceFactory

PUBLIC = "93.184.216.34"
ENABLED = "event.notification.enabled"
CALLBACK_URL = "event.notification.callback.url"
HEADERS = "event.notification.callback.headers"
SIGNATURE_KEY = "event.notification.signature.key"
# The configuration keys the instance form shows as fields of their own.
KEY_FIELDS = {
    ENABLED: "events_enabled",
    "event.vendor.type": "vendor_type",
    CALLBACK_URL: "callback_url",
    "event.poller.refresh_interval": "refresh_interval",
    "event.poller.configuration": "poller_configuration",
}


@dataclass(frozen=True)
class Case:
    """Bad settings: configuration keys as the instance JSON gives them (None: left out)."""

    configuration: dict[str, Any]
    in_box: bool = False  # typed into the admin's configuration JSON, not into a field
    private_urls: bool = True  # TRIBUTARY_ALLOW_PRIVATE_URLS
    stored: dict[str, Any] = field(default_factory=dict)  # the same, as an old row holds it


CASES = {
    "refresh interval 0 in the configuration JSON": Case(
        {"event.poller.refresh_interval": 0}, in_box=True, stored={"refresh_interval": 0}
    ),
    "refresh interval 0 in its field": Case({"event.poller.refresh_interval": "0"}),
    "events on without a callback URL": Case({CALLBACK_URL: None}, stored={"callback_url": ""}),
    "an unknown event key": Case({"event.notifcation.batch.size": "5"}),
    "a batch size out of range": Case({"event.notification.batch.size": "0"}),
    "a batch size that is not a number": Case({"event.notification.batch.size": "many"}),
    "callback headers that are not a JSON object": Case(
        {"event.notification.callback.headers": '["X-Api-Key"]'}
    ),
    "a callback header value outside Latin-1": Case({HEADERS: {"X-Price": "€ 10"}}),
    "a callback header value with a line break": Case({HEADERS: {"X-Team": "a\r\nX-Admin: 1"}}),
    "a callback header name with a space": Case({HEADERS: {"Bad Name": "x"}}),
    "a callback header Tributary sets for the signature": Case(
        {HEADERS: {"webhook-signature": "v1,forged"}}
    ),
    "a callback header that frames the request": Case({HEADERS: {"Content-Length": "0"}}),
    "an Authorization header besides Basic auth": Case(
        {HEADERS: {"Authorization": "Bearer t"}, "event.notification.basic.username": "app"}
    ),
    "a Basic auth username with a colon": Case({"event.notification.basic.username": "a:b"}),
    "a whsec_ key with nothing after the prefix": Case({SIGNATURE_KEY: "whsec_"}),
    "a whsec_ key that is not base64": Case({SIGNATURE_KEY: "whsec_my-signing-key!"}),
    "a callback URL with masked credentials": Case(
        {CALLBACK_URL: "https://********@x.io/h"},
        stored={"callback_url": "https://********@x.io/h"},
    ),
    "a callback URL to a private address": Case(
        {CALLBACK_URL: "http://10.0.0.7/hook"},
        private_urls=False,
        stored={"callback_url": "http://10.0.0.7/hook"},
    ),
}


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def api(desk, user):
    return client_for(user)


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    """Every hostname resolves to a public address: only the addresses a case names are
    private."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host.replace(".", "").isdigit() or ":" in host:
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, int(port or 80)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def api_messages(response) -> set[str]:
    """The API's refusal as "<configuration key>: <problem>" lines."""
    assert response.status_code == 400, response.content
    return {
        f"{key.removeprefix('configuration.')}: {problem}"
        for key, problems in response.json()["errors"].items()
        for problem in problems
    }


def form_messages(response) -> set[str]:
    assert response.status_code == 200, "the admin saved what the API refused"
    form = response.context["adminform"].form
    return {message for messages in form.errors.values() for message in messages}


def with_case(form_data: dict[str, Any], case: Case) -> dict[str, Any]:
    """``form_data`` with the case's settings typed where an operator types them."""
    data = dict(form_data)
    box = json.loads(data["configuration"] or "{}")
    for key, value in case.configuration.items():
        name = None if case.in_box else KEY_FIELDS.get(key)
        if name == "events_enabled":
            data.pop(name, None)
            if value in (True, "true"):
                data[name] = "on"
        elif name:
            data[name] = "" if value is None else str(value)
        elif value is None:
            box.pop(key, None)
        else:
            box[key] = value
    data["configuration"] = json.dumps(box)
    return data


def add_form_data(instance_json: dict[str, Any], owner) -> dict[str, Any]:
    """The add form filled in with an instance JSON: the keys with a field of their own in
    it, the secrets in Replace secrets, the rest in the configuration JSON."""
    element = Element.objects.get(key=instance_json["element"]["key"])
    data = {
        "name": instance_json["name"],
        "element": element.pk,
        "owner": owner.pk,
        "tags": json.dumps(instance_json["tags"]),
        "vendor_type": "polling",
        "configuration": "{}",
        "replace_provider_data": json.dumps(instance_json["providerData"]),
    }
    configuration = dict(instance_json["configuration"])
    secrets = {key: configuration.pop(key) for key in list(configuration) if "secret" in key}
    data["replace_secrets"] = json.dumps(secrets)
    pollers = configuration.pop("event.poller.configuration", None)
    data["poller_configuration"] = json.dumps(pollers) if pollers else ""
    return with_case(data, Case(configuration))


def change_form_data(client, instance: Instance) -> dict[str, Any]:
    """The change page's form as it is shown, ready to post back."""
    response = client.get(reverse("admin:integrations_instance_change", args=[instance.pk]))
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name, form_field in form.fields.items():
        value = form[name].value()
        if isinstance(form_field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    data.update(replace_secrets="", replace_provider_data="")
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
    return data


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_add_form_refuses_what_post_refuses_in_the_same_words(
    api, admin_client, user, settings, case
):
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = case.private_urls
    instance_json = desk_instance_json()
    data = add_form_data(instance_json, user)
    instance_json["configuration"].update(case.configuration)

    refused = api_messages(api.post(f"{BASE}/instances", instance_json, format="json"))
    response = admin_client.post(reverse("admin:integrations_instance_add"), with_case(data, case))

    assert form_messages(response) == refused
    assert Instance.objects.count() == 0


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_change_form_refuses_what_patch_refuses_in_the_same_words(
    api, admin_client, settings, case
):
    instance = Instance.objects.get(pk=create_instance(api)["id"])
    before = render_instance(instance)
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = case.private_urls
    data = change_form_data(admin_client, instance)

    refused = api_messages(
        api.patch(
            f"{BASE}/instances/{instance.pk}",
            {"configuration": case.configuration},
            format="json",
        )
    )
    response = admin_client.post(
        reverse("admin:integrations_instance_change", args=[instance.pk]), with_case(data, case)
    )

    assert form_messages(response) == refused
    assert render_instance(Instance.objects.get(pk=instance.pk)) == before


def old_admin_row(case: Case, owner) -> Instance:
    """An instance as the admin used to save it, unchecked, with the case's settings."""
    columns = dict(case.stored)
    configuration = {"site.address": "acme.desk.com", "oauth.api.key": "consumer-key"}
    if not columns:
        configuration.update(case.configuration)
    return InstanceFactory(owner=owner, configuration=configuration, **columns)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_turn_events_on_refuses_what_patch_refuses_in_the_same_words(
    api, admin_client, user, settings, case
):
    settings.TRIBUTARY_ALLOW_PRIVATE_URLS = case.private_urls
    bad = old_admin_row(case, user)
    good = InstanceFactory(owner=user)
    refused = api_messages(
        api.patch(
            f"{BASE}/instances/{bad.pk}",
            {"configuration": {ENABLED: "true"}},
            format="json",
        )
    )

    response = admin_client.post(
        reverse("admin:integrations_instance_changelist"),
        {"action": "turn_events_on", "_selected_action": [bad.pk, good.pk]},
    )

    shown = [str(message) for message in get_messages(response.wsgi_request)]
    prefix = f"Events were not turned on for {bad}: "
    refusals = [message.removeprefix(prefix) for message in shown if message.startswith(prefix)]
    assert set(refusals) == refused
    assert "Events turned on for 1 instance(s)." in shown
    assert Instance.objects.get(pk=bad.pk).events_enabled is False
    assert Instance.objects.get(pk=good.pk).events_enabled is True

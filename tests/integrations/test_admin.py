from __future__ import annotations

import json

import pytest
import responses
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.instances import poller_configuration_render
from integrations.models import Element, Instance, PollerObject
from tests.factories import InstanceFactory, PollerObjectFactory

CONSUMER_SECRET = "consumer-secret-5f1c9e"
SIGNATURE_KEY = "signature-key-8d2a47"
ACCESS_TOKEN = "access-token-3b7e60"


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def instance(desk, user):
    return InstanceFactory(
        element=desk,
        owner=user,
        secrets={
            "oauth.api.secret": CONSUMER_SECRET,
            "event.notification.signature.key": SIGNATURE_KEY,
        },
        provider_data={"oauth_token": ACCESS_TOKEN, "secret": "access-secret"},
    )


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def instance_form_data(instance: Instance, **overrides) -> dict:
    data = {
        "name": instance.name,
        "element": instance.element_id,
        "owner": instance.owner_id,
        "tags": json.dumps(instance.tags),
        "configuration": json.dumps(instance.configuration),
        "vendor_type": instance.vendor_type,
        "callback_url": instance.callback_url,
        "refresh_interval": "",
        "poller_configuration": json.dumps(poller_configuration_render(instance) or None),
        "replace_secrets": "",
        "replace_provider_data": "",
        "poller_objects-TOTAL_FORMS": "0",
        "poller_objects-INITIAL_FORMS": "0",
        "poller_objects-MIN_NUM_FORMS": "0",
        "poller_objects-MAX_NUM_FORMS": "1000",
    }
    if instance.events_enabled:
        data["events_enabled"] = "on"
    data.update(overrides)
    return data


def reloaded(instance: Instance) -> Instance:
    return Instance.objects.get(pk=instance.pk)


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:integrations_element_changelist",
        "admin:integrations_element_add",
        "admin:integrations_element_change",
        "admin:integrations_instance_changelist",
        "admin:integrations_instance_add",
        "admin:integrations_instance_change",
        "admin:integrations_pollerobject_changelist",
        "admin:integrations_pollerobject_change",
    ],
)
def test_it_renders_every_integrations_page_with_data_present(admin_client, instance, url_name):
    poller = PollerObjectFactory(instance=instance, last_result={"records": 3})
    args = None
    if url_name.endswith("_change"):
        pks = {"element": instance.element_id, "instance": instance.pk, "pollerobject": poller.pk}
        args = [pks[url_name.split("_")[1]]]

    response = admin_client.get(reverse(url_name, args=args))

    assert response.status_code == 200


def test_it_titles_the_site_tributary_administration(admin_client):
    response = admin_client.get(reverse("admin:index"))

    assert "Tributary administration" in response.content.decode()


def test_it_creates_an_element_from_its_definition(admin_client, desk):
    definition = {**desk.definition, "key": "desk-eu", "name": "Desk EU"}

    admin_client.post(
        reverse("admin:integrations_element_add"), {"definition": json.dumps(definition)}
    )

    element = Element.objects.get(key="desk-eu")
    assert (element.name, element.hub, element.definition) == ("Desk EU", "helpdesk", definition)


def test_it_shows_the_definition_pretty_printed(admin_client, desk):
    response = admin_client.get(change_url(desk))

    assert "\n  &quot;key&quot;: &quot;desk&quot;,\n" in response.content.decode()


def test_it_reports_invalid_element_json_by_line_and_column_and_saves_nothing(admin_client, desk):
    before = desk.definition

    response = admin_client.post(change_url(desk), {"definition": '{\n  "key": "desk",\n  oops\n}'})

    assert "Invalid JSON at line 3, column 3" in response.content.decode()
    desk.refresh_from_db()
    assert desk.definition == before


def test_it_creates_no_element_from_invalid_json(admin_client, desk):
    admin_client.post(reverse("admin:integrations_element_add"), {"definition": "{not json"})

    assert list(Element.objects.values_list("key", flat=True)) == ["desk"]


def test_it_shows_definition_problems_as_form_errors(admin_client, desk):
    definition = {key: value for key, value in desk.definition.items() if key != "hub"}

    response = admin_client.post(change_url(desk), {"definition": json.dumps(definition)})

    assert "hub: required" in response.content.decode()
    desk.refresh_from_db()
    assert desk.definition["hub"] == "helpdesk"


def test_it_refuses_a_definition_whose_key_is_not_the_elements(admin_client, desk):
    definition = {**desk.definition, "key": "zendesk", "name": "Renamed"}

    response = admin_client.post(change_url(desk), {"definition": json.dumps(definition)})

    assert "does not match this element" in response.content.decode()
    desk.refresh_from_db()
    assert (desk.key, desk.name) == ("desk", "Desk.com")


def test_it_counts_instances_in_the_element_list(admin_client, desk):
    InstanceFactory.create_batch(3, element=desk)

    response = admin_client.get(reverse("admin:integrations_element_changelist"))

    assert '<td class="field-instance_count">3</td>' in response.content.decode()


@pytest.mark.parametrize("page", ["change", "changelist"])
def test_it_never_renders_secret_values(admin_client, instance, page):
    if page == "change":
        url = change_url(instance)
    else:
        url = reverse("admin:integrations_instance_changelist")

    html = admin_client.get(url).content.decode()

    assert instance.name in html
    for secret in (CONSUMER_SECRET, SIGNATURE_KEY, ACCESS_TOKEN, "access-secret"):
        assert secret not in html


def test_it_lists_which_secrets_are_set(admin_client, instance):
    html = admin_client.get(change_url(instance)).content.decode()

    assert "<code>oauth.api.secret</code>: set" in html
    assert "<code>event.notification.signature.key</code>: set" in html
    assert "<code>oauth_token</code>: set" in html


def test_it_shows_the_webhook_token(admin_client, instance):
    html = admin_client.get(change_url(instance)).content.decode()

    assert instance.webhook_token in html


def test_it_replaces_one_secret_and_keeps_the_others(admin_client, instance):
    data = instance_form_data(
        instance, replace_secrets=json.dumps({"oauth.api.secret": "new-consumer-secret"})
    )

    response = admin_client.post(change_url(instance), data)

    assert response.status_code == 302
    assert reloaded(instance).secrets == {
        "oauth.api.secret": "new-consumer-secret",
        "event.notification.signature.key": SIGNATURE_KEY,
    }


def test_it_removes_a_secret_replaced_by_null(admin_client, instance):
    data = instance_form_data(
        instance, replace_secrets=json.dumps({"event.notification.signature.key": None})
    )

    admin_client.post(change_url(instance), data)

    assert reloaded(instance).secrets == {"oauth.api.secret": CONSUMER_SECRET}


def test_it_keeps_secrets_and_provider_data_when_replacements_are_empty(admin_client, instance):
    admin_client.post(change_url(instance), instance_form_data(instance, name="Renamed"))

    saved = reloaded(instance)
    assert saved.name == "Renamed"
    assert saved.secrets["oauth.api.secret"] == CONSUMER_SECRET
    assert saved.provider_data == {"oauth_token": ACCESS_TOKEN, "secret": "access-secret"}


def test_it_replaces_provider_data_entirely(admin_client, instance):
    data = instance_form_data(instance, replace_provider_data=json.dumps({"oauth_token": "t2"}))

    admin_client.post(change_url(instance), data)

    assert reloaded(instance).provider_data == {"oauth_token": "t2"}


def test_it_moves_a_secret_key_typed_into_configuration_to_secrets(admin_client, instance):
    configuration = {**instance.configuration, "event.notification.signature.key": "typed-key"}

    admin_client.post(
        change_url(instance),
        instance_form_data(instance, configuration=json.dumps(configuration)),
    )

    saved = reloaded(instance)
    assert "event.notification.signature.key" not in saved.configuration
    assert saved.secrets["event.notification.signature.key"] == "typed-key"


def test_it_refuses_a_configuration_value_that_is_an_object(admin_client, instance):
    configuration = {"site.address": {"host": "acme.desk.com"}}

    response = admin_client.post(
        change_url(instance),
        instance_form_data(instance, configuration=json.dumps(configuration)),
    )

    assert "site.address: must be a string, a number or true/false" in response.content.decode()
    assert reloaded(instance).configuration["site.address"] == "acme.desk.com"


def test_it_does_not_echo_typed_secrets_after_an_error(admin_client, instance):
    data = instance_form_data(
        instance,
        name="",
        replace_secrets=json.dumps({"oauth.api.secret": "typed-secret-77"}),
    )

    response = admin_client.post(change_url(instance), data)

    assert response.status_code == 200
    assert "typed-secret-77" not in response.content.decode()


def test_it_stamps_events_enabled_at_when_the_form_turns_events_on(admin_client, instance):
    admin_client.post(change_url(instance), instance_form_data(instance, events_enabled="on"))

    saved = reloaded(instance)
    assert saved.events_enabled is True
    assert saved.events_enabled_at is not None


def test_it_creates_an_instance_for_the_owner_it_chooses(admin_client, desk, user):
    data = {
        "name": "Acme desk",
        "element": desk.pk,
        "owner": user.pk,
        "tags": '["support"]',
        "configuration": json.dumps({"site.address": "acme.desk.com", "oauth.api.key": "ck"}),
        "vendor_type": "polling",
        "callback_url": "https://app.example.com/hooks/desk",
        "refresh_interval": "5",
        "events_enabled": "on",
        "replace_secrets": json.dumps({"oauth.api.secret": CONSUMER_SECRET}),
        "replace_provider_data": json.dumps({"oauth_token": ACCESS_TOKEN, "secret": "s"}),
    }

    response = admin_client.post(reverse("admin:integrations_instance_add"), data)

    assert response.status_code == 302
    created = Instance.objects.get()
    assert (created.owner, created.name, created.refresh_interval) == (user, "Acme desk", 5)
    assert created.secrets == {"oauth.api.secret": CONSUMER_SECRET}
    assert created.events_enabled_at is not None
    assert sorted(created.poller_objects.values_list("name", flat=True)) == [
        "contacts",
        "incidents",
    ]


@responses.activate
def test_it_stores_provider_data_as_given_without_calling_the_provider(admin_client, instance):
    given = {"oauth_token": "request-token", "oauth_verifier": "verifier", "secret": "s"}

    admin_client.post(
        change_url(instance),
        instance_form_data(instance, replace_provider_data=json.dumps(given)),
    )

    assert reloaded(instance).provider_data == given
    assert len(responses.calls) == 0


def test_it_hands_an_instance_to_another_owner(admin_client, instance, staff):
    admin_client.post(change_url(instance), instance_form_data(instance, owner=staff.pk))

    assert reloaded(instance).owner == staff


def test_it_keeps_the_poll_state_of_resources_it_keeps(admin_client, instance):
    poller = PollerObjectFactory(instance=instance, consecutive_failures=2, last_error="503")

    response = admin_client.post(change_url(instance), instance_form_data(instance))

    assert response.status_code == 302
    kept = PollerObject.objects.get(pk=poller.pk)
    assert (kept.consecutive_failures, kept.last_error) == (2, "503")


def test_it_adds_a_resource_in_the_poller_configuration(admin_client, instance):
    PollerObjectFactory(instance=instance)
    pollers = poller_configuration_render(instance)
    pollers["contacts"] = {"url": "/hubs/helpdesk/contacts", "idField": "id"}

    admin_client.post(
        change_url(instance),
        instance_form_data(instance, poller_configuration=json.dumps(pollers)),
    )

    assert sorted(instance.poller_objects.values_list("name", flat=True)) == [
        "contacts",
        "incidents",
    ]


def test_it_refuses_a_bad_resource_in_the_poller_configuration(admin_client, instance):
    poller = PollerObjectFactory(instance=instance)
    pollers = {"incidents": {"url": "/hubs/helpdesk/incidents", "idField": "id", "lookback": -1}}

    response = admin_client.post(
        change_url(instance),
        instance_form_data(instance, poller_configuration=json.dumps(pollers)),
    )

    form = response.context["adminform"].form
    assert form.errors["poller_configuration"] == [
        "event.poller.configuration.incidents.lookback: must be a whole number of at least 0, "
        "got -1"
    ]
    assert PollerObject.objects.get(pk=poller.pk).lookback == 60


def test_the_poller_objects_inline_changes_nothing(admin_client, instance):
    poller = PollerObjectFactory(instance=instance, page_size=100)
    data = instance_form_data(
        instance,
        **{
            "poller_objects-TOTAL_FORMS": "1",
            "poller_objects-INITIAL_FORMS": "1",
            "poller_objects-0-id": str(poller.pk),
            "poller_objects-0-instance": str(instance.pk),
            "poller_objects-0-url": "/hubs/helpdesk/contacts",
            "poller_objects-0-page_size": "0",
        },
    )

    admin_client.post(change_url(instance), data)

    kept = PollerObject.objects.get(pk=poller.pk)
    assert (kept.url, kept.page_size) == (poller.url, 100)


def test_it_pauses_a_poller_object_on_its_page_and_nothing_else(admin_client, instance):
    poller = PollerObjectFactory(instance=instance)

    response = admin_client.post(
        change_url(poller), {"url": "/hubs/helpdesk/contacts", "lookback": "0"}
    )

    assert response.status_code == 302
    paused = PollerObject.objects.get(pk=poller.pk)
    assert (paused.enabled, paused.url, paused.lookback) == (False, poller.url, 60)


def test_it_says_where_a_poller_objects_configuration_is_edited(admin_client, instance):
    poller = PollerObjectFactory(instance=instance)

    html = admin_client.get(change_url(poller)).content.decode()

    assert "Poller configuration (event.poller.configuration)" in html
    assert "&quot;idField&quot;: &quot;id&quot;" in html


def test_it_offers_no_page_to_add_a_poller_object(admin_client, instance):
    response = admin_client.get(reverse("admin:integrations_pollerobject_add"))

    assert response.status_code == 403


def run_action(client, action: str, *instances: Instance):
    return client.post(
        reverse("admin:integrations_instance_changelist"),
        {"action": action, "_selected_action": [i.pk for i in instances]},
    )


def test_it_turns_events_on(admin_client, instance):
    run_action(admin_client, "turn_events_on", instance)

    saved = reloaded(instance)
    assert saved.events_enabled is True
    assert saved.events_enabled_at is not None


def test_it_turns_events_on_only_where_the_api_would(admin_client, instance, desk, user):
    without_url = InstanceFactory(element=desk, owner=user, name="No URL", callback_url="")

    response = run_action(admin_client, "turn_events_on", instance, without_url)

    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert shown == [
        f"Events were not turned on for {without_url}: event.notification.callback.url: "
        "required when events are enabled",
        "Events turned on for 1 instance(s).",
    ]
    assert (reloaded(instance).events_enabled, reloaded(without_url).events_enabled) == (
        True,
        False,
    )


def test_it_keeps_the_enabled_time_of_instances_already_on(admin_client, instance):
    run_action(admin_client, "turn_events_on", instance)
    first = reloaded(instance).events_enabled_at

    run_action(admin_client, "turn_events_on", instance)

    assert reloaded(instance).events_enabled_at == first


def test_it_turns_events_off(admin_client, instance):
    run_action(admin_client, "turn_events_on", instance)

    run_action(admin_client, "turn_events_off", instance)

    assert reloaded(instance).events_enabled is False


def test_it_rotates_the_webhook_token(admin_client, instance):
    run_action(admin_client, "rotate_webhook_token", instance)

    assert reloaded(instance).webhook_token != instance.webhook_token


def test_it_finds_an_instance_by_id(admin_client, instance):
    Instance.objects.filter(pk=instance.pk).update(name="Acme desk")
    other = InstanceFactory(element=instance.element, owner=instance.owner, name="Other desk")

    response = admin_client.get(
        reverse("admin:integrations_instance_changelist"), {"q": str(other.pk)}
    )

    html = response.content.decode()
    assert "Other desk" in html
    assert "Acme desk" not in html


def changelist_queries(client, url_name: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(url_name))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:integrations_element_changelist",
        "admin:integrations_instance_changelist",
        "admin:integrations_pollerobject_changelist",
    ],
)
def test_it_lists_with_a_constant_number_of_queries(admin_client, desk, user, url_name):
    def add_rows(count: int) -> None:
        for _ in range(count):
            PollerObjectFactory(instance=InstanceFactory(element=desk, owner=user))

    add_rows(2)
    few = changelist_queries(admin_client, url_name)
    add_rows(10)

    assert changelist_queries(admin_client, url_name) == few


def test_it_checks_the_event_fields_when_the_configuration_box_is_empty(admin_client, desk, user):
    data = {
        "name": "Acme desk",
        "element": desk.pk,
        "owner": user.pk,
        "configuration": "",
        "vendor_type": "polling",
        "events_enabled": "on",
    }

    response = admin_client.post(reverse("admin:integrations_instance_add"), data)

    assert response.context["adminform"].form.errors == {
        "configuration": ["site.address: required"],
        "callback_url": ["event.notification.callback.url: required when events are enabled"],
    }

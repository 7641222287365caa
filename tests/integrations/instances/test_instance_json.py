import copy
import json

import pytest
import responses
from django.utils import timezone

from integrations.elements import element_upsert
from integrations.instances import (
    InstanceJSONError,
    instance_create,
    instance_json_parse,
    instance_update,
    render_instance,
)
from integrations.models import Instance, PollerObject

INCIDENTS_URL = "/hubs/helpdesk/incidents?where=updated_at>'${date:yyyy-MM-dd'T'HH:mm:ssXXX}'"
CONTACTS_URL = "/hubs/helpdesk/contacts?where=updated_at>'${date:yyyy-MM-dd'T'HH:mm:ssXXX}'"
ACCESS_TOKEN_URL = "https://acme.desk.com/oauth/access_token"


def desk_json(**configuration):
    """The Desk example of the reference (section 2b), with the site address Desk needs."""
    data = {
        "element": {"key": "desk"},
        "providerData": {
            "oauth_token": "request-token",
            "oauth_verifier": "verifier-1",
            "secret": "request-secret",
        },
        "configuration": {
            "oauth.api.key": "desk-api-key",
            "oauth.api.secret": "desk-api-secret",
            "oauth.callback.url": "https://app.example.com/oauth/callback",
            "site.address": "acme.desk.com",
            "event.notification.enabled": "true",
            "event.notification.callback.url": "https://app.example.com/hooks/desk",
            "event.poller.configuration": {
                "incidents": {"url": INCIDENTS_URL, "idField": "id"},
                "contacts": {"url": CONTACTS_URL, "idField": "id"},
            },
        },
        "tags": ["support"],
        "name": "Acme Desk",
    }
    data["configuration"].update(configuration)
    return data


def plain_json(**configuration):
    """Desk JSON with access credentials already, so no token exchange happens."""
    data = desk_json(**configuration)
    data["providerData"] = {"oauth_token": "access-token", "secret": "access-secret"}
    return data


def parse_errors(data):
    with pytest.raises(InstanceJSONError) as caught:
        instance_json_parse(data=data)
    return caught.value.errors


@pytest.fixture
def access_token_endpoint():
    with responses.RequestsMock() as mock:
        mock.post(ACCESS_TOKEN_URL, body="oauth_token=access-token&oauth_token_secret=access-s")
        yield mock


@pytest.mark.parametrize("as_string", [False, True], ids=["object", "escaped-string"])
def test_it_round_trips_the_desk_example(desk, user, access_token_endpoint, as_string):
    data = desk_json()
    if as_string:
        config = data["configuration"]
        config["event.poller.configuration"] = json.dumps(config["event.poller.configuration"])
    given = copy.deepcopy(desk_json())

    rendered = render_instance(instance_create(owner=user, data=data))

    assert rendered["name"] == "Acme Desk"
    assert rendered["tags"] == ["support"]
    assert rendered["element"]["key"] == "desk"
    assert rendered["eventsEnabled"] is True
    assert rendered["providerData"] == {"oauth_token": "********", "secret": "********"}
    config = rendered["configuration"]
    for key, value in given["configuration"].items():
        if key == "event.poller.configuration":
            continue
        assert config[key] == ("********" if key == "oauth.api.secret" else value), key
    poller = config["event.poller.configuration"]
    assert set(poller) == {"incidents", "contacts"}
    for name, spec in given["configuration"]["event.poller.configuration"].items():
        assert {field: poller[name][field] for field in spec} == spec


def test_it_never_renders_secret_values(desk, user, access_token_endpoint):
    data = desk_json(**{"event.notification.signature.key": "sign-me-please"})

    rendered = json.dumps(render_instance(instance_create(owner=user, data=data)))

    for secret in ("desk-api-secret", "sign-me-please", "access-token", "access-s"):
        assert secret not in rendered


def test_it_stores_secret_keys_encrypted_and_apart_from_configuration(desk, user):
    data = plain_json(**{"event.notification.signature.key": "sign-me"})

    instance = instance_create(owner=user, data=data)

    assert instance.secrets == {
        "oauth.api.secret": "desk-api-secret",
        "event.notification.signature.key": "sign-me",
    }
    assert "oauth.api.secret" not in instance.configuration


def test_it_creates_one_poller_object_per_resource_with_element_defaults_under(desk, user):
    instance = instance_create(owner=user, data=plain_json())

    incidents = instance.poller_objects.get(name="incidents")
    assert incidents.url == INCIDENTS_URL
    assert incidents.page_size == 100
    assert incidents.dates_configuration["updatedDateField"] == "updated_at"
    assert incidents.lookback == 60


def test_it_uses_the_element_defaults_when_no_poller_configuration_is_given(desk, user):
    data = plain_json(**{"event.poller.configuration": None})

    instance = instance_create(owner=user, data=data)

    assert sorted(instance.poller_objects.values_list("name", flat=True)) == [
        "contacts",
        "incidents",
    ]


def test_it_polls_nothing_by_default_when_events_are_off(desk, user):
    data = plain_json(**{"event.notification.enabled": "false", "event.poller.configuration": None})

    instance = instance_create(owner=user, data=data)

    assert instance.events_enabled is False
    assert instance.events_enabled_at is None
    assert not instance.poller_objects.exists()


def test_it_merges_dates_configuration_key_by_key_with_the_instance_winning(desk):
    spec = {
        "url": INCIDENTS_URL,
        "idField": "id",
        "datesConfiguration": {"updatedDateTimezone": "MST"},
    }
    parsed = instance_json_parse(
        data=plain_json(**{"event.poller.configuration": {"incidents": spec}})
    )

    dates = parsed.poller_objects["incidents"]["dates_configuration"]
    assert dates["updatedDateTimezone"] == "MST"
    assert dates["updatedDateField"] == "updated_at"


def test_it_reads_booleans_and_numbers_given_as_json_values(desk):
    spec = {
        "url": "/hubs/helpdesk/users",
        "idField": "user.id",
        "pageSize": 20,
        "pollDelay": "30",
        "filterByUpdatedDate": "false",
        "filterByCurrentDate": True,
        "lookback": 0,
    }
    data = plain_json(
        **{
            "event.notification.enabled": True,
            "event.poller.refresh_interval": 5,
            "event.poller.configuration": {"users": spec},
        }
    )

    parsed = instance_json_parse(data=data)

    users = parsed.poller_objects["users"]
    assert (parsed.events_enabled, parsed.refresh_interval) == (True, 5)
    assert (users["page_size"], users["poll_delay"], users["lookback"]) == (20, 30, 0)
    assert (users["filter_by_updated_date"], users["filter_by_current_date"]) == (False, True)


def test_it_folds_cloud_elements_variants_into_one_shape(desk):
    spec = {
        "url": "/hubs/helpdesk/users",
        "idField": "id",
        "updatedDateTimezone": "MST",
        "filterByUpdateDate": "false",
        "datesConfiguration": {"createdCheckTolerance": 10},
    }

    parsed = instance_json_parse(data=plain_json(**{"event.poller.configuration": {"users": spec}}))

    users = parsed.poller_objects["users"]
    assert users["dates_configuration"] == {"updatedDateTimezone": "MST"}
    assert users["filter_by_updated_date"] is False
    assert users["created_check_tolerance"] == 10


def test_it_keeps_unknown_resource_fields_for_round_trips(desk, user):
    spec = {"url": "/hubs/helpdesk/users", "idField": "id", "vendorHint": {"a": 1}}
    data = plain_json(**{"event.poller.configuration": {"users": spec}})

    rendered = render_instance(instance_create(owner=user, data=data))

    assert rendered["configuration"]["event.poller.configuration"]["users"]["vendorHint"] == {
        "a": 1
    }


def test_it_converts_the_legacy_pipe_format(desk):
    urls = (
        "users|/hubs/helpdesk/users?where=updated_at>='${date}'||updated_at|yyyy-MM-dd'T'HH:mm:ssZ"
        "||created_at|yyyy-MM-dd'T'HH:mm:ssZ\n"
    )
    data = plain_json(**{"event.poller.configuration": None, "event.poller.urls": urls})

    users = instance_json_parse(data=data).poller_objects["users"]

    assert users["url"] == "/hubs/helpdesk/users?where=updated_at>='${date}'"
    assert users["id_field"] == "id"
    assert users["dates_configuration"] == {
        "updatedDateField": "updated_at",
        "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ssZ",
        "createdDateField": "created_at",
        "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ssZ",
    }


def test_it_keeps_unknown_non_event_keys(desk, user):
    instance = instance_create(owner=user, data=plain_json(**{"pagination.max": "100"}))

    assert render_instance(instance)["configuration"]["pagination.max"] == "100"


def test_it_accepts_the_webhooks_spelling_where_the_element_supports_webhooks(desk):
    definition = copy.deepcopy(desk.definition)
    definition.update(key="deskhooks", name="Desk with webhooks")
    definition["events"]["vendorTypes"] = ["polling", "webhook"]
    element_upsert(definition=definition)
    data = plain_json(**{"event.vendor.type": "webhooks"})
    data["element"] = {"key": "deskhooks"}

    assert instance_json_parse(data=data).vendor_type == "webhook"


SPEC = {"url": INCIDENTS_URL, "idField": "id"}
INVALID_EVENT_INPUTS = [
    (
        "event.notification.enabled",
        "yes please",
        "event.notification.enabled: must be true or false, got 'yes please'",
    ),
    ("event.vendor.type", "push", "event.vendor.type: must be 'polling' or 'webhook', got 'push'"),
    (
        "event.vendor.type",
        "push",
        "event.vendor.type: must be 'polling' or 'webhook', got 'push'",
    ),
    (
        "event.notification.callback.url",
        "/hooks/desk",
        "event.notification.callback.url: must be an absolute http(s) URL, got '/hooks/desk'",
    ),
    (
        "event.notification.callback.url",
        "ftp://example.com/x",
        "event.notification.callback.url: must be an absolute http(s) URL, got 'ftp://example.com/x'",
    ),
    (
        "event.poller.refresh_interval",
        "0",
        "event.poller.refresh_interval: must be a whole number of at least 1, got '0'",
    ),
    (
        "event.poller.refresh_interval",
        1.5,
        "event.poller.refresh_interval: must be a whole number of at least 1, got 1.5",
    ),
    (
        "event.notification.batch.size",
        "101",
        "event.notification.batch.size: must be a whole number from 1 to 100, got '101'",
    ),
    (
        "event.notification.callback.headers",
        "{bad",
        "event.notification.callback.headers: is not valid JSON: Expecting property name enclosed "
        "in double quotes at line 1 column 2 (character 1)",
    ),
    (
        "event.notification.callback.headers",
        {"X-Team": 7},
        "event.notification.callback.headers: header X-Team: its value must be a string, "
        "got a number",
    ),
    (
        "event.notification.callback.headers",
        {"Bad Name": "x"},
        "event.notification.callback.headers: 'Bad Name' is not a valid header name",
    ),
    (
        "event.poller.backfill.since",
        "last tuesday",
        "event.poller.backfill.since: must be an ISO 8601 date-time such as "
        "'2024-01-31T00:00:00Z', got 'last tuesday'",
    ),
    (
        "event.notification.instance.finder",
        "github.organization",
        "event.notification.instance.finder: must be 'configKey|jsonPath' such as "
        "'github.organization|organization.login', got 'github.organization'",
    ),
    ("event.metadata", "[1]", "event.metadata: must be a JSON object, got [1]"),
    (
        "event.notification.signature.key",
        42,
        "event.notification.signature.key: must be a string, got a number",
    ),
    (
        "event.notification.enabeld",
        "true",
        "event.notification.enabeld: unknown event key; did you mean event.notification.enabled?",
    ),
    (
        "event.poller.configuration",
        '{"incidents": ',
        "event.poller.configuration: is not valid JSON: Expecting value at line 1 column 15 "
        "(character 14)",
    ),
    (
        "event.poller.configuration",
        {"incidents": "x"},
        "event.poller.configuration.incidents: must be an object, got 'x'",
    ),
    (
        "event.poller.configuration",
        {"users": {"url": "/hubs/helpdesk/users"}},
        "event.poller.configuration.users.idField: required",
    ),
    (
        "event.poller.configuration",
        {"users": {"idField": "id"}},
        "event.poller.configuration.users.url: required",
    ),
    (
        "event.poller.configuration",
        {"incidents": {**SPEC, "idField": "user..id"}},
        "event.poller.configuration.incidents.idField: must be a dotted path such as 'id' or "
        "'user.id', got 'user..id'",
    ),
    (
        "event.poller.configuration",
        {"incidents": {**SPEC, "datesConfiguration": {"when": "x"}}},
        "event.poller.configuration.incidents.datesConfiguration.when: unknown key; allowed keys "
        "are updatedDateField, updatedDateFormat, updatedDateTimezone, createdDateField, "
        "createdDateFormat, createdDateTimezone, createdCheckTolerance",
    ),
    (
        "event.poller.configuration",
        {"incidents": {**SPEC, "datesConfiguration": "x"}},
        "event.poller.configuration.incidents.datesConfiguration: must be an object, got 'x'",
    ),
    (
        "event.poller.configuration",
        {"incidents": {**SPEC, "filterByCurrentDate": "maybe"}},
        "event.poller.configuration.incidents.filterByCurrentDate: must be true or false, "
        "got 'maybe'",
    ),
    (
        "event.poller.configuration",
        {"incidents": {**SPEC, "pageSize": 0}},
        "event.poller.configuration.incidents.pageSize: must be a whole number of at least 1, "
        "got 0",
    ),
    (
        "event.poller.configuration",
        {"incidents": {**SPEC, "pollDelay": -5}},
        "event.poller.configuration.incidents.pollDelay: must be a whole number of at least 0, "
        "got -5",
    ),
    (
        "event.poller.configuration",
        {"incidents": {**SPEC, "createdCheckTolerance": "soon"}},
        "event.poller.configuration.incidents.createdCheckTolerance: must be a whole number of at "
        "least 0, got 'soon'",
    ),
    (
        "event.poller.configuration",
        {"incidents": {**SPEC, "deletedMarker": {"field": "status"}}},
        'event.poller.configuration.incidents.deletedMarker: must be an object {"field": '
        '"<dotted path>", "value": <value>}, got {"field": "status"}',
    ),
    (
        "event.poller.urls",
        "accounts",
        "event.poller.urls: line 1: expected resource|url followed by up to 7 more |-separated "
        "fields, got 'accounts'",
    ),
]


@pytest.mark.parametrize(("key", "value", "message"), INVALID_EVENT_INPUTS)
def test_it_explains_each_invalid_event_input(desk, key, value, message):
    assert parse_errors(plain_json(**{key: value})) == [message]


def test_it_requires_a_callback_url_when_events_are_enabled(desk):
    errors = parse_errors(plain_json(**{"event.notification.callback.url": None}))

    assert errors == ["event.notification.callback.url: required when events are enabled"]


def test_it_requires_the_configuration_the_element_requires(desk):
    data = plain_json()
    del data["configuration"]["site.address"]

    assert parse_errors(data) == ["site.address: required"]


def test_it_refuses_the_mask_in_place_of_a_secret(desk):
    errors = parse_errors(plain_json(**{"oauth.api.secret": "********"}))

    assert errors == [
        "oauth.api.secret: ******** is the mask shown in place of a secret; give the value"
    ]


def test_it_lists_the_known_elements_for_an_unknown_element(desk):
    data = plain_json()
    data["element"] = {"key": "zendesk"}

    assert parse_errors(data) == ["element.key: no element 'zendesk'; known elements: desk"]


def test_it_reports_every_problem_at_once(desk):
    data = plain_json(**{"event.notification.enabled": "yes", "event.poller.refresh_interval": "x"})
    data.update(name="", tags="support")

    assert len(parse_errors(data)) == 4


def test_it_creates_nothing_when_the_json_is_invalid(desk, user):
    with pytest.raises(InstanceJSONError):
        instance_create(owner=user, data=plain_json(**{"event.vendor.type": "push"}))

    assert not Instance.objects.exists()
    assert not PollerObject.objects.exists()


def test_it_sets_events_enabled_at_when_created_enabled(desk, user):
    before = timezone.now()

    instance = instance_create(owner=user, data=plain_json())

    assert instance.events_enabled_at >= before


def test_it_turns_events_off_with_a_partial_update(desk, user):
    instance = instance_create(owner=user, data=plain_json())

    instance_update(
        instance=instance, data={"configuration": {"event.notification.enabled": "false"}}
    )

    instance.refresh_from_db()
    assert instance.events_enabled is False
    assert instance.name == "Acme Desk"
    assert instance.callback_url == "https://app.example.com/hooks/desk"


def test_it_sets_events_enabled_at_when_an_update_enables_events(desk, user):
    instance = instance_create(
        owner=user, data=plain_json(**{"event.notification.enabled": "false"})
    )

    instance_update(instance=instance, data={"configuration": {"event.notification.enabled": True}})

    instance.refresh_from_db()
    assert instance.events_enabled_at is not None
    assert instance.poller_objects.count() == 2


def test_it_keeps_the_poll_state_of_resources_an_update_keeps(desk, user):
    instance = instance_create(owner=user, data=plain_json())
    cursor = timezone.now()
    instance.poller_objects.filter(name="incidents").update(cursor=cursor, consecutive_failures=2)
    new_url = "/hubs/helpdesk/incidents?where=updated_at>'${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}'"
    poller = {"incidents": {"url": new_url, "idField": "id"}}

    instance_update(
        instance=instance, data={"configuration": {"event.poller.configuration": poller}}
    )

    incidents = instance.poller_objects.get()
    assert (incidents.name, incidents.url) == ("incidents", new_url)
    assert (incidents.cursor, incidents.consecutive_failures) == (cursor, 2)


def test_it_merges_secrets_and_leaves_masked_ones_unchanged(desk, user):
    instance = instance_create(owner=user, data=plain_json())
    patch = {"oauth.api.secret": "********", "event.notification.signature.key": "new-key"}

    instance_update(instance=instance, data={"configuration": patch, "tags": ["a", "b"]})

    instance.refresh_from_db()
    assert instance.secrets == {
        "oauth.api.secret": "desk-api-secret",
        "event.notification.signature.key": "new-key",
    }
    assert instance.tags == ["a", "b"]


def test_it_validates_the_merged_result_of_an_update(desk, user):
    instance = instance_create(owner=user, data=plain_json())

    with pytest.raises(InstanceJSONError) as caught:
        instance_update(instance=instance, data={"configuration": {"site.address": None}})

    assert caught.value.errors == ["site.address: required"]
    instance.refresh_from_db()
    assert instance.configuration["site.address"] == "acme.desk.com"


def test_it_refuses_to_change_the_element_of_an_instance(desk, user):
    instance = instance_create(owner=user, data=plain_json())

    with pytest.raises(InstanceJSONError) as caught:
        instance_update(instance=instance, data={"element": {"key": "zendesk"}})

    assert caught.value.errors == ["element.key: an instance's element cannot change (it is desk)"]

from __future__ import annotations

import copy

import pytest

from integrations.elements import (
    ELEMENTS_DIR,
    InvalidDefinition,
    element_upsert,
    read_element_file,
    validate_definition,
)
from integrations.models import Element

DESK = read_element_file(ELEMENTS_DIR / "desk.json")


def desk(change=None):
    definition = copy.deepcopy(DESK)
    if change:
        change(definition)
    return definition


def github(**overrides):
    """A GitHub-like element: API token in a header, RFC 5988 Link pagination, bare lists."""
    definition = {
        "key": "github",
        "name": "GitHub",
        "hub": "general",
        "baseUrl": "https://api.github.com",
        "configuration": [
            {"key": "github.token", "required": True, "secret": True},
            {"key": "oauth.api.key"},
            {"key": "oauth.api.secret", "secret": True},
        ],
        "auth": {
            "type": "apikey",
            "key": "github.token",
            "in": "header",
            "name": "Authorization",
            "prefix": "Bearer",
        },
        "pagination": {"type": "link", "itemsPath": "", "pageSizeParam": "per_page"},
        "rateLimit": {
            "retryStatuses": [403, 429],
            "retryAfterHeaders": ["Retry-After"],
            "resetHeader": "X-RateLimit-Reset",
            "resetFormat": "epochSeconds",
        },
        "resources": {
            "issues": {
                "vendorName": "issues",
                "listPath": "/issues",
                "idField": "id",
                "updatedField": "updated_at",
                "filters": {"updated_at": {">=": "since", "format": "iso8601"}},
            }
        },
        "events": {
            "vendorTypes": ["polling", "webhook"],
            "pollerDefaults": {
                "issues": {
                    "url": "/hubs/general/issues?where=updated_at>='${gmtDate:yyyy-MM-dd}'",
                    "idField": "id",
                }
            },
        },
    }
    definition.update(overrides)
    return definition


OAUTH2 = {
    "type": "oauth2",
    "authorizeUrl": "https://github.com/login/oauth/authorize",
    "tokenUrl": "https://github.com/login/oauth/access_token",
    "clientId": "oauth.api.key",
    "clientSecret": "oauth.api.secret",
    "scope": "repo",
    "in": "header",
    "name": "Authorization",
    "prefix": "Bearer",
}
OAUTH2_CLIENT_CREDENTIALS = {
    "type": "oauth2",
    "grantType": "client_credentials",
    "tokenUrl": "https://github.com/login/oauth/access_token",
    "clientId": "oauth.api.key",
    "clientSecret": "oauth.api.secret",
}


def test_it_accepts_the_shipped_desk_definition():
    assert validate_definition(DESK) == []


@pytest.mark.parametrize(
    "definition",
    [
        github(),
        github(auth=OAUTH2),
        github(auth=OAUTH2_CLIENT_CREDENTIALS),
        github(auth={"type": "basic", "username": "oauth.api.key", "password": "github.token"}),
        github(pagination={"type": "page", "pageParam": "page", "startPage": 0, "itemsPath": ""}),
        github(
            pagination={"type": "cursor", "cursorParam": "after", "nextCursorPath": "meta.next"}
            | {"itemsPath": "data"}
        ),
        github(pagination={"type": "none", "itemsPath": "items"}),
    ],
    ids=["apikey-link", "oauth2", "client-credentials", "basic", "page", "cursor", "none"],
)
def test_it_accepts_definitions_for_other_providers(definition):
    assert validate_definition(definition) == []


def test_it_allows_unknown_top_level_sections():
    definition = desk(lambda d: d.update(x_vendor_notes={"anything": "goes"}))

    assert validate_definition(definition) == []


def _set(path: str, value):
    """A change that sets the dotted ``path`` of a definition to ``value``."""

    def change(definition):
        *parents, last = path.split(".")
        for part in parents:
            definition = definition[part]
        definition[last] = value

    return change


def _delete(path: str):
    def change(definition):
        *parents, last = path.split(".")
        for part in parents:
            definition = definition[part]
        del definition[last]

    return change


PREFIX = {"prefix": "Token"}
INVALID = [
    (_delete("name"), "name: required"),
    (_set("key", "Desk!"), "key: must be lowercase letters, digits, - or _ (at most 64)"),
    (
        lambda d: d["configuration"].append({"key": "site.address"}),
        'configuration[10].key: "site.address" is declared twice',
    ),
    (_set("site", {"defaultScheme": "https"}), "site: needs configKey or default"),
    (_set("auth.type", "oauth3"), "auth.type: must be one of oauth1, oauth2, basic, apikey"),
    (
        _set("auth.consumerKey", "oauth.api.keys"),
        'auth.consumerKey: "oauth.api.keys" is not a configuration key (declared: site.address,',
    ),
    (
        _set("auth.requestTokenUrl", "{site}/oauth/{tenant}/request_token"),
        "auth.requestTokenUrl: unknown placeholder {tenant} (known: {site})",
    ),
    (
        _set("auth.signatureMethod", "RSA-MD5"),
        "auth.signatureMethod: must be one of HMAC-SHA1, HMAC-SHA256, HMAC-SHA512, PLAINTEXT",
    ),
    (
        _set("auth.alternatives", [{"type": "basic", "username": "username"}]),
        "auth.alternatives[0].password: required",
    ),
    (
        lambda d: d["auth"]["alternatives"].append(d["auth"]["alternatives"][0]),
        "auth.alternatives[1].type: basic is offered twice",
    ),
    (
        _set("auth", {"type": "apikey", "key": "password", "in": "query", "name": "key"} | PREFIX),
        "auth.prefix: only allowed when in is header",
    ),
    (
        _set("auth", {k: v for k, v in OAUTH2.items() if k != "authorizeUrl"}),
        "auth.authorizeUrl: required for the authorization_code grant",
    ),
    (
        _set("pagination.type", "offset"),
        "pagination.type: must be one of hal, page, cursor, link, none",
    ),
    (_set("pagination.maxPageSize", 0), "pagination.maxPageSize: must be a positive integer"),
    (_set("pagination.maxPageSize", "100"), "pagination.maxPageSize: must be a positive integer"),
    (_set("pagination.nextPth", "_links.next"), "pagination.nextPth: unknown key (known: "),
    (
        _set("pagination.defaultPageSize", 200),
        "pagination.defaultPageSize: must not exceed maxPageSize (100)",
    ),
    (
        _set("pagination", {"type": "cursor", "nextCursorPath": "next", "itemsPath": "data"}),
        "pagination.cursorParam: required",
    ),
    (
        _set("rateLimit.retryStatuses", [200]),
        "rateLimit.retryStatuses: must be a list of HTTP error statuses (400-599)",
    ),
    (_set("resources", {}), "resources: must be an object with at least one resource"),
    (_delete("resources.incidents.idField"), "resources.incidents.idField: required"),
    (
        _set("resources.incidents.listPath", "cases"),
        "resources.incidents.listPath: must be a path relative to baseUrl, starting with /",
    ),
    (
        _set("resources.incidents.filters.updated_at.!=", "not_updated_at"),
        "resources.incidents.filters.updated_at.!=: unknown key (known: format, >, >=, <, <=, =)",
    ),
    (
        _set("resources.incidents.filters.updated_at.format", "epoch"),
        "resources.incidents.filters.updated_at.format: must be one of epochSeconds, "
        "epochMillis, iso8601, integer, string",
    ),
    (
        _set("resources.incidents.filters.id", {"format": "integer"}),
        "resources.incidents.filters.id: needs at least one operator (>, >=, <, <=, =)",
    ),
    (
        _set("resources.contacts.events", ["CREATED", "REMOVED"]),
        "resources.contacts.events: must be a list of CREATED, UPDATED, DELETED",
    ),
    (
        lambda d: (
            d["events"].update(vendorTypes=["polling"]),
            d["events"]["pollerDefaults"]["incidents"].pop("deletedMarker"),
        ),
        "resources.incidents.events: DELETED needs events.pollerDefaults.incidents.deletedMarker",
    ),
    (
        _set("events.vendorTypes", ["push"]),
        "events.vendorTypes: must be a non-empty list of polling, webhook",
    ),
    (
        _set("events.pollerDefaults.tickets", {"url": "/hubs/helpdesk/tickets", "idField": "id"}),
        "events.pollerDefaults.tickets: no such resource "
        "(known: incidents, contacts, organizations, users)",
    ),
    (
        _set("events.pollerDefaults.incidents.url", "/hubs/crm/incidents"),
        "events.pollerDefaults.incidents.url: must be a hub URL such as "
        "/hubs/helpdesk/<resource>?where=...",
    ),
    (
        _set("events.pollerDefaults.incidents.pageSize", 200),
        "events.pollerDefaults.incidents.pageSize: must not exceed the resource's largest "
        "page size (100)",
    ),
    (
        _set("events.pollerDefaults.contacts.datesConfiguration.updatedDateFeld", "updated_at"),
        "events.pollerDefaults.contacts.datesConfiguration.updatedDateFeld: unknown key",
    ),
]


@pytest.mark.parametrize(("change", "message"), INVALID, ids=[m for _, m in INVALID])
def test_it_names_what_is_wrong_with_an_invalid_definition(change, message):
    errors = validate_definition(desk(change))

    assert any(error.startswith(message) for error in errors), errors


def test_it_rejects_a_definition_that_is_not_an_object():
    assert validate_definition(["desk"]) == ["the element definition must be a JSON object"]


@pytest.mark.django_db
def test_it_saves_nothing_the_second_time_the_same_definition_is_upserted():
    first, created = element_upsert(definition=desk())

    second, changed = element_upsert(definition=desk())

    assert (created, changed) == (True, False)
    assert Element.objects.get(key="desk").updated_at == first.updated_at


@pytest.mark.django_db
def test_it_updates_an_element_whose_definition_changed():
    element_upsert(definition=desk())

    element, changed = element_upsert(definition=desk(_set("name", "Desk.com (EU)")))

    assert changed
    assert Element.objects.get(key="desk").name == "Desk.com (EU)"


@pytest.mark.django_db
def test_it_refuses_to_upsert_an_invalid_definition():
    with pytest.raises(InvalidDefinition, match="resources.incidents.idField: required"):
        element_upsert(definition=desk(_delete("resources.incidents.idField")))

    assert not Element.objects.exists()


@pytest.mark.parametrize(
    ("site", "base_url"),
    [
        ("acme.desk.com", "https://acme.desk.com/api/v2"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/api/v2"),
    ],
)
def test_it_builds_the_api_root_from_the_site_address(site, base_url):
    element = Element(key="desk", definition=desk())

    assert element.base_url({"site.address": site}) == base_url


def test_it_builds_the_site_url_with_the_default_scheme():
    element = Element(key="desk", definition=desk())

    assert element.site_url({"site.address": "acme.desk.com"}) == "https://acme.desk.com"


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("oauth.api.secret", True),
        ("oauth.api.key", False),
        ("event.notification.signature.key", True),
        ("password", True),
    ],
)
def test_it_knows_which_configuration_keys_are_secret(key, secret):
    element = Element(key="desk", definition=desk())

    assert element.is_secret_key(key) is secret


def _every_path(value, prefix=()):
    yield prefix
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            yield from _every_path(item, (*prefix, key))


@pytest.mark.parametrize("wrong", [None, 7, True, "", [], {}, [1], {"a": 1}], ids=repr)
def test_it_reports_rather_than_crashes_on_a_value_of_the_wrong_type(wrong):
    for path in list(_every_path(DESK))[1:]:
        definition = desk()
        parent = definition
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = wrong

        errors = validate_definition(definition)

        assert all(isinstance(error, str) for error in errors), path

"""Validation of element definitions: every problem with a definition, each named by its
JSON path and what is expected there. docs/elements.md describes the format key by key."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from integrations.elements.inbound import spec_errors as webhook_spec_errors

AUTH_TYPES = ("oauth1", "oauth2", "basic", "apikey")
PAGINATION_TYPES = ("hal", "page", "cursor", "link", "none")
FILTER_OPERATORS = (">", ">=", "<", "<=", "=")
FILTER_FORMATS = ("epochSeconds", "epochMillis", "iso8601", "integer", "string")
EVENT_TYPES = ("CREATED", "UPDATED", "DELETED")
VENDOR_TYPES = ("polling", "webhook")
URL_PLACEHOLDERS = ("{site}",)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_FIELD_PATH = re.compile(r"^[^.\s]+(\.[^.\s]+)*$")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")

# Field specs: key -> kind. A kind is a _Validator method name, or a tuple of allowed values.
_PAGE_SIZES = {"defaultPageSize": "positive", "maxPageSize": "positive", "maxPages": "positive"}
_PAGE_SIZES |= {"pageSizeParam": "string", "maxPageSizeKey": "config"}
_PAGINATION: dict[str, tuple[dict, dict]] = {
    "hal": ({"itemsPath": "field", "nextPath": "field"}, {"pageParam": "string", **_PAGE_SIZES}),
    "page": (
        {"pageParam": "string"},
        {"itemsPath": "optional_field", "startPage": "natural", **_PAGE_SIZES},
    ),
    "cursor": (
        {"cursorParam": "string", "nextCursorPath": "field", "itemsPath": "field"},
        _PAGE_SIZES,
    ),
    "link": ({}, {"itemsPath": "optional_field", **_PAGE_SIZES}),
    "none": ({}, {"itemsPath": "optional_field"}),
}
_TOKEN_PLACEMENT = {"in": ("header", "query"), "name": "string", "prefix": "string"}
_AUTH: dict[str, tuple[dict, dict]] = {
    "oauth1": (
        {
            "consumerKey": "config",
            "consumerSecret": "config",
            "requestTokenUrl": "url",
            "authorizeUrl": "url",
            "accessTokenUrl": "url",
        },
        {
            "signatureMethod": ("HMAC-SHA1", "HMAC-SHA256", "HMAC-SHA512", "PLAINTEXT"),
            "callbackUrl": "config",
        },
    ),
    "oauth2": (
        {"clientId": "config", "clientSecret": "config", "tokenUrl": "url"},
        {
            "grantType": ("authorization_code", "client_credentials"),
            "authorizeUrl": "url",
            "callbackUrl": "config",
            "scope": "text",
            **_TOKEN_PLACEMENT,
        },
    ),
    "basic": ({"username": "config", "password": "config"}, {}),
    "apikey": (
        {"key": "config", "in": ("header", "query"), "name": "string"},
        {"prefix": "string"},
    ),
}
_RATE_LIMIT = {
    "retryStatuses": "statuses",
    "transientStatuses": "statuses",
    "retryAfterHeaders": "strings",
    "limitHeader": "string",
    "remainingHeader": "string",
    "resetHeader": "string",
    "resetFormat": ("delaySeconds", "epochSeconds"),
    "defaultRetryAfter": "positive",
    "maxRetries": "natural",
}
_RESOURCE_REQUIRED = {"vendorName": "string", "listPath": "api_path", "idField": "field"}
_RESOURCE_OPTIONAL = {
    "searchPath": "api_path",
    "updatedField": "field",
    "createdField": "field",
    "sort": "string_map",
    "params": "string_map",
    "filters": "filters",
    "events": "event_types",
    "maxPageSize": "positive",
    "maxPages": "positive",
}
_DATES = {
    f"{which}Date{part}": "string"
    for which in ("updated", "created")
    for part in ("Field", "Format", "Timezone")
} | {"createdCheckTolerance": "natural"}
_POLLER_OPTIONAL = {
    "datesConfiguration": "dates",
    "filterByUpdatedDate": "boolean",
    "filterByCurrentDate": "boolean",
    "createdCheckTolerance": "natural",
    "pageSize": "positive",
    "pollDelay": "natural",
    "lookback": "natural",
    "updatedDateTimezone": "string",
    "deletedMarker": "deleted_marker",
}


def validate_definition(definition: Any) -> list[str]:
    """Problems with an element definition, each ``<json path>: <what is expected>``;
    empty when the definition is valid."""
    if not isinstance(definition, dict):
        return ["the element definition must be a JSON object"]
    return _Validator(definition).run()


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _known(names: Iterable[str]) -> str:
    return ", ".join(names) or "none"


class _Validator:
    """Walks one definition, collecting ``<path>: <problem>`` messages."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.definition = definition
        self.errors: list[str] = []
        self.config_keys: list[str] = []

    def run(self) -> list[str]:
        d = self.definition
        for key, kind in (("key", "slug"), ("name", "string"), ("hub", "slug")):
            if key in d:
                self.check(kind, key, d[key])
            else:
                self.error(key, "required")
        if "description" in d:
            self.check("text", "description", d["description"])
        if "configuration" in d:
            self.configuration(d["configuration"])
        if "site" in d:
            self.site(d["site"])
        if "baseUrl" in d:
            self.check("url", "baseUrl", d["baseUrl"])
        self.section("auth", self.auth)
        self.section("pagination", self.pagination)
        if "rateLimit" in d:
            self.fields("rateLimit", d["rateLimit"], {}, _RATE_LIMIT)
        self.section("resources", self.resources)
        if "events" in d:
            self.events(d["events"])
        if "webhooks" in d:
            self.errors += webhook_spec_errors(d["webhooks"], config_keys=set(self.config_keys))
        return self.errors

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def section(self, name: str, check: Any) -> None:
        if name in self.definition:
            check(name, self.definition[name])
        else:
            self.error(name, "required")

    def fields(self, path: str, value: Any, required: dict, optional: dict) -> bool:
        """Check an object's required and optional keys by kind; unknown keys are errors
        because a misspelt optional key would otherwise be silently ignored."""
        if not isinstance(value, dict):
            self.error(path, "must be an object")
            return False
        known = {**required, **optional}
        for key in required:
            if key not in value:
                self.error(f"{path}.{key}", "required")
        for key, item in value.items():
            if key in known:
                self.check(known[key], f"{path}.{key}", item)
            elif key != "description":
                self.error(f"{path}.{key}", f"unknown key (known: {_known(known)})")
        return True

    def check(self, kind: str | tuple, path: str, value: Any) -> None:
        if isinstance(kind, tuple):
            if value not in kind:
                self.error(path, f"must be one of {', '.join(kind)}")
        else:
            getattr(self, f"is_{kind}")(path, value)

    # Scalar kinds.

    def is_string(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or not value.strip():
            self.error(path, "must be a non-empty string")

    def is_text(self, path: str, value: Any) -> None:
        if not isinstance(value, str):
            self.error(path, "must be a string")

    def is_slug(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or not _SLUG.match(value):
            self.error(path, "must be lowercase letters, digits, - or _ (at most 64)")

    def is_boolean(self, path: str, value: Any) -> None:
        if not isinstance(value, bool):
            self.error(path, "must be true or false")

    def is_positive(self, path: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.error(path, "must be a positive integer")

    def is_natural(self, path: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.error(path, "must be an integer, 0 or more")

    def is_field(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or not _FIELD_PATH.match(value):
            self.error(path, "must be a dotted field path such as _embedded.entries")

    def is_optional_field(self, path: str, value: Any) -> None:
        if value != "":
            self.is_field(path, value)

    def is_api_path(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or not value.startswith("/"):
            self.error(path, "must be a path relative to baseUrl, starting with /")

    def is_config(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or value not in self.config_keys:
            declared = f"declared: {_known(self.config_keys)}"
            self.error(path, f"{json.dumps(value)} is not a configuration key ({declared})")

    def is_url(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or not value.startswith(("{site}", "https://", "http://")):
            self.error(path, "must be an http(s) URL or start with {site}")
            return
        for placeholder in _PLACEHOLDER.findall(value):
            if placeholder not in URL_PLACEHOLDERS:
                self.error(path, f"unknown placeholder {placeholder} (known: {{site}})")
        if "{site}" in value and "site" not in self.definition:
            self.error(path, "uses {site} but the definition has no site section")

    def is_strings(self, path: str, value: Any) -> None:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.error(path, "must be a list of non-empty strings")

    def is_statuses(self, path: str, value: Any) -> None:
        valid = isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) and 400 <= v <= 599 for v in value
        )
        if not valid:
            self.error(path, "must be a list of HTTP error statuses (400-599)")

    def is_string_map(self, path: str, value: Any) -> None:
        if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
            self.error(path, "must be an object of query parameter names to string values")

    def is_event_types(self, path: str, value: Any) -> None:
        if not isinstance(value, list) or any(v not in EVENT_TYPES for v in value):
            self.error(path, f"must be a list of {', '.join(EVENT_TYPES)}")
        elif len(set(value)) != len(value):
            self.error(path, "lists an event type twice")

    def is_deleted_marker(self, path: str, value: Any) -> None:
        self.fields(path, value, {"field": "field", "value": "marker_value"}, {})

    def is_marker_value(self, path: str, value: Any) -> None:
        if isinstance(value, dict | list):
            self.error(path, "must be a string, number, boolean or null")

    def is_dates(self, path: str, value: Any) -> None:
        self.fields(path, value, {}, _DATES)

    def is_filters(self, path: str, value: Any) -> None:
        if not isinstance(value, dict):
            self.error(path, "must be an object of field name to operators")
            return
        for field, spec in value.items():
            here = f"{path}.{field}"
            operators = {op: "string" for op in FILTER_OPERATORS}
            if not self.fields(here, spec, {"format": FILTER_FORMATS}, operators):
                continue
            if not any(op in spec for op in FILTER_OPERATORS):
                self.error(here, f"needs at least one operator ({', '.join(FILTER_OPERATORS)})")

    # Sections.

    def configuration(self, items: Any) -> None:
        if not isinstance(items, list):
            self.error("configuration", "must be a list of configuration items")
            return
        optional = {"required": "boolean", "secret": "boolean", "default": "text"}
        for index, item in enumerate(items):
            path = f"configuration[{index}]"
            if not self.fields(path, item, {"key": "string"}, optional):
                continue
            key = item.get("key")
            if key in self.config_keys:
                self.error(f"{path}.key", f"{json.dumps(key)} is declared twice")
            elif isinstance(key, str):
                self.config_keys.append(key)

    def site(self, value: Any) -> None:
        optional = {"configKey": "config", "defaultScheme": ("https", "http"), "default": "string"}
        valid = self.fields("site", value, {}, optional)
        if valid and "configKey" not in value and "default" not in value:
            self.error("site", "needs configKey or default")

    def auth(self, path: str, value: Any, *, alternative: bool = False) -> None:
        if not isinstance(value, dict):
            self.error(path, "must be an object")
            return
        kind = value.get("type")
        if kind not in AUTH_TYPES:
            self.error(f"{path}.type", f"must be one of {', '.join(AUTH_TYPES)}")
            return
        required, optional = _AUTH[kind]
        optional = {"type": "string", **optional}
        if not alternative:
            optional["alternatives"] = "alternatives"
        self.fields(path, value, required, optional)
        grant = value.get("grantType", "authorization_code")
        if kind == "oauth2" and grant == "authorization_code" and "authorizeUrl" not in value:
            self.error(f"{path}.authorizeUrl", "required for the authorization_code grant")
        if kind == "apikey" and "prefix" in value and value.get("in") != "header":
            self.error(f"{path}.prefix", "only allowed when in is header")

    def is_alternatives(self, path: str, value: Any) -> None:
        if not isinstance(value, list):
            self.error(path, "must be a list of auth schemes")
            return
        types = [self.definition["auth"].get("type")]
        for index, scheme in enumerate(value):
            self.auth(f"{path}[{index}]", scheme, alternative=True)
            kind = scheme.get("type") if isinstance(scheme, dict) else None
            if kind in types:
                self.error(f"{path}[{index}].type", f"{kind} is offered twice")
            types.append(kind)

    def pagination(self, path: str, value: Any) -> None:
        if not isinstance(value, dict):
            self.error(path, "must be an object")
            return
        kind = value.get("type")
        if kind not in PAGINATION_TYPES:
            self.error(f"{path}.type", f"must be one of {', '.join(PAGINATION_TYPES)}")
            return
        required, optional = _PAGINATION[kind]
        self.fields(path, value, required, {"type": "string", **optional})
        default, largest = value.get("defaultPageSize"), value.get("maxPageSize")
        if _positive(default) and _positive(largest) and default > largest:
            self.error(f"{path}.defaultPageSize", f"must not exceed maxPageSize ({largest})")

    def resources(self, path: str, value: Any) -> None:
        if not isinstance(value, dict) or not value:
            self.error(path, "must be an object with at least one resource")
            return
        for name, spec in value.items():
            if not _NAME.match(name):
                self.error(f"{path}.{name}", "resource names are letters, digits, - or _")
            self.fields(f"{path}.{name}", spec, _RESOURCE_REQUIRED, _RESOURCE_OPTIONAL)

    def events(self, value: Any) -> None:
        optional = {"defaultRefreshInterval": "positive", "pollerDefaults": "poller_defaults"}
        if not self.fields("events", value, {"vendorTypes": "vendor_types"}, optional):
            return
        self.deletes_are_detectable(value)

    def is_vendor_types(self, path: str, value: Any) -> None:
        if not isinstance(value, list) or not value or any(v not in VENDOR_TYPES for v in value):
            self.error(path, f"must be a non-empty list of {', '.join(VENDOR_TYPES)}")

    def is_poller_defaults(self, path: str, value: Any) -> None:
        if not isinstance(value, dict):
            self.error(path, "must be an object of resource name to poller configuration")
            return
        resources = self.definition.get("resources")
        if not isinstance(resources, dict) or not resources:
            return  # already reported under resources
        names = list(resources)
        for name, spec in value.items():
            here = f"{path}.{name}"
            if name not in names:
                self.error(here, f"no such resource (known: {_known(names)})")
                continue
            required = {"url": "string", "idField": "field"}
            if self.fields(here, spec, required, _POLLER_OPTIONAL) and "url" in spec:
                self.poller_url(f"{here}.url", spec["url"], names)
            self.page_size_fits(f"{here}.pageSize", spec, resources[name])

    def poller_url(self, path: str, url: Any, names: list[str]) -> None:
        hub = self.definition.get("hub")
        prefix = f"/hubs/{hub}/"
        if not isinstance(url, str) or not url.startswith(prefix):
            self.error(path, f"must be a hub URL such as {prefix}<resource>?where=...")
            return
        resource = re.split(r"[/?]", url[len(prefix) :], maxsplit=1)[0]
        if resource not in names:
            self.error(path, f"{prefix}{resource} names no resource (known: {_known(names)})")

    def page_size_fits(self, path: str, spec: Any, resource: Any) -> None:
        size = spec.get("pageSize") if isinstance(spec, dict) else None
        pagination = self.definition.get("pagination")
        largest = resource.get("maxPageSize") if isinstance(resource, dict) else None
        if largest is None and isinstance(pagination, dict):
            largest = pagination.get("maxPageSize")
        if _positive(size) and _positive(largest) and size > largest:
            self.error(path, f"must not exceed the resource's largest page size ({largest})")

    def deletes_are_detectable(self, events: dict[str, Any]) -> None:
        """Polling sees a deletion only through a marker on the record."""
        vendor_types = events.get("vendorTypes")
        if isinstance(vendor_types, list) and "webhook" in vendor_types:
            return
        resources = self.definition.get("resources")
        defaults = events.get("pollerDefaults")
        for name, spec in (resources if isinstance(resources, dict) else {}).items():
            types = spec.get("events") if isinstance(spec, dict) else None
            if not isinstance(types, list) or "DELETED" not in types:
                continue
            poller = defaults.get(name) if isinstance(defaults, dict) else None
            if not isinstance(poller, dict) or "deletedMarker" not in poller:
                self.error(
                    f"resources.{name}.events",
                    f"DELETED needs events.pollerDefaults.{name}.deletedMarker, since polling "
                    "cannot otherwise see deletions",
                )

"""The Cloud Elements instance JSON, parsed and validated (no database writes) into a
``ParsedInstance``.

``{"element": {"key": ...}, "providerData": {...}, "configuration": {...}, "tags": [...],
"name": "..."}``. Four configuration keys live in Instance columns, secret keys in
``Instance.secrets`` and the poller configuration in PollerObject rows; every other key is kept
in ``Instance.configuration``. Each ``event.*`` check returns the value to store, normalized
(whole numbers as numbers, headers as an object). The service that writes instances is
``integrations/instances/services.py``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integrations.instances.capture_config import (
    ORDERING,
    RECONCILE_INTERVAL,
    ordering,
    reconcile_interval,
    reconcile_problems,
)
from integrations.instances.notification_config import (
    BASIC_USERNAME,
    CALLBACK_HEADERS,
    authorization_problems,
    basic_username,
    callback_headers,
    callback_url,
    signature_key,
    text,
)
from integrations.instances.pollers_config import (
    POLLER_CONFIGURATION,
    POLLER_URLS,
    Invalid,
    kind,
    poller_config_parse,
    show,
    to_bool,
    to_int,
    to_json_object,
)
from integrations.models import Element, Instance
from integrations.provider import url_problems

MASK = "********"
ENABLED = "event.notification.enabled"
VENDOR_TYPE = "event.vendor.type"
CALLBACK_URL = "event.notification.callback.url"
REFRESH_INTERVAL = "event.poller.refresh_interval"
# A URL rendered with its credentials masked (core.http.url_without_credentials).
_MASKED_URL = f"://{MASK}@"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class InstanceJSONError(Exception):
    """The instance JSON is not acceptable; ``errors`` names every key at fault and why."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class ParsedInstance:
    element: Element
    name: str
    tags: list[str]
    configuration: dict[str, Any]  # non-secret keys other than the column-backed ones
    secrets: dict[str, Any]
    provider_data: dict[str, Any]
    events_enabled: bool = False
    vendor_type: str = Instance.VendorType.POLLING
    callback_url: str = ""
    refresh_interval: int | None = None
    # PollerObject field values per resource name: the complete set the instance should have.
    poller_objects: dict[str, dict[str, Any]] = field(default_factory=dict)


def _vendor_type(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else value
    if text in ("polling", "webhook", "webhooks"):
        return "webhook" if text == "webhooks" else text
    raise Invalid(f"must be 'polling' or 'webhook', got {show(value)}")


def _identifier(value: Any) -> str | int:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Invalid(f"must be a string, got {show(value)}")
    return value


def _date_time(value: Any) -> str:
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise Invalid(
            f"must be an ISO 8601 date-time such as '2024-01-31T00:00:00Z', got {show(value)}"
        ) from None
    return value


def _instance_finder(value: Any) -> str:
    parts = value.split("|") if isinstance(value, str) else []
    if len(parts) != 2 or not all(part.strip() for part in parts):
        raise Invalid(
            "must be 'configKey|jsonPath' such as 'github.organization|organization.login', "
            f"got {show(value)}"
        )
    return value


def _objects(value: Any) -> str | list[str]:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    if not isinstance(value, str):
        raise Invalid(f"must be a comma-separated list of object names, got {show(value)}")
    return value


def _metadata(value: Any) -> Any:
    to_json_object(value)
    return value


def _element_value(value: Any) -> str | int | float | bool:
    """A key the element defines (site.address, oauth.api.key, ...) holds one value."""
    if not isinstance(value, str | int | float | bool):
        raise Invalid(f"must be a string, a number or true/false, got {show(value)}")
    return value


# Every event.* key Tributary knows, with its check; the value returned is what is stored.
# The poller configuration keys are parsed by integrations.instances.pollers_config.
EVENT_KEYS = {
    ENABLED: to_bool,
    VENDOR_TYPE: _vendor_type,
    CALLBACK_URL: callback_url,
    REFRESH_INTERVAL: lambda value: to_int(value, minimum=1),
    POLLER_CONFIGURATION: None,
    POLLER_URLS: None,
    "event.notification.signature.key": signature_key,
    CALLBACK_HEADERS: callback_headers,
    "event.notification.batch.size": lambda value: to_int(value, minimum=1, maximum=100),
    BASIC_USERNAME: basic_username,
    "event.notification.basic.password": text,
    "event.poller.backfill.since": _date_time,
    "event.notification.instance.finder": _instance_finder,
    "event.objects": _objects,
    "event.metadata": _metadata,
    "event.notification.subscription.id": _identifier,
    "event.helper.key": text,
    ORDERING: ordering,
    RECONCILE_INTERVAL: reconcile_interval,
}


def instance_json_parse(*, data: Any) -> ParsedInstance:
    """Validate a whole instance JSON; raise InstanceJSONError listing every problem."""
    if not isinstance(data, dict):
        raise InstanceJSONError([f"the instance JSON must be an object, got {show(data)}"])
    element = _element(data.get("element"))
    return parse_for_element(element=element, data=data)


def parse_for_element(*, element: Element, data: dict[str, Any]) -> ParsedInstance:
    """Validate an instance JSON whose element is already known."""
    errors = _unstorable_problems(data)
    if errors:
        raise InstanceJSONError(errors)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append("name: required (a non-empty string)")
    elif len(name) > 200:
        errors.append("name: must be at most 200 characters")
    tags = data.get("tags")
    if tags is None:
        tags = []
    elif not isinstance(tags, list):
        errors.append(f"tags: must be a list of strings, got {show(tags)}")
    else:
        errors += [
            f"tags[{i}]: must be a string, got {show(t)}"
            for i, t in enumerate(tags)
            if not isinstance(t, str)
        ]
    provider_data = _object(data, "providerData", errors)
    errors += [
        f"providerData.{key}: {MASK} is the mask shown in place of a secret; give the real value"
        for key, value in provider_data.items()
        if value == MASK
    ]
    configuration = _object(data, "configuration", errors)

    parsed = ParsedInstance(
        element=element,
        name=name if isinstance(name, str) else "",
        tags=tags if isinstance(tags, list) else [],
        configuration={},
        secrets={},
        provider_data=provider_data,
    )
    errors += _parse_configuration(configuration, parsed)
    if errors:
        raise InstanceJSONError(errors)
    return parsed


def _unstorable_problems(data: dict[str, Any]) -> list[str]:
    """NUL and unpaired UTF-16 surrogates, which JSON lets through and PostgreSQL refuses to
    store: named by key, never quoted (the value may be a secret)."""
    paths = [
        section for section in ("name", "tags", "element") if _holds_unstorable(data.get(section))
    ]
    for section, prefix in (("configuration", ""), ("providerData", "providerData.")):
        value = data.get(section)
        if not _holds_unstorable(value):
            continue
        keys = value.items() if isinstance(value, dict) else []
        bad = [key for key, item in keys if _holds_unstorable(item) and not _holds_unstorable(key)]
        paths += [prefix + key for key in bad] or [section]
    return [
        f"{path}: holds a NUL character or half of a UTF-16 surrogate pair, which cannot be "
        "stored; remove it"
        for path in dict.fromkeys(paths)
    ]


def _holds_unstorable(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and _UNSTORABLE.search(item):
            return True
        if isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item
    return False


def _element(value: Any) -> Element:
    key = value.get("key") if isinstance(value, dict) else None
    element = Element.objects.filter(key=key).first() if isinstance(key, str) else None
    if element is None:
        known = ", ".join(Element.objects.values_list("key", flat=True)) or "none installed"
        problem = "required" if key is None else f"no element {show(key)}"
        raise InstanceJSONError([f"element.key: {problem}; known elements: {known}"])
    return element


def _object(data: dict[str, Any], key: str, errors: list[str]) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        # Either may hold secrets: name what was given, not its value.
        errors.append(f"{key}: must be an object, got {kind(value)}")
        return {}
    return value


def _parse_configuration(configuration: dict[str, Any], parsed: ParsedInstance) -> list[str]:
    """Fill ``parsed`` from the flat configuration map; return the problems found."""
    element = parsed.element
    declared = {item.get("key") for item in element.definition.get("configuration", [])}
    errors: list[str] = []
    values: dict[str, Any] = {}
    invalid: set[str] = set()
    for key, value in configuration.items():
        is_event_key = key.startswith("event.")
        if value is None or (is_event_key and value == ""):
            continue  # not set
        if is_event_key and key not in EVENT_KEYS:
            errors.append(_unknown_event_key(key))
        elif value == MASK and element.is_secret_key(key):
            errors.append(f"{key}: {MASK} is the mask shown in place of a secret; give the value")
        elif isinstance(value, str) and _MASKED_URL in value:
            errors.append(
                f"{key}: {MASK} is the mask shown in place of a URL's user and password; "
                "give them again, or leave the key out to keep the stored value"
            )
        else:
            check = EVENT_KEYS.get(key) or (_element_value if key in declared else None)
            try:
                values[key] = check(value) if check else value
                continue
            except Invalid as exc:
                errors.append(f"{key}: {invalid_message(element, key, value, exc)}")
        invalid.add(key)

    parsed.events_enabled = values.pop(ENABLED, False)
    supported = [_vendor_type(v) for v in element.events_definition.get("vendorTypes", [])]
    parsed.vendor_type = values.pop(VENDOR_TYPE, supported[0] if supported else "polling")
    if supported and parsed.vendor_type not in supported:
        errors.append(
            f"{VENDOR_TYPE}: the {element.key} element supports only "
            f"{' or '.join(supported)}, got {show(configuration.get(VENDOR_TYPE))}"
        )
    parsed.callback_url = values.pop(CALLBACK_URL, "")
    if parsed.events_enabled and not parsed.callback_url and CALLBACK_URL not in invalid:
        errors.append(f"{CALLBACK_URL}: required when events are enabled")
    parsed.refresh_interval = values.pop(REFRESH_INTERVAL, None)

    resources, poller_errors = poller_config_parse(
        configuration=values,
        element=element,
        use_defaults=parsed.events_enabled and parsed.vendor_type == "polling",
    )
    parsed.poller_objects = resources
    errors += poller_errors
    errors += reconcile_problems(
        element=element, hours=values.get(RECONCILE_INTERVAL), pollers=resources
    )
    values.pop(POLLER_CONFIGURATION, None)
    values.pop(POLLER_URLS, None)

    for item in element.definition.get("configuration", []):
        key = item.get("key")
        if item.get("required") and values.get(key) in (None, "") and key not in invalid:
            errors.append(f"{key}: required")
    errors += _site_problems(element, values)
    errors += authorization_problems(values)
    for key, value in values.items():
        target = parsed.secrets if element.is_secret_key(key) else parsed.configuration
        target[key] = value
    return errors


def invalid_message(element: Element, key: str, value: Any, exc: Invalid) -> str:
    """Why ``value`` of ``key`` was refused. A secret is never repeated, not even in an
    error message: for a secret key, the message names what the value is (a string, ...)."""
    if element.is_secret_key(key):
        return str(exc).replace(show(value), kind(value))
    return str(exc)


def _site_problems(element: Element, values: dict[str, Any]) -> list[str]:
    """The provider site is called with the instance's credentials: it must be public."""
    key = element.definition.get("site", {}).get("configKey")
    if not key or values.get(key) in (None, ""):
        return []
    return [f"{key}: {problem}" for problem in url_problems(element.site_url(values))]


def _unknown_event_key(key: str) -> str:
    close = difflib.get_close_matches(key, EVENT_KEYS, n=1)
    if close:
        return f"{key}: unknown event key; did you mean {close[0]}?"
    return f"{key}: unknown event key; known keys are " + ", ".join(EVENT_KEYS)


def column_configuration(instance: Instance) -> dict[str, str]:
    """The column-backed configuration keys of an instance, as Cloud Elements strings."""
    columns = {
        ENABLED: "true" if instance.events_enabled else "false",
        VENDOR_TYPE: instance.vendor_type,
    }
    if instance.callback_url:
        columns[CALLBACK_URL] = instance.callback_url
    if instance.refresh_interval is not None:
        columns[REFRESH_INTERVAL] = str(instance.refresh_interval)
    return columns

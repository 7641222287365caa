"""The poller configuration of an instance (``event.poller.configuration``).

Parsed from what Cloud Elements accepted (a JSON object, the same object as an escaped JSON
string, or the legacy pipe-delimited ``event.poller.urls``), merged over the element's
``events.pollerDefaults`` and turned into PollerObject field values; rendered back from the
rows, which are the single source of truth.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from typing import Any

from integrations.models import Element, PollerObject
from integrations.query import (
    EPOCH_FORMATS,
    HubError,
    ZoneError,
    pattern_errors,
    render_template,
    resolve,
    resolve_zone,
    template_errors,
)

POLLER_CONFIGURATION = "event.poller.configuration"
POLLER_URLS = "event.poller.urls"

DATE_KEYS = (
    "updatedDateField",
    "updatedDateFormat",
    "updatedDateTimezone",
    "createdDateField",
    "createdDateFormat",
    "createdDateTimezone",
)
DATES_CONFIGURATION_KEYS = (*DATE_KEYS, "createdCheckTolerance")
RESOURCE_FIELDS = frozenset(
    {
        "url",
        "idField",
        "datesConfiguration",
        "filterByUpdatedDate",
        "filterByCurrentDate",
        "createdCheckTolerance",
        "pageSize",
        "pollDelay",
        "lookback",
        "deletedMarker",
    }
)
MAX_INTEGER = 2147483647  # PositiveIntegerField's ceiling on PostgreSQL
DEFAULT_LOOKBACK = 60
_DOTTED_PATH = re.compile(r"^[^.\s]+(\.[^.\s]+)*$")
_WHOLE_NUMBER = re.compile(r"^[+-]?\d+$")


class Invalid(ValueError):
    """A configuration value is not acceptable; the message says why, without the key path."""


def show(value: Any) -> str:
    """A value as it appears in an error message: strings quoted, long values cut short."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def kind(value: Any) -> str:
    """What a value is, for an error message that must not repeat it (a secret)."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    kinds = {int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise Invalid(f"must be true or false, got {show(value)}")


def to_int(value: Any, *, minimum: int = 0, maximum: int = MAX_INTEGER) -> int:
    """A whole number given as a JSON number or a string of digits, within the bounds."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _WHOLE_NUMBER.match(value.strip()):
        number = int(value.strip())
    if number is None or not minimum <= number <= maximum:
        if maximum == MAX_INTEGER:
            bounds = f"of at least {minimum}"
        else:
            bounds = f"from {minimum} to {maximum}"
        raise Invalid(f"must be a whole number {bounds}, got {show(value)}")
    return number


def to_json_object(value: Any) -> dict[str, Any]:
    """A JSON object given as such or as a JSON string holding one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise Invalid(
                f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} "
                f"(character {exc.pos})"
            ) from None
    if not isinstance(value, dict):
        raise Invalid(f"must be a JSON object, got {show(value)}")
    return value


# Any instant will do: validation renders the template once to check what the provider gets.
_SAMPLE_INSTANT = datetime(2017, 8, 30, 19, 19, 29, tzinfo=UTC)


def _url_template_errors(url: str, element: Element) -> list[str]:
    """Problems with a poller URL template (placeholders, hub resource, CEQL); empty when it
    is usable, so a bad template fails when the configuration is saved, not at poll time."""
    problems = template_errors(url)
    if problems:
        return problems
    try:
        resolve(element, render_template(url, at=_SAMPLE_INSTANT))
    except HubError as exc:
        return [str(exc)]
    return []


def _date_settings_errors(dates: dict[str, str]) -> list[str]:
    problems = []
    for prefix in ("updated", "created"):
        fmt = dates.get(f"{prefix}DateFormat")
        if fmt and fmt not in EPOCH_FORMATS:
            problems += [f"{prefix}DateFormat: {p}" for p in pattern_errors(fmt)]
        zone = dates.get(f"{prefix}DateTimezone")
        if zone:
            try:
                resolve_zone(zone)
            except ZoneError as exc:
                problems.append(f"{prefix}DateTimezone: {exc}")
    return problems


def poller_config_parse(
    *, configuration: dict[str, Any], element: Element, use_defaults: bool
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """PollerObject field values per resource name, and every problem found.

    ``use_defaults``: take the element's default resources when the configuration names none
    (events enabled with polling).
    """
    errors: list[str] = []
    raw: dict[str, Any] = {}
    if configuration.get(POLLER_URLS) is not None:
        raw.update(_pipe_resources(configuration[POLLER_URLS], element=element, errors=errors))
    if configuration.get(POLLER_CONFIGURATION) is not None:
        try:
            raw.update(to_json_object(configuration[POLLER_CONFIGURATION]))
        except Invalid as exc:
            errors.append(f"{POLLER_CONFIGURATION}: {exc}")
    elif configuration.get(POLLER_URLS) is None and use_defaults:
        raw = copy.deepcopy(element.poller_defaults)

    resources = {}
    for name, spec in raw.items():
        path = f"{POLLER_CONFIGURATION}.{name}"
        if not name.strip() or len(name) > 200:
            errors.append(f"{path}: a resource name must be 1 to 200 characters")
        elif not isinstance(spec, dict):
            errors.append(f"{path}: must be an object, got {show(spec)}")
        else:
            spec = _merge_defaults(_normalized(spec), element.poller_defaults.get(name))
            resources[name] = _resource_fields(spec, path=path, element=element, errors=errors)
    return resources, errors


def poller_object_render(poller_object: PollerObject) -> dict[str, Any]:
    """The resource spec of a PollerObject, with Cloud Elements field names."""
    spec: dict[str, Any] = {"url": poller_object.url, "idField": poller_object.id_field}
    if poller_object.dates_configuration:
        spec["datesConfiguration"] = dict(poller_object.dates_configuration)
    spec["filterByUpdatedDate"] = poller_object.filter_by_updated_date
    spec["filterByCurrentDate"] = poller_object.filter_by_current_date
    if poller_object.created_check_tolerance is not None:
        spec["createdCheckTolerance"] = poller_object.created_check_tolerance
    if poller_object.page_size is not None:
        spec["pageSize"] = poller_object.page_size
    spec["pollDelay"] = poller_object.poll_delay
    spec["lookback"] = poller_object.lookback
    if poller_object.deleted_marker is not None:
        spec["deletedMarker"] = dict(poller_object.deleted_marker)
    for key, value in (poller_object.extra or {}).items():
        spec.setdefault(key, value)
    return spec


def _pipe_resources(value: Any, *, element: Element, errors: list[str]) -> dict[str, Any]:
    """Resources from the legacy format, one per line:
    resource|url|xPathFilter|updatedDateField|updatedDateFormat|updatedDateTimeZone|
    createdDateField|createdDateFormat|createdDateTimeZone
    """
    if not isinstance(value, str):
        errors.append(f"{POLLER_URLS}: must be a string of resource|url|... lines")
        return {}
    resources = {}
    for number, line in enumerate(value.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) < 2 or not parts[0] or not parts[1] or len(parts) > 9:
            errors.append(
                f"{POLLER_URLS}: line {number}: expected resource|url followed by up to 7 "
                f"more |-separated fields, got {show(line.strip())}"
            )
            continue
        parts += [""] * (9 - len(parts))
        name, url, x_path_filter, *dates = parts
        spec: dict[str, Any] = {"url": url}
        if name not in element.poller_defaults:
            # The legacy format has no id field: use the element resource's.
            spec["idField"] = element.resources.get(name, {}).get("idField", "id")
        dates_configuration = {key: v for key, v in zip(DATE_KEYS, dates, strict=True) if v}
        if dates_configuration:
            spec["datesConfiguration"] = dates_configuration
        if x_path_filter:
            spec["xPathFilter"] = x_path_filter
        resources[name] = spec
    return resources


def _normalized(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with Cloud Elements' documented variants folded into one shape."""
    spec = copy.deepcopy(spec)
    misspelt = spec.pop("filterByUpdateDate", None)
    if misspelt is not None:
        spec.setdefault("filterByUpdatedDate", misspelt)
    dates = spec.get("datesConfiguration")
    if dates is None:
        dates = {}
    if isinstance(dates, dict):
        for key in DATE_KEYS:
            if key in spec:
                dates.setdefault(key, spec.pop(key))
        if "createdCheckTolerance" in dates:
            spec.setdefault("createdCheckTolerance", dates.pop("createdCheckTolerance"))
        if dates or "datesConfiguration" in spec:
            spec["datesConfiguration"] = dates
    return spec


def _merge_defaults(spec: dict[str, Any], default: dict[str, Any] | None) -> dict[str, Any]:
    if not default:
        return spec
    merged = _normalized(default)
    for key, value in spec.items():
        base = merged.get(key)
        if key == "datesConfiguration" and isinstance(base, dict) and isinstance(value, dict):
            merged[key] = {**base, **value}
        else:
            merged[key] = value
    return merged


def _resource_fields(
    spec: dict[str, Any], *, path: str, element: Element, errors: list[str]
) -> dict[str, Any]:
    """PollerObject field values for a normalized spec; problems are appended to ``errors``."""

    for field in ("url", "idField"):
        if spec.get(field) in (None, ""):
            errors.append(f"{path}.{field}: required")

    def check(field: str, convert, default: Any = None) -> Any:
        value = spec.get(field)
        if value is None or value == "":
            return default
        try:
            return convert(value)
        except Invalid as exc:
            errors.append(f"{path}.{field}: {exc}")
            return default

    return {
        "url": check("url", lambda value: _url(value, element), ""),
        "id_field": check("idField", _id_field, ""),
        "dates_configuration": check("datesConfiguration", _dates_configuration(path, errors), {}),
        "filter_by_updated_date": check("filterByUpdatedDate", to_bool, True),
        "filter_by_current_date": check("filterByCurrentDate", to_bool, False),
        "created_check_tolerance": check("createdCheckTolerance", to_int),
        "page_size": check("pageSize", lambda v: to_int(v, minimum=1)),
        "poll_delay": check("pollDelay", to_int, 0),
        "lookback": check("lookback", to_int, DEFAULT_LOOKBACK),
        "deleted_marker": check("deletedMarker", _deleted_marker),
        "extra": {key: value for key, value in spec.items() if key not in RESOURCE_FIELDS},
    }


def _url(value: Any, element: Element) -> str:
    if not isinstance(value, str):
        raise Invalid(f"must be a string, got {show(value)}")
    if len(value) > 2000:
        raise Invalid("must be at most 2000 characters")
    problems = _url_template_errors(value, element)
    if problems:
        raise Invalid("; ".join(problems))
    return value


def _id_field(value: Any) -> str:
    if not isinstance(value, str) or not _DOTTED_PATH.match(value) or len(value) > 200:
        raise Invalid(f"must be a dotted path such as 'id' or 'user.id', got {show(value)}")
    return value


def _dates_configuration(path: str, errors: list[str]):
    def convert(value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            raise Invalid(f"must be an object, got {show(value)}")
        dates = {}
        for key, item in value.items():
            if key not in DATE_KEYS:
                errors.append(
                    f"{path}.datesConfiguration.{key}: unknown key; allowed keys are "
                    + ", ".join(DATES_CONFIGURATION_KEYS)
                )
            elif not isinstance(item, str):
                errors.append(
                    f"{path}.datesConfiguration.{key}: must be a string, got {show(item)}"
                )
            else:
                dates[key] = item
        for problem in _date_settings_errors(dates):
            errors.append(f"{path}.datesConfiguration.{problem}")
        return dates

    return convert


def _deleted_marker(value: Any) -> dict[str, Any]:
    shape = 'an object {"field": "<dotted path>", "value": <value>}'
    if not isinstance(value, dict) or set(value) != {"field", "value"}:
        raise Invalid(f"must be {shape}, got {show(value)}")
    if not isinstance(value["field"], str) or not _DOTTED_PATH.match(value["field"]):
        raise Invalid(f"field must be a dotted path such as 'status', got {show(value['field'])}")
    if isinstance(value["value"], dict | list):
        raise Invalid(
            f"value must be a string, number, boolean or null, got {show(value['value'])}"
        )
    return {"field": value["field"], "value": value["value"]}

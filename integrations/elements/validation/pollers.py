"""The ``events`` section: how changes arrive (``vendorTypes``) and the poller defaults of
each resource (``pollerDefaults``), including how polling sees a deletion."""

from __future__ import annotations

import re
from typing import Any

from core.changes import EventType
from integrations.elements.validation.checker import Checker, KindCheck, known, positive

VENDOR_TYPES = ("polling", "webhook")

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


def check_events(checker: Checker, path: str, value: Any) -> None:
    optional = {"defaultRefreshInterval": "positive", "pollerDefaults": "poller_defaults"}
    if not checker.fields(path, value, {"vendorTypes": "vendor_types"}, optional):
        return
    _deletes_are_detectable(checker, value)


def is_vendor_types(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, list) or not value or any(v not in VENDOR_TYPES for v in value):
        checker.error(path, f"must be a non-empty list of {', '.join(VENDOR_TYPES)}")


def is_poller_defaults(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, dict):
        checker.error(path, "must be an object of resource name to poller configuration")
        return
    resources = checker.definition.get("resources")
    if not isinstance(resources, dict) or not resources:
        return  # already reported under resources
    names = list(resources)
    for name, spec in value.items():
        here = f"{path}.{name}"
        if name not in names:
            checker.error(here, f"no such resource (known: {known(names)})")
            continue
        required = {"url": "string", "idField": "field"}
        if checker.fields(here, spec, required, _POLLER_OPTIONAL) and "url" in spec:
            _poller_url(checker, f"{here}.url", spec["url"], names)
        _page_size_fits(checker, f"{here}.pageSize", spec, resources[name])


def is_dates(checker: Checker, path: str, value: Any) -> None:
    checker.fields(path, value, {}, _DATES)


def is_deleted_marker(checker: Checker, path: str, value: Any) -> None:
    checker.fields(path, value, {"field": "field", "value": "marker_value"}, {})


def is_marker_value(checker: Checker, path: str, value: Any) -> None:
    if isinstance(value, dict | list):
        checker.error(path, "must be a string, number, boolean or null")


def _poller_url(checker: Checker, path: str, url: Any, names: list[str]) -> None:
    hub = checker.definition.get("hub")
    prefix = f"/hubs/{hub}/"
    if not isinstance(url, str) or not url.startswith(prefix):
        checker.error(path, f"must be a hub URL such as {prefix}<resource>?where=...")
        return
    resource = re.split(r"[/?]", url[len(prefix) :], maxsplit=1)[0]
    if resource not in names:
        checker.error(path, f"{prefix}{resource} names no resource (known: {known(names)})")


def _page_size_fits(checker: Checker, path: str, spec: Any, resource: Any) -> None:
    size = spec.get("pageSize") if isinstance(spec, dict) else None
    pagination = checker.definition.get("pagination")
    largest = resource.get("maxPageSize") if isinstance(resource, dict) else None
    if largest is None and isinstance(pagination, dict):
        largest = pagination.get("maxPageSize")
    if positive(size) and positive(largest) and size > largest:
        checker.error(path, f"must not exceed the resource's largest page size ({largest})")


def _deletes_are_detectable(checker: Checker, events: dict[str, Any]) -> None:
    """Polling sees a deletion only through a marker on the record."""
    vendor_types = events.get("vendorTypes")
    if isinstance(vendor_types, list) and "webhook" in vendor_types:
        return
    resources = checker.definition.get("resources")
    defaults = events.get("pollerDefaults")
    for name, spec in (resources if isinstance(resources, dict) else {}).items():
        types = spec.get("events") if isinstance(spec, dict) else None
        if not isinstance(types, list) or EventType.DELETED not in types:
            continue
        poller = defaults.get(name) if isinstance(defaults, dict) else None
        if not isinstance(poller, dict) or "deletedMarker" not in poller:
            checker.error(
                f"resources.{name}.events",
                f"DELETED needs events.pollerDefaults.{name}.deletedMarker, since polling "
                "cannot otherwise see deletions",
            )


KINDS: dict[str, KindCheck] = {
    "vendor_types": is_vendor_types,
    "poller_defaults": is_poller_defaults,
    "dates": is_dates,
    "deleted_marker": is_deleted_marker,
    "marker_value": is_marker_value,
}

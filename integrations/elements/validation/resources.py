"""The ``resources`` a definition offers and how their listings are paged (``pagination``):
names, paths, filters, event types and page sizes."""

from __future__ import annotations

import re
from typing import Any

from core.changes import EventType
from integrations.elements.validation.checker import Checker, KindCheck, positive

FILTER_OPERATORS = (">", ">=", "<", "<=", "=")
FILTER_FORMATS = ("epochSeconds", "epochMillis", "iso8601", "integer", "string")
# The changes a resource can have; UNKNOWN is only ever the outcome of classifying one.
EVENT_TYPES = tuple(value for value in EventType.values if value != EventType.UNKNOWN)

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_PAGE_SIZES = {"defaultPageSize": "positive", "maxPageSize": "positive", "maxPages": "positive"}
_PAGE_SIZES |= {"pageSizeParam": "string", "maxPageSizeKey": "config"}
# type -> (required keys, optional keys), each key -> kind.
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


def check_pagination(checker: Checker, path: str, value: Any) -> None:
    found = checker.variant(path, value, _PAGINATION)
    if found is None:
        return
    _, required, optional = found
    checker.fields(path, value, required, optional)
    default, largest = value.get("defaultPageSize"), value.get("maxPageSize")
    if positive(default) and positive(largest) and default > largest:
        checker.error(f"{path}.defaultPageSize", f"must not exceed maxPageSize ({largest})")


def check_resources(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, dict) or not value:
        checker.error(path, "must be an object with at least one resource")
        return
    for name, spec in value.items():
        if not _NAME.match(name):
            checker.error(f"{path}.{name}", "resource names are letters, digits, - or _")
        checker.fields(f"{path}.{name}", spec, _RESOURCE_REQUIRED, _RESOURCE_OPTIONAL)


def is_event_types(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, list) or any(v not in EVENT_TYPES for v in value):
        checker.error(path, f"must be a list of {', '.join(EVENT_TYPES)}")
    elif len(set(value)) != len(value):
        checker.error(path, "lists an event type twice")


def is_filters(checker: Checker, path: str, value: Any) -> None:
    if not isinstance(value, dict):
        checker.error(path, "must be an object of field name to operators")
        return
    for field, spec in value.items():
        here = f"{path}.{field}"
        operators = {op: "string" for op in FILTER_OPERATORS}
        if not checker.fields(here, spec, {"format": FILTER_FORMATS}, operators):
            continue
        if not any(op in spec for op in FILTER_OPERATORS):
            checker.error(here, f"needs at least one operator ({', '.join(FILTER_OPERATORS)})")


KINDS: dict[str, KindCheck] = {"event_types": is_event_types, "filters": is_filters}

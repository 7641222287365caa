"""The query language of an element's poller URLs: ``${date:...}`` placeholders
(``placeholders.py``), Java date patterns and zone names (``dateformat.py``,
``timezones.py``), CEQL where clauses (``ceql/``), hub URLs resolved into vendor requests
(``hubs.py``) and dotted paths into provider JSON (``paths.py``)."""

from __future__ import annotations

from integrations.query.dateformat import (
    EPOCH_FORMATS,
    DateFormatError,
    parse_datetime,
    pattern_errors,
)
from integrations.query.hubs import HubError, VendorQuery, resolve
from integrations.query.paths import get_path
from integrations.query.placeholders import PlaceholderError, render_template, template_errors
from integrations.query.timezones import ZoneError, resolve_zone

__all__ = [
    "EPOCH_FORMATS",
    "DateFormatError",
    "HubError",
    "PlaceholderError",
    "VendorQuery",
    "ZoneError",
    "get_path",
    "parse_datetime",
    "pattern_errors",
    "render_template",
    "resolve",
    "resolve_zone",
    "template_errors",
]

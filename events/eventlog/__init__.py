"""Reads behind the event log pages: which deliveries a user may see (``access.py``),
filtered (``filters.py``), a page at a time (``pages.py``), the hourly chart (``chart.py``)
and one delivery's details (``detail.py``). Provider data is made inert and bounded here
(``inert.py``); templates escape the rest."""

from __future__ import annotations

from events.eventlog.access import deliveries_visible
from events.eventlog.chart import Bar, delivery_chart
from events.eventlog.detail import delivery_detail, message_of, pretty, raw_of
from events.eventlog.filters import Filters, filter_choices
from events.eventlog.inert import excerpt
from events.eventlog.pages import cursor_of, deliveries_for

__all__ = [
    "Bar",
    "Filters",
    "cursor_of",
    "deliveries_for",
    "deliveries_visible",
    "delivery_chart",
    "delivery_detail",
    "excerpt",
    "filter_choices",
    "message_of",
    "pretty",
    "raw_of",
]

"""The change-capture checks of round 2: per-object ordering of deliveries
(``event.notification.ordering``) and delete reconciliation (``event.poller.reconcile.interval``).

``event.notification.ordering``: ``none`` (the default; deliveries go out as they come) or
``object`` (a delivery never overtakes an earlier undelivered delivery sharing an object).

``event.poller.reconcile.interval``: hours between scans of the provider's ids, for every
polled object (``24``), or per object (``{"contacts": 24}``); unset, no scan.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from integrations.instances.pollers_config import Invalid, show, to_int, to_json_object

ORDERING = "event.notification.ordering"
ORDERINGS = ("none", "object")
RECONCILE_INTERVAL = "event.poller.reconcile.interval"
# A scan at least every 30 days, at most every hour.
MAX_RECONCILE_HOURS = 24 * 30


def ordering(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in ORDERINGS:
        raise Invalid(f"must be 'none' or 'object', got {show(value)}")
    return text


def reconcile_interval(value: Any) -> int | dict[str, int]:
    """Hours for every object, or ``{objectType: hours}`` (as an object or a JSON string)."""
    if isinstance(value, dict) or (isinstance(value, str) and value.strip().startswith("{")):
        hours = {}
        for name, each in to_json_object(value).items():
            try:
                hours[name] = to_int(each, minimum=1, maximum=MAX_RECONCILE_HOURS)
            except Invalid as exc:
                raise Invalid(f"{name!r} {exc}") from None
        return hours
    try:
        return to_int(value, minimum=1, maximum=MAX_RECONCILE_HOURS)
    except Invalid:
        raise Invalid(
            f"must be a whole number of hours from 1 to {MAX_RECONCILE_HOURS}, or an object "
            f'of them per object type such as {{"contacts": 24}}, got {show(value)}'
        ) from None


def reconcile_every(stored: int | dict[str, int] | None, object_type: str) -> timedelta | None:
    """How often ``object_type``'s ids are scanned, or None when they are not."""
    hours = stored.get(object_type) if isinstance(stored, dict) else stored
    return timedelta(hours=hours) if hours else None

"""The change-capture checks of round 2: per-object ordering of deliveries
(``event.notification.ordering``) and delete reconciliation (``event.poller.reconcile.interval``).

``event.notification.ordering``: ``none`` (the default; deliveries go out as they come) or
``object`` (a delivery never overtakes an earlier undelivered delivery sharing an object).

``event.poller.reconcile.interval``: hours between scans of the provider's ids, for every
polled object (``24``), or per object (``{"contacts": 24}``); unset, no scan. Each object it
covers must be polled, and its provider listing must be scannable by id (``id_scan``): the
element's resource filters the poller's idField with ``>`` on integers, and its ``sort``
names the updated field, which the scan swaps for the id (Desk: ``since_id`` and
``sort_field=id``). The scan itself is ``events/reconcile.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from integrations.instances.pollers_config import Invalid, show, to_int, to_json_object
from integrations.models import Element
from integrations.query import HubError, resolve

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


@dataclass(frozen=True)
class IdScan:
    """How a polled resource's provider listing is read in id order: the element's
    ``resource``, the ``id_field`` its filters take with ``>`` (integers), and the ``sort``
    parameters that list by that id."""

    resource: str
    id_field: str
    sort: dict[str, str]


def id_scan(element: Element, *, url: str, id_field: str) -> IdScan:
    """How the listing that a poller ``url`` reads can be scanned by ``id_field``; raises
    Invalid saying why it cannot."""
    try:
        key = resolve(element, url.partition("?")[0]).resource
    except HubError as exc:
        raise Invalid(str(exc)) from None
    resource = element.resources.get(key)
    if resource is None:
        raise Invalid("its URL names none of the element's resources, so no listing is known")
    listing = f"the provider's {resource.get('vendorName', key)} listing"
    spec = (resource.get("filters") or {}).get(id_field) or {}
    if ">" not in spec or spec.get("format") != "integer":
        raise Invalid(
            f"{listing} cannot be scanned by id: the element's resource {key!r} has no "
            f"integer {id_field!r} filter with '>'"
        )
    updated = resource.get("updatedField")
    sort = resource.get("sort") or {}
    if not updated or updated not in sort.values():
        raise Invalid(
            f"{listing} cannot be scanned by id: the element's resource {key!r} has no sort "
            f"on its updated field to turn into a sort on {id_field!r}"
        )
    by_id = {name: id_field if value == updated else value for name, value in sort.items()}
    return IdScan(resource=key, id_field=id_field, sort=by_id)


def reconcile_problems(
    *, element: Element, hours: int | dict[str, int] | None, pollers: dict[str, dict[str, Any]]
) -> list[str]:
    """Why ``event.poller.reconcile.interval`` (``hours``, as ``reconcile_interval`` returns
    it) cannot be kept for the poller objects ``pollers`` (field values per name): an object
    type it names that is not polled, or a polled object whose listing cannot be scanned by
    id. Empty when it can."""
    if hours is None:
        return []
    problems = []
    for name in hours if isinstance(hours, dict) else pollers:
        fields = pollers.get(name)
        if fields is None:
            polled = ", ".join(sorted(pollers)) or "none"
            problems.append(
                f"{RECONCILE_INTERVAL}: {name!r} is not an object this instance polls "
                f"(polled: {polled}); name only polled objects"
            )
            continue
        if not fields.get("url") or not fields.get("id_field"):
            continue  # refused already, with its own message
        try:
            id_scan(element, url=fields["url"], id_field=fields["id_field"])
        except Invalid as exc:
            problems.append(
                f"{RECONCILE_INTERVAL}: {name!r} cannot be reconciled: {exc}; "
                + _leave_out(name, hours, pollers)
            )
    return problems


def _leave_out(name: str, hours: int | dict[str, int], pollers: dict[str, Any]) -> str:
    if isinstance(hours, dict):
        return f"remove {name!r} from it"
    others = {other: hours for other in pollers if other != name}
    example = f", e.g. {show(others)}" if others else ""
    return f"give hours per object type without {name!r}{example}"

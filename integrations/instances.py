"""Instance writes shared by the admin and the instance JSON: turning events on and off, and
keeping secret configuration keys apart from the plain ones.

Creating and updating an instance from the Cloud Elements instance JSON is
``integrations/instance_json.py``.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from integrations.instance_config import MASK
from integrations.models import Element, Instance


def instances_set_events(*, queryset: QuerySet[Instance], enabled: bool) -> int:
    """Turn events on or off; return how many instances changed. Turning on stamps
    ``events_enabled_at``, the baseline of the first poll."""
    now = timezone.now()
    if enabled:
        return queryset.filter(events_enabled=False).update(
            events_enabled=True, events_enabled_at=now, updated_at=now
        )
    return queryset.filter(events_enabled=True).update(events_enabled=False, updated_at=now)


def configuration_split(
    *, element: Element, configuration: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a configuration into its plain and its secret keys, as the element defines them."""
    plain, secret = {}, {}
    for key, value in configuration.items():
        (secret if element.is_secret_key(key) else plain)[key] = value
    return plain, secret


def configuration_merge(
    *, current: dict[str, Any], changes: dict[str, Any], masked: Container[str] = ()
) -> dict[str, Any]:
    """``current`` with ``changes`` merged in: ``None`` removes a key, and the mask
    ``********`` leaves a key listed in ``masked`` (the stored secrets) unchanged."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif not (value == MASK and key in masked):
            merged[key] = value
    return merged
